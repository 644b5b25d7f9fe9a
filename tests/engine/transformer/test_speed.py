"""The accelerated path (`accelerate`) computes what the plain path computes (FP8: close to it), block offloading
computes exactly what the resident model does, RoPE tables are reproducible."""

from __future__ import annotations

import pytest
import torch

from ltxflow.default_plugins.ltx2.settings import EngineError, dit_speed
from ltxflow.engine.accel import SpeedOptions, accelerate, offload
from ltxflow.engine.accel.fp8 import FP8_MAX, Fp8Linear, quantize_rows
from ltxflow.engine.transformer import Perturbation, TransformerConfig
from ltxflow.engine.transformer.rope import device_ladder, frequency_ladder, rope_tables

# Float64 throughout (build_pair / make_case default), max|fast - plain| / max|plain|: packing q|k|v into one GEMM
# and sharing blocks between twins change only GEMM blocking and batch shapes, i.e. the rounding order of float64
# sums: bounded by `_reference.FP64_TOL` (its derivation is there).
CONFIGS = {"19b": TransformerConfig.tiny_19b(), "22b": TransformerConfig.tiny_22b()}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_default_speed_options_on_cpu_match_the_plain_path(tref, name):
    config = CONFIGS[name]
    _, plain = tref.build_pair(config, seed=5)
    _, fast = tref.build_pair(config, seed=5)
    accelerate(fast, SpeedOptions())
    assert any(m.packed is not None for m in fast.modules() if hasattr(m, "packed"))
    case = tref.make_case(config, seed=9, batch=3)
    last = config.num_layers - 1
    perts = [Perturbation(), Perturbation.stg([last], [last]), Perturbation.isolated()]
    with torch.no_grad():
        want = plain(case.video, case.audio, perts)
        got = fast(case.video, case.audio, perts)
        again = fast(case.video, case.audio, perts)  # a second forward (memoised RoPE ladder) gives the same bits
    for g, w, a in zip(got, want, again, strict=True):
        assert g.shape == w.shape
        assert tref.rel_err(g, w) <= tref.FP64_TOL
        assert torch.equal(g, a)


def test_device_ladder_is_the_cpu_ladder_built_once():
    cache = {}
    first = device_ladder(10000.0, 3, 64, True, torch.device("cpu"), cache)
    assert torch.equal(first, frequency_ladder(10000.0, 3, 64, float64=True))
    assert device_ladder(10000.0, 3, 64, True, torch.device("cpu"), cache) is first
    assert not torch.equal(device_ladder(10000.0, 3, 64, False, torch.device("cpu"), cache), torch.zeros_like(first))


@pytest.mark.parametrize("layout", ["split", "interleaved"])
def test_rope_tables_are_identical_across_calls(tref, layout):
    vpos, _ = tref.positions(1, 3, 2, 3, 5, 24.0, torch.float32)
    args = dict(width=64, heads=4, max_pos=(20, 2048, 2048), theta=10000.0, layout=layout, float64_ladder=True,
                dtype=torch.float32)
    a, b = rope_tables(vpos, **args), rope_tables(vpos.clone(), **args)
    assert torch.equal(a.cos, b.cos) and torch.equal(a.sin, b.sin)
    assert not torch.equal(a.cos, torch.ones_like(a.cos))


# FP8 (e4m3, 3 mantissa bits): each quantised value is within 2^-4 of its input, relative; a product of two such
# operands summed over K terms lands near 2-3% L2 error on random data.
FP8_TOL = 0.06


def test_quantize_rows_scales_each_row_to_the_fp8_range():
    x = torch.randn(7, 64) * torch.logspace(-3, 3, 7).unsqueeze(1)  # rows of very different magnitude
    values, scale = quantize_rows(x)
    assert values.dtype == torch.float8_e4m3fn and scale.shape == (7, 1)
    assert torch.equal(values.float().abs().amax(dim=1), torch.full((7,), FP8_MAX))  # each row's max maps to 448
    back = values.float() * scale
    assert ((back - x).abs() <= x.abs() * 2**-4 + scale * 2**-9).all()  # e4m3 rounding, subnormals near zero


