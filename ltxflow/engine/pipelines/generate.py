"""generate(): prompt contexts (cached per prompt) -> sampling stages -> decoding -> Clip."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ltxflow.clip import Clip
from ltxflow.engine.pipelines.decode import to_clip
from ltxflow.engine.pipelines.denoiser import Contexts
from ltxflow.engine.pipelines.models import ModelSet, free_memory
from ltxflow.engine.pipelines.request import GenerationRequest
from ltxflow.engine.pipelines.stages import Latents, sample
from ltxflow.engine.sampling import Pass, StepInfo, passes_needed

Progress = Callable[[int, int], None]  # progress(steps_done, steps_total)


def encode_prompts(models: ModelSet, request: GenerationRequest) -> Contexts:
    """Contexts of the prompt and, when CFG is on for either modality (never distilled), of the negative prompt."""
    audio_guidance = request.audio_guidance if request.audio else None
    guided = request.pipeline != "distilled"
    needs_negative = guided and Pass.UNCOND in passes_needed(request.video_guidance, audio_guidance)
    prompts = [request.prompt, request.negative_prompt] if needs_negative else [request.prompt]
    video, audio = models.text.encode(prompts)  # (1 or 2, L, Cv), (1 or 2, L, Ca)
    video, audio = video.to(models.dtype), audio.to(models.dtype)
    if needs_negative:
        return Contexts(video[:1], audio[:1], video[1:], audio[1:])
    return Contexts(video, audio)


@torch.inference_mode()
def generate_latents(models: ModelSet, request: GenerationRequest, progress: Progress | None = None) -> Latents:
    """Sample the request's final latent states (no decoding)."""
    contexts = encode_prompts(models, request)
    total = request.total_steps

    def on_step(info: StepInfo) -> None:
        if progress is not None:
            progress(info.step + 1, total)

    return sample(models, request, contexts, on_step)


@torch.inference_mode()
def generate(models: ModelSet, request: GenerationRequest, progress: Progress | None = None) -> Clip:
    """Generate one clip: frames (F, H, W, 3) uint8 at request.fps, and stereo audio unless silent."""
    latents = generate_latents(models, request, progress)
    free_memory(models.device)
    clip = to_clip(models, latents, request.fps, request.tiling, request.seed)
    del latents
    free_memory(models.device)
    return clip
