"""From final latents to a Clip: video VAE (tiled) -> uint8 frames; audio VAE + vocoder -> waveform."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import torch

from ltxflow.clip import Clip
from ltxflow.engine.audio import decode_to_waveform
from ltxflow.engine.latents import unpatchify_audio, unpatchify_video
from ltxflow.engine.pipelines.models import ModelSet
from ltxflow.engine.pipelines.stages import Latents
from ltxflow.engine.video_vae import TilingConfig, tiled_decode, video_to_frames


def decode_video(models: ModelSet, latents: Latents, tiling: TilingConfig, seed: int) -> np.ndarray:
    """(1, T, C) video tokens -> (F, H, W, 3) uint8 frames, decoded tile by tile."""
    grid = unpatchify_video(latents.video.latent, latents.video_shape)  # (1, C, F', H', W')
    generator = torch.Generator(device=models.device).manual_seed(seed)  # decoder noise, if it is conditioned
    video = tiled_decode(models.video_decoder, grid, tiling, generator=generator)  # (1, 3, F, H, W) fp32
    return video_to_frames(video).cpu().numpy()


def decode_audio(models: ModelSet, latents: Latents, seconds: Fraction) -> tuple[np.ndarray, int]:
    """(1, A, C) audio tokens -> ((2, S) float32 waveform fitted to `seconds`, sample rate in Hz)."""
    assert latents.audio is not None and latents.audio_shape is not None
    assert models.audio_decoder is not None and models.vocoder is not None
    grid = unpatchify_audio(latents.audio.latent, latents.audio_shape)  # (1, z, A, 16)
    wave, rate = decode_to_waveform(grid, models.audio_decoder, models.vocoder)  # (1, 2, S) fp32
    samples = round(seconds * rate)  # the vocoder gives (4A - 3) hops: pad or trim to the video's length
    wave = wave[0, :, :samples]  # (2, <=S)
    if wave.shape[-1] < samples:
        wave = torch.nn.functional.pad(wave, (0, samples - wave.shape[-1]))  # (2, S)
    return wave.clamp(-1.0, 1.0).cpu().numpy().astype(np.float32), rate


def to_clip(models: ModelSet, latents: Latents, fps: Fraction, tiling: TilingConfig, seed: int) -> Clip:
    """Decode both modalities into a Clip with a rational fps."""
    frames = decode_video(models, latents, tiling, seed)  # (F, H, W, 3)
    if latents.audio is None:
        return Clip(frames, fps, joins=latents.joins)
    audio, rate = decode_audio(models, latents, Fraction(frames.shape[0]) / fps)
    return Clip(frames, fps, audio, rate, joins=latents.joins)
