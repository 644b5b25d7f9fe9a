"""A task's conditioning files read, fitted and encoded into conditioning items, plus the media to deliver as is."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ltxflow.engine.audio import AudioEncoder, encode_waveform
from ltxflow.engine.conditioning.items import CleanAudio, ConditioningItem, LatentFrames
from ltxflow.engine.latents import AudioLatentShape
from ltxflow.engine.video_vae import VideoEncoder, encode_frames
from ltxflow.media import read_audio, read_image, read_video
from ltxflow.tasks import Task

DELIVERY_RATE = 48_000  # Hz of the original brand audio handed to export (presets resample as they need)
ENCODE_SLACK_S = 0.1  # extra seconds of reference audio encoded so the latent count always covers the clip


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
    """Read the task's image / brand audio / source video (one-line MediaError naming file and variant) and encode."""
    video_items: list[ConditioningItem] = []
    audio_items: list[ConditioningItem] = []
    frames = delivered = None
    variant = task.variant_id
    seconds = float(task.num_frames) / float(task.frame_rate)

    if task.audio_mode == "video-to-audio":
        source = _required(task, "source_video")
        frames = read_video(source, task.num_frames, task.frame_rate, task.width, task.height, variant=variant)
        video_items.append(LatentFrames(_encode_video(video_encoder, frames), 0, 1.0))  # every frame kept
    elif (image := task.condition("image")) is not None:
        still = read_image(image.path, task.width, task.height, variant=variant)  # (H, W, 3) in [-1, 1]
        video_items.append(LatentFrames(_encode_video(video_encoder, still[None]), 0, image.strength))

    if task.audio_mode == "reference":
        brand = _required(task, "brand_audio")
        delivered = read_audio(brand, DELIVERY_RATE, round(seconds * DELIVERY_RATE), variant=variant)
        if audio_encoder is None:
            raise ValueError("reference audio needs an audio encoder")
        rate = audio_encoder.cfg.sample_rate
        reference = read_audio(brand, rate, math.ceil((seconds + ENCODE_SLACK_S) * rate), variant=variant)
        latents = AudioLatentShape.from_video(1, task.num_frames, task.frame_rate).frames  # as the generated grid
        encoded = encode_waveform(torch.from_numpy(reference), rate, audio_encoder, latents)  # (1, z, A, 16)
        audio_items.append(CleanAudio(encoded))

    return TaskConditioning(
        video_items=tuple(video_items),
        audio_items=tuple(audio_items),
        frames=frames,
        audio=delivered,
        sample_rate=DELIVERY_RATE if delivered is not None else None,
    )


def _required(task: Task, role: str) -> Path:
    """The path of the task's `role` file; its absence is a planning bug, reported with the variant."""
    cond = task.condition(role)
    if cond is None:
        raise ValueError(f"variant {task.variant_id}: audio mode {task.audio_mode!r} needs a {role} file")
    return Path(cond.path)


def _encode_video(encoder: VideoEncoder | None, frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(F, H, W, 3) uint8 or [-1, 1] float -> (1, C, F', H', W') normalised latent."""
    if encoder is None:
        raise ValueError("image or video conditioning needs a video encoder")
    return encode_frames(encoder, frames)
