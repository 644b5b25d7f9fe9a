"""Schedules, guidance combination, Euler step and noising vs ltx-core 1.0.0 (exact or fp32 round-off)."""

import itertools
from dataclasses import replace

import pytest
import torch
from ltx_core.components.diffusion_steps import EulerDiffusionStep
from ltx_core.components.guiders import MultiModalGuider, MultiModalGuiderParams
from ltx_core.components.noisers import GaussianNoiser
from ltx_core.components.patchifiers import AudioPatchifier, VideoLatentPatchifier
from ltx_core.components.schedulers import LTX2Scheduler
from ltx_core.tools import AudioLatentTools, VideoLatentTools
from ltx_core.types import AudioLatentShape as RefAudioShape
from ltx_core.types import VideoLatentShape as RefVideoShape

from ltxflow.errors import LtxflowError
from ltxflow.engine.sampling import (
    DISTILLED_STAGE1_SIGMAS,
    DISTILLED_STAGE2_SIGMAS,
    LTX2_AUDIO_GUIDANCE,
    LTX2_VIDEO_GUIDANCE,
    LTX23_VIDEO_GUIDANCE,
    GuidanceParams,
    LatentState,
    Pass,
    add_noise,
    blend_clean,
    default_guidance,
    distilled_sigmas,
    euler_step,
    guide,
    ltx2_sigmas,
    make_generator,
    noise_states,
    passes_needed,
    stg_blocks,
)

# ---------------------------------------------------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [2, 3, 8, 15, 30, 40, 50])
@pytest.mark.parametrize("tokens", [None, 1024, 6144, 14080])
def test_ltx2_sigmas_match_reference(steps: int, tokens: int | None) -> None:
    latent = None if tokens is None else torch.zeros(1, 128, tokens, 1, 1)
    ref = LTX2Scheduler().execute(steps, latent=latent)
    ours = ltx2_sigmas(steps) if tokens is None else ltx2_sigmas(steps, tokens=tokens)
    assert ours.dtype == torch.float32
    assert torch.equal(ours, ref)


def test_ltx2_sigmas_documented_values() -> None:
    # the documented values are rounded to 4 decimals (<= 5e-5 off), and both sides are float32 numbers <= 1
    # (<= 2^-24 each off the real values they stand for)
    atol = 5e-5 + 2 * 2.0**-24
    s40 = ltx2_sigmas(40)
    assert len(s40) == 41
    torch.testing.assert_close(s40[:5], torch.tensor([1.0, 0.9964, 0.9927, 0.9889, 0.9848]), atol=atol, rtol=0)
    torch.testing.assert_close(
        s40[-7:], torch.tensor([0.5448, 0.4884, 0.4207, 0.3378, 0.2339, 0.1, 0.0]), atol=atol, rtol=0
    )
    s30 = ltx2_sigmas(30)
    torch.testing.assert_close(s30[:3], torch.tensor([1.0, 0.995, 0.9896]), atol=atol, rtol=0)
    torch.testing.assert_close(
        s30[-10:-1], torch.tensor([0.7364, 0.7017, 0.6608, 0.6121, 0.5531, 0.4802, 0.3875, 0.2661, 0.1]), atol=atol, rtol=0
    )
    assert s30[-1] == 0.0
    assert bool((s30[1:] < s30[:-1]).all())


def test_ltx2_sigmas_without_stretch_and_bad_steps() -> None:
    ref = LTX2Scheduler().execute(10, stretch=False)
    assert torch.equal(ltx2_sigmas(10, terminal=None), ref)
    assert torch.equal(ltx2_sigmas(1, terminal=None), LTX2Scheduler().execute(1, stretch=False))
    with pytest.raises(LtxflowError, match="steps must be >= 1, got 0"):
        ltx2_sigmas(0)
    # one step cannot be stretched (its only non-zero sigma is 1): the reference yields NaN or [0.1, 0] depending on
    # fp32 round-off of the shift; we refuse instead
    with pytest.raises(ValueError, match="a terminal sigma needs steps >= 2, got 1"):
        ltx2_sigmas(1)


def test_distilled_sigmas_equal_pipeline_constants(ltx_pipelines) -> None:
    DISTILLED_SIGMA_VALUES = ltx_pipelines.constants.DISTILLED_SIGMA_VALUES  # noqa: N806
    STAGE_2_DISTILLED_SIGMA_VALUES = ltx_pipelines.constants.STAGE_2_DISTILLED_SIGMA_VALUES  # noqa: N806

    assert list(DISTILLED_STAGE1_SIGMAS) == DISTILLED_SIGMA_VALUES
    assert list(DISTILLED_STAGE2_SIGMAS) == STAGE_2_DISTILLED_SIGMA_VALUES
    assert torch.equal(distilled_sigmas(1), torch.tensor(DISTILLED_SIGMA_VALUES, dtype=torch.float32))
    assert torch.equal(distilled_sigmas(2), torch.tensor(STAGE_2_DISTILLED_SIGMA_VALUES, dtype=torch.float32))
    with pytest.raises(ValueError, match="stage must be 1 or 2"):
        distilled_sigmas(3)


