"""Conditioning: images, keyframes, source video and reference audio pinned into the initial latent state."""

from ltxflow.engine.conditioning.items import (
    CleanAudio,
    ConditioningError,
    ConditioningItem,
    Keyframe,
    LatentFrames,
    Target,
    apply_all,
    clear_appended,
    keyframe_positions,
)

__all__ = [
    "CleanAudio",
    "ConditioningError",
    "ConditioningItem",
    "Keyframe",
    "LatentFrames",
    "Target",
    "apply_all",
    "clear_appended",
    "keyframe_positions",
]
