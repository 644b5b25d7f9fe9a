"""LTXTransformer vs ltx-core's LTXModel on tiny 19B- and 22B-style configs sharing one random state dict.

Parity runs in float64 (see `_reference.FP64_TOL` for the bound); bf16 keeps one check of its own."""

from __future__ import annotations

import pytest
import torch
from ltx_core.guidance.perturbations import BatchedPerturbationConfig
from ltx_core.model.transformer.model import X0Model

from ltxflow.engine.transformer import Perturbation, TransformerConfig, TransformerInputError
from ltxflow.errors import LtxflowError

# x0 = x - sigma * v is computed in float32 on both sides (ltx-core's to_denoised has calc_dtype=float32, our
# velocity_to_x0 mirrors it), so float64 velocities that agree to ~1e-15 can still round to neighbouring float32
# values there: at most one float32 half-ulp (u = 2^-24 = 6e-8) for each of the 4 roundings (cast of v, sigma * v,
# the difference, cast of x), each at a magnitude <= max|x0| (sigma <= 1, |x| and |sigma v| of x0's size here).
X0_TOL = 4 * 2.0**-24
CONFIGS = {"19b": TransformerConfig.tiny_19b(), "22b": TransformerConfig.tiny_22b()}


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def pair(request, tref):
    """(config, reference model, our model) with identical weights."""
    config = CONFIGS[request.param]
    ref, ours = tref.build_pair(config, seed=11, dtype=torch.float64)
    return config, ref, ours


def run_both(tref, ref, ours, case, perts=None):
    """Velocities from both models for one case."""
    batch = (case.video or case.audio).latent.shape[0]
    perts = perts or [Perturbation()] * batch
    with torch.no_grad():
        expected = ref(case.ref_video, case.ref_audio, tref.ref_perturbations(perts))
        got = ours(case.video, case.audio, perts)
    return got, expected


def assert_close(tref, got, expected, tol=None):
    """Both modalities within tol (default: the float64 bound) relative to the reference's largest magnitude."""
    tol = tref.FP64_TOL if tol is None else tol
    for g, e in zip(got, expected, strict=True):
        assert (g is None) == (e is None)
        if e is not None:
            assert g.shape == e.shape and g.dtype == e.dtype
            assert tref.rel_err(g, e) <= tol


@pytest.mark.parametrize("perts", [
    [Perturbation()],
    [Perturbation.stg([1], [1])],
    [Perturbation.stg([0], [])],
    [Perturbation.isolated()],
    [Perturbation(skip_a2v=True)],
], ids=["plain", "stg", "stg-video-only", "isolated", "no-a2v"])
def test_matches_reference(tref, pair, perts):
    config, ref, ours = pair
    case = tref.make_case(config, seed=3)
    got, expected = run_both(tref, ref, ours, case, perts)
    assert_close(tref, got, expected)


def test_perturbations_change_the_output(tref, pair):
    config, ref, ours = pair
    case = tref.make_case(config, seed=3)
    with torch.no_grad():
        plain = ours(case.video, case.audio)
        stg = ours(case.video, case.audio, [Perturbation.stg([1], [1])])
        iso = ours(case.video, case.audio, [Perturbation.isolated()])
    for other in (stg, iso):
        assert tref.rel_err(other[0], plain[0]) > 1e-3 and tref.rel_err(other[1], plain[1]) > 1e-3


def test_first_frame_clean_tokens(tref, pair):
    config, ref, ours = pair
    case = tref.make_case(config, seed=4, first_frame_clean=True)
    assert case.video.timesteps.unique().numel() == 2  # per-token timesteps differ
    got, expected = run_both(tref, ref, ours, case)
    assert_close(tref, got, expected)
    with torch.no_grad():
        x0_ref = X0Model(ref)(case.ref_video, case.ref_audio, BatchedPerturbationConfig.empty(1))
        x0 = ours.predict_x0(case.video, case.audio)
    assert_close(tref, x0, x0_ref, tol=X0_TOL)
    n_clean = 2 * 3  # first latent frame of a 2x3 grid has sigma 0, so x0 is the latent itself
    assert torch.equal(x0[0][:, :n_clean], case.video.latent[:, :n_clean])


