"""Shared helpers for the video VAE parity tests (random weights, reference builders, error metric, float64 bound).

Parity runs in float64 (modules `.double()`, float64 inputs): ours and ltx-core differ only by the rounding order
of float64 sums, a few eps64 = 1.1e-16 per op times the accumulation length (3x3x3 kernels x <= 64 channels,
~1700 terms) times the depth (<= ~30 convs and norms): <= ~1e-11 relative to the largest value, in practice
~4e-15 (float32: ~1.6e-6, CPU-dependent). FP64_TOL = 1e-10 keeps margin and sits 1e6 below any real bug.
"""

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


FP64_TOL = 1e-10


def max_rel_error(ours: torch.Tensor, ref: torch.Tensor) -> float:
    """max |ours - ref| / max |ref|."""
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    return float((ours - ref).abs().max() / ref.abs().max())
