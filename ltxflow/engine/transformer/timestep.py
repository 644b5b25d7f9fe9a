"""Noise-level conditioning: sinusoidal sigma features, their MLP, and the AdaLN-single projection."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

SINUSOID_CHANNELS = 256


def sinusoidal_embedding(t: Tensor, channels: int = SINUSOID_CHANNELS, max_period: float = 10000.0) -> Tensor:
    """Float32 features [cos(t f_i), sin(t f_i)] with f_i = max_period**(-i/half), i < half; t is (N,)."""
    half = channels // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half  # (half,)
    args = t.float()[:, None] * torch.exp(exponent)[None, :]  # (N, half)
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)  # (N, channels)


class TimestepMLP(nn.Module):
    """Two-layer SiLU MLP from sinusoid features to the model width (keys linear_1, linear_2)."""

    def __init__(self, width: int, channels: int = SINUSOID_CHANNELS) -> None:
        super().__init__()
        self.linear_1 = nn.Linear(channels, width)
        self.linear_2 = nn.Linear(width, width)

    def forward(self, features: Tensor) -> Tensor:
        """(N, channels) -> (N, width)."""
        return self.linear_2(nn.functional.silu(self.linear_1(features)))


class TimestepEncoder(nn.Module):
    """Holds the MLP under the checkpoint's `emb.timestep_embedder` path."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.timestep_embedder = TimestepMLP(width)

    def forward(self, t: Tensor, dtype: torch.dtype) -> Tensor:
        """Scaled sigma (N,) -> embedding (N, width) in `dtype`."""
        return self.timestep_embedder(sinusoidal_embedding(t).to(dtype))


class AdaLNSingle(nn.Module):
    """Scaled sigma -> (K*D modulation parameters, D embedding), one row per input entry (PixArt adaLN-single)."""

    def __init__(self, width: int, rows: int) -> None:
        super().__init__()
        self.emb = TimestepEncoder(width)
        self.linear = nn.Linear(width, rows * width)

    def forward(self, t: Tensor, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        """t (N,) -> params (N, K*D), embedded (N, D)."""
        embedded = self.emb(t, dtype)  # (N, D)
        return self.linear(nn.functional.silu(embedded)), embedded
