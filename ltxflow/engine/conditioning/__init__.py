"""Conditioning: images, keyframes, source video and reference audio pinned into the initial latent state."""

from ltxflow.engine.conditioning.decoded import (
    AudioCondition,
    EncodedImage,
    EncodedVideo,
    ImageCondition,
    VideoCondition,
    encoded_audio,
    fit_cover,
    fit_frames,
    video_items,
)
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
    "AudioCondition",
    "CleanAudio",
    "ConditioningError",
    "ConditioningItem",
    "EncodedImage",
    "EncodedVideo",
    "ImageCondition",
    "Keyframe",
    "LatentFrames",
    "Target",
    "VideoCondition",
    "apply_all",
    "clear_appended",
    "encoded_audio",
    "fit_cover",
    "fit_frames",
    "keyframe_positions",
    "video_items",
]
