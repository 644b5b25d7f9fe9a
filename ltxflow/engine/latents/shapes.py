"""Latent grid shapes of the LTX-2 video VAE (x8 time, x32 space, causal) and audio VAE (25 latents/s)."""

from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple

import torch

from ltxflow.errors import LtxflowError

# ---------------------------------------------------------------------------------------------------------------------
# Compression factors of the shipped VAEs
# ---------------------------------------------------------------------------------------------------------------------

VIDEO_TIME_STRIDE = 8  # pixel frames per latent frame (after the first, causal frame)
VIDEO_SPACE_STRIDE = 32  # pixels per latent cell along height and width
VIDEO_LATENT_CHANNELS = 128

AUDIO_SAMPLE_RATE = 16_000  # Hz, the audio VAE's input rate
AUDIO_HOP = 160  # mel hop in samples (10 ms)
AUDIO_TIME_STRIDE = 4  # mel frames per audio latent
AUDIO_LATENTS_PER_SECOND = AUDIO_SAMPLE_RATE / AUDIO_HOP / AUDIO_TIME_STRIDE  # 25.0
AUDIO_LATENT_CHANNELS = 8
AUDIO_MEL_BINS = 16  # latent frequency bins (64 mel bins / 4)


class LatentShapeError(LtxflowError, ValueError):
    """A video size, frame count, fps or duration the VAEs cannot represent."""


def _nearest_multiples(value: int, step: int) -> str:
    """Return 'a or b', the valid multiples of `step` around `value` (never below `step`)."""
    low = max(step, (value // step) * step)
    high = max(step, low + step if low < value else low)
    return f"{low}" if low == high else f"{low} or {high}"


def _nearest_causal_frames(frames: int) -> str:
    """Return 'a or b', the valid 8k+1 frame counts around `frames`."""
    low = max(1, ((frames - 1) // VIDEO_TIME_STRIDE) * VIDEO_TIME_STRIDE + 1)
    high = low + VIDEO_TIME_STRIDE if low < frames else low
    return f"{low}" if low == high else f"{low} or {high}"


class VideoLatentShape(NamedTuple):
    """Video latent grid (batch, channels, frames, height, width); one token per latent cell."""

    batch: int
    channels: int
    frames: int  # latent frames F' = (F - 1) // 8 + 1
    height: int  # latent rows H / 32
    width: int  # latent columns W / 32

    @staticmethod
    def from_pixels(
        batch: int, frames: int, height: int, width: int, channels: int = VIDEO_LATENT_CHANNELS
    ) -> VideoLatentShape:
        """Latent shape of a `frames`x`height`x`width` video; rejects sizes the VAE cannot produce."""
        if batch < 1:
            raise LatentShapeError(f"batch must be >= 1, got {batch}")
        if frames < 1 or (frames - 1) % VIDEO_TIME_STRIDE != 0:
            raise LatentShapeError(
                f"frames={frames} is not 8k+1 (1, 9, 17, ..., 121); nearest valid: {_nearest_causal_frames(frames)}"
            )
        for name, value in (("height", height), ("width", width)):
            if value < VIDEO_SPACE_STRIDE or value % VIDEO_SPACE_STRIDE != 0:
                raise LatentShapeError(
                    f"{name}={value} is not a positive multiple of {VIDEO_SPACE_STRIDE}; "
                    f"nearest valid: {_nearest_multiples(value, VIDEO_SPACE_STRIDE)}"
                )
        return VideoLatentShape(
            batch=batch,
            channels=channels,
            frames=(frames - 1) // VIDEO_TIME_STRIDE + 1,
            height=height // VIDEO_SPACE_STRIDE,
            width=width // VIDEO_SPACE_STRIDE,
        )

    @property
    def pixel_frames(self) -> int:
        """Number of decoded frames, 8(F'-1)+1."""
        return (self.frames - 1) * VIDEO_TIME_STRIDE + 1

    def token_count(self) -> int:
        """Tokens per sample after patchify (patch 1x1x1)."""
        return self.frames * self.height * self.width

    def to_torch_shape(self) -> torch.Size:
        """(B, C, F', H', W')."""
        return torch.Size(self)


class AudioLatentShape(NamedTuple):
    """Audio latent grid (batch, channels, frames, mel_bins); one token per latent frame (8 ch x 16 bins = 128)."""

    batch: int
    channels: int
    frames: int  # latent frames, 25 per second
    mel_bins: int

    @staticmethod
    def from_seconds(batch: int, seconds: float) -> AudioLatentShape:
        """Latent shape of `seconds` of audio: round(seconds * 25) frames."""
        if seconds <= 0:
            raise LatentShapeError(f"audio duration must be > 0 seconds, got {seconds}")
        return AudioLatentShape(batch, AUDIO_LATENT_CHANNELS, round(seconds * AUDIO_LATENTS_PER_SECOND), AUDIO_MEL_BINS)

    @staticmethod
    def from_video(batch: int, frames: int, fps: Fraction | float | int) -> AudioLatentShape:
        """Audio latents that span a video of `frames` at `fps`: A = round(frames / fps * 25)."""
        if frames < 1:
            raise LatentShapeError(f"frames must be >= 1, got {frames}")
        if fps <= 0:
            raise LatentShapeError(f"fps must be > 0, got {fps}")
        # float arithmetic in the same order as the reference so rounding ties fall the same way
        return AudioLatentShape.from_seconds(batch, float(frames) / float(fps))

    def token_count(self) -> int:
        """Tokens per sample after patchify."""
        return self.frames

    def to_torch_shape(self) -> torch.Size:
        """(B, C, A, M)."""
        return torch.Size(self)
