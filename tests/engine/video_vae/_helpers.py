"""Shared helpers for the video VAE parity tests (random weights, reference builders, error metric)."""

from __future__ import annotations

import torch
from torch import nn


def randomize(module: nn.Module, seed: int) -> None:
    """Fill every parameter and buffer with seeded random values (stats std kept positive)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in sorted(module.state_dict(keep_vars=True).items()):
            values = torch.randn(tensor.shape, generator=gen)
            if name.endswith("std-of-means"):
                values = values.abs() + 0.5
            elif name.endswith("timestep_scale_multiplier"):
                values = torch.tensor(1000.0)
            elif tensor.dim() >= 2:
                fan_in = tensor[0].numel()
                values = values / fan_in**0.5
            else:
                values = values * 0.1
            tensor.copy_(values)


def max_rel_error(ours: torch.Tensor, ref: torch.Tensor) -> float:
    """max |ours - ref| / max |ref|."""
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    return float((ours - ref).abs().max() / ref.abs().max())
