"""Pipeline-level parity: our guided one-stage sampling (TransformerDenoiser + denoise) vs ltx_pipelines'
euler_denoising_loop + multi_modal_guider_denoising_func over ltx-core's X0Model, on one tiny random transformer.

Same state dict on both sides, injected noise (the initial noisy states are given), fixed random contexts, the
default 4-pass guidance with STG on block 1. Float64 (FP64_TOL below; in float32 the two differ by ~1e-6 because
float32 GEMMs block differently for our batched passes than for the reference's separate ones).
"""

from fractions import Fraction

import pytest
import torch
from ltx_core.components.diffusion_steps import EulerDiffusionStep
from ltx_core.components.guiders import MultiModalGuider, MultiModalGuiderParams
from ltx_core.model.transformer.model import X0Model
from ltx_core.model.transformer.model_configurator import LTXModelConfigurator
from ltx_core.types import LatentState as RefState

from ltxflow.engine.latents import AudioLatentShape, VideoLatentShape, audio_positions, video_positions
from ltxflow.engine.pipelines import Contexts, TransformerDenoiser
from ltxflow.engine.sampling import GuidanceParams, LatentState, Pass, denoise, ltx2_sigmas
from ltxflow.engine.transformer import LTXTransformer, TransformerConfig

FPS = Fraction(24)
L = 8  # text tokens
VIDEO_G = GuidanceParams(cfg=3.0, stg=1.0, rescale=0.7, modality=3.0, stg_blocks=(1,))
AUDIO_G = GuidanceParams(cfg=7.0, stg=1.0, rescale=0.7, modality=3.0, stg_blocks=(1,))
# float64, max|a - b| / max|b|. The float64 part: a few eps64 = 1.1e-16 roundings per op x accumulation lengths
# (<= 128) x depth (2 blocks of ~30 ops, 4 passes combined by guidance of total weight <= 1 + 2 (6 + 1 + 2) = 19,
# 4 steps): <= ~1e-16 * 128 * 60 * 19 * 4 ~ 6e-11, within 1e-10. Both sides also round to float32 at the same
# points, which ltx-core hard-codes and ours mirrors (x0 = x - sigma v in to_denoised, the velocity and the Euler
# update): identical float64 inputs round identically there, and the inputs are identical here (measured 0.0,
# the same float64 kernels row for row whatever the batch size).
FP64_TOL = 1e-10


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


@pytest.fixture(scope="module", params=["19b", "22b"])
def models(request):
    """(reference X0Model, our transformer, config) with one seeded state dict, in float64."""
    config = TransformerConfig.tiny_19b() if request.param == "19b" else TransformerConfig.tiny_22b()
    meta = {**config.to_metadata(), "attention_type": "pytorch"}
    with torch.device("meta"):
        ref = LTXModelConfigurator.from_config({"transformer": meta})
        ours = LTXTransformer(config)
    ref = ref.to_empty(device="cpu")
    g = torch.Generator().manual_seed(0)
    sd = {k: (torch.randn(v.shape, generator=g) * 0.3).double() for k, v in sorted(ref.state_dict().items())}
    ref.load_state_dict(sd, strict=True, assign=True)
    ours.load_state_dict(sd, strict=True, assign=True)
    return X0Model(ref.eval()), ours.eval(), config


def inputs(config: TransformerConfig, seed: int = 1):
    """Noisy initial states (sigma 1: pure injected noise) and positive/negative contexts for both modalities."""
    g = torch.Generator().manual_seed(seed)
    v_shape = VideoLatentShape(1, config.in_channels, 2, 2, 3)
    a_shape = AudioLatentShape.from_video(1, 9, FPS)
    f64 = torch.float64
    video = LatentState.empty(video_positions(v_shape, FPS, dtype=f64), config.in_channels, f64)
    audio = LatentState.empty(audio_positions(a_shape), config.audio_in_channels, f64)  # positions stay float32
    randn = lambda shape: torch.randn(shape, generator=g).to(f64)  # noqa: E731  (float32 draws, as before)
    video = LatentState(randn(video.latent.shape), video.clean, video.denoise_mask, video.positions)
    audio = LatentState(randn(audio.latent.shape), audio.clean, audio.denoise_mask, audio.positions)
    width_v = config.video_dim if config.caption_proj_before_connector else config.caption_channels
    width_a = config.audio_dim if config.caption_proj_before_connector else config.caption_channels
    ctx = Contexts(*(randn((1, L, w)) for w in (width_v, width_a, width_v, width_a)))
    return video, audio, ctx


