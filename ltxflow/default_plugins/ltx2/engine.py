"""The built-in `ltx2` engine: our LTX-2 implementation behind the Engine protocol.

Checkpoints: "tiny" (the embedded toy model, built into the cache on first use) or a path to an official LTX-2 /
LTX-2.3 single .safetensors file. For a real checkpoint the Gemma-3 folder comes from $LTXFLOW_GEMMA_DIR (or
precomputed prompt contexts from $LTXFLOW_PROMPT_EMBEDDINGS), the x2 latent upsampler for two-stage runs from
$LTXFLOW_UPSAMPLER. $LTXFLOW_DIT picks the DiT's GPU settings: a comma list of "fp8" (row-wise FP8 linears,
approximate), "offload" (block weights in host memory, for GPUs smaller than the model) or "plain" (the
reference-identical path); unset = the exact defaults.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch

from ltxflow.clip import Clip
from ltxflow.engine.pipelines import GenerationRequest, ModelSet, TextSource, generate, load_models
from ltxflow.engine.audio import AudioEncoder
from ltxflow.engine.checkpoint import Checkpoint
from ltxflow.engine.conditioning.inputs import TaskConditioning, task_conditioning, with_delivered_media
from ltxflow.engine.sampling import NO_GUIDANCE, GuidanceParams
from ltxflow.engine.video_vae import VideoEncoder
from ltxflow.engine.tiny import TINY_NAME, ensure_tiny_checkpoint
from ltxflow.engine.transformer.speed import SpeedOptions
from ltxflow.engines import Engine, EngineFactory, EngineSettings, Progress
from ltxflow.errors import LtxflowError
from ltxflow.hookspecs import hookimpl
from ltxflow.tasks import Guidance, Task

ENGINE_NAME = "ltx2"
GEMMA_ENV = "LTXFLOW_GEMMA_DIR"
EMBEDDINGS_ENV = "LTXFLOW_PROMPT_EMBEDDINGS"
UPSAMPLER_ENV = "LTXFLOW_UPSAMPLER"
DIT_ENV = "LTXFLOW_DIT"
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class EngineError(LtxflowError):
    """An engine setting or task this engine cannot run."""


def dit_speed(setting: str, device: torch.device) -> SpeedOptions | None:
    """SpeedOptions from a $LTXFLOW_DIT value; None (the plain path) on the CPU or for "plain"."""
    words = {w.strip() for w in setting.split(",") if w.strip()}
    unknown = words - {"fp8", "offload", "plain"}
    if unknown:
        raise EngineError(f"${DIT_ENV}: unknown setting(s) {', '.join(sorted(unknown))}; use fp8, offload or plain")
    if "plain" in words and len(words) > 1:
        raise EngineError(f"${DIT_ENV}: \"plain\" cannot be combined with {', '.join(sorted(words - {'plain'}))}")
    if device.type != "cuda" or "plain" in words:
        return None
    return SpeedOptions(fp8="fp8" in words, offload_blocks="offload" in words)


def pick_device(name: str) -> torch.device:
    """"auto" -> the first CUDA device if there is one, else the CPU; anything else as torch reads it."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise EngineError(f"generation.device: {name!r} is not a torch device (auto, cpu, cuda, cuda:1, ...)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise EngineError(f"generation.device: {name!r} but no CUDA device is available")
    return device


def pick_dtype(name: str, device: torch.device) -> torch.dtype:
    """"auto" -> bfloat16 on accelerators, float32 on the CPU."""
    if name == "auto":
        return torch.float32 if device.type == "cpu" else torch.bfloat16
    if name not in DTYPES:
        raise EngineError(f"generation.dtype: {name!r} is not one of auto, {', '.join(DTYPES)}")
    return DTYPES[name]


def guidance_params(guidance: Guidance, blocks: int, where: str) -> GuidanceParams:
    """The task's guidance of one modality; STG blocks must exist in the model."""
    wrong = [b for b in guidance.stg_blocks if b >= blocks]
    if wrong and guidance.stg != 0:
        raise EngineError(f"guidance.{where}.stg_blocks: block {wrong[0]} does not exist in this model "
                          f"({blocks} blocks: 0..{blocks - 1})")  # fmt: skip
    return GuidanceParams(guidance.cfg, guidance.stg, guidance.rescale, guidance.modality, guidance.stg_blocks)


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
        self._video_encoder: VideoEncoder | None = None  # loaded on the first task that conditions on pixels
        self._audio_encoder: AudioEncoder | None = None  # loaded on the first reference-audio task
        self.device_name = torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "cpu"

    def request(self, task: Task, conditioning: TaskConditioning = TaskConditioning()) -> GenerationRequest:
        """The task's generation settings (and its encoded conditioning) as a pipeline request."""
        assert self.models is not None
        blocks = self.models.transformer.config.num_layers
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
            video_items=conditioning.video_items,
            audio_items=conditioning.audio_items,
        )

    def generate(self, task: Task, progress: Progress | None = None) -> Clip:
        """Generate the task's clip, calling `progress(done, total)` after every denoising step."""
        if self.models is None:
            raise EngineError("the ltx2 engine was closed")
        conditioning = task_conditioning(task, *self._encoders(task))
        clip = generate(self.models, self.request(task, conditioning), progress)
        return with_delivered_media(clip, conditioning)

    def _encoders(self, task: Task) -> tuple[VideoEncoder | None, AudioEncoder | None]:
        """The VAE encoders the task's conditioning needs, loaded from the checkpoint on first use."""
        wants_video = task.audio_mode == "video-to-audio" or any(task.condition(r) for r in ("image", "end_image"))
        if wants_video and self._video_encoder is None:
            self._video_encoder = Checkpoint.open(self.checkpoint).load("video_encoder", dtype=self.dtype,
                                                                        device=self.device)  # fmt: skip
        if task.audio_mode == "reference" and self._audio_encoder is None:
            self._audio_encoder = Checkpoint.open(self.checkpoint).load("audio_encoder", dtype=self.dtype,
                                                                        device=self.device)  # fmt: skip
        return self._video_encoder, self._audio_encoder

    def close(self) -> None:
        """Release the models and their device memory."""
        if self.models is not None:
            self.models.close()
            self.models = None
        self._video_encoder = self._audio_encoder = None


def _factory(settings: EngineSettings) -> Engine:
    """Build the engine (loads the checkpoint)."""
    return LTX2Engine(settings)


@hookimpl
def register_engines(register: Callable[[str, EngineFactory], None]) -> None:
    """Register the built-in `ltx2` engine."""
    register(ENGINE_NAME, _factory)
