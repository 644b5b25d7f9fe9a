"""Conditioning given as decoded media (a still, source frames, a waveform) and its encoding for a stage's grid.

The request holds pixels and samples, never file paths. Image and video items keep the decoded pixels and encode
them when applied, fitted to the grid being generated, so a two-stage pipeline conditions its half-size first stage
and its full-size second stage alike (the reference encodes its images once per stage size too).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch
import torch.nn.functional as F

from ltxflow.engine.audio import AudioEncoder, encode_waveform
from ltxflow.engine.conditioning.items import CleanAudio, ConditioningItem, Keyframe, LatentFrames, Target
from ltxflow.engine.latents import AudioLatentShape, VideoLatentShape
from ltxflow.engine.latents.shapes import VIDEO_SPACE_STRIDE
from ltxflow.engine.sampling.state import LatentState
from ltxflow.engine.video_vae import VideoEncoder, encode_frames


# ---------------------------------------------------------------------------------------------------------------------
# What a request carries
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageCondition:
    """A still shown at pixel frame `frame`: 0 replaces latent frame 0; a later frame is appended as a keyframe."""

    pixels: torch.Tensor  # (H0, W0, 3) float32 in [0, 255], the decoded image at its own size
    frame: int = 0
    strength: float = 1.0  # 1 = keep exactly (denoise mask 0), 0 = free to change


@dataclass(frozen=True)
class VideoCondition:
    """Source frames that replace every video token (audio for a given video)."""

    frames: np.ndarray  # (T, H0, W0, 3) uint8 at the source size, T = the clip's frame count


@dataclass(frozen=True)
class AudioCondition:
    """A reference waveform whose encoded latents replace every audio token (clean audio, video for a sound)."""

    waveform: torch.Tensor  # (C, S) float32 in [-1, 1] at `sample_rate`, at least the clip long
    sample_rate: int  # Hz


# ---------------------------------------------------------------------------------------------------------------------
# Pixel geometry
# ---------------------------------------------------------------------------------------------------------------------


def fit_cover(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(H0, W0, C) float -> (height, width, C): scale to cover the frame (bilinear), then crop the centre.

    Same geometry as the reference (scale = max ratio, sizes rounded up, crop offsets floored); when shrinking,
    the filter is antialiased so that fine product detail does not alias.
    """
    src_h, src_w = image.shape[0], image.shape[1]
    scale = max(height / src_h, width / src_w)
    new_h, new_w = math.ceil(src_h * scale), math.ceil(src_w * scale)  # >= target on both sides
    x = image.permute(2, 0, 1).unsqueeze(0)  # (1, C, H0, W0)
    shrink = new_h < src_h or new_w < src_w
    x = F.interpolate(x, size=(new_h, new_w), mode="bilinear", align_corners=False, antialias=shrink)  # (1, C, h, w)
    top, left = (new_h - height) // 2, (new_w - width) // 2
    x = x[:, :, top : top + height, left : left + width]  # (1, C, height, width)
    return x[0].permute(1, 2, 0).contiguous()  # (height, width, C)


def fit_frames(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """(T, h, w, 3) uint8 -> (T, height, width, 3) uint8 by cover + centre crop of each frame."""
    if frames.shape[1:3] == (height, width):
        return frames
    out = [fit_cover(torch.tensor(f, dtype=torch.float32), height, width) for f in frames]  # (height, width, 3) each
    return torch.stack(out).round().clamp(0, 255).to(torch.uint8).numpy()


def to_unit_range(pixels: torch.Tensor) -> torch.Tensor:
    """Float pixels in [0, 255] -> [-1, 1] (clamped)."""
    return (pixels / 127.5 - 1.0).clamp(-1.0, 1.0)


def _pixel_size(target: Target) -> tuple[int, int]:
    """(height, width) in pixels of the video grid being generated."""
    shape = target.shape
    assert isinstance(shape, VideoLatentShape)
    return shape.height * VIDEO_SPACE_STRIDE, shape.width * VIDEO_SPACE_STRIDE


# ---------------------------------------------------------------------------------------------------------------------
# Items that encode on application
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EncodedImage:
    """An ImageCondition encoded for the grid it is applied to (a conditioning item)."""

    image: ImageCondition
    encoder: VideoEncoder

    def apply(self, state: LatentState, target: Target) -> LatentState:
        """Encode at the target's pixel size, then condition as the reference's latent-index / keyframe items."""
        height, width = _pixel_size(target)
        still = to_unit_range(fit_cover(self.image.pixels, height, width))  # (H, W, 3) in [-1, 1]
        latent = encode_frames(self.encoder, still[None]).clone()  # (1, C, 1, H', W')
        if self.image.frame == 0:
            return LatentFrames(latent, 0, self.image.strength).apply(state, target)
        return Keyframe(latent, self.image.frame, self.image.strength).apply(state, target)


@dataclass(frozen=True)
class EncodedVideo:
    """A VideoCondition encoded for the grid it is applied to: every token keeps its encoded value (mask 0)."""

    video: VideoCondition
    encoder: VideoEncoder

    def apply(self, state: LatentState, target: Target) -> LatentState:
        """Encode all frames at the target's pixel size."""
        height, width = _pixel_size(target)
        latent = encode_frames(self.encoder, fit_frames(self.video.frames, height, width)).clone()  # (1, C, F', H', W')
        return LatentFrames(latent, 0, 1.0).apply(state, target)


def encoded_audio(audio: AudioCondition, encoder: AudioEncoder, num_frames: int, fps: Fraction) -> CleanAudio:
    """The reference waveform's latents over the generated audio grid (AudioError when it is too short)."""
    latents = AudioLatentShape.from_video(1, num_frames, fps).frames  # as the generated grid
    return CleanAudio(encode_waveform(audio.waveform, audio.sample_rate, encoder, latents))  # (1, z, A, 16)


def video_items(images: tuple[ImageCondition, ...], video: VideoCondition | None,
                encoder: VideoEncoder) -> tuple[ConditioningItem, ...]:
    """The video-state items of a request: the source video first, then the stills in order."""
    items: list[ConditioningItem] = [EncodedVideo(video, encoder)] if video is not None else []
    return (*items, *(EncodedImage(image, encoder) for image in images))
