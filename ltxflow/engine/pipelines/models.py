"""The models one run keeps resident: transformer, text encoder, video/audio decoders, vocoder, upsampler, and the
VAE encoders, loaded from the checkpoint on first use (when a request conditions on pixels or audio)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ltxflow.engine.accel import Acceleration, SpeedOptions, accelerate
from ltxflow.engine.audio import AudioDecoder, AudioEncoder, AudioVAEConfig
from ltxflow.engine.checkpoint import (
    AUDIO_DECODER,
    AUDIO_ENCODER,
    TEXT_EMBEDDINGS,
    TINY_TEXT_ENCODER,
    TRANSFORMER,
    VIDEO_DECODER,
    VIDEO_ENCODER,
    VOCODER,
    Checkpoint,
)
from ltxflow.engine.lora import LoraFuser
from ltxflow.engine.pipelines.request import PipelineError
from ltxflow.engine.text.encoders import CachedTextEncoder, GemmaTextEncoder, PrecomputedTextEncoder, TextEncoder
from ltxflow.engine.text.encoders import TinyTextEncoder
from ltxflow.engine.transformer import LTXTransformer
from ltxflow.engine.upsampler import LatentUpsampler, load_upsampler
from ltxflow.engine.video_vae import VideoDecoder, VideoEncoder


@dataclass(frozen=True)
class TextSource:
    """Where prompts are encoded: the checkpoint's own tiny encoder, a Gemma folder, or a precomputed file."""

    gemma_dir: Path | None = None  # a local Gemma-3 Hugging Face folder
    precomputed: Path | None = None  # a safetensors file of prompt contexts (see text.encoders.save_precomputed)


@dataclass(eq=False)
class ModelSet:
    """Everything generation needs, loaded once per run on one device in one dtype."""

    transformer: LTXTransformer
    text: CachedTextEncoder
    video_decoder: VideoDecoder
    audio_decoder: AudioDecoder | None
    vocoder: nn.Module | None
    upsampler: LatentUpsampler | None
    device: torch.device
    dtype: torch.dtype
    model_version: str
    checkpoint: Checkpoint | None = None  # the opened file, for the encoders loaded on first use
    acceleration: Acceleration | None = None  # what `accelerate` set up for the transformer (caches, offloader)
    _video_encoder: VideoEncoder | None = field(default=None, repr=False)
    _audio_encoder: AudioEncoder | None = field(default=None, repr=False)
    loras: LoraFuser = field(init=False, repr=False)  # the LoRA set fused into the transformer now (clean weights kept)

    def __post_init__(self) -> None:
        self.loras = LoraFuser(self.transformer, self.acceleration.offloader if self.acceleration is not None else None)

    @property
    def audio_channels(self) -> int:
        """Latent channels of the audio VAE (tokens carry channels x 16 mel bins)."""
        if self.audio_decoder is None:
            raise PipelineError("this checkpoint has no audio decoder; generate with audio off (silent)")
        return self.audio_decoder.cfg.z_channels

    @property
    def video_encoder(self) -> VideoEncoder:
        """The checkpoint's video VAE encoder (loaded on first use)."""
        if self._video_encoder is None:
            self._video_encoder = self._checkpoint("video").load(VIDEO_ENCODER, dtype=self.dtype, device=self.device)
        return self._video_encoder

    @property
    def audio_encoder(self) -> AudioEncoder:
        """The checkpoint's audio VAE encoder (loaded on first use)."""
        if self._audio_encoder is None:
            self._audio_encoder = self._checkpoint("audio").load(AUDIO_ENCODER, dtype=self.dtype, device=self.device)
        return self._audio_encoder

    @property
    def reference_audio_rate(self) -> int | None:
        """Hz of the waveform the audio VAE encoder reads (from the checkpoint's config), or None without one."""
        if self.checkpoint is None or AUDIO_ENCODER.name not in self.checkpoint.components:
            return None
        return AudioVAEConfig.from_checkpoint_config(self.checkpoint.config).sample_rate

    def _checkpoint(self, kind: str) -> Checkpoint:
        """The checkpoint to load an encoder from, or a clear error when the set was built without one."""
        if self.checkpoint is None:
            raise PipelineError(f"this conditioning needs the checkpoint's {kind} VAE encoder, which was not loaded")
        return self.checkpoint

    def close(self) -> None:
        """Drop every module reference, the acceleration's hooks and caches, and release cached device memory."""
        if self.acceleration is not None:
            self.acceleration.close()
        for name in ("transformer", "text", "video_decoder", "audio_decoder", "vocoder", "upsampler", "acceleration",
                     "_video_encoder", "_audio_encoder", "loras"):
            setattr(self, name, None)
        free_memory(self.device)


def free_memory(device: torch.device) -> None:
    """Return cached blocks to the device allocator (CUDA only; CPU frees on del)."""
    if device.type == "cuda":
        torch.cuda.empty_cache()


def load_models(checkpoint: str | Path, device: torch.device, dtype: torch.dtype, text: TextSource = TextSource(),
                upsampler: str | Path | None = None, speed: SpeedOptions | None = None) -> ModelSet:  # fmt: skip
    """Open `checkpoint` once and load each part strictly onto `device` in `dtype`.

    speed: accelerations for the transformer (see `ltxflow.engine.accel`); None keeps the plain,
    reference-identical path, which is what the CPU uses.
    """
    ckpt = Checkpoint.open(checkpoint)
    offload = speed is not None and speed.offload_blocks
    # offloading: the blocks go to the device one at a time to be prepared, then to pinned host memory
    transformer = ckpt.load(TRANSFORMER, dtype=dtype, device=torch.device("cpu") if offload else device)
    acceleration = accelerate(transformer, speed, device) if speed is not None else None
    embeddings = ckpt.load(TEXT_EMBEDDINGS, dtype=dtype, device=device)
    encoder: TextEncoder
    if text.precomputed is not None:
        encoder = PrecomputedTextEncoder(text.precomputed, device=device, dtype=dtype)
    elif text.gemma_dir is not None:
        encoder = GemmaTextEncoder(text.gemma_dir, embeddings, device=device, dtype=dtype)
    elif TINY_TEXT_ENCODER.name in ckpt.components:
        encoder = TinyTextEncoder(ckpt.load(TINY_TEXT_ENCODER, dtype=dtype, device=device), embeddings)
    else:
        raise PipelineError(f"{ckpt.path}: has no built-in text encoder; give a Gemma folder or precomputed "
                            "prompt embeddings")  # fmt: skip
    has_audio = all(c.name in ckpt.components for c in (AUDIO_DECODER, VOCODER))
    return ModelSet(
        transformer=transformer,
        text=CachedTextEncoder(encoder),
        video_decoder=ckpt.load(VIDEO_DECODER, dtype=dtype, device=device),
        audio_decoder=ckpt.load(AUDIO_DECODER, dtype=dtype, device=device) if has_audio else None,
        vocoder=ckpt.load(VOCODER, dtype=dtype, device=device) if has_audio else None,
        upsampler=load_upsampler(upsampler, device=device, dtype=dtype) if upsampler is not None else None,
        device=device,
        dtype=dtype,
        model_version=ckpt.model_version or "2.0",
        checkpoint=ckpt,
        acceleration=acceleration,
    )
