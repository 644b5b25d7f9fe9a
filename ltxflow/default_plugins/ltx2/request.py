"""Task -> engine request: the one place a Task's settings and files become a `GenerationRequest`.

The task's conditioning files are read and decoded here (through `ltxflow.media`, one-line MediaErrors naming file
and variant); the engine only ever sees pixels and samples. Media the task delivers unchanged (the source frames of
an audio-for-video task, the original brand audio of a reference-audio task) go back onto the generated clip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ltxflow.clip import Clip
from ltxflow.default_plugins.ltx2.loras import TaskLoras
from ltxflow.default_plugins.ltx2.settings import EngineError
from ltxflow.engine import (
    NO_GUIDANCE,
    AudioCondition,
    Extension,
    GenerationRequest,
    GuidanceParams,
    ImageCondition,
    VideoCondition,
)
from ltxflow.engine.conditioning import fit_frames
from ltxflow.media import MediaError, read_audio, read_video
from ltxflow.media.image import load_image
from ltxflow.tasks import Guidance, Task

DELIVERY_RATE = 48_000  # Hz of the original brand audio handed to export (presets resample as they need)
ENCODE_SLACK_S = 0.1  # extra seconds of reference audio read so the encoded latents always cover the clip


@dataclass(frozen=True)
class Delivery:
    """Media a task delivers unchanged in place of their generated versions."""

    frames: np.ndarray | None = None  # (T, H, W, 3) uint8 source frames at the clip size (video-to-audio)
    audio: np.ndarray | None = None  # (2, S) float32 original brand audio (reference)
    sample_rate: int | None = None  # Hz of `audio`


@dataclass(frozen=True)
class TaskMedia:
    """A task's conditioning files, decoded: what the request carries and what is delivered as is."""

    images: tuple[ImageCondition, ...] = ()
    source_video: VideoCondition | None = None
    reference_audio: AudioCondition | None = None
    delivery: Delivery = Delivery()


def read_media(task: Task, audio_rate: int | None) -> TaskMedia:
    """Read the task's image / end image / brand audio / source video (one-line MediaError naming file and
    variant). `audio_rate`: Hz the engine's audio VAE encoder reads (None: the checkpoint has none)."""
    variant = task.variant_id
    images: list[ImageCondition] = []
    source = reference = None
    frames = delivered = None
    if task.audio_mode == "video-to-audio":
        raw = read_video(_required(task, "source_video"), task.num_frames, task.frame_rate, variant=variant)
        frames = fit_frames(raw, task.height, task.width)  # (T, H, W, 3) delivered as is
        source = VideoCondition(raw)  # (T, H0, W0, 3): the engine fits it to each stage's grid
    else:
        # the first frame replaces latent frame 0; the last frame is an appended keyframe at the last pixel frame
        for role, frame in (("image", 0), ("end_image", task.num_frames - 1)):
            if (still := task.condition(role)) is not None:
                pixels = torch.tensor(load_image(still.path, variant=variant), dtype=torch.float32)  # (H0, W0, 3)
                images.append(ImageCondition(pixels, frame, still.strength))
    if task.audio_mode == "reference":
        brand = _required(task, "brand_audio")
        seconds = float(task.num_frames) / float(task.frame_rate)
        delivered = read_audio(brand, DELIVERY_RATE, round(seconds * DELIVERY_RATE), variant=variant)  # (2, S)
        if audio_rate is None:
            raise EngineError("this conditioning needs the checkpoint's audio VAE encoder, which it does not have")
        wave = read_audio(brand, audio_rate, math.ceil((seconds + ENCODE_SLACK_S) * audio_rate), variant=variant)
        reference = AudioCondition(torch.from_numpy(wave), audio_rate)
    delivery = Delivery(frames, delivered, DELIVERY_RATE if delivered is not None else None)
    return TaskMedia(tuple(images), source, reference, delivery)


def _required(task: Task, role: str) -> Path:
    """The path of the task's `role` file, or a one-line MediaError naming the variant and the missing role."""
    cond = task.condition(role)
    if cond is None:
        raise MediaError(f"variant {task.variant_id}: audio mode {task.audio_mode!r} needs a {role} file, "
                         f"and the task names none")  # fmt: skip
    return Path(cond.path)


def guidance_params(guidance: Guidance, blocks: int, where: str) -> GuidanceParams:
    """The task's guidance of one modality; STG blocks must exist in the model."""
    wrong = [b for b in guidance.stg_blocks if b >= blocks]
    if wrong and guidance.stg != 0:
        raise EngineError(f"guidance.{where}.stg_blocks: block {wrong[0]} does not exist in this model "
                          f"({blocks} blocks: 0..{blocks - 1})")  # fmt: skip
    return GuidanceParams(guidance.cfg, guidance.stg, guidance.rescale, guidance.modality, guidance.stg_blocks)


def task_request(task: Task, media: TaskMedia, blocks: int, loras: TaskLoras = TaskLoras()) -> GenerationRequest:
    """The task's generation settings, decoded media and loaded LoRAs as an engine request (`blocks`: the DiT's
    depth)."""
    return GenerationRequest(
        prompt=task.prompt,
        negative_prompt=task.negative_prompt,
        width=task.width,
        height=task.height,
        num_frames=task.num_frames,
        fps=task.frame_rate,
        seed=task.seed,
        steps=task.steps,
        pipeline=task.pipeline,
        video_guidance=guidance_params(task.video_guidance, blocks, "video"),
        # with reference audio the audio tokens stay clean: no audio guidance, as the reference's A2V pipeline
        audio_guidance=NO_GUIDANCE if task.audio_mode == "reference" else guidance_params(
            task.audio_guidance, blocks, "audio"),
        audio=task.audio_mode != "silent",
        images=media.images,
        source_video=media.source_video,
        reference_audio=media.reference_audio,
        loras=loras.first,
        stage2_loras=loras.refine,
        extension=Extension(task.segment_frames, task.overlap) if task.segment_frames else None,
    )


def with_delivered_media(clip: Clip, delivery: Delivery) -> Clip:
    """The clip with the source frames and/or the original brand audio in place of their generated versions."""
    frames = delivery.frames if delivery.frames is not None else clip.frames
    if delivery.audio is not None:
        return Clip(frames, clip.fps, delivery.audio, delivery.sample_rate, clip.joins)
    return Clip(frames, clip.fps, clip.audio, clip.sample_rate, clip.joins)
