"""The models one run keeps resident: transformer, text encoder, video/audio decoders, vocoder, upsampler."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ltxflow.engine.audio import AudioDecoder
from ltxflow.engine.checkpoint import Checkpoint
from ltxflow.engine.pipelines.request import PipelineError
from ltxflow.engine.text.encoders import CachedTextEncoder, GemmaTextEncoder, PrecomputedTextEncoder, TextEncoder
from ltxflow.engine.text.encoders import TinyTextEncoder
from ltxflow.engine.transformer import LTXTransformer
from ltxflow.engine.transformer.speed import SpeedOptions, prepare_for_speed_
from ltxflow.engine.upsampler import LatentUpsampler, load_upsampler
from ltxflow.engine.video_vae import VideoDecoder


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

    @property
    def audio_channels(self) -> int:
        """Latent channels of the audio VAE (tokens carry channels x 16 mel bins)."""
        if self.audio_decoder is None:
            raise PipelineError("this checkpoint has no audio decoder; generate with audio off (silent)")
        return self.audio_decoder.cfg.z_channels

    def close(self) -> None:
        """Drop every module reference and release cached device memory."""
        for name in ("transformer", "text", "video_decoder", "audio_decoder", "vocoder", "upsampler"):
            setattr(self, name, None)
        free_memory(self.device)


def free_memory(device: torch.device) -> None:
    """Return cached blocks to the device allocator (CUDA only; CPU frees on del)."""
    if device.type == "cuda":
        torch.cuda.empty_cache()


def load_models(checkpoint: str | Path, device: torch.device, dtype: torch.dtype, text: TextSource = TextSource(),
                upsampler: str | Path | None = None, speed: SpeedOptions | None = None) -> ModelSet:  # fmt: skip
    """Open `checkpoint` once and load each part strictly onto `device` in `dtype`.

    speed: inference settings for the transformer (see transformer.speed); None keeps the plain, reference-identical
    path, which is what the CPU uses.
    """
    ckpt = Checkpoint.open(checkpoint)
    offload = speed is not None and speed.offload_blocks
    # offloading: the blocks go to the device one at a time to be prepared, then to pinned host memory
    transformer = ckpt.load("transformer", dtype=dtype, device=torch.device("cpu") if offload else device)
    if speed is not None:
        prepare_for_speed_(transformer, speed, device)
    embeddings = ckpt.load("text_embeddings", dtype=dtype, device=device)
    encoder: TextEncoder
    if text.precomputed is not None:
        encoder = PrecomputedTextEncoder(text.precomputed, device=device, dtype=dtype)
    elif text.gemma_dir is not None:
        encoder = GemmaTextEncoder(text.gemma_dir, embeddings, device=device, dtype=dtype)  # type: ignore[arg-type]
    elif "tiny_text_encoder" in ckpt.components:
        model = ckpt.load("tiny_text_encoder", dtype=dtype, device=device)
        encoder = TinyTextEncoder(model, embeddings)  # type: ignore[arg-type]
    else:
        raise PipelineError(f"{ckpt.path}: has no built-in text encoder; give a Gemma folder or precomputed "
                            "prompt embeddings")  # fmt: skip
    has_audio = all(c in ckpt.components for c in ("audio_decoder", "vocoder"))
    return ModelSet(
        transformer=transformer,  # type: ignore[arg-type]
        text=CachedTextEncoder(encoder),
        video_decoder=ckpt.load("video_decoder", dtype=dtype, device=device),  # type: ignore[arg-type]
        audio_decoder=ckpt.load("audio_decoder", dtype=dtype, device=device) if has_audio else None,  # type: ignore
        vocoder=ckpt.load("vocoder", dtype=dtype, device=device) if has_audio else None,
        upsampler=load_upsampler(upsampler, device=device, dtype=dtype) if upsampler is not None else None,
        device=device,
        dtype=dtype,
        model_version=ckpt.model_version or "2.0",
    )
