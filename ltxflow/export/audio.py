"""Audio for a deliverable: resample to the preset's rate and layout, fit to the video, normalise loudness."""

from __future__ import annotations

import math
from fractions import Fraction

import av
import numpy as np

from ltxflow.export.loudness import LoudnessReport, normalize
from ltxflow.export.presets import Preset

_LAYOUTS = {1: "mono", 2: "stereo"}


def resample(audio: np.ndarray, rate: int, to_rate: int, to_channels: int) -> np.ndarray:
    """(C, S) float32 at `rate` -> (to_channels, S') float32 at `to_rate`, through libswresample."""
    layout = _LAYOUTS.get(audio.shape[0]) or f"{audio.shape[0]}c"
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio, dtype=np.float32), format="fltp", layout=layout)
    frame.sample_rate = rate
    frame.pts, frame.time_base = 0, Fraction(1, rate)
    resampler = av.AudioResampler(format="fltp", layout=_LAYOUTS[to_channels], rate=to_rate)
    chunks = [f.to_ndarray() for f in [*resampler.resample(frame), *resampler.resample(None)]]
    if not chunks:
        return np.zeros((to_channels, 0), np.float32)
    return np.concatenate(chunks, axis=-1).astype(np.float32)  # (to_channels, S')


def fit_length(audio: np.ndarray, samples: int) -> np.ndarray:
    """Trim or zero-pad (C, S) to exactly `samples`."""
    if audio.shape[-1] >= samples:
        return audio[:, :samples]
    return np.pad(audio, ((0, 0), (0, samples - audio.shape[-1])))


def delivery_audio(
    audio: np.ndarray | None, rate: int | None, seconds: Fraction, preset: Preset
) -> tuple[np.ndarray | None, LoudnessReport | None]:
    """The track to encode: (channels, seconds * rate) float32 normalised, silence if required, or None."""
    samples = math.floor(seconds * preset.sample_rate)
    if audio is None or rate is None:
        silent = np.zeros((preset.channels, samples), np.float32)
        return (silent if preset.require_audio else None), None
    track = fit_length(resample(audio, rate, preset.sample_rate, preset.channels), samples)
    ceiling = preset.true_peak_dbtp - preset.aac_headroom_db
    track, report = normalize(track, preset.sample_rate, preset.loudness_lufs, ceiling)
    return np.clip(track, -1.0, 1.0), report