def test_one_sigma_per_item_equals_per_token_timesteps(tref, pair):
    """(B, 1) timesteps (every token at its item's sigma) compute the same function as the (B, T) ones."""
    config, ref, ours = pair
    case = tref.make_case(config, seed=5, batch=2)  # items at different sigmas, every token of an item alike
    one = lambda m: type(m)(**{**vars(m), "timesteps": m.timesteps[:, :1]})  # noqa: E731
    assert one(case.video).timesteps.shape == (2, 1)
    with torch.no_grad():
        per_token = ours(case.video, case.audio)
        x0_per_token = ours.predict_x0(case.video, case.audio)
        got = ours(one(case.video), one(case.audio))
        x0_per_item = ours.predict_x0(one(case.video), one(case.audio))
        expected = ref(case.ref_video, case.ref_audio, tref.ref_perturbations([Perturbation()] * 2))
    assert_close(tref, got, per_token)  # the AdaLN GEMMs see 2 rows instead of 2 * T: only the blocking differs
    assert_close(tref, got, expected)
    assert_close(tref, x0_per_item, x0_per_token, tol=X0_TOL)  # (B, 1) sigmas broadcast over the tokens


def test_batch_two_matches_reference_and_single_calls(tref, pair):
    config, ref, ours = pair
    case = tref.make_case(config, seed=5, batch=2)
    got, expected = run_both(tref, ref, ours, case)
    assert_close(tref, got, expected)
    for i in range(2):
        single = tref.make_case(config, seed=5, batch=2)
        one = lambda m: type(m)(**{k: (v[i:i + 1] if isinstance(v, torch.Tensor) else v)  # noqa: E731
                                   for k, v in vars(m).items()})
        with torch.no_grad():
            alone = ours(one(single.video), one(single.audio))
        assert tref.rel_err(alone[0], got[0][i:i + 1]) <= tref.FP64_TOL
        assert tref.rel_err(alone[1], got[1][i:i + 1]) <= tref.FP64_TOL


def test_mixed_perturbation_batch_equals_separate_calls(tref, pair):
    config, ref, ours = pair
    case = tref.make_case(config, seed=6, batch=3, sigmas=(0.8, 0.8, 0.8), audio_sigmas=(0.5, 0.5, 0.5))
    perts = [Perturbation(), Perturbation.stg([1], [0]), Perturbation.isolated()]
    got, expected = run_both(tref, ref, ours, case, perts)
    assert_close(tref, got, expected)
    for i, p in enumerate(perts):
        with torch.no_grad():
            alone = ours(case.video, case.audio, [p] * 3)
        assert tref.rel_err(alone[0][i], got[0][i]) <= tref.FP64_TOL
        assert tref.rel_err(alone[1][i], got[1][i]) <= tref.FP64_TOL


def test_video_only(tref, pair):
    config, ref, ours = pair
    case = tref.make_case(config, seed=7, with_audio=False)
    got, expected = run_both(tref, ref, ours, case)
    assert got[1] is None
    assert_close(tref, got, expected)


def test_audio_only(tref, pair):
    config, ref, ours = pair
    full = tref.make_case(config, seed=7)
    case = type(full)(None, full.audio, None, full.ref_audio)
    got, expected = run_both(tref, ref, ours, case)
    assert got[0] is None
    assert_close(tref, got, expected)