# ---------------------------------------------------------------------------------------------------------------------
# Guidance
# ---------------------------------------------------------------------------------------------------------------------


def test_guidance_defaults_match_pipeline_constants(ltx_pipelines) -> None:
    LTX_2_PARAMS, LTX_2_3_PARAMS = ltx_pipelines.constants.LTX_2_PARAMS, ltx_pipelines.constants.LTX_2_3_PARAMS  # noqa: N806

    for ours, ref in [
        (LTX2_VIDEO_GUIDANCE, LTX_2_PARAMS.video_guider_params),
        (LTX2_AUDIO_GUIDANCE, LTX_2_PARAMS.audio_guider_params),
        (LTX23_VIDEO_GUIDANCE, LTX_2_3_PARAMS.video_guider_params),
    ]:
        assert (ours.cfg, ours.stg, ours.rescale, ours.modality) == (
            ref.cfg_scale,
            ref.stg_scale,
            ref.rescale_scale,
            ref.modality_scale,
        )
        assert list(ours.stg_blocks) == ref.stg_blocks
    assert default_guidance("2.3.0")[0].stg_blocks == (28,)
    assert default_guidance("2.0.0")[1].cfg == 7.0


SCALES = list(itertools.product([1.0, 3.0], [0.0, 1.0], [0.0, 0.7, 1.0], [1.0, 3.0]))


