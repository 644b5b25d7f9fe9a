"""The two-stage pipeline with LoRAs vs ltx_pipelines' ti2vid two-stage: stage 1 with the user's LoRAs, stage 2 with
the user's LoRAs plus the distilled LoRA (the reference's `stage_1_model_ledger.with_additional_loras(distilled)`),
each reference transformer built by ltx-core's own loader with the LoRAs fused.

Both sides load the same bf16 checkpoint and LoRA files into float64 and run the reference's helper sequence (as
tests/engine/pipeline/test_pipeline_parity.py, whose bound and its derivation apply unchanged: the fused weights are
equal bit for bit, test_fuse_parity.py, so the LoRAs add no difference of their own).
"""

from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace

import pytest
import torch
from ltx_core.components.diffusion_steps import EulerDiffusionStep
from ltx_core.components.guiders import MultiModalGuider, MultiModalGuiderParams
from ltx_core.components.noisers import GaussianNoiser
from ltx_core.components.schedulers import LTX2Scheduler
from ltx_core.loader import LTXV_LORA_COMFY_RENAMING_MAP, LoraPathStrengthAndSDOps
from ltx_core.loader.single_gpu_model_builder import SingleGPUModelBuilder
from ltx_core.model.transformer.model import X0Model
from ltx_core.model.transformer.model_configurator import LTXV_MODEL_COMFY_RENAMING_MAP, LTXModelConfigurator
from ltx_core.model.upsampler import LatentUpsamplerConfigurator, upsample_video
from ltx_core.model.video_vae.ops import PerChannelStatistics as RefStats
from ltx_core.types import VideoPixelShape

from ltxflow.engine.checkpoint import Checkpoint
from ltxflow.engine.latents import unpatchify_audio, unpatchify_video
from ltxflow.engine.lora import LoraFile, WeightedLora
from ltxflow.engine.pipelines import Contexts, GenerationRequest, ModelSet, sample
from ltxflow.engine.sampling import GuidanceParams
from ltxflow.engine.sampling.schedules import DISTILLED_STAGE2_SIGMAS
from ltxflow.engine.upsampler import UpsamplerConfig, build_upsampler
from ltxflow.engine.video_vae import PerChannelStatistics

from ._helpers import CONFIGS, linear_shapes, random_lora, save_lora, subset, write_checkpoint

