"""Seeded initial noise in token layout: video drawn first, then audio, from one generator (as the reference)."""

from __future__ import annotations

from dataclasses import replace

import torch

from ltxflow.engine.sampling.euler import add_noise
from ltxflow.engine.sampling.state import LatentState


def make_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch.Generator on `device` seeded with `seed` (noise is bit-reproducible only on the same device type)."""
    return torch.Generator(device=device).manual_seed(seed)


@torch.no_grad()
def draw_noise(state: LatentState, generator: torch.Generator) -> torch.Tensor:
    """Standard normal noise shaped and typed like the state's tokens (B, T, C)."""
    latent = state.latent
    return torch.randn(latent.shape, generator=generator, dtype=latent.dtype, device=latent.device)


@torch.no_grad()
def noise_states(
    video: LatentState,
    audio: LatentState | None,
    generator: torch.Generator,
    noise_scale: float = 1.0,
) -> tuple[LatentState, LatentState | None]:
    """Noise video then audio tokens to sigma = noise_scale where the denoise mask is 1 (drawing order matters)."""
    video_noise = draw_noise(video, generator)
    video = replace(video, latent=add_noise(video.latent, video_noise, video.denoise_mask, noise_scale))
    if audio is not None:
        audio_noise = draw_noise(audio, generator)
        audio = replace(audio, latent=add_noise(audio.latent, audio_noise, audio.denoise_mask, noise_scale))
    return video, audio
