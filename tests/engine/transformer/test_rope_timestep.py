"""RoPE tables and rotation, sinusoidal timestep features and AdaLN-single vs ltx-core."""

from __future__ import annotations

import pytest
import torch
from ltx_core.model.transformer.adaln import AdaLayerNormSingle
from ltx_core.model.transformer.rope import (LTXRopeType, apply_rotary_emb, generate_freq_grid_np,
                                             generate_freq_grid_pytorch, precompute_freqs_cis)
from ltx_core.model.transformer.timestep_embedding import get_timestep_embedding

from ltxflow.engine.transformer.rope import apply_rope, frequency_ladder, rope_tables
from ltxflow.engine.transformer.timestep import AdaLNSingle, sinusoidal_embedding

# (name, width, heads, max_pos, what positions) at shipped widths where cheap, tiny otherwise.
SHAPES = [
    ("video", 4096, 32, (20, 2048, 2048), "video"),  # 2046 angles + 2 identity pads, 64 per head
    ("video-tiny", 16, 2, (20, 2048, 2048), "video"),
    ("audio", 2048, 32, (20,), "audio"),
    ("av-cross", 2048, 32, (20,), "video-time"),  # temporal axis of video positions at the AV width
    ("connector", 3840, 30, (4096,), "index"),  # text token index, no bounds
]


def make_positions(tref, kind: str, dtype: torch.dtype) -> torch.Tensor:
    """Positions of one shape family, built with ltx-core's latent tools (bf16 video as pipelines do)."""
    video, audio = tref.positions(2, 3, 2, 3, 5, 24.0, dtype)
    if kind == "video":
        return video
    if kind == "video-time":
        return video[:, 0:1]
    if kind == "audio":
        return audio
    return torch.arange(11, dtype=dtype).expand(2, 1, 11)  # (B, 1, T) plain indices


@pytest.mark.parametrize("layout", ["split", "interleaved"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16], ids=["fp64", "fp32", "bf16"])
@pytest.mark.parametrize("name,width,heads,max_pos,kind", SHAPES, ids=[s[0] for s in SHAPES])
@pytest.mark.parametrize("float64", [True, False], ids=["ladder64", "ladder32"])
def test_rope_tables_and_rotation_match(tref, layout, dtype, name, width, heads, max_pos, kind, float64):
    pos = make_positions(tref, kind, dtype)
    grid = generate_freq_grid_np if float64 else generate_freq_grid_pytorch
    ref_cos, ref_sin = precompute_freqs_cis(pos, dim=width, out_dtype=dtype, max_pos=list(max_pos),
                                            use_middle_indices_grid=pos.ndim == 4, num_attention_heads=heads,
                                            rope_type=LTXRopeType(layout), freq_grid_generator=grid)
    rope = rope_tables(pos, width=width, heads=heads, max_pos=max_pos, theta=10000.0, layout=layout,
                       float64_ladder=float64, dtype=dtype)
    assert torch.equal(rope.cos, ref_cos) and torch.equal(rope.sin, ref_sin)
    x = torch.randn(2, pos.shape[2], width, generator=torch.Generator().manual_seed(0)).to(dtype)
    got, expected = apply_rope(x, rope), apply_rotary_emb(x, (ref_cos, ref_sin), LTXRopeType(layout))
    # Each output is a rotated pair element a*cos -/+ b*sin (same tables, asserted equal above), rounded at most 3
    # times per side (two products, one sum; u = eps/2 of the dtype): |error| <= 2u (|a cos| + |b sin|) per side
    # <= 2u * sqrt(2) * max|x| since |cos| + |sin| <= sqrt(2); two orderings differ by at most twice that.
    # (fp64: 6e-16 * max|x|; fp32: 3.4e-7 * max|x|; bf16, whose kernels compute in fp32 and round once: 1.1e-2.)
    u = torch.finfo(dtype).eps / 2
    assert (got.double() - expected.double()).abs().max() <= 4 * 2**0.5 * u * x.double().abs().max()  # measured 0


def test_bf16_positions_shift_the_phase():
    """Midpoints are taken in the positions' dtype: bf16 seconds give different angles than fp32."""
    seconds = torch.tensor([[[[0.7083, 1.0417]]]])  # (1, 1, 1, 2)
    common = dict(width=64, heads=1, max_pos=(20,), theta=10000.0, layout="split", float64_ladder=True,
                  dtype=torch.float32)
    fp32 = rope_tables(seconds, **common)
    bf16 = rope_tables(seconds.bfloat16(), **common)
    assert not torch.equal(fp32.cos, bf16.cos)


def test_frequency_ladder_spans_pi_half_to_theta_pi_half():
    ladder = frequency_ladder(10000.0, 3, 4096, float64=True)
    assert ladder.shape == (682,) and ladder.dtype == torch.float32
    # float64 arithmetic rounded once to float32: within 2^-24 relative, 2^-23 leaves room for the float64 part
    assert ladder[0].item() == pytest.approx(torch.pi / 2, rel=2.0**-23)
    assert ladder[-1].item() == pytest.approx(5000 * torch.pi, rel=2.0**-23)


def test_sinusoidal_embedding_matches():
    t = torch.tensor([0.0, 1.0, 37.5, 421.0, 999.0, 1000.0])
    expected = get_timestep_embedding(t, 256, flip_sin_to_cos=True, downscale_freq_shift=0)
    got = sinusoidal_embedding(t)
    assert torch.equal(got, expected)
    assert torch.equal(got[0, :128], torch.ones(128))  # cos first


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16], ids=["fp64", "bf16"])
@pytest.mark.parametrize("rows", [1, 2, 6, 9])
def test_adaln_single_matches(tref, dtype, rows):
    ref = AdaLayerNormSingle(24, embedding_coefficient=rows)
    ours = AdaLNSingle(24, rows)
    gen = torch.Generator().manual_seed(rows)
    sd = {k: torch.randn(v.shape, generator=gen) * 0.3 for k, v in ref.state_dict().items()}
    ref.load_state_dict(sd, strict=True)
    ours.load_state_dict(sd, strict=True)
    ref, ours = ref.to(dtype), ours.to(dtype)
    t = torch.tensor([0.0, 250.0, 900.0, 1000.0])
    with torch.no_grad():
        (p_ref, e_ref), (p, e) = ref(t, hidden_dtype=dtype), ours(t, dtype)
    assert p.shape == (4, rows * 24) and e.shape == (4, 24) and p.dtype == dtype
    # fp64: 3 GEMMs (K <= 256) at eps64 = 1.1e-16 give <= ~1e-13; FP64_TOL (1e-10) covers it (measured 0.0).
    # bf16: both sides run the same nn.Linear / SiLU kernels on the same shapes, so identical bits on any CPU
    # (measured 0.0); the bound, half of bf16's u = 2^-9 relative to the largest value, lets one differing
    # rounding through in an element below max/2 and fails a moved cast (every element off by ~u).
    tol = tref.FP64_TOL if dtype == torch.float64 else 2.0**-10
    assert tref.rel_err(p, p_ref) <= tol and tref.rel_err(e, e_ref) <= tol
