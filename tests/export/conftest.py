"""Synthetic clips (moving gradients, tones) and independent measurements for the export tests."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pyloudnorm
import pytest
from scipy.signal import resample_poly

from ltxflow.clip import Clip


def gradient_frames(frames: int, height: int, width: int) -> np.ndarray:
    """(T, H, W, 3) uint8 gradients that move a few px per frame."""
    t = np.arange(frames)[:, None, None]
    y = np.arange(height)[None, :, None]
    x = np.arange(width)[None, None, :]
    zero = np.zeros((frames, height, width), np.int64)
    rgb = [(x * 255 // max(1, width - 1) + 7 * t + zero), (y * 255 // max(1, height - 1) + 3 * t + zero), (x + y + zero) // 4]
    return (np.stack(rgb, axis=-1) % 256).astype(np.uint8)


def make_clip(seconds: float = 1.0, fps: Fraction = Fraction(24), size: tuple[int, int] = (192, 112),
              audio: str | None = "sine", rate: int = 44100, channels: int = 1, dbfs: float = -40.0) -> Clip:  # fmt: skip
    """A clip of `seconds` at `fps`, (height, width) `size`; audio "sine" (997 Hz at dbfs), "square" (clipping) or None."""
    frames = max(1, round(seconds * fps))
    samples = round(frames / fps * rate)
    if audio is None:
        return Clip(gradient_frames(frames, *size), fps)
    t = np.arange(samples) / rate
    if audio == "sine":
        wave = 10 ** (dbfs / 20) * math.sqrt(2) * np.sin(2 * np.pi * 997 * t)
    else:  # a square-ish wave driven 10 dB into clipping
        wave = np.clip(3.0 * np.sin(2 * np.pi * 150 * t), -1.0, 1.0)
    return Clip(gradient_frames(frames, *size), fps, np.repeat(wave[None], channels, axis=0).astype(np.float32), rate)


def decoded_audio(path: Path) -> tuple[np.ndarray, int]:
    """(C, S) float64 decoded audio of a file and its rate."""
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        chunks = []
        for frame in c.decode(stream):
            samples = frame.to_ndarray()
            if not frame.format.is_planar:  # packed: (1, S * C) interleaved
                samples = samples.reshape(-1, stream.channels).T
            if samples.dtype.kind == "i":  # integer PCM: full scale is 2**(bits - 1)
                samples = samples / float(2 ** (8 * samples.dtype.itemsize - 1))
            chunks.append(samples)
        return np.concatenate(chunks, axis=-1).astype(np.float64), stream.rate


def reference_lufs(audio: np.ndarray, rate: int) -> float:
    """Integrated loudness by pyloudnorm (independent of ltxflow's meter)."""
    return pyloudnorm.Meter(rate).integrated_loudness(audio.T)


def reference_true_peak(audio: np.ndarray) -> float:
    """dBTP by 4x polyphase oversampling with scipy (independent of ltxflow's meter)."""
    return 20 * math.log10(np.abs(resample_poly(audio, 4, 1, axis=-1)).max())


@pytest.fixture
def small():
    """Override table that shrinks a preset for fast tests (keeps High-profile features; drops a minimum frame size,
    which the shrunk frame would fail)."""

    def overrides(preset, **extra):
        height = 480 if preset.height == 1920 else round(480 * preset.height / preset.width * 0.5625) // 2 * 2
        return preset.with_overrides({"width": 270, "height": height, "x264_preset": "ultrafast", "min_width": None,
                                      "min_height": None, **extra}, "test")  # fmt: skip

    return overrides
