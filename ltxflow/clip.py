"""The engine's product: one generated clip, frames and synchronized audio."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np


@dataclass(frozen=True, eq=False)
class Clip:
    """Video frames with a rational frame rate, plus an optional waveform with its sample rate.

    frames: (T, H, W, 3) uint8 RGB.
    fps: frames per second as a Fraction (24, 25, 30000/1001, ...), never a float.
    audio: (C, S) float32 in [-1, 1], or None for a silent clip.
    sample_rate: Hz of `audio`; None when `audio` is None.
    joins: frame indices where the segments of an extended clip after the first begin (empty: one generation).
    """

    frames: np.ndarray
    fps: Fraction
    audio: np.ndarray | None = None
    sample_rate: int | None = None
    joins: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.frames.ndim != 4 or self.frames.shape[-1] != 3 or self.frames.dtype != np.uint8:
            raise ValueError(f"frames must be (T, H, W, 3) uint8, got {self.frames.shape} {self.frames.dtype}")
        if not isinstance(self.fps, Fraction) or self.fps <= 0:
            raise ValueError(f"fps must be a positive Fraction, got {self.fps!r}")
        if (self.audio is None) != (self.sample_rate is None):
            raise ValueError("audio and sample_rate go together")
        if self.audio is not None and (self.audio.ndim != 2 or self.audio.dtype != np.float32):
            raise ValueError(f"audio must be (C, S) float32, got {self.audio.shape} {self.audio.dtype}")
        if any(not 0 < j < self.frames.shape[0] for j in self.joins) or list(self.joins) != sorted(set(self.joins)):
            raise ValueError(f"joins must be increasing frame indices inside the clip, got {self.joins}")

    @property
    def num_frames(self) -> int:
        return self.frames.shape[0]

    @property
    def height(self) -> int:
        return self.frames.shape[1]

    @property
    def width(self) -> int:
        return self.frames.shape[2]

    @property
    def duration(self) -> Fraction:
        """Seconds of video: frames / fps."""
        return self.num_frames / self.fps
