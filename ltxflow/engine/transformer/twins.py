"""Which batch items each block computes: per-item perturbations, and twins that share the blocks before theirs.

A guided step stacks its passes along the batch (cond, uncond, STG, isolated). The STG pass reads exactly what the
conditional pass reads and differs only from its skipped block on, so the caller may name it the conditional pass's
*twin*: it then joins the computation at that block as a copy of its twin's hidden states (the same function with
fewer FLOPs), and an item whose perturbation never differs from its twin's is never computed at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, is_dataclass, replace
from typing import TypeVar

import torch
from torch import Tensor

from ltxflow.engine.transformer.block import BlockSkips, Skip, Stream
from ltxflow.engine.transformer.modality import Perturbation, TransformerInputError

T = TypeVar("T")


def first_difference(a: Perturbation, b: Perturbation, num_layers: int) -> int:
    """The first block in which items perturbed by `a` and `b` compute differently (num_layers: never)."""
    if a.skip_a2v != b.skip_a2v or a.skip_v2a != b.skip_v2a:
        return 0
    blocks = (a.skip_video_self_attn ^ b.skip_video_self_attn) | (a.skip_audio_self_attn ^ b.skip_audio_self_attn)
    return min(blocks, default=num_layers)


def join_blocks(perts: list[Perturbation], twins: Sequence[int | None] | None, num_layers: int) -> list[int]:
    """Per batch item, the block at which it joins the computation (0, or later for a twin)."""
    if twins is None:
        return [0] * len(perts)
    if len(twins) != len(perts) or any(j is not None and not (0 <= j < i and twins[j] is None)
                                       for i, j in enumerate(twins)):
        raise TransformerInputError(f"LTXTransformer: twins must give, per item, None or an earlier item without a "
                                    f"twin; got {list(twins)}")
    return [0 if j is None else first_difference(perts[i], perts[j], num_layers) for i, j in enumerate(twins)]


def take_rows(x: T, rows: list[int], batch: int) -> T:
    """Rows `rows` of a batch of `batch` items: of a tensor, or of every tensor in a (nested) dataclass. A tensor
    whose first axis is not `batch` (broadcast over it) and None pass through. Built from slices (no index tensor
    is copied to the device), so a CUDA graph can capture it."""
    if isinstance(x, torch.Tensor):
        if x.shape[0] != batch or rows == list(range(batch)):
            return x
        return torch.cat([x[i:i + 1] for i in rows])  # type: ignore[return-value]
    if x is not None and is_dataclass(x) and not isinstance(x, type):
        return replace(x, **{f.name: take_rows(getattr(x, f.name), rows, batch) for f in fields(x)  # type: ignore
                             if isinstance(getattr(x, f.name), torch.Tensor) or is_dataclass(getattr(x, f.name))})
    return x


def keep_mask(flags: list[bool], like: Tensor) -> Skip:
    """How one attention treats the running rows given per-row 'skip' flags: for all, for none, or per row."""
    if all(flags):
        return Skip(all=True)
    if not any(flags):
        return Skip()
    keep = torch.ones(len(flags), 1, 1, dtype=like.dtype, device=like.device)  # (B, 1, 1)
    for i in (i for i, f in enumerate(flags) if f):
        keep[i].fill_(0.0)  # a device-side fill: no host-to-device copy, so CUDA-graph capture works
    return Skip(keep=keep)


class BlockSchedule:
    """The rows of the running batch, block by block, for one forward.

    Items without a twin run from block 0, in batch order; a twin is appended when its block comes. The streams
    (per-modality conditioning) follow the rows; keep masks are built once per forward per flag pattern.
    """

    def __init__(self, perturbations: list[Perturbation], twins: Sequence[int | None] | None, num_layers: int,
                 video: Stream | None, audio: Stream | None) -> None:
        self.perts, self.twins = perturbations, twins
        self.batch = len(perturbations)
        self.joins = join_blocks(perturbations, twins, num_layers)  # block at which each item joins
        self.rows = [i for i in range(self.batch) if self.joins[i] == 0]  # batch items computed so far, in order
        self.full = (video, audio)  # streams of the whole batch
        self.streams = tuple(take_rows(s, self.rows, self.batch) for s in self.full)
        self._masks: dict[tuple[str, tuple[bool, ...]], Skip] = {}

    def start(self, v: Tensor | None, a: Tensor | None) -> tuple[Tensor | None, Tensor | None]:
        """The hidden states of the rows that run from block 0: (B', T_v, D_v), (B', T_a, D_a)."""
        return take_rows(v, self.rows, self.batch), take_rows(a, self.rows, self.batch)

    def enter(self, idx: int, v: Tensor | None, a: Tensor | None) -> tuple[Tensor | None, Tensor | None]:
        """Before block `idx`: append the twins that differ from here on, each as a copy of its twin's rows."""
        joining = [i for i in range(self.batch) if self.joins[i] == idx and idx > 0]
        if not joining:
            return v, a
        assert self.twins is not None
        picks = list(range(len(self.rows))) + [self.rows.index(self.twins[i]) for i in joining]  # type: ignore
        v, a = take_rows(v, picks, len(self.rows)), take_rows(a, picks, len(self.rows))
        self.rows = self.rows + joining
        self.streams = tuple(take_rows(s, self.rows, self.batch) for s in self.full)
        return v, a

    def skips(self, idx: int, v: Tensor | None, a: Tensor | None) -> BlockSkips:
        """What block `idx` skips for each running row (STG self-attention, AV cross-attention)."""
        perts = [self.perts[i] for i in self.rows]

        def mask(kind: str, flags: list[bool], like: Tensor | None) -> Skip:
            if like is None:
                return Skip()
            key = (kind, tuple(flags))
            if key not in self._masks:
                self._masks[key] = keep_mask(flags, like)
            return self._masks[key]

        return BlockSkips(
            video_self=mask("v", [idx in p.skip_video_self_attn for p in perts], v),
            audio_self=mask("a", [idx in p.skip_audio_self_attn for p in perts], a),
            a2v=mask("v", [p.skip_a2v for p in perts], v),
            v2a=mask("a", [p.skip_v2a for p in perts], a),
        )

    def finish(self, v: Tensor | None, a: Tensor | None) -> tuple[Tensor | None, Tensor | None]:
        """Back to batch order (B, T, D); items identical to their twin to the end are copies of its rows."""
        if self.rows == list(range(self.batch)):
            return v, a
        assert self.twins is not None
        where = [self.rows.index(i) if i in self.rows else self.rows.index(self.twins[i])  # type: ignore
                 for i in range(self.batch)]
        return take_rows(v, where, len(self.rows)), take_rows(a, where, len(self.rows))
