"""Tiny checkpoints written in the test: ltx-core's tiny LTXModel weights plus a few real-layout keys per component."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from ltx_core.model.transformer.model_configurator import LTXModelConfigurator
from safetensors.torch import save_file

# ltx-core asserts these values (model_configurator.py); the rest is the tiny 19B-style recipe of ltx2-engine.md §2.10
ASSERTED = {
    "dropout": 0.0, "attention_bias": True, "num_vector_embeds": None, "activation_fn": "gelu-approximate",
    "num_embeds_ada_norm": 1000, "use_linear_projection": False, "only_cross_attention": False,
    "cross_attention_norm": True, "double_self_attention": False, "upcast_attention": False,
    "standardization_norm": "rms_norm", "norm_elementwise_affine": False, "qk_norm": "rms_norm",
    "positional_embedding_type": "rope", "use_audio_video_cross_attention": True, "share_ff": False,
    "av_cross_ada_norm": True, "use_middle_indices_grid": True,
}
TINY_TRANSFORMER = {
    **ASSERTED,
    "num_layers": 2, "num_attention_heads": 2, "attention_head_dim": 8, "cross_attention_dim": 16,
    "audio_num_attention_heads": 2, "audio_attention_head_dim": 4, "audio_cross_attention_dim": 8,
    "in_channels": 128, "out_channels": 128, "audio_in_channels": 128, "audio_out_channels": 128,
    "caption_channels": 12, "norm_eps": 1e-6, "positional_embedding_theta": 10000.0,
    "positional_embedding_max_pos": [20, 2048, 2048], "audio_positional_embedding_max_pos": [20],
    "timestep_scale_multiplier": 1000, "av_ca_timestep_scale_multiplier": 1000.0, "rope_type": "split",
    "frequencies_precision": "float64", "attention_type": "pytorch",
}
TINY_CONFIG = {"transformer": TINY_TRANSFORMER, "vae": {}, "audio_vae": {}, "vocoder": {}}

# A few real-layout keys of the other components (names as in the official files), tiny shapes.
OTHER_KEYS: dict[str, tuple[int, ...]] = {
    "text_embedding_projection.aggregate_embed.weight": (12, 20),
    "model.diffusion_model.video_embeddings_connector.learnable_registers": (4, 12),
    "model.diffusion_model.video_embeddings_connector.transformer_1d_blocks.0.attn1.q_norm.weight": (12,),
    "model.diffusion_model.video_embeddings_connector.transformer_1d_blocks.0.attn1.to_q.weight": (12, 12),
    "model.diffusion_model.audio_embeddings_connector.learnable_registers": (4, 12),
    "model.diffusion_model.audio_embeddings_connector.transformer_1d_blocks.0.attn1.k_norm.weight": (12,),
    "vae.encoder.conv_in.conv.weight": (8, 48, 3, 3, 3),
    "vae.encoder.conv_in.conv.bias": (8,),
    "vae.decoder.conv_out.conv.weight": (48, 8, 3, 3, 3),
    "vae.per_channel_statistics.mean-of-means": (4,),
    "vae.per_channel_statistics.std-of-means": (4,),
    "vae.per_channel_statistics.channel": (4,),
    "vae.per_channel_statistics.mean-of-stds": (4,),
    "audio_vae.encoder.conv_in.conv.weight": (8, 2, 3, 3),
    "audio_vae.decoder.conv_out.conv.weight": (2, 8, 3, 3),
    "audio_vae.per_channel_statistics.mean-of-means": (4,),
    "audio_vae.per_channel_statistics.std-of-means": (4,),
    "vocoder.conv_pre.weight": (8, 4, 7),
    "vocoder.conv_post.weight": (2, 8, 7),
}


def ltx_state_dict(cfg: dict = TINY_CONFIG, seed: int = 0) -> dict[str, torch.Tensor]:
    """Seeded random weights for ltx-core's tiny LTXModel, with ltx-core's own key names."""
    with torch.device("meta"):
        model = LTXModelConfigurator.from_config(cfg)
    gen = torch.Generator().manual_seed(seed)
    return {k: torch.randn(v.shape, generator=gen) * 0.3 for k, v in sorted(model.state_dict().items())}


def other_tensors(seed: int = 1) -> dict[str, torch.Tensor]:
    """Random tensors for the non-transformer keys."""
    gen = torch.Generator().manual_seed(seed)
    return {k: torch.randn(shape, generator=gen) for k, shape in OTHER_KEYS.items()}


def save(path: Path, tensors: dict[str, torch.Tensor], config: dict | None = TINY_CONFIG,
         version: str | None = "2.0.0") -> Path:
    """Write a safetensors file with `config` / `model_version` metadata (either may be left out)."""
    metadata = {}
    if config is not None:
        metadata["config"] = json.dumps(config)
    if version is not None:
        metadata["model_version"] = version
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata=metadata)
    return path


def official(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The official single-file layout: transformer under the ComfyUI prefix, plus the other components."""
    return {**{"model.diffusion_model." + k: v for k, v in sd.items()}, **other_tensors()}


@pytest.fixture(scope="session")
def tiny_sd() -> dict[str, torch.Tensor]:
    """ltx-core's tiny transformer state dict (read-only: copy before changing)."""
    return ltx_state_dict()


@pytest.fixture
def tiny_file(tmp_path: Path, tiny_sd: dict[str, torch.Tensor]) -> Path:
    """An official-layout tiny checkpoint."""
    return save(tmp_path / "tiny.safetensors", official(tiny_sd))