def test_fp8_linear_approximates_the_linear_layer():
    torch.manual_seed(0)
    linear = torch.nn.Linear(256, 128)
    fp8 = Fp8Linear.from_linear(linear)
    x = torch.randn(3, 10, 256)
    with torch.no_grad():
        want, got = linear(x), fp8(x)
    assert got.shape == want.shape
    assert 1e-3 < (got - want).norm() / want.norm() < FP8_TOL  # quantised (not exact), and close


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_fp8_model_is_close_to_the_plain_model_and_drops_the_replaced_projections(tref, name):
    config = CONFIGS[name]
    _, plain = tref.build_pair(config, seed=5, dtype=torch.float32)
    _, fast = tref.build_pair(config, seed=5, dtype=torch.float32)
    accelerate(fast, SpeedOptions(fp8=True))
    block = fast.transformer_blocks[0]
    assert block.attn1.to_q is None and block.attn1.to_k is None and isinstance(block.attn1.to_v, Fp8Linear)
    assert block.attn2.to_k is None and isinstance(block.attn2.packed, Fp8Linear)
    assert isinstance(block.ff.net[2], Fp8Linear) and not isinstance(block.audio_ff.net[2], Fp8Linear)
    accelerate(fast, SpeedOptions(fp8=True))  # idempotent
    case = tref.make_case(config, seed=9, batch=2, dtype=torch.float32)
    last = config.num_layers - 1
    perts = [Perturbation(), Perturbation.stg([last], [last])]  # STG reads the FP8 value projection
    with torch.no_grad():
        want = plain(case.video, case.audio, perts)
        got = fast(case.video, case.audio, perts)
    # FP8 changes the function, so these are bounds of an approximation, not parity: each e4m3 operand is within
    # 2^-4 (relative) of its input, so a product is within 2 * 2^-4 = 0.125 and one quantised GEMM's output within
    # 0.125 * sum|w||x|; with random signs the errors add in quadrature to ~2^-4 / sqrt(3) * sqrt(2) = 5% (FP8_TOL,
    # L2). The max-relative 0.1 below holds while the FP8 layers' errors stay near that typical size (measured
    # 0.03-0.09, far from fp32 noise, so CPU-independent); the lower bound says the quantisation really ran
    # (e4m3 moves typical values by ~2^-5, float32 rounding by 6e-8).
    for g, w in zip(got, want, strict=True):
        assert 1e-4 < tref.rel_err(g, w) < 0.1


def _block_weights(block) -> list[torch.Tensor]:
    """The tensors a block's forward reads (packed projections included)."""
    return [t for *_, t in offload.block_tensors(block)]


