"""Seam metrics of an extended clip: how much each join between generations jumps, against the clip's own steps.

Video: the mean absolute difference of two consecutive frames (0..255 per channel), at each join (the last frame
of one segment against the first new frame of the next) and its median over every other consecutive pair.
Audio: the spectral jump between the 20 ms just before and just after a time (mean absolute difference of the
log-magnitude spectra, Hann window, channels averaged), at each join and its median over every 20 ms boundary
away from the joins. A seam reads as the clip's ordinary motion when its values are near the within-segment ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ltxflow.clip import Clip

AUDIO_WINDOW_S = 0.02  # s each side of a boundary
_EPS = 1e-6  # floor of a magnitude before its log (silence)


@dataclass(frozen=True)
class Seams:
    """The joins of an extended clip and their jumps; `*_within` are the medians away from the joins."""

    joins: tuple[int, ...]  # frame index of each later segment's first new frame
    frame_diff: tuple[float, ...]  # per join: mean |frame[j] - frame[j-1]|, 0..255
    frame_diff_within: float  # median over the other consecutive frame pairs
    audio_jump: tuple[float, ...] = ()  # per join: spectral jump at j / fps (empty when silent)
    audio_jump_within: float | None = None  # median at the 20 ms boundaries away from the joins

    def facts(self) -> dict[str, object]:
        """JSON-ready, as the ledger records them with each video deliverable."""
        return {"joins": list(self.joins), "frame_diff": [round(v, 4) for v in self.frame_diff],
                "frame_diff_within": round(self.frame_diff_within, 4),
                "audio_jump": [round(v, 4) for v in self.audio_jump],
                "audio_jump_within": None if self.audio_jump_within is None else round(self.audio_jump_within, 4)}  # fmt: skip

    @property
    def worst_ratio(self) -> float:
        """The largest seam / within ratio over both modalities (1 = a seam like any other step)."""
        ratios = [v / self.frame_diff_within for v in self.frame_diff if self.frame_diff_within > 0]
        if self.audio_jump_within:
            ratios += [v / self.audio_jump_within for v in self.audio_jump]
        return max(ratios, default=1.0)


def frame_steps(frames: np.ndarray) -> np.ndarray:
    """(T-1,) mean |frame[t+1] - frame[t]| of (T, H, W, 3) uint8 frames (a pair at a time: long clips are large)."""
    return np.array([np.abs(frames[t + 1].astype(np.int16) - frames[t]).mean() for t in range(len(frames) - 1)])


def spectral_jump(audio: np.ndarray, at: int, window: int) -> float:
    """Mean |log|FFT(after)| - log|FFT(before)|| of the `window` samples each side of sample `at` ((C, S) audio)."""
    hann = np.hanning(window)
    before = np.abs(np.fft.rfft(audio[:, at - window : at] * hann, axis=-1)).mean(axis=0)
    after = np.abs(np.fft.rfft(audio[:, at : at + window] * hann, axis=-1)).mean(axis=0)
    return float(np.abs(np.log(after + _EPS) - np.log(before + _EPS)).mean())


def measure(clip: Clip) -> Seams | None:
    """The clip's seam metrics, or None when it is one generation (no joins)."""
    if not clip.joins:
        return None
    steps = frame_steps(clip.frames)  # steps[t]: frame t -> t + 1
    at_joins = [j - 1 for j in clip.joins]
    others = np.delete(steps, at_joins)
    seams = Seams(clip.joins, tuple(float(steps[i]) for i in at_joins), float(np.median(others)) if others.size else 0.0)
    if clip.audio is None or clip.sample_rate is None:
        return seams
    rate, audio = clip.sample_rate, clip.audio
    window = max(8, round(AUDIO_WINDOW_S * rate))
    join_samples = [round(j / clip.fps * rate) for j in clip.joins]
    usable = [s for s in join_samples if window <= s <= audio.shape[-1] - window]
    bounds = [b for b in range(window, audio.shape[-1] - window + 1, window)
              if all(abs(b - s) >= window for s in join_samples)]  # fmt: skip
    if not usable or not bounds:
        return seams
    within = float(np.median([spectral_jump(audio, b, window) for b in bounds]))
    return Seams(seams.joins, seams.frame_diff, seams.frame_diff_within,
                 tuple(spectral_jump(audio, s, window) for s in usable), within)  # fmt: skip


__all__ = ["AUDIO_WINDOW_S", "Seams", "frame_steps", "measure", "spectral_jump"]
