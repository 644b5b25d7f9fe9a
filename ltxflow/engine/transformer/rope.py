"""Rotary position embedding: token positions -> per-channel (cos, sin) tables, and their application to q / k."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Rope:
    """Rotation tables for one token sequence, in the model dtype."""

    cos: Tensor  # split: (B, H, T, d_head/2); interleaved: (B, T, width)
    sin: Tensor  # same shape as cos
    layout: str  # "split" or "interleaved"


def frequency_ladder(theta: float, n_axes: int, width: int, float64: bool) -> Tensor:
    """Angular frequencies (pi/2) * theta**(k/(F-1)), k < F = width // (2 n_axes), returned as float32 (F,)."""
    count = width // (2 * n_axes)
    if float64:
        exponents = torch.linspace(0.0, 1.0, count, dtype=torch.float64)
        return (torch.pow(torch.tensor(theta, dtype=torch.float64), exponents) * math.pi / 2).to(torch.float32)
    exponents = torch.linspace(0.0, 1.0, count, dtype=torch.float32)
    return theta ** exponents * math.pi / 2


LadderCache = dict[tuple[float, int, int, bool, str], Tensor]  # (theta, axes, width, float64, device) -> (F,)


def device_ladder(theta: float, n_axes: int, width: int, float64: bool, device: torch.device,
                  cache: LadderCache | None = None) -> Tensor:
    """`frequency_ladder` built on the CPU and moved to `device`; kept in `cache` when one is given, so a model
    that owns the cache copies it to the device once (a forward without host-to-device copies can be graphed)."""
    key = (theta, n_axes, width, float64, str(device))
    if cache is not None and key in cache:
        return cache[key]
    ladder = frequency_ladder(theta, n_axes, width, float64).to(device)  # (F,)
    if cache is not None:
        cache[key] = ladder
    return ladder


def rope_angles(positions: Tensor, max_pos: tuple[int, ...], ladder: Tensor) -> Tensor:
    """Rotation angles (B, T, F*n) laid out frequency-major, axis-minor (index k*n + a)."""
    if positions.ndim == 4:  # (B, n, T, 2) [start, end) bounds -> their middle, in the positions' own dtype
        positions = (positions[..., 0] + positions[..., 1]) / 2.0  # (B, n, T)
    if positions.shape[1] != len(max_pos):
        raise ValueError(f"RoPE: positions have {positions.shape[1]} axes but max_pos has {len(max_pos)}")
    unit = torch.stack([positions[:, a] / max_pos[a] for a in range(len(max_pos))], dim=-1)  # (B, T, n) in [0, 1]
    phase = unit.unsqueeze(-1) * 2 - 1  # (B, T, n, 1) in [-1, 1], still the positions' dtype
    angles = ladder.to(positions.device) * phase  # (B, T, n, F) float32
    return angles.transpose(-1, -2).flatten(2)  # (B, T, F*n)


def rope_tables(positions: Tensor, *, width: int, heads: int, max_pos: tuple[int, ...], theta: float,
                layout: str, float64_ladder: bool, dtype: torch.dtype, ladders: LadderCache | None = None) -> Rope:
    """Tables for `positions` ((B, n, T, 2) bounds or (B, n, T) points) over a `width`-channel q/k of `heads` heads
    (`ladders`: the caller's cache of frequency ladders, see `device_ladder`)."""
    ladder = device_ladder(theta, len(max_pos), width, float64_ladder, positions.device, ladders)  # (F,)
    angles = rope_angles(positions, max_pos, ladder)  # (B, T, F*n)
    cos, sin = angles.cos(), angles.sin()
    b, t, used = angles.shape
    if layout == "split":
        pad = width // 2 - used  # leading identity channels so each head gets width/(2H) angles
        cos = torch.cat([cos.new_ones(b, t, pad), cos], dim=-1)  # (B, T, width/2)
        sin = torch.cat([sin.new_zeros(b, t, pad), sin], dim=-1)
        cos = cos.reshape(b, t, heads, -1).transpose(1, 2)  # (B, H, T, d_head/2)
        sin = sin.reshape(b, t, heads, -1).transpose(1, 2)
    elif layout == "interleaved":
        pad = width % (2 * len(max_pos))
        cos = torch.cat([cos.new_ones(b, t, pad), cos.repeat_interleave(2, dim=-1)], dim=-1)  # (B, T, width)
        sin = torch.cat([sin.new_zeros(b, t, pad), sin.repeat_interleave(2, dim=-1)], dim=-1)
    else:
        raise ValueError(f"RoPE: unknown layout {layout!r}")
    return Rope(cos.to(dtype), sin.to(dtype), layout)


def apply_rope(x: Tensor, rope: Rope) -> Tensor:
    """Rotate q or k (B, T, width) by the tables."""
    if rope.layout == "interleaved":
        pairs = x.unflatten(-1, (-1, 2))  # (B, T, width/2, 2)
        rotated = torch.stack([-pairs[..., 1], pairs[..., 0]], dim=-1).flatten(-2)  # (B, T, width)
        return x * rope.cos + rotated * rope.sin
    b, h, t, half = rope.cos.shape
    cos, sin = rope.cos.transpose(1, 2), rope.sin.transpose(1, 2)  # (B, T, H, d/2) views: x keeps its token-major
    xh = x.reshape(b, t, h, 2 * half)  # (B, T, H, d), d split into halves [x1 | x2]; layout, so no transposed copy
    x1, x2 = xh[..., :half], xh[..., half:]  # (B, T, H, d/2) each
    out1 = torch.addcmul(x1 * cos, x2, sin, value=-1)  # x1 cos - x2 sin
    out2 = torch.addcmul(x2 * cos, x1, sin)  # x2 cos + x1 sin
    return torch.cat([out1, out2], dim=-1).reshape(b, t, h * 2 * half)  # (B, T, width)
