"""generate(): prompt contexts (cached per prompt) and conditioning items -> sampling stages -> decoding -> Clip."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ltxflow.clip import Clip
from ltxflow.engine.conditioning import ConditioningItem, encoded_audio, video_items
from ltxflow.engine.pipelines.decode import to_clip
from ltxflow.engine.pipelines.denoiser import Contexts
from ltxflow.engine.pipelines.extend import sample_extended
from ltxflow.engine.pipelines.models import ModelSet, free_memory
from ltxflow.engine.pipelines.request import GenerationRequest, PipelineError
from ltxflow.engine.pipelines.stages import Latents, StageItems, sample
from ltxflow.engine.sampling import Pass, StepInfo, passes_needed

Progress = Callable[[int, int], None]  # progress(steps_done, steps_total)


def encode_prompts(models: ModelSet, request: GenerationRequest) -> Contexts:
    """Contexts of the prompt and, when CFG is on for either modality (never distilled), of the negative prompt
    (the request's own contexts when it brings them)."""
    audio_guidance = request.audio_guidance if request.audio else None
    guided = request.pipeline != "distilled"
    needs_negative = guided and Pass.UNCOND in passes_needed(request.video_guidance, audio_guidance)
    if request.contexts is not None:
        c = request.contexts
        if needs_negative and (c.negative_video is None or c.negative_audio is None):
            raise PipelineError("classifier-free guidance (cfg != 1) needs negative-prompt contexts in the request")
        cast = lambda t: None if t is None else t.to(device=models.device, dtype=models.dtype)  # noqa: E731
        return Contexts(cast(c.video), cast(c.audio), cast(c.negative_video), cast(c.negative_audio))
    prompts = [request.prompt, request.negative_prompt] if needs_negative else [request.prompt]
    video, audio = models.text.encode(prompts)  # (1 or 2, L, Cv), (1 or 2, L, Ca)
    video, audio = video.to(models.dtype), audio.to(models.dtype)
    if needs_negative:
        return Contexts(video[:1], audio[:1], video[1:], audio[1:])
    return Contexts(video, audio)


def encode_conditioning(models: ModelSet, request: GenerationRequest) -> StageItems:
    """The request's decoded media as latent-state items (stills and source video encode per stage grid; the
    reference audio is encoded here, once)."""
    video: tuple[ConditioningItem, ...] = ()
    audio: tuple[ConditioningItem, ...] = ()
    if request.needs_video_encoder:
        video = video_items(request.images, request.source_video, models.video_encoder)
    if request.reference_audio is not None:
        audio = (encoded_audio(request.reference_audio, models.audio_encoder, request.num_frames, request.fps),)
    return StageItems(video, audio)


@torch.inference_mode()
def generate_latents(models: ModelSet, request: GenerationRequest, progress: Progress | None = None) -> Latents:
    """Sample the request's final latent states (no decoding)."""
    contexts = encode_prompts(models, request)
    total = request.total_steps

    def on_step(info: StepInfo) -> None:
        if progress is not None:
            progress(info.step + 1, total)

    if request.extended:  # segments encode their own stills
        return sample_extended(models, request, contexts, on_step)
    return sample(models, request, contexts, on_step, encode_conditioning(models, request))


@torch.inference_mode()
def generate(models: ModelSet, request: GenerationRequest, progress: Progress | None = None) -> Clip:
    """Generate one clip: frames (F, H, W, 3) uint8 at request.fps, and stereo audio unless silent."""
    latents = generate_latents(models, request, progress)
    free_memory(models.device)
    clip = to_clip(models, latents, request.fps, request.tiling, request.seed)
    del latents
    free_memory(models.device)
    return clip
