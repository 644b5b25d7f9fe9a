"""`describe_lora`: what a LoRA file adapts (modules, ranks, the models it fits), from its header alone."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import torch
from torch import nn

from ltxflow.engine.checkpoint.info import CheckpointInfo, describe
from ltxflow.engine.checkpoint.safetensors_file import read_header
from ltxflow.engine.lora.file import LoraFile
from ltxflow.engine.lora.keys import SUFFIXES
from ltxflow.engine.transformer import LTXTransformer, TransformerConfig

_BLOCK = re.compile(r"^transformer_blocks\.(\d+)\.")


def _tiny() -> TransformerConfig:
    from ltxflow.engine.tiny import tiny_transformer  # the built-in toy checkpoint's transformer

    return tiny_transformer()


KNOWN_MODELS: dict[str, Callable[[], TransformerConfig]] = {
    "LTX-2 19B": TransformerConfig.ltx2_19b,
    "LTX-2.3 22B": TransformerConfig.ltx23_22b,
    "ltxflow tiny": _tiny,
}


@cache
def _one_block_shapes(model: str) -> tuple[int, dict[str, tuple[int, int]]]:
    """(blocks, linear layer -> (out, in)) of a known model, built on the meta device with one block (all alike)."""
    config = KNOWN_MODELS[model]()
    with torch.device("meta"):
        transformer = LTXTransformer(replace(config, num_layers=1))
    shapes = {n: (m.out_features, m.in_features) for n, m in transformer.named_modules() if isinstance(m, nn.Linear)}
    return config.num_layers, shapes


def shape_in(model: str, module: str) -> tuple[int, int] | None:
    """The (out, in) of `module`'s weight in a known model, or None when it has no such linear layer."""
    blocks, shapes = _one_block_shapes(model)
    match = _BLOCK.match(module)
    if match is None:
        return shapes.get(module)
    if int(match.group(1)) >= blocks:
        return None
    return shapes.get(_BLOCK.sub("transformer_blocks.0.", module))


@dataclass(frozen=True)
class ModuleGroup:
    """Modules that differ only in their block index, e.g. transformer_blocks.*.attn1.to_q over blocks 0-47."""

    pattern: str
    blocks: tuple[int, ...]  # () for a module outside the blocks
    ranks: tuple[int, ...]

    def describe(self) -> str:
        """'pattern  rank 64  48 blocks (0-47)', 'pattern  rank 8  3 blocks (0, 2, 5)' or 'pattern  rank 8'."""
        rank = f"rank {'/'.join(map(str, self.ranks))}"
        if not self.blocks:
            return f"{self.pattern:<44}{rank:>9}"
        b = self.blocks
        runs = f"{b[0]}-{b[-1]}" if len(b) > 2 and list(b) == list(range(b[0], b[-1] + 1)) else ", ".join(map(str, b))
        return f"{self.pattern:<44}{rank:>9}{len(b):>4} block{'s' if len(b) > 1 else ''} ({runs})"


@dataclass(frozen=True)
class LoraInfo:
    """A LoRA summary for `ltxflow engine info`."""

    path: Path
    file_size: int  # bytes
    modules: int  # adapted modules
    parameters: int  # elements of all factors
    ranks: tuple[int, ...]
    dtypes: tuple[str, ...]  # safetensors tags
    fits: tuple[str, ...]  # known models whose every adapted weight has the LoRA's shape
    groups: tuple[ModuleGroup, ...]
    reference_downscale_factor: int | None  # IC-LoRA metadata, None when absent

    def table(self) -> str:
        """A small fixed-width report."""
        lines = [
            f"lora        {self.path}",
            f"target      transformer; fits {', '.join(self.fits) if self.fits else 'none of the known models'}",
            f"rank        {', '.join(map(str, self.ranks))}",
            f"file size   {self.file_size:,} bytes",
            f"parameters  {self.parameters:,} ({', '.join(self.dtypes)}) over {self.modules} modules",
        ]
        if self.reference_downscale_factor is not None:
            lines.append(f"IC-LoRA     reference video at 1/{self.reference_downscale_factor} size")
        lines += ["", "modules"] + [f"  {g.describe()}" for g in self.groups]
        return "\n".join(lines)


def _groups(lora: LoraFile) -> tuple[ModuleGroup, ...]:
    """Modules folded over their block index: top-level modules first, then in block order."""
    blocks: dict[str, list[int]] = {}
    ranks: dict[str, set[int]] = {}
    for module in sorted(lora.pairs, key=_block_order):
        match = _BLOCK.match(module)
        pattern = _BLOCK.sub("transformer_blocks.*.", module)
        blocks.setdefault(pattern, [])
        ranks.setdefault(pattern, set()).add(lora.pairs[module].rank)
        if match:
            blocks[pattern].append(int(match.group(1)))
    return tuple(ModuleGroup(p, tuple(sorted(b)), tuple(sorted(ranks[p]))) for p, b in blocks.items())


def describe_lora(path: str | Path) -> LoraInfo:
    """Modules, ranks, dtypes, parameter count and the known models a LoRA file fits (its header only)."""
    lora = LoraFile.open(path)
    pairs = lora.pairs.values()
    fits = tuple(name for name in KNOWN_MODELS
                 if all(shape_in(name, p.module) == p.shape for p in pairs))  # fmt: skip
    downscale = lora.reference_downscale_factor if "reference_downscale_factor" in lora.metadata else None
    return LoraInfo(lora.path, lora.file_size, len(lora.pairs), sum(p.numel for p in pairs), lora.ranks,
                    tuple(sorted({p.dtype for p in pairs})), fits, _groups(lora),
                    downscale)  # fmt: skip


def _block_order(module: str) -> tuple[int, str]:
    """Sort key: top-level modules first, then by block index numerically."""
    match = _BLOCK.match(module)
    return (int(match.group(1)) + 1 if match else 0, module)


def looks_like_lora(path: str | Path) -> bool:
    """Whether a safetensors file is a LoRA (no model config, LoRA-suffixed keys) rather than a checkpoint."""
    header = read_header(path)
    if "config" in header.metadata or not header.tensors:
        return False
    return any(key.endswith(suffix) for key in header.tensors for suffix, role in SUFFIXES if role != "alpha")


def describe_file(path: str | Path) -> CheckpointInfo | LoraInfo:
    """`engine info`: a LoRA file's summary, or a checkpoint's."""
    return describe_lora(path) if looks_like_lora(path) else describe(path)
