"""Latent grid shapes, token layout (patchify) and RoPE positions for LTX-2 video and audio latents."""

from ltxflow.engine.latents.patchify import patchify_audio, patchify_video, unpatchify_audio, unpatchify_video
from ltxflow.engine.latents.positions import audio_positions, video_positions
from ltxflow.engine.latents.shapes import AudioLatentShape, LatentShapeError, VideoLatentShape

__all__ = [
    "AudioLatentShape",
    "LatentShapeError",
    "VideoLatentShape",
    "audio_positions",
    "patchify_audio",
    "patchify_video",
    "unpatchify_audio",
    "unpatchify_video",
    "video_positions",
]
