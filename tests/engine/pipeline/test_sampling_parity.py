"""Pipeline-level parity: our guided one-stage sampling (TransformerDenoiser + denoise) vs ltx_pipelines'
euler_denoising_loop + multi_modal_guider_denoising_func over ltx-core's X0Model, on one tiny random transformer.

Same state dict on both sides, injected noise (the initial noisy states are given), fixed random contexts, the
default 4-pass guidance with STG on block 1. fp32 tolerance: max|a-b| / max|b| <= 1e-5 (observed ~1e-6: the two
implementations sum attention and matmuls in different orders).
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


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


@pytest.fixture(scope="module", params=["19b", "22b"])
def models(request):
    """(reference X0Model, our transformer, config) with one seeded fp32 state dict."""
    config = TransformerConfig.tiny_19b() if request.param == "19b" else TransformerConfig.tiny_22b()
    meta = {**config.to_metadata(), "attention_type": "pytorch"}
    with torch.device("meta"):
        ref = LTXModelConfigurator.from_config({"transformer": meta})
        ours = LTXTransformer(config)
    ref = ref.to_empty(device="cpu")
    g = torch.Generator().manual_seed(0)
    sd = {k: torch.randn(v.shape, generator=g) * 0.3 for k, v in sorted(ref.state_dict().items())}
    ref.load_state_dict(sd, strict=True)
    ours.load_state_dict(sd, strict=True, assign=True)
    return X0Model(ref.eval()), ours.eval(), config


def inputs(config: TransformerConfig, seed: int = 1):
    """Noisy initial states (sigma 1: pure injected noise) and positive/negative contexts for both modalities."""
    g = torch.Generator().manual_seed(seed)
    v_shape = VideoLatentShape(1, config.in_channels, 2, 2, 3)
    a_shape = AudioLatentShape.from_video(1, 9, FPS)
    video = LatentState.empty(video_positions(v_shape, FPS), config.in_channels, torch.float32)
    audio = LatentState.empty(audio_positions(a_shape), config.audio_in_channels, torch.float32)
    video = LatentState(torch.randn(video.latent.shape, generator=g), video.clean, video.denoise_mask, video.positions)
    audio = LatentState(torch.randn(audio.latent.shape, generator=g), audio.clean, audio.denoise_mask, audio.positions)
    width_v = config.video_dim if config.caption_proj_before_connector else config.caption_channels
    width_a = config.audio_dim if config.caption_proj_before_connector else config.caption_channels
    ctx = Contexts(*(torch.randn(1, L, w, generator=g) for w in (width_v, width_a, width_v, width_a)))
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
    assert rel_err(out_v.latent, ref_v.latent) <= 1e-5
    assert rel_err(out_a.latent, ref_a.latent) <= 1e-5


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
    assert rel_err(one[0].latent, many[0].latent) <= 1e-5
    assert rel_err(one[1].latent, many[1].latent) <= 1e-5
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
