"""Sampling stages: initial latent states, one guided stage, latent x2 upsampling, and the three pipeline kinds.

One-stage: noise -> `steps` guided Euler steps at full size.
Two-stage: `steps` guided steps at half size -> x2 latent upsampling -> both modalities re-noised to the first
distilled stage-2 sigma -> 3 unguided refinement steps at full size.
Distilled: the distilled stage-1 sigma list (8 steps, unguided) at half size, then the same refinement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction

import torch

from ltxflow.engine.conditioning import ConditioningItem, Target, apply_all, clear_appended
from ltxflow.engine.latents import (
    AudioLatentShape,
    VideoLatentShape,
    audio_positions,
    patchify_video,
    unpatchify_video,
    video_positions,
)
from ltxflow.engine.latents.shapes import AUDIO_MEL_BINS
from ltxflow.engine.pipelines.denoiser import Contexts, TransformerDenoiser
from ltxflow.engine.pipelines.models import ModelSet, free_memory
from ltxflow.engine.pipelines.request import GenerationRequest, PipelineError
from ltxflow.engine.sampling import (
    NO_GUIDANCE,
    GuidanceParams,
    LatentState,
    StepInfo,
    denoise,
    distilled_sigmas,
    ltx2_sigmas,
    noise_states,
)
from ltxflow.engine.upsampler import upsample_latents

StepCallback = Callable[[StepInfo], None]


@dataclass(frozen=True)
class Latents:
    """Final token states and the grids they fill."""

    video: LatentState  # (B, Tv, C) tokens of `video_shape`
    audio: LatentState | None  # (B, Ta, C) tokens of `audio_shape`, None when silent
    video_shape: VideoLatentShape
    audio_shape: AudioLatentShape | None
    joins: tuple[int, ...] = ()  # pixel frames where extension segments after the first begin (none: one generation)


@dataclass(frozen=True)
class StageItems:
    """Edits of the initial latent states, applied at every stage (each fits itself to the stage's grid)."""

    video: tuple[ConditioningItem, ...] = ()  # images, keyframes, source video
    audio: tuple[ConditioningItem, ...] = ()  # reference audio


# ---------------------------------------------------------------------------------------------------------------------
# Initial states
# ---------------------------------------------------------------------------------------------------------------------


def video_state(shape: VideoLatentShape, fps: Fraction, models: ModelSet, items: tuple = (),
                latent: torch.Tensor | None = None) -> LatentState:  # fmt: skip
    """Zero (or `latent`) tokens of `shape`, mask 1, positions in the model dtype (as the reference), then items."""
    positions = video_positions(shape, fps, dtype=models.dtype, device=models.device)  # (B, 3, T, 2)
    state = LatentState.empty(positions, shape.channels, models.dtype)
    if latent is not None:
        state = replace(state, latent=latent, clean=latent.clone())
    return apply_all(items, state, Target(shape, fps))


def audio_state(shape: AudioLatentShape, fps: Fraction, models: ModelSet, items: tuple = (),
                latent: torch.Tensor | None = None) -> LatentState:  # fmt: skip
    """Zero (or `latent`) audio tokens of `shape`, mask 1, fp32 positions (as the reference), then items."""
    positions = audio_positions(shape, device=models.device)  # (B, 1, A, 2)
    state = LatentState.empty(positions, shape.channels * shape.mel_bins, models.dtype)
    if latent is not None:
        state = replace(state, latent=latent, clean=latent.clone())
    return apply_all(items, state, Target(shape, fps))


def shapes_for(request: GenerationRequest, models: ModelSet, scale: int = 1) -> tuple[VideoLatentShape,
                                                                                       AudioLatentShape | None]:
    """Latent grids of the request at 1/`scale` of its pixel size (the audio grid never scales)."""
    channels = models.transformer.config.in_channels
    video = VideoLatentShape.from_pixels(1, request.num_frames, request.height // scale, request.width // scale,
                                         channels=channels)  # fmt: skip
    if not request.audio:
        return video, None
    frames = AudioLatentShape.from_video(1, request.num_frames, request.fps).frames
    return video, AudioLatentShape(1, models.audio_channels, frames, AUDIO_MEL_BINS)


# ---------------------------------------------------------------------------------------------------------------------
# Stages
# ---------------------------------------------------------------------------------------------------------------------


def run_stage(models: ModelSet, contexts: Contexts, video: LatentState, audio: LatentState | None,
              sigmas: torch.Tensor, video_guidance: GuidanceParams, audio_guidance: GuidanceParams,
              generator: torch.Generator, batched: bool, callback: StepCallback | None) -> tuple[LatentState,
                                                                                                 LatentState | None]:
    """Noise both states to sigmas[0] (video drawn first), then guided Euler steps down `sigmas`."""
    video, audio = noise_states(video, audio, generator, noise_scale=float(sigmas[0]))
    denoiser = TransformerDenoiser(models.transformer, contexts, batched=batched)
    return denoise(denoiser, video, audio, sigmas.to(models.device), video_guidance, audio_guidance, callback)


def upsample_video(models: ModelSet, tokens: torch.Tensor, shape: VideoLatentShape) -> torch.Tensor:
    """Half-size video tokens (1, T, C) -> full-size tokens (1, 4T, C) through the x2 latent upsampler."""
    if models.upsampler is None:
        raise PipelineError("two-stage generation needs a latent upsampler file (none was loaded)")
    grid = unpatchify_video(tokens, shape)  # (1, C, F, H, W)
    up = upsample_latents(grid, models.upsampler, models.video_decoder.per_channel_statistics)  # (1, C, F, 2H, 2W)
    return patchify_video(up.to(models.dtype))  # (1, F*2H*2W, C)


def sample(models: ModelSet, request: GenerationRequest, contexts: Contexts, callback: StepCallback | None = None,
           items: StageItems = StageItems()) -> Latents:  # fmt: skip
    """Run the request's pipeline kind and return the final full-size token states."""
    generator = torch.Generator(device=models.device).manual_seed(request.seed)
    models.loras.use(request.loras)
    if request.pipeline == "one-stage":
        v_shape, a_shape = shapes_for(request, models)
        video = video_state(v_shape, request.fps, models, items.video)
        audio = audio_state(a_shape, request.fps, models, items.audio) if a_shape else None
        sigmas = ltx2_sigmas(request.steps)
        video, audio = run_stage(models, contexts, video, audio, sigmas, request.video_guidance,
                                 request.audio_guidance, generator, request.batched_passes, callback)  # fmt: skip
        return _final(video, audio, v_shape, a_shape, request.fps)

    # stage 1 at half size
    half_v, a_shape = shapes_for(request, models, scale=2)
    video = video_state(half_v, request.fps, models, items.video)
    audio = audio_state(a_shape, request.fps, models, items.audio) if a_shape else None
    if request.pipeline == "distilled":
        sigmas, vg, ag = distilled_sigmas(1), NO_GUIDANCE, NO_GUIDANCE
    else:
        sigmas, vg, ag = ltx2_sigmas(request.steps), request.video_guidance, request.audio_guidance
    video, audio = run_stage(models, contexts, video, audio, sigmas, vg, ag, generator, request.batched_passes,
                             callback)  # fmt: skip
    video = clear_appended(video, Target(half_v, request.fps))
    up = upsample_video(models, video.latent, half_v)
    stage1_audio = audio.latent if audio is not None else None
    del video, audio
    free_memory(models.device)

    # stage 2 at full size: both modalities re-noised to the first stage-2 sigma and refined without guidance
    models.loras.use(request.loras if request.stage2_loras is None else request.stage2_loras)
    full_v, _ = shapes_for(request, models)
    video = video_state(full_v, request.fps, models, items.video, latent=up)
    audio = audio_state(a_shape, request.fps, models, items.audio, latent=stage1_audio) if a_shape else None
    refine = None
    if callback is not None:
        offset = len(sigmas) - 1
        refine = lambda info: callback(replace(info, step=info.step + offset))  # noqa: E731
    video, audio = run_stage(models, contexts, video, audio, distilled_sigmas(2), NO_GUIDANCE, NO_GUIDANCE,
                             generator, request.batched_passes, refine)  # fmt: skip
    return _final(video, audio, full_v, a_shape, request.fps)


def _final(video: LatentState, audio: LatentState | None, v_shape: VideoLatentShape,
           a_shape: AudioLatentShape | None, fps: Fraction) -> Latents:  # fmt: skip
    """Drop appended conditioning tokens; the rest is the generated grid."""
    video = clear_appended(video, Target(v_shape, fps))
    if audio is not None and a_shape is not None:
        audio = clear_appended(audio, Target(a_shape, fps))
    return Latents(video, audio, v_shape, a_shape)
