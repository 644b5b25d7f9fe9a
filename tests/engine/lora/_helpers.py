"""Tiny official-layout checkpoints and random LoRA files for the LoRA tests."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from ltx_core.model.transformer.model_configurator import LTXModelConfigurator
from safetensors.torch import save_file
from torch import nn

from ltxflow.engine.transformer import LTXTransformer, TransformerConfig

CONFIGS = {"19b": TransformerConfig.tiny_19b(), "22b": TransformerConfig.tiny_22b()}


def checkpoint_config(config: TransformerConfig) -> dict:
    """The `config` metadata of a transformer-only checkpoint both loaders read (ltx-core needs attention_type)."""
    return {"transformer": {**config.to_metadata(), "attention_type": "pytorch"}}


def write_checkpoint(path: Path, config: TransformerConfig, seed: int = 0, dtype: torch.dtype = torch.bfloat16,
                     std: float = 0.3) -> Path:
    """A transformer-only checkpoint in the official layout (ComfyUI prefix), seeded random weights in `dtype`."""
    with torch.device("meta"):
        reference = LTXModelConfigurator.from_config(checkpoint_config(config))
    gen = torch.Generator().manual_seed(seed)
    sd = {"model.diffusion_model." + k: (torch.randn(v.shape, generator=gen) * std).to(dtype)
          for k, v in sorted(reference.state_dict().items())}
    metadata = {"config": json.dumps(checkpoint_config(config)), "model_version": "2.0.0"}
    save_file(sd, str(path), metadata=metadata)
    return path


def linear_shapes(config: TransformerConfig) -> dict[str, tuple[int, int]]:
    """Every nn.Linear of our transformer: module name -> (out, in)."""
    with torch.device("meta"):
        model = LTXTransformer(config)
    return {name: (m.out_features, m.in_features) for name, m in model.named_modules() if isinstance(m, nn.Linear)}


def random_lora(shapes: dict[str, tuple[int, int]], rank: int, seed: int, dtype: torch.dtype = torch.bfloat16,
                prefix: str = "diffusion_model.", std: float = 0.2,
                suffixes: tuple[str, str] = (".lora_A.weight", ".lora_B.weight")) -> dict[str, torch.Tensor]:
    """Random factors A (rank, in), B (out, rank) for each module of `shapes`, keyed as a LoRA file would be."""
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for name, (o, i) in sorted(shapes.items()):
        out[prefix + name + suffixes[0]] = (torch.randn(rank, i, generator=gen) * std).to(dtype)
        out[prefix + name + suffixes[1]] = (torch.randn(o, rank, generator=gen) * std).to(dtype)
    return out


def save_lora(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> Path:
    """Write a LoRA safetensors file."""
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata=metadata)
    return path


def subset(shapes: dict[str, tuple[int, int]], *needles: str) -> dict[str, tuple[int, int]]:
    """The modules whose name contains any of `needles`."""
    return {k: v for k, v in shapes.items() if any(n in k for n in needles)}
