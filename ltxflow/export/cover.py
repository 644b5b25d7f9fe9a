"""Cover frames chosen by a rule: the sharpest frame of the clip's first second(s), the middle one, or a given time."""

from __future__ import annotations

import math

import numpy as np

from ltxflow.clip import Clip
from ltxflow.tasks import Cover

LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)  # BT.709 luma weights


def sharpness(rgb: np.ndarray) -> float:
    """Variance of the Laplacian of the frame's luma (H, W, 3) uint8: higher is sharper (Pech-Pacheco et al. 2000)."""
    y = rgb.astype(np.float32) @ LUMA  # (H, W)
    lap = -4 * y[1:-1, 1:-1] + y[:-2, 1:-1] + y[2:, 1:-1] + y[1:-1, :-2] + y[1:-1, 2:]  # (H-2, W-2)
    return float(lap.var()) if lap.size else 0.0


def cover_frame(clip: Clip, rule: Cover) -> int:
    """The index of the clip's frame the rule picks."""
    last = clip.num_frames - 1
    if rule.rule == "middle":
        return clip.num_frames // 2
    if rule.rule == "at":
        return min(last, max(0, math.floor(rule.seconds * clip.fps)))
    window = max(1, min(clip.num_frames, math.ceil(rule.seconds * clip.fps)))  # frames of the first `seconds`
    scores = [sharpness(clip.frames[i]) for i in range(window)]
    return int(np.argmax(scores))  # the first of equals: ties keep the earliest frame


__all__ = ["cover_frame", "sharpness"]
