"""Clips longer than one generation: segments, each conditioned on the end of the one before, joined in latents.

Segment 1 is an ordinary one-stage generation (the same seed gives the same tokens as the clip it would be
alone). Segment i > 1 is a fresh grid whose first `overlap` latent frames are the joined clip's last `overlap`
latent frames, written clean (denoise mask 0, as an image at frame 0 is); its leading audio tokens, as many as
span the same pixel frames (round(frames / fps * 25)), are the joined audio's last ones, clean too. The model
sees the end of the clip so far as the start of its own grid and continues it, with a seed of its own.

The joined clip keeps every generated token once: segment 1's, then each next segment's tokens after its
overlap, in both modalities; the video VAE and the audio VAE + vocoder then decode the joined grids in one pass
each, so no frame is repeated, no crossfade is needed and the decoders see the join as any other latent step.
Positions are each segment's own (time 0 at its first latent frame): RoPE attention depends on differences only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

import torch

from ltxflow.engine.conditioning import ConditioningItem, ImageCondition, Target, clear_appended, video_items
from ltxflow.engine.conditioning.items import LatentFrames, LeadingAudio
from ltxflow.engine.latents import AudioLatentShape, VideoLatentShape, unpatchify_video
from ltxflow.engine.latents.shapes import AUDIO_MEL_BINS
from ltxflow.engine.pipelines.denoiser import Contexts
from ltxflow.engine.pipelines.models import ModelSet
from ltxflow.engine.pipelines.request import GenerationRequest, PipelineError, Segment
from ltxflow.engine.pipelines.stages import Latents, audio_state, run_stage, video_state
from ltxflow.engine.sampling import StepInfo, ltx2_sigmas

StepCallback = Callable[[StepInfo], None]


def segment_seed(seed: int, index: int) -> int:
    """The noise seed of segment `index`: the request's for the first, a hash of (seed, index) for the rest."""
    if index == 0:
        return seed
    digest = hashlib.sha256(f"ltxflow-extension:{seed}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1  # 63 bits: a valid torch seed


def segment_images(request: GenerationRequest, segment: Segment) -> tuple[ImageCondition, ...]:
    """The request's stills that fall in the segment's new frames, at its own frame numbers."""
    lead = 8 * segment.overlap - 7 if segment.overlap else 0  # local frame of the segment's first new frame
    end = segment.join + segment.frames - lead  # joined frame after its last
    return tuple(replace(image, frame=image.frame - segment.join + lead) for image in request.images
                 if segment.join <= image.frame < end)  # fmt: skip


def sample_extended(models: ModelSet, request: GenerationRequest, contexts: Contexts,
                    callback: StepCallback | None = None) -> Latents:  # fmt: skip
    """Sample every segment of an extended one-stage request and return the joined token states."""
    if not request.extended or request.pipeline != "one-stage":
        raise PipelineError("sample_extended needs an extended one-stage request")
    channels = models.transformer.config.in_channels
    h, w = request.height // 32, request.width // 32  # latent rows and columns
    sigmas = ltx2_sigmas(request.steps)
    video_tokens: torch.Tensor | None = None  # (1, L_joined*h*w, C) joined so far
    audio_tokens: torch.Tensor | None = None  # (1, A_joined, z*16)
    joins: list[int] = []
    for index, segment in enumerate(request.segments):
        v_shape = VideoLatentShape.from_pixels(1, segment.frames, request.height, request.width, channels=channels)
        v_items: tuple[ConditioningItem, ...] = ()
        a_items: tuple[ConditioningItem, ...] = ()
        lead_audio = 0
        if segment.overlap:
            assert video_tokens is not None
            grid = unpatchify_video(video_tokens, VideoLatentShape(1, channels, video_tokens.shape[1] // (h * w), h, w))
            v_items = (LatentFrames(grid[:, :, -segment.overlap:], 0, 1.0),)  # (1, C, K, h, w) clean at the start
            if audio_tokens is not None:
                lead_audio = AudioLatentShape.from_video(1, 8 * segment.overlap - 7, request.fps).frames
                a_items = (LeadingAudio(audio_tokens[:, audio_tokens.shape[1] - lead_audio:]),)
        images = segment_images(request, segment)
        if images:
            v_items = (*v_items, *video_items(images, None, models.video_encoder))
        a_shape = None
        if request.audio:
            joined_frames = 8 * (segment.start + segment.latents - 1) + 1  # pixel frames of the clip after it
            total = AudioLatentShape.from_video(1, joined_frames, request.fps).frames
            done = 0 if audio_tokens is None else audio_tokens.shape[1]
            a_shape = AudioLatentShape(1, models.audio_channels, lead_audio + total - done, AUDIO_MEL_BINS)
        video = video_state(v_shape, request.fps, models, v_items)
        audio = audio_state(a_shape, request.fps, models, a_items) if a_shape else None
        generator = torch.Generator(device=models.device).manual_seed(segment_seed(request.seed, index))
        step = _offset(callback, index * (len(sigmas) - 1))
        video, audio = run_stage(models, contexts, video, audio, sigmas, request.video_guidance,
                                 request.audio_guidance, generator, request.batched_passes, step)  # fmt: skip
        new_video = clear_appended(video, Target(v_shape, request.fps)).latent[:, segment.overlap * h * w:]
        video_tokens = new_video if video_tokens is None else torch.cat([video_tokens, new_video], dim=1)
        if audio is not None and a_shape is not None:
            new_audio = audio.latent[:, lead_audio:]  # (1, A_new, z*16)
            audio_tokens = new_audio if audio_tokens is None else torch.cat([audio_tokens, new_audio], dim=1)
        if index:
            joins.append(segment.join)
        del video, audio
    assert video_tokens is not None
    joined_v = VideoLatentShape(1, channels, video_tokens.shape[1] // (h * w), h, w)
    if joined_v.pixel_frames != request.num_frames:
        raise PipelineError(f"extension joined {joined_v.pixel_frames} frames, the request asks for {request.num_frames}")
    video = video_state(joined_v, request.fps, models, latent=video_tokens)
    joined_a = audio = None
    if audio_tokens is not None:
        joined_a = AudioLatentShape(1, models.audio_channels, audio_tokens.shape[1], AUDIO_MEL_BINS)
        audio = audio_state(joined_a, request.fps, models, latent=audio_tokens)
    return Latents(video, audio, joined_v, joined_a, tuple(joins))


def _offset(callback: StepCallback | None, steps_before: int) -> StepCallback | None:
    """The callback with its step numbers counted over all segments."""
    if callback is None or not steps_before:
        return callback
    return lambda info: callback(replace(info, step=info.step + steps_before))
