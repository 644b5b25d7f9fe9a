"""LTX2Engine: one resident LTX-2 model set serving every task of a run (built by the plugin's factory)."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ltxflow.clip import Clip
from ltxflow.default_plugins.ltx2 import ENGINE_NAME
from ltxflow.default_plugins.ltx2.loras import LoraCache
from ltxflow.default_plugins.ltx2.request import TaskMedia, read_media, task_request, with_delivered_media
from ltxflow.default_plugins.ltx2.settings import (
    DIT_ENV,
    EMBEDDINGS_ENV,
    GEMMA_ENV,
    UPSAMPLER_ENV,
    EngineError,
    dit_speed,
    pick_device,
    pick_dtype,
)
from ltxflow.engine import TINY_NAME, GenerationRequest, ModelSet, TextSource, ensure_tiny_checkpoint, generate
from ltxflow.engine import load_models
from ltxflow.engines import EngineSettings, Progress
from ltxflow.tasks import Task


class LTX2Engine:
    """One resident LTX-2 model set serving every task of a run."""

    name = ENGINE_NAME

    def __init__(self, settings: EngineSettings) -> None:
        self.device = pick_device(settings.device)
        self.dtype = pick_dtype(settings.dtype, self.device)
        upsampler: Path | None
        if settings.checkpoint == TINY_NAME:
            checkpoint, upsampler = ensure_tiny_checkpoint()
            text = TextSource()
        else:
            checkpoint = Path(settings.checkpoint)
            if checkpoint.suffix != ".safetensors" or not checkpoint.is_file():
                raise EngineError(f"generation.checkpoint: {checkpoint} is not a .safetensors file (or \"tiny\")")
            upsampler = Path(os.environ[UPSAMPLER_ENV]) if os.environ.get(UPSAMPLER_ENV) else None
            text = TextSource(
                gemma_dir=Path(os.environ[GEMMA_ENV]) if os.environ.get(GEMMA_ENV) else None,
                precomputed=Path(os.environ[EMBEDDINGS_ENV]) if os.environ.get(EMBEDDINGS_ENV) else None,
            )
        speed = dit_speed(os.environ.get(DIT_ENV, ""), self.device)
        self.models: ModelSet | None = load_models(checkpoint, self.device, self.dtype, text, upsampler, speed)
        self.checkpoint = checkpoint
        self.loras = LoraCache()  # the tasks' LoRA files, read once (the model set keeps the clean weights)
        self.device_name = torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "cpu"

    def request(self, task: Task, media: TaskMedia = TaskMedia()) -> GenerationRequest:
        """The task's generation settings (and its decoded conditioning) as an engine request."""
        assert self.models is not None
        return task_request(task, media, self.models.transformer.config.num_layers, self.loras.for_task(task))

    def generate(self, task: Task, progress: Progress | None = None) -> Clip:
        """Generate the task's clip, calling `progress(done, total)` after every denoising step."""
        if self.models is None:
            raise EngineError("the ltx2 engine was closed")
        audio_rate = self.models.reference_audio_rate if task.audio_mode == "reference" else None
        media = read_media(task, audio_rate)  # the task's files, decoded (the engine reads no file)
        clip = generate(self.models, self.request(task, media), progress)
        return with_delivered_media(clip, media.delivery)

    def close(self) -> None:
        """Release the models and their device memory."""
        if self.models is not None:
            self.models.close()
            self.models = None
