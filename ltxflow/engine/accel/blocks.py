"""Blocks and feed-forwards that run compiled: each elementwise op on its own, or the whole block as one graph.

`FastBlock` / `FastFeedForward` are the model's `AVBlock` / `FeedForward` with the same parameters (built by
`adopt`, put in their place by `accelerate`); they only route the elementwise steps through `ops`, and a FastBlock
with a `graph` runs its forward through it (one Inductor graph per block and argument layout).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ltxflow.engine.transformer import ops
from ltxflow.engine.transformer.block import AVBlock, BlockSkips, FeedForward, Stream
from ltxflow.engine.transformer.rope import Rope

# emulate_precision_casts: round intermediates to bf16 where eager would, so the fused kernels stay close to eager
INDUCTOR_OPTIONS = {"emulate_precision_casts": True}

BlockForward = Callable[[AVBlock, Tensor | None, Tensor | None, Stream | None, Stream | None, BlockSkips],
                        tuple[Tensor | None, Tensor | None]]


@dataclass(frozen=True)
class BlockOps:
    """The elementwise functions a block's steps call: the model's own (eager) or compiled copies of them."""

    modulate: Callable[[Tensor, Tensor, Tensor, int, int, float], Tensor] = ops.modulate
    gated_add: Callable[[Tensor, Tensor, Tensor, Tensor, int], Tensor] = ops.gated_add
    norm_rope: Callable[[Tensor, Tensor, float, Rope | None], Tensor] = ops.norm_rope
    gelu: Callable[[Tensor], Tensor] = ops.gelu_tanh


EAGER_OPS = BlockOps()


def compiled_ops() -> BlockOps:
    """The same functions through `torch.compile` (dynamic shapes: one compilation serves every resolution)."""
    wrap = lambda fn: torch.compile(fn, dynamic=True, fullgraph=True, options=INDUCTOR_OPTIONS)  # noqa: E731
    return BlockOps(wrap(ops.modulate), wrap(ops.gated_add), wrap(ops.norm_rope), wrap(ops.gelu_tanh))


def compiled_block_forward() -> BlockForward:
    """`AVBlock.forward` through `torch.compile` (static shapes); one function serves every block of a model."""
    return torch.compile(AVBlock.forward, dynamic=False, options=INDUCTOR_OPTIONS)


def allow_recompiles(limit: int = 64) -> None:
    """Let Dynamo keep one graph per argument layout (sizes, batch, perturbations) instead of its default 8.

    A process-wide Dynamo setting (it only ever raises the limit)."""
    limits = torch._dynamo.config
    for name in ("recompile_limit", "cache_size_limit"):
        if hasattr(limits, name):
            setattr(limits, name, max(getattr(limits, name), limit))


class FastFeedForward(FeedForward):
    """FeedForward whose GELU runs through `ops`."""

    ops: BlockOps

    @classmethod
    def adopt(cls, ff: FeedForward) -> FastFeedForward:
        """A FastFeedForward sharing every parameter and child of `ff` (nothing is copied)."""
        if isinstance(ff, FastFeedForward):
            return ff
        fast = cls.__new__(cls)
        fast.__dict__.update(ff.__dict__)  # the same nn.Module state: parameters, children
        fast.ops = EAGER_OPS
        return fast

    def activation(self, h: Tensor) -> Tensor:
        """tanh-GELU through `ops`: (B, T, 4D) -> (B, T, 4D)."""
        return self.ops.gelu(h)


class FastBlock(AVBlock):
    """AVBlock whose modulation and gated residuals run through `ops`, or whose whole forward runs as `graph`."""

    ops: BlockOps
    graph: BlockForward | None  # the compiled AVBlock.forward, or None: eager
    offloaded: bool  # its weights live in host memory between forwards (see offload.py)

    @classmethod
    def adopt(cls, block: AVBlock) -> FastBlock:
        """A FastBlock sharing every parameter and child of `block` (nothing is copied)."""
        if isinstance(block, FastBlock):
            return block
        fast = cls.__new__(cls)
        fast.__dict__.update(block.__dict__)  # the same nn.Module state: parameters, children, settings
        fast.ops, fast.graph, fast.offloaded = EAGER_OPS, None, False
        return fast

    def modulate(self, x: Tensor, table: Tensor, ada: Tensor, shift_row: int, scale_row: int) -> Tensor:
        """AdaLN modulation through `ops`: (B, T, D) -> (B, T, D)."""
        return self.ops.modulate(x, table, ada, shift_row, scale_row, self.eps)

    def gated_add(self, x: Tensor, y: Tensor, table: Tensor, ada: Tensor, gate_row: int) -> Tensor:
        """Gated residual through `ops`: (B, T, D) -> (B, T, D)."""
        return self.ops.gated_add(x, y, table, ada, gate_row)

    def forward(self, v: Tensor | None, a: Tensor | None, video: Stream | None, audio: Stream | None,
                skips: BlockSkips) -> tuple[Tensor | None, Tensor | None]:
        """The block's forward, through the compiled graph when there is one."""
        if self.graph is not None:
            return self.graph(self, v, a, video, audio, skips)
        return super().forward(v, a, video, audio, skips)
