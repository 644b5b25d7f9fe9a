"""Elementwise pieces of a block (modulation, gated residuals, q/k norm + RoPE) as swappable functions.

The eager versions perform exactly the operations the block always performed, in the same order, so the CPU path
stays bit-identical to the reference. `compiled_ops()` wraps the same functions in `torch.compile`, which fuses each
into one kernel on the GPU; Inductor is asked to round intermediates to bf16 where eager rounds them, so the result
differs from eager only where a fused reduction sums in another order.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import torch
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


@dataclass(frozen=True)
class BlockOps:
    """The elementwise functions a block calls (eager by default, compiled on request)."""

    modulate: Callable[[Tensor, Tensor, Tensor, int, int, float], Tensor] = modulate
    gated_add: Callable[[Tensor, Tensor, Tensor, Tensor, int], Tensor] = gated_add
    norm_rope: Callable[[Tensor, Tensor, float, Rope | None], Tensor] = norm_rope
    gelu: Callable[[Tensor], Tensor] = gelu_tanh


EAGER_OPS = BlockOps()


def allow_recompiles(limit: int = 64) -> None:
    """Let Dynamo keep one graph per argument layout (sizes, batch, perturbations) instead of its default 8."""
    limits = torch._dynamo.config
    for name in ("recompile_limit", "cache_size_limit"):
        if hasattr(limits, name):
            setattr(limits, name, max(getattr(limits, name), limit))


@functools.cache
def compiled_ops() -> BlockOps:
    """The same functions through `torch.compile` (dynamic shapes: one compilation serves every resolution; one
    instance per process, so preparing a second model reuses the compiled code)."""
    allow_recompiles()
    # emulate_precision_casts: round intermediates to bf16 where eager would, so the fused kernels stay close to eager
    options = {"emulate_precision_casts": True}
    wrap = lambda fn: torch.compile(fn, dynamic=True, fullgraph=True, options=options)  # noqa: E731
    return BlockOps(wrap(modulate), wrap(gated_add), wrap(norm_rope), wrap(gelu_tanh))