@pytest.mark.parametrize(("cfg", "stg", "rescale", "modality"), SCALES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_guide_matches_multimodal_guider(cfg: float, stg: float, rescale: float, modality: float, dtype) -> None:
    g = torch.Generator().manual_seed(int(cfg * 100 + stg * 10 + rescale * 7 + modality))
    c, u, p, iso = (torch.randn(1, 12, 16, generator=g).to(dtype) for _ in range(4))
    ref_guider = MultiModalGuider(MultiModalGuiderParams(cfg, stg, [], rescale, modality))
    # the reference passes 0.0 for passes it did not run
    ref = ref_guider.calculate(
        c,
        u if ref_guider.do_unconditional_generation() else 0.0,
        p if ref_guider.do_perturbed_generation() else 0.0,
        iso if ref_guider.do_isolated_modality_generation() else 0.0,
    )
    params = GuidanceParams(cfg=cfg, stg=stg, rescale=rescale, modality=modality)
    ours = guide({Pass.COND: c, Pass.UNCOND: u, Pass.PERTURBED: p, Pass.ISOLATED: iso}, params)
    assert ours.dtype == dtype
    assert torch.equal(ours, ref)
    only_needed = {q: t for q, t in zip(Pass, (c, u, p, iso), strict=True) if params.needs(q)}
    assert torch.equal(guide(only_needed, params), ref)


def test_guide_batch_items_are_independent() -> None:
    g = torch.Generator().manual_seed(3)
    preds = {p: torch.randn(2, 10, 8, generator=g) for p in Pass}
    together = guide(preds, LTX2_VIDEO_GUIDANCE)
    for b in range(2):
        alone = guide({p: t[b : b + 1] for p, t in preds.items()}, LTX2_VIDEO_GUIDANCE)
        assert torch.equal(together[b : b + 1], alone)


def test_guide_requires_needed_passes() -> None:
    c = torch.zeros(1, 2, 2)
    with pytest.raises(ValueError, match="needs the uncond pass"):
        guide({Pass.COND: c}, GuidanceParams(cfg=2.0))


def test_passes_needed() -> None:
    assert passes_needed(LTX2_VIDEO_GUIDANCE, LTX2_AUDIO_GUIDANCE) == tuple(Pass)
    assert passes_needed(GuidanceParams(), GuidanceParams()) == (Pass.COND,)
    assert passes_needed(GuidanceParams(cfg=3.0), GuidanceParams(modality=2.0)) == (Pass.COND, Pass.UNCOND, Pass.ISOLATED)
    assert passes_needed(GuidanceParams(), GuidanceParams(stg=1.0, stg_blocks=(3,))) == (Pass.COND, Pass.PERTURBED)
    assert stg_blocks(GuidanceParams(stg_blocks=(1,)), GuidanceParams(stg=1.0, stg_blocks=(3,))) == ((), (3,))
    assert passes_needed(GuidanceParams(cfg=3.0), None) == (Pass.COND, Pass.UNCOND)


# ---------------------------------------------------------------------------------------------------------------------
# Euler step, mask blending, noising
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_euler_step_matches_reference(dtype: torch.dtype) -> None:
    g = torch.Generator().manual_seed(1)
    sigmas = ltx2_sigmas(6)
    x = torch.randn(2, 20, 128, generator=g).to(dtype)
    x0 = torch.randn(2, 20, 128, generator=g).to(dtype)
    for i in range(len(sigmas) - 1):
        ref = EulerDiffusionStep().step(x, x0, sigmas, i)
        ours = euler_step(x, x0, sigmas[i], sigmas[i + 1])
        assert ours.dtype == dtype
        assert torch.equal(ours, ref)
    # the last step x + (x - x0) / sigma * (0 - sigma) lands on x0 up to its 4 float32 roundings (the difference,
    # the division, the product, the sum), each <= u = 2^-24 of a magnitude <= |x| + |x0|
    x, x0 = x.float(), x0.float()
    bound = 4 * 2.0**-24 * (x.abs() + x0.abs())
    assert ((euler_step(x, x0, sigmas[-2], sigmas[-1]) - x0).abs() <= bound).all()


def test_blend_clean_matches_reference(ltx_pipelines) -> None:
    post_process_latent = ltx_pipelines.helpers.post_process_latent
    g = torch.Generator().manual_seed(2)
    x0 = torch.randn(1, 6, 4, generator=g).bfloat16()
    clean = torch.randn(1, 6, 4, generator=g).bfloat16()
    mask = torch.tensor([0.0, 0.25, 1.0, 1.0, 0.0, 0.5]).view(1, 6, 1)
    ours = blend_clean(x0, mask, clean)
    assert torch.equal(ours, post_process_latent(x0, mask, clean))
    assert torch.equal(ours[0, 0], clean[0, 0]) and torch.equal(ours[0, 2], x0[0, 2])


@pytest.mark.parametrize("noise_scale", [1.0, 0.909375])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_noise_states_match_gaussian_noiser(noise_scale: float, dtype: torch.dtype) -> None:
    vshape, ashape = RefVideoShape(1, 128, 3, 2, 2), RefAudioShape(1, 8, 9, 16)
    g = torch.Generator().manual_seed(5)
    v_initial = torch.randn(*vshape, generator=g).to(dtype)
    ref_v = VideoLatentTools(VideoLatentPatchifier(1), vshape, 24.0).create_initial_state("cpu", dtype, v_initial)
    ref_a = AudioLatentTools(AudioPatchifier(1), ashape).create_initial_state("cpu", dtype)
    # an i2v-like conditioning: the first latent frame (4 tokens) is kept clean
    ref_v = replace(ref_v, denoise_mask=ref_v.denoise_mask.clone().index_fill_(1, torch.arange(4), 0.0))

    noiser = GaussianNoiser(torch.Generator().manual_seed(42))
    want_v, want_a = noiser(ref_v, noise_scale), noiser(ref_a, noise_scale)

    ours_v = LatentState(ref_v.latent, ref_v.clean_latent, ref_v.denoise_mask, ref_v.positions)
    ours_a = LatentState(ref_a.latent, ref_a.clean_latent, ref_a.denoise_mask, ref_a.positions)
    got_v, got_a = noise_states(ours_v, ours_a, make_generator(42), noise_scale)
    assert torch.equal(got_v.latent, want_v.latent)
    assert torch.equal(got_a.latent, want_a.latent)
    assert torch.equal(got_v.latent[:, :4], v_initial.flatten(2).transpose(1, 2)[:, :4])  # clean tokens untouched


def test_add_noise_is_the_flow_interpolation() -> None:
    x0, eps = torch.full((1, 3, 2), 2.0), torch.full((1, 3, 2), -1.0)
    mask = torch.tensor([1.0, 0.5, 0.0]).view(1, 3, 1)
    out = add_noise(x0, eps, mask, noise_scale=0.5)
    # sigma per token = mask * 0.5 -> (1 - s) * 2 + s * (-1)
    assert out[0, :, 0].tolist() == [0.5, 1.25, 2.0]


def test_empty_state() -> None:
    st = LatentState.empty(torch.zeros(2, 3, 5, 2, dtype=torch.bfloat16), 128, torch.bfloat16)
    assert st.latent.shape == (2, 5, 128) and st.denoise_mask.shape == (2, 5, 1)
    assert st.token_sigmas(0.5).flatten().tolist() == [0.5] * 10