@pytest.mark.parametrize("fp8", [False, True])
def test_offloaded_blocks_compute_the_same_and_only_visit_the_device(tref, fp8):
    config = CONFIGS["22b"]
    _, resident = tref.build_pair(config, seed=5)
    _, offloaded = tref.build_pair(config, seed=5)
    accelerate(resident, SpeedOptions(fp8=fp8))
    offloader = accelerate(offloaded, SpeedOptions(fp8=fp8, offload_blocks=True), device="cpu").offloader
    host_ptrs = [{flat.untyped_storage().data_ptr()} for flat in offloader.host]
    assert all(t.untyped_storage().data_ptr() in host_ptrs[i]
               for i, b in enumerate(offloaded.transformer_blocks) for t in _block_weights(b))
    seen = []  # per block: did its forward read copies (not the host storages), still typed as parameters?
    for i, block in enumerate(offloaded.transformer_blocks):  # registered after the offloader's hooks: run after
        block.register_forward_pre_hook(lambda _m, _a, i=i, b=block: seen.append(
            all(t.untyped_storage().data_ptr() not in host_ptrs[i] for t in _block_weights(b))
            and all(isinstance(p, torch.nn.Parameter) for p in b.parameters())))
    case = tref.make_case(config, seed=9, batch=2)
    perts = [Perturbation(), Perturbation.stg([1], [1])]
    with torch.inference_mode():  # as the engine runs it
        want = resident(case.video, case.audio, perts)
        got = offloaded(case.video, case.audio, perts)
        again = offloaded(case.video, case.audio, perts)
    assert seen == [True] * (2 * config.num_layers)
    for g, w, a in zip(got, want, again, strict=True):
        assert torch.equal(g, w) and torch.equal(g, a)
    assert set(offloader.resident) == {0}  # the first block is prefetched for the next forward, nothing else
    assert all(t.untyped_storage().data_ptr() in host_ptrs[i]
               for i, b in enumerate(offloaded.transformer_blocks) for t in _block_weights(b))
    weights = sum({t.untyped_storage().data_ptr(): t.untyped_storage().nbytes()
                   for b in resident.transformer_blocks for t in _block_weights(b)}.values())
    assert weights <= offloader.host_bytes <= weights + offload.ALIGN * sum(len(s) for s in offloader.slots)
    with pytest.raises(ValueError, match="already offloaded"):
        accelerate(offloaded, SpeedOptions())


def test_dit_setting_from_the_environment():
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert dit_speed("", cpu) is None and dit_speed("fp8,offload", cpu) is None  # the CPU runs the plain path
    assert dit_speed("", cuda) == SpeedOptions()
    assert dit_speed(" fp8 , offload", cuda) == SpeedOptions(fp8=True, offload_blocks=True)
    assert dit_speed("plain", cuda) is None
    with pytest.raises(EngineError, match="LTXFLOW_DIT: unknown setting"):
        dit_speed("fp9", cuda)
    with pytest.raises(EngineError, match="cannot be combined"):
        dit_speed("plain,fp8", cuda)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_twins_share_the_blocks_before_their_perturbation_and_compute_the_same(tref, name):
    config = CONFIGS[name]
    _, model = tref.build_pair(config, seed=5)
    last = config.num_layers - 1
    case = tref.make_case(config, seed=9, batch=4)
    # the guided step's passes: cond, uncond (other inputs), STG at the last block (cond's inputs), isolated
    same = [0, 1, 0, 3]
    video, audio = (_pick(m, same) for m in (case.video, case.audio))
    perts = [Perturbation(), Perturbation(), Perturbation.stg([last], [last]), Perturbation.isolated()]
    calls = []
    for block in model.transformer_blocks:
        block.register_forward_pre_hook(lambda _m, args: calls.append(args[0].shape[0]))
    with torch.no_grad():
        want = model(video, audio, perts)
        n_plain = len(calls)
        got = model(video, audio, perts, twins=[None, None, 0, None])
    assert calls[:n_plain] == [4] * config.num_layers
    assert calls[n_plain:] == [3] * last + [4]  # the STG item joins at its skipped block
    for g, w in zip(got, want, strict=True):
        assert tref.rel_err(g, w) <= tref.FP64_TOL
        assert not torch.equal(g[2], g[0])  # STG still changed the last block
    with torch.no_grad():  # a twin with the same perturbation never runs: its output is its twin's
        copy = model(video, audio, [Perturbation()] * 4, twins=[None, None, 0, None])
    assert torch.equal(copy[0][2], copy[0][0])
    with pytest.raises(ValueError, match="twins must give"):
        model(video, audio, perts, twins=[None, 2, None, None])


def _pick(m, items):
    """A ModalityInput whose batch item k is item items[k] of m."""
    take = lambda x: None if x is None else x[items]  # noqa: E731
    return type(m)(take(m.latent), take(m.sigma), take(m.timesteps), take(m.positions), take(m.context),
                   take(m.context_mask), take(m.attention_mask))
