"""Shared helpers of the audio parity tests: seeded random weights and the error metric."""

from __future__ import annotations

import torch
from torch import nn


def randomize(module: nn.Module, seed: int) -> None:
    """Fill every parameter and persistent buffer with seeded values (stats std kept positive; filters kept)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in sorted(module.state_dict(keep_vars=True).items()):
            if name.endswith(".filter"):
                continue  # the anti-aliasing filters are fixed designs, stored as they are built
            values = torch.randn(tensor.shape, generator=gen)
            if name.endswith("std-of-means"):
                values = values.abs() + 0.5
            elif name.endswith("mel_basis"):
                values = values.abs() * 0.05
            elif name.endswith(("alpha", "beta")):
                values = values * 0.3
            elif tensor.dim() >= 2:
                values = values / tensor[0].numel() ** 0.5
            else:
                values = values * 0.1
            tensor.copy_(values)


def max_rel_error(ours: torch.Tensor, ref: torch.Tensor) -> float:
    """max |ours - ref| / max |ref|."""
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    return float((ours - ref).abs().max() / ref.abs().max())
