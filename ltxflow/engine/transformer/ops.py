"""Elementwise pieces of a block: AdaLN rows, modulation, gated residuals, q/k norm + RoPE, the tanh GELU.

Plain functions of tensors, in the order of operations the reference uses, so the CPU path stays bit-identical to
it. The acceleration package (`ltxflow.engine.accel`) compiles these same functions where it fuses them.
"""

from __future__ import annotations

from torch import Tensor, nn

from ltxflow.engine.transformer.rope import Rope, apply_rope


def ada_row(table: Tensor, params: Tensor, row: int) -> Tensor:
    """Row `row` of (table (K, D) + params (B, T', K*D) viewed (B, T', K, D)): (B, T', D)."""
    b, t, _ = params.shape
    return table[row].to(params.dtype) + params.view(b, t, table.shape[0], -1)[:, :, row]


def modulate(x: Tensor, table: Tensor, params: Tensor, shift_row: int, scale_row: int, eps: float) -> Tensor:
    """AdaLN: rms(x) * (1 + scale) + shift with scale/shift rows of the table; x (B, T, D) -> (B, T, D)."""
    scale = ada_row(table, params, scale_row)  # (B, T', D)
    shift = ada_row(table, params, shift_row)  # (B, T', D)
    return nn.functional.rms_norm(x, (x.shape[-1],), eps=eps) * (1 + scale) + shift  # (B, T, D)


def gated_add(x: Tensor, y: Tensor, table: Tensor, params: Tensor, gate_row: int) -> Tensor:
    """Gated residual x + y * gate; x, y (B, T, D), gate (B, T', D) from the table row."""
    return x + y * ada_row(table, params, gate_row)  # (B, T, D)


def norm_rope(x: Tensor, weight: Tensor, eps: float, rope: Rope | None) -> Tensor:
    """Weighted RMSNorm over all heads then (optionally) RoPE: (B, T, H*d) -> (B, T, H*d)."""
    x = nn.functional.rms_norm(x, (x.shape[-1],), weight, eps)  # (B, T, H*d)
    return x if rope is None else apply_rope(x, rope)


def gelu_tanh(x: Tensor) -> Tensor:
    """tanh-approximated GELU of the feed-forward hidden layer."""
    return nn.functional.gelu(x, approximate="tanh")
