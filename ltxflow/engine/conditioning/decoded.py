"""A task's conditioning files read and turned into conditioning items, plus the media to deliver unchanged.

Image and video items keep the decoded pixels and encode them when applied, fitted to the grid being generated,
so a two-stage pipeline conditions its half-size first stage and its full-size second stage alike (the reference
encodes its images once per stage size too).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ltxflow.clip import Clip
from ltxflow.engine.audio import AudioEncoder, encode_waveform
from ltxflow.engine.conditioning.items import CleanAudio, ConditioningItem, Keyframe, LatentFrames, Target
from ltxflow.engine.latents import AudioLatentShape, VideoLatentShape
from ltxflow.engine.latents.shapes import VIDEO_SPACE_STRIDE
from ltxflow.engine.sampling.state import LatentState
from ltxflow.engine.video_vae import VideoEncoder, encode_frames
from ltxflow.errors import LtxflowError
from ltxflow.media import MediaError, fit_cover, read_audio, read_video
from ltxflow.media.image import load_image, to_unit_range
from ltxflow.media.video import fit_frames
from ltxflow.tasks import Task

DELIVERY_RATE = 48_000  # Hz of the original brand audio handed to export (presets resample as they need)
ENCODE_SLACK_S = 0.1  # extra seconds of reference audio encoded so the latent count always covers the clip


def _pixel_size(target: Target) -> tuple[int, int]:
    """(height, width) in pixels of the video grid being generated."""
    shape = target.shape
    assert isinstance(shape, VideoLatentShape)
    return shape.height * VIDEO_SPACE_STRIDE, shape.width * VIDEO_SPACE_STRIDE


@dataclass(frozen=True)
class ImageCondition:
    """A still shown at pixel frame `frame`: fitted and encoded for the grid it is applied to."""

    pixels: torch.Tensor  # (H0, W0, 3) float32 in [0, 255], the decoded image at its own size
    encoder: VideoEncoder
    strength: float = 1.0
    frame: int = 0  # 0: replaces latent frame 0; later frames: an appended keyframe

    def apply(self, state: LatentState, target: Target) -> LatentState:
        """Encode at the target's pixel size, then condition as the reference's latent-index / keyframe items."""
        height, width = _pixel_size(target)
        still = to_unit_range(fit_cover(self.pixels, height, width))  # (H, W, 3) in [-1, 1]
        latent = encode_frames(self.encoder, still[None]).clone()  # (1, C, 1, H', W')
        if self.frame == 0:
            return LatentFrames(latent, 0, self.strength).apply(state, target)
        return Keyframe(latent, self.frame, self.strength).apply(state, target)


@dataclass(frozen=True)
class VideoCondition:
    """Source frames that replace every video token (audio-for-a-video): fitted and encoded per grid."""

    frames: np.ndarray  # (T, H0, W0, 3) uint8 at the source size, T = the clip's frame count
    encoder: VideoEncoder

    def apply(self, state: LatentState, target: Target) -> LatentState:
        """Encode all frames at the target's pixel size; every token keeps its encoded value (mask 0)."""
        height, width = _pixel_size(target)
        latent = encode_frames(self.encoder, fit_frames(self.frames, height, width)).clone()  # (1, C, F', H', W')
        return LatentFrames(latent, 0, 1.0).apply(state, target)


@dataclass(frozen=True)
class TaskConditioning:
    """What a task's files contribute: latent-state edits per modality and media delivered unchanged."""

    video_items: tuple[ConditioningItem, ...] = ()
    audio_items: tuple[ConditioningItem, ...] = ()
    frames: np.ndarray | None = None  # (T, H, W, 3) uint8 source frames delivered as the clip (video-to-audio)
    audio: np.ndarray | None = None  # (2, S) float32 original brand audio delivered as the track (reference)
    sample_rate: int | None = None  # Hz of `audio`


def task_conditioning(
    task: Task, video_encoder: VideoEncoder | None, audio_encoder: AudioEncoder | None
) -> TaskConditioning:
    """Read the task's image / end image / brand audio / source video (one-line MediaError naming file and
    variant)."""
    video_items: list[ConditioningItem] = []
    audio_items: list[ConditioningItem] = []
    frames = delivered = None
    variant = task.variant_id
    seconds = float(task.num_frames) / float(task.frame_rate)

    if task.audio_mode == "video-to-audio":
        source = _required(task, "source_video")
        raw = read_video(source, task.num_frames, task.frame_rate, variant=variant)  # (T, H0, W0, 3)
        frames = fit_frames(raw, task.height, task.width)  # (T, H, W, 3) delivered as is
        video_items.append(VideoCondition(raw, _need(video_encoder, "video")))
    else:
        # the first frame replaces latent frame 0; the last frame is an appended keyframe at the last pixel frame
        for role, frame in (("image", 0), ("end_image", task.num_frames - 1)):
            if (still := task.condition(role)) is not None:
                pixels = torch.tensor(load_image(still.path, variant=variant), dtype=torch.float32)  # (H0, W0, 3)
                video_items.append(ImageCondition(pixels, _need(video_encoder, "video"), still.strength, frame))

    if task.audio_mode == "reference":
        brand = _required(task, "brand_audio")
        delivered = read_audio(brand, DELIVERY_RATE, round(seconds * DELIVERY_RATE), variant=variant)
        encoder = _need(audio_encoder, "audio")
        rate = encoder.cfg.sample_rate
        reference = read_audio(brand, rate, math.ceil((seconds + ENCODE_SLACK_S) * rate), variant=variant)
        latents = AudioLatentShape.from_video(1, task.num_frames, task.frame_rate).frames  # as the generated grid
        encoded = encode_waveform(torch.from_numpy(reference), rate, encoder, latents)  # (1, z, A, 16)
        audio_items.append(CleanAudio(encoded))

    return TaskConditioning(
        video_items=tuple(video_items),
        audio_items=tuple(audio_items),
        frames=frames,
        audio=delivered,
        sample_rate=DELIVERY_RATE if delivered is not None else None,
    )


def _required(task: Task, role: str) -> Path:
    """The path of the task's `role` file, or a one-line MediaError naming the variant and the missing role."""
    cond = task.condition(role)
    if cond is None:
        raise MediaError(f"variant {task.variant_id}: audio mode {task.audio_mode!r} needs a {role} file, "
                         f"and the task names none")  # fmt: skip
    return Path(cond.path)


def _need(encoder, kind: str):  # type: ignore[no-untyped-def]
    """The encoder, or a clear error when the checkpoint has none."""
    if encoder is None:
        raise LtxflowError(f"this conditioning needs the checkpoint's {kind} VAE encoder, which was not loaded")
    return encoder


def with_delivered_media(clip: Clip, conditioning: TaskConditioning) -> Clip:
    """The clip with the source frames and/or the original brand audio in place of their generated versions."""
    frames = conditioning.frames if conditioning.frames is not None else clip.frames
    if conditioning.audio is not None:
        return Clip(frames, clip.fps, conditioning.audio, conditioning.sample_rate)
    return Clip(frames, clip.fps, clip.audio, clip.sample_rate)
