"""The embedded `tiny` checkpoint: the LTX-2 architecture at toy widths, in the official single-file layout.

It is made deterministically (fixed seeds, sorted keys: the same bytes on every build with the same torch), cached
under $LTXFLOW_CACHE (default ~/.cache/ltxflow) and then loaded by the same strict loader as a real checkpoint.
Its weights are random: it exercises the whole pipeline in seconds on a CPU, it does not draw anything.
"""

from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ltxflow.engine.audio.config import AudioVAEConfig, GeneratorConfig, VocoderConfig
from ltxflow.engine.text.tiny_encoder import TINY_TEXT_PREFIX, TinyTextConfig
from ltxflow.engine.transformer.config import TransformerConfig
from ltxflow.engine.upsampler import UpsamplerConfig
from ltxflow.engine.video_vae.config import VideoVAEConfig

TINY_NAME = "tiny"
TINY_VERSION = "2.0.0+ltxflow.tiny.1"  # model_version metadata; bump the suffix when the recipe changes
TINY_SEED = 20240601
CACHE_ENV = "LTXFLOW_CACHE"

VIDEO_LATENT_CHANNELS = 16
AUDIO_Z_CHANNELS = 2  # x 16 latent mel bins = 32 audio token channels
CAPTION_WIDTH = 32  # tiny text encoder width = connector width = caption_channels

# ---------------------------------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------------------------------


def tiny_transformer() -> TransformerConfig:
    """A 2-block LTX-2 (19B-style) transformer: video width 32, audio width 16."""
    return TransformerConfig(num_layers=2, num_attention_heads=2, attention_head_dim=16, cross_attention_dim=32,
                             audio_num_attention_heads=2, audio_attention_head_dim=8, audio_cross_attention_dim=16,
                             in_channels=VIDEO_LATENT_CHANNELS, out_channels=VIDEO_LATENT_CHANNELS,
                             audio_in_channels=AUDIO_Z_CHANNELS * 16, audio_out_channels=AUDIO_Z_CHANNELS * 16,
                             caption_channels=CAPTION_WIDTH, av_ca_timestep_scale_multiplier=1000.0,
                             rope_type="split", double_precision_rope=True)  # fmt: skip


def tiny_vocoder() -> VocoderConfig:
    """HiFi-GAN at toy widths with the shipped x240 upsampling (100 mel frames/s -> 24 kHz stereo)."""
    return VocoderConfig(generator=GeneratorConfig(upsample_initial_channel=64, upsample_kernel_sizes=(12, 10, 4, 4, 4),
                                                   resblock_kernel_sizes=(3,), resblock_dilation_sizes=((1, 3, 5),)))


def tiny_config() -> dict[str, Any]:
    """The checkpoint's `config` metadata: transformer (+ connectors), vae, audio_vae, vocoder, text_encoder."""
    text = TinyTextConfig(width=CAPTION_WIDTH)
    dit = tiny_transformer().to_metadata()
    del dit["caption_proj_before_connector"]  # absent in LTX-2 files (its presence marks the 2.3 text layout)
    transformer = {
        **dit,
        "connector_num_attention_heads": 2,
        "connector_attention_head_dim": CAPTION_WIDTH // 2,
        "connector_num_layers": 1,
        "connector_positional_embedding_max_pos": [4096],
    }
    return {
        "transformer": transformer,
        "vae": VideoVAEConfig.tiny_v2(latent_channels=VIDEO_LATENT_CHANNELS, base_channels=8).to_vae_section(),
        "audio_vae": replace(AudioVAEConfig.tiny(), z_channels=AUDIO_Z_CHANNELS).to_checkpoint_section(),
        "vocoder": tiny_vocoder().to_checkpoint_section(),
        "text_encoder": text.to_section(),
    }


def tiny_upsampler_config() -> dict[str, Any]:
    """The tiny x2 spatial latent upsampler's own `config` metadata (a separate file, as for real checkpoints)."""
    cfg = UpsamplerConfig.tiny(latent_channels=VIDEO_LATENT_CHANNELS)
    return {name: getattr(cfg, name) for name in cfg.__dataclass_fields__}


# ---------------------------------------------------------------------------------------------------------------------
# Weights
# ---------------------------------------------------------------------------------------------------------------------

# component -> (prefix of its own keys, prefix its latent statistics share with its sibling)
_LAYOUT = {
    "transformer": ("model.diffusion_model.", None),
    "video_encoder": ("vae.encoder.", "vae."),
    "video_decoder": ("vae.decoder.", "vae."),
    "audio_encoder": ("audio_vae.encoder.", "audio_vae."),
    "audio_decoder": ("audio_vae.decoder.", "audio_vae."),
    "vocoder": ("vocoder.", None),
    "tiny_text_encoder": (TINY_TEXT_PREFIX, None),
}
_TEXT_LAYOUT = {  # text embeddings: our module prefix -> official file prefix
    "feature_extractor.": "text_embedding_projection.",
    "video_connector.": "model.diffusion_model.video_embeddings_connector.",
    "audio_connector.": "model.diffusion_model.audio_embeddings_connector.",
}