def reference(ltx_pipelines, ref: X0Model, video, audio, ctx: Contexts, sigmas):
    def params(p: GuidanceParams) -> MultiModalGuiderParams:
        return MultiModalGuiderParams(p.cfg, p.stg, list(p.stg_blocks), p.rescale, p.modality)

    fn = ltx_pipelines.helpers.multi_modal_guider_denoising_func(
        MultiModalGuider(params(VIDEO_G), negative_context=ctx.negative_video),
        MultiModalGuider(params(AUDIO_G), negative_context=ctx.negative_audio),
        ctx.video, ctx.audio, ref,
    )  # fmt: skip
    to_ref = lambda s: RefState(s.latent, s.denoise_mask, s.positions, s.clean)  # noqa: E731
    with torch.inference_mode():
        return ltx_pipelines.samplers.euler_denoising_loop(sigmas, to_ref(video), to_ref(audio),
                                                           EulerDiffusionStep(), fn)  # fmt: skip


def test_guided_sampling_matches_reference(ltx_pipelines, models) -> None:
    ref, ours, config = models
    video, audio, ctx = inputs(config)
    sigmas = ltx2_sigmas(4)
    ref_v, ref_a = reference(ltx_pipelines, ref, video, audio, ctx, sigmas)
    denoiser = TransformerDenoiser(ours, ctx, batched=True)
    batches = []  # batch size each block ran with
    hooks = [b.register_forward_pre_hook(lambda _m, args: batches.append(args[0].shape[0]))
             for b in ours.transformer_blocks]
    with torch.inference_mode():
        out_v, out_a = denoise(denoiser, video, audio, sigmas, VIDEO_G, AUDIO_G)
    for hook in hooks:
        hook.remove()
    assert denoiser.forwards == 4  # one batched forward per step
    # the STG pass (block 1) shares block 0 with the conditional pass: 3 items there, all 4 from block 1 on
    assert batches == [3, 4] * 4
    assert out_v.latent.dtype == ref_v.latent.dtype == torch.float64
    assert rel_err(out_v.latent, ref_v.latent) <= FP64_TOL
    assert rel_err(out_a.latent, ref_a.latent) <= FP64_TOL


def test_denoiser_gives_one_sigma_per_item_unless_tokens_are_conditioned(models) -> None:
    _, ours, config = models
    video, audio, ctx = inputs(config, seed=4)
    seen = []  # timesteps shapes the transformer was called with (video, audio)
    original = ours.predict_x0

    def recording(v, a, *rest):
        seen.append((v.timesteps.shape, a.timesteps.shape))
        return original(v, a, *rest)

    ours.predict_x0 = recording
    conditioned = LatentState(video.latent, video.clean, video.denoise_mask.clone(), video.positions)
    conditioned.denoise_mask[:, :6] = 0.0  # the first latent frame (2x3 tokens) pinned, as image conditioning does
    try:
        with torch.inference_mode():
            plain = denoise(TransformerDenoiser(ours, ctx), video, audio, ltx2_sigmas(2), VIDEO_G, AUDIO_G)
            denoise(TransformerDenoiser(ours, ctx), conditioned, audio, ltx2_sigmas(2), VIDEO_G, AUDIO_G)
    finally:
        del ours.predict_x0
    tokens = video.latent.shape[1]
    assert seen == [((4, 1), (4, 1))] * 2 + [((4, tokens), (4, 1))] * 2  # two steps each
    assert torch.isfinite(plain[0].latent).all()


def test_batched_passes_equal_separate_passes(models) -> None:
    _, ours, config = models
    video, audio, ctx = inputs(config, seed=2)
    sigmas = ltx2_sigmas(3)
    batched, separate = TransformerDenoiser(ours, ctx, batched=True), TransformerDenoiser(ours, ctx, batched=False)
    with torch.inference_mode():
        one = denoise(batched, video, audio, sigmas, VIDEO_G, AUDIO_G)
        many = denoise(separate, video, audio, sigmas, VIDEO_G, AUDIO_G)
    assert (batched.forwards, separate.forwards) == (3, 3 * len(Pass))
    assert rel_err(one[0].latent, many[0].latent) <= FP64_TOL  # only the GEMMs' batch sizes differ
    assert rel_err(one[1].latent, many[1].latent) <= FP64_TOL
    assert not torch.allclose(one[0].latent, video.latent)  # the model did move the latents


def test_cfg_without_negative_context_is_an_error(models) -> None:
    _, ours, config = models
    video, audio, ctx = inputs(config)
    positive_only = Contexts(ctx.video, ctx.audio)
    with pytest.raises(ValueError, match="negative-prompt contexts"), torch.inference_mode():
        denoise(TransformerDenoiser(ours, positive_only), video, audio, ltx2_sigmas(2), VIDEO_G, AUDIO_G)


def test_silent_sampling_runs_video_only(models) -> None:
    _, ours, config = models
    video, _, ctx = inputs(config, seed=3)
    with torch.inference_mode():
        out_v, out_a = denoise(TransformerDenoiser(ours, ctx), video, None, ltx2_sigmas(2), VIDEO_G, AUDIO_G)
    assert out_a is None and out_v.latent.shape == video.latent.shape and torch.isfinite(out_v.latent).all()