def test_text_and_self_attention_masks(tref, pair):
    config, ref, ours = pair
    case = tref.make_case(config, seed=8, batch=2)
    gen = torch.Generator().manual_seed(0)
    t_v, length = case.video.latent.shape[1], case.video.context.shape[1]
    text_mask = torch.ones(2, length, dtype=torch.int64)
    text_mask[0, -2:] = 0
    strength = torch.rand(2, t_v, t_v, generator=gen)
    strength[strength < 0.3] = 0.0
    patch = lambda m, **kw: type(m)(**{**vars(m), **kw})  # noqa: E731
    case = type(case)(patch(case.video, context_mask=text_mask, attention_mask=strength),
                      patch(case.audio, context_mask=text_mask),
                      patch(case.ref_video, context_mask=text_mask, attention_mask=strength),
                      patch(case.ref_audio, context_mask=text_mask))
    got, expected = run_both(tref, ref, ours, case)
    assert_close(tref, got, expected)


def test_bf16_close_to_reference_bf16(tref):
    config = TransformerConfig.tiny_22b()
    ref, ours = tref.build_pair(config, seed=12, dtype=torch.bfloat16)
    case = tref.make_case(config, seed=9, dtype=torch.bfloat16, first_frame_clean=True)
    assert case.video.positions.dtype == torch.bfloat16  # as pipelines store them
    got, expected = run_both(tref, ref, ours, case)
    # Both models run the same bf16 ops in the same order on tensors of the same shapes, so the same kernels:
    # bit-identical on any CPU (measured 0.0, 19B- and 22B-style, 3 seeds each). The bound is half of bf16's unit
    # roundoff u = 2^-9 = 2e-3 relative to max|ref|: one rounding that differs (a future kernel's blocking) in an
    # element below max/2 passes; a cast moved to another place (every element off by ~u) fails.
    for g, e in zip(got, expected, strict=True):
        assert g.dtype == torch.bfloat16
        assert tref.rel_err(g, e) <= 2.0**-10


def test_interleaved_rope_config(tref):
    config = TransformerConfig(**{**vars(TransformerConfig.tiny_19b()), "rope_type": "interleaved",
                                  "double_precision_rope": False, "av_ca_timestep_scale_multiplier": 1.0})
    ref, ours = tref.build_pair(config, seed=13)
    case = tref.make_case(config, seed=10)
    got, expected = run_both(tref, ref, ours, case)
    assert_close(tref, got, expected)


def test_builds_on_meta_device():
    with torch.device("meta"):
        from ltxflow.engine.transformer import LTXTransformer
        model = LTXTransformer(TransformerConfig.ltx23_22b())
    assert all(p.is_meta for p in model.parameters())
    assert sum(p.numel() for p in model.parameters()) == 18_988_838_144


def test_rejects_bad_calls(tref):
    config = TransformerConfig.tiny_19b()
    _, ours = tref.build_pair(config, seed=1)
    case = tref.make_case(config, seed=1, batch=2)
    with pytest.raises(TransformerInputError, match="1 perturbations for a batch of 2"):
        ours(case.video, case.audio, [Perturbation()])
    with pytest.raises(LtxflowError, match="give video, audio or both"):
        ours(None, None)
    with pytest.raises(TransformerInputError, match=r"ModalityInput.timesteps: expected \(2, 18\)"):
        type(case.video)(**{**vars(case.video), "timesteps": case.video.timesteps[:, :, None]})


def test_init_random_is_seeded_and_needs_materialised_weights():
    from ltxflow.engine.transformer import LTXTransformer, init_random_
    config = TransformerConfig.tiny_22b()
    with torch.device("meta"):
        model = LTXTransformer(config)
    with pytest.raises(ValueError, match="meta device"):
        init_random_(model, seed=0)
    a = init_random_(LTXTransformer(config), seed=0).state_dict()
    b = init_random_(LTXTransformer(config), seed=0).state_dict()
    c = init_random_(LTXTransformer(config), seed=1).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["proj_out.weight"], c["proj_out.weight"])
    assert 0.015 < a["transformer_blocks.0.ff.net.0.proj.weight"].std().item() < 0.025