def file_key(component: str, key: str) -> str:
    """The official file key of one of our component keys."""
    if component == "text_embeddings":
        ours = next(p for p in _TEXT_LAYOUT if key.startswith(p))
        return _TEXT_LAYOUT[ours] + key[len(ours) :]
    prefix, shared = _LAYOUT[component]
    if shared is not None and key.startswith("per_channel_statistics."):
        return shared + key
    return prefix + key


def _fill(name: str, shape: torch.Size, generator: torch.Generator) -> torch.Tensor:
    """A seeded tensor: ones for norm scales and stds, zeros for biases and means, else N(0, 1/fan_in)."""
    leaf = name.rsplit(".", 1)[-1]
    if leaf in ("std-of-means",) or (leaf == "weight" and len(shape) == 1 and "norm" in name):
        return torch.ones(shape)
    if leaf in ("bias", "mean-of-means") or len(shape) == 0:
        return torch.zeros(shape)
    fan_in = math.prod(shape[1:]) if len(shape) > 1 else shape[0]
    return torch.randn(shape, generator=generator) / math.sqrt(max(fan_in, 1))


def tiny_state_dict(config: dict[str, Any], seed: int = TINY_SEED) -> dict[str, torch.Tensor]:
    """Every file key of the tiny checkpoint with seeded values (fp32, sorted order, one generator)."""
    from ltxflow.engine.checkpoint.components import COMPONENTS

    shapes: dict[str, torch.Size] = {}
    for component in ("transformer", "text_embeddings", *(c for c in _LAYOUT if c != "transformer")):
        with torch.device("meta"):
            module: nn.Module = COMPONENTS[component].build(config)
        for key, tensor in module.state_dict().items():
            shapes[file_key(component, key)] = tensor.shape
    generator = torch.Generator().manual_seed(seed)
    return {name: _fill(name, shapes[name], generator).contiguous() for name in sorted(shapes)}


def tiny_upsampler_state_dict(seed: int = TINY_SEED + 1) -> dict[str, torch.Tensor]:
    """The tiny upsampler's weights (bare keys, as in the official upsampler files)."""
    from ltxflow.engine.upsampler import build_upsampler

    module = build_upsampler(tiny_upsampler_config())
    generator = torch.Generator().manual_seed(seed)
    return {k: _fill(k, t.shape, generator).contiguous() for k, t in sorted(module.state_dict().items())}


def write_tiny_checkpoint(path: Path, upsampler_path: Path | None = None) -> None:
    """Write the tiny checkpoint (and its upsampler) atomically: temp file in the same folder, then rename."""
    config = tiny_config()
    jobs = [(path, tiny_state_dict(config), {"config": json.dumps(config, sort_keys=True),
                                             "model_version": TINY_VERSION})]  # fmt: skip
    if upsampler_path is not None:
        jobs.append((upsampler_path, tiny_upsampler_state_dict(), {"config": json.dumps(tiny_upsampler_config())}))
    for target, tensors, metadata in jobs:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            write_safetensors(tmp, tensors, metadata)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)


def write_safetensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    """Write fp32 tensors as safetensors with a canonical header (sorted keys, fixed spacing): same input, same bytes.

    (safetensors' own writer orders the metadata map differently from run to run.)
    """
    header: dict[str, Any] = {"__metadata__": dict(sorted(metadata.items()))}
    offset = 0
    for name in sorted(tensors):
        t = tensors[name]
        if t.dtype != torch.float32:
            raise ValueError(f"{name}: only float32 tensors are written, got {t.dtype}")
        size = t.numel() * 4
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name in sorted(tensors):
            f.write(tensors[name].contiguous().numpy().astype("<f4", copy=False).tobytes())


# ---------------------------------------------------------------------------------------------------------------------
# Cache
# ---------------------------------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """$LTXFLOW_CACHE, else ~/.cache/ltxflow."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "ltxflow")


def tiny_paths(folder: Path | None = None) -> tuple[Path, Path]:
    """(checkpoint, upsampler) file paths of the tiny model in `folder` (default: the cache)."""
    folder = folder or cache_dir()
    stem = f"ltxflow-{TINY_NAME}-{TINY_VERSION.rsplit('.', 1)[-1]}"
    return folder / f"{stem}.safetensors", folder / f"{stem}-upsampler-x2.safetensors"


def ensure_tiny_checkpoint(folder: Path | None = None) -> tuple[Path, Path]:
    """The cached tiny checkpoint and upsampler, built first if either is missing or its header is damaged."""
    from ltxflow.engine.checkpoint import Checkpoint, CheckpointError

    checkpoint, upsampler = tiny_paths(folder)
    try:
        usable = upsampler.is_file() and Checkpoint.open(checkpoint).model_version == TINY_VERSION
    except CheckpointError:
        usable = False
    if not usable:
        write_tiny_checkpoint(checkpoint, upsampler)
    return checkpoint, upsampler