F64 = torch.float64
# float64, max|a - b| / max|b|: a few eps64 roundings per op x accumulation lengths (<= 128) x depth (2 blocks of
# ~30 ops, guidance weight <= 19, 3 guided + 3 refining steps, the upsampler): <= ~1e-16 * 128 * 60 * 19 * 6 ~ 1e-10
TOL = 1e-10
VIDEO_G = GuidanceParams(cfg=3.0, stg=1.0, rescale=0.7, modality=3.0, stg_blocks=(1,))
AUDIO_G = GuidanceParams(cfg=7.0, stg=1.0, rescale=0.7, modality=3.0, stg_blocks=(0,))
CHANNELS = 128  # ltx_pipelines' PipelineComponents fixes the video latent channels at 128
DISTILLED_STRENGTH = 1.0  # ltx_pipelines' DEFAULT_LORA_STRENGTH, what its two-stage CLI fuses the distilled LoRA at
USER_STRENGTH = 0.8
CONFIG = CONFIGS["19b"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Files, our models and the reference's per-stage transformers, upsampler and statistics."""
    tmp = tmp_path_factory.mktemp("two-stage")
    checkpoint = write_checkpoint(tmp / "dev.safetensors", CONFIG, seed=0, std=0.2)
    shapes = linear_shapes(CONFIG)
    user = save_lora(tmp / "brand.safetensors", random_lora(subset(shapes, "attn2", "ff."), rank=2, seed=1))
    distilled = save_lora(tmp / "distilled.safetensors", random_lora(shapes, rank=4, seed=2, std=0.3))

    def reference(loras):
        model = SingleGPUModelBuilder(
            model_path=str(checkpoint), model_class_configurator=LTXModelConfigurator,
            model_sd_ops=LTXV_MODEL_COMFY_RENAMING_MAP,
            loras=tuple(LoraPathStrengthAndSDOps(str(p), s, LTXV_LORA_COMFY_RENAMING_MAP) for p, s in loras),
        ).build(device=torch.device("cpu"), dtype=F64)
        return X0Model(model.to(F64).eval())  # .to: apply_loras leaves untouched weights in the file's bf16

    g = torch.Generator().manual_seed(0)
    up_config = {name: getattr(UpsamplerConfig.tiny(CHANNELS), name) for name in UpsamplerConfig.__dataclass_fields__}
    our_up, ref_up = build_upsampler(up_config, device="cpu"), LatentUpsamplerConfigurator.from_config(up_config)
    up_sd = {k: torch.randn(v.shape, generator=g) * 0.1 for k, v in sorted(our_up.state_dict().items())}
    our_up.load_state_dict(up_sd)
    ref_up.load_state_dict(up_sd, strict=True)
    our_up, ref_up = our_up.to(F64), ref_up.to(F64)
    stats = {"std-of-means": torch.rand(CHANNELS, generator=g) + 0.5,
             "mean-of-means": torch.randn(CHANNELS, generator=g)}
    our_stats, ref_stats = PerChannelStatistics(CHANNELS), RefStats(CHANNELS)
    our_stats.load_state_dict(stats)
    ref_stats.load_state_dict(stats)
    our_stats, ref_stats = our_stats.to(F64), ref_stats.to(F64)
    transformer = Checkpoint.open(checkpoint).load("transformer", dtype=F64)
    models = ModelSet(transformer=transformer, text=None,
                      video_decoder=SimpleNamespace(per_channel_statistics=our_stats),
                      audio_decoder=SimpleNamespace(cfg=SimpleNamespace(z_channels=8)), vocoder=None,
                      upsampler=our_up.eval(), device=torch.device("cpu"), dtype=F64, model_version="2.0")
    contexts = Contexts(*(torch.randn(1, 8, CONFIG.caption_channels, generator=g).to(F64) for _ in range(4)))
    stage1 = [(user, USER_STRENGTH)]
    stage2 = [(user, USER_STRENGTH), (distilled, DISTILLED_STRENGTH)]
    ref = SimpleNamespace(stage1=reference(stage1), stage2=reference(stage2), plain=reference([]),
                          upsampler=ref_up.eval(), stats=ref_stats)
    files = SimpleNamespace(user=LoraFile.open(user).load(), distilled=LoraFile.open(distilled).load())
    return models, contexts, ref, files


def reference_two_stage(ltx_pipelines, ref, stage1, stage2, contexts: Contexts, request: GenerationRequest):
    """ti2vid_two_stages' call sequence with per-stage transformers: unpatchified video and audio latents."""
    helpers, samplers = ltx_pipelines.helpers, ltx_pipelines.samplers
    components = ltx_pipelines.types.PipelineComponents(F64, torch.device("cpu"))
    noiser = GaussianNoiser(generator=torch.Generator().manual_seed(request.seed))
    params = lambda p: MultiModalGuiderParams(p.cfg, p.stg, list(p.stg_blocks), p.rescale, p.modality)  # noqa: E731

    def guided(sigmas, video, audio, stepper):
        fn = helpers.multi_modal_guider_denoising_func(
            MultiModalGuider(params(VIDEO_G), negative_context=contexts.negative_video),
            MultiModalGuider(params(AUDIO_G), negative_context=contexts.negative_audio),
            contexts.video, contexts.audio, stage1)  # fmt: skip
        return samplers.euler_denoising_loop(sigmas, video, audio, stepper, fn)

    def refine(sigmas, video, audio, stepper):
        fn = helpers.simple_denoising_func(contexts.video, contexts.audio, stage2)
        return samplers.euler_denoising_loop(sigmas, video, audio, stepper, fn)

    def shape(scale: int) -> VideoPixelShape:
        return VideoPixelShape(batch=1, frames=request.num_frames, width=request.width // scale,
                               height=request.height // scale, fps=float(request.fps))  # fmt: skip

    common = dict(conditionings=[], noiser=noiser, stepper=EulerDiffusionStep(), components=components,
                  dtype=F64, device=torch.device("cpu"))  # fmt: skip
    sigmas = LTX2Scheduler().execute(steps=request.steps).to(torch.float32)
    # the known first-stage noise-scale difference (test_pipeline_parity.py): the reference called with our scale
    video, audio = helpers.denoise_audio_video(output_shape=shape(2), sigmas=sigmas, denoising_loop_fn=guided,
                                               noise_scale=float(sigmas[0]), **common)  # fmt: skip
    up = upsample_video(video.latent[:1], SimpleNamespace(per_channel_statistics=ref.stats), ref.upsampler)
    sigmas2 = torch.tensor(DISTILLED_STAGE2_SIGMAS)
    video, audio = helpers.denoise_audio_video(output_shape=shape(1), sigmas=sigmas2, denoising_loop_fn=refine,
                                               noise_scale=sigmas2[0], initial_video_latent=up,
                                               initial_audio_latent=audio.latent, **common)  # fmt: skip
    return video.latent, audio.latent


def ours(models, contexts, request):
    """Our sample(), unpatchified."""
    with torch.inference_mode():
        out = sample(models, request, contexts)
    return unpatchify_video(out.video.latent, out.video_shape), unpatchify_audio(out.audio.latent, out.audio_shape)


def test_two_stage_with_the_distilled_lora_matches_the_reference(ltx_pipelines, setup):
    models, contexts, ref, files = setup
    user, distilled = WeightedLora(files.user, USER_STRENGTH), WeightedLora(files.distilled, DISTILLED_STRENGTH)
    request = GenerationRequest("unused: contexts are fixed", width=128, height=64, num_frames=9, fps=Fraction(24),
                                seed=5, steps=3, pipeline="two-stage", video_guidance=VIDEO_G, audio_guidance=AUDIO_G,
                                loras=(user,), stage2_loras=(user, distilled))  # fmt: skip
    video, audio = ours(models, contexts, request)
    with torch.inference_mode():
        ref_video, ref_audio = reference_two_stage(ltx_pipelines, ref, ref.stage1, ref.stage2, contexts, request)
        # the same sequence with the plain model in stage 2: the distilled LoRA must make a difference
        no_distilled, _ = reference_two_stage(ltx_pipelines, ref, ref.stage1, ref.stage1, contexts, request)
    assert video.shape == ref_video.shape == (1, CHANNELS, 2, 2, 4) and audio.shape == ref_audio.shape
    assert (video - ref_video).abs().max() / ref_video.abs().max() <= TOL
    assert (audio - ref_audio).abs().max() / ref_audio.abs().max() <= TOL
    assert (no_distilled - ref_video).abs().max() / ref_video.abs().max() > 1e-3
    assert models.loras.active == (user, distilled)  # left fused: the next task's set replaces it

    # the next task on the same resident model: no LoRAs at all, equal to the reference's plain pipeline
    plain = GenerationRequest("unused", width=128, height=64, num_frames=9, fps=Fraction(24), seed=5, steps=3,
                              pipeline="two-stage", video_guidance=VIDEO_G, audio_guidance=AUDIO_G)  # fmt: skip
    video, _ = ours(models, contexts, plain)
    with torch.inference_mode():
        ref_plain, _ = reference_two_stage(ltx_pipelines, ref, ref.plain, ref.plain, contexts, plain)
    assert (video - ref_plain).abs().max() / ref_plain.abs().max() <= TOL
    assert models.loras.active == () and not models.loras.fused
