"""Shared helpers of the audio parity tests: seeded random weights, the error metric and the float64 bound.

Parity runs in float64 (modules `.double()`, float64 inputs): ours and ltx-core then differ only by the rounding
order of float64 sums, a few eps64 = 1.1e-16 per op times the accumulation length (conv kernels x channels,
<= ~500 here) times the depth (<= ~60 convs, activations and resamplers in the vocoder): <= ~3e-12 relative to the
largest value. FP64_TOL = 1e-10 keeps a 30x margin and sits 1e6 below any real bug (a wrong tap, pad or scale
moves the output by >= 1e-4).
"""

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


FP64_TOL = 1e-10


def to_float64(module: nn.Module) -> nn.Module:
    """Every parameter and buffer in float64, in place. Not `module.double()`: our audio VAE's LatentStatistics
    defines its own `_apply(z, fn)`, which shadows nn.Module._apply, so .double() / .to() raise on it."""
    with torch.no_grad():
        for tensor in (*module.parameters(), *module.buffers()):
            tensor.data = tensor.data.to(torch.float64)
    return module


def max_rel_error(ours: torch.Tensor, ref: torch.Tensor) -> float:
    """max |ours - ref| / max |ref|."""
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    return float((ours - ref).abs().max() / ref.abs().max())
