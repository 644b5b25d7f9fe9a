"""LoRA safetensors files read strictly: every key a pair tensor of a transformer module, ranks consistent.

`LoraFile.open` reads the header only (for `engine info` and for checks before any weight is touched);
`LoraFile.load` reads the tensors into host memory as a `Lora`. A pickle, a truncated file, a key that names no
module, an A/B rank mismatch or half a pair is a one-line `LoraError` naming the file and the key.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from torch import Tensor

from ltxflow.engine.checkpoint.errors import CheckpointError
from ltxflow.engine.checkpoint.safetensors_file import TensorEntry, open_tensors, read_header
from ltxflow.engine.lora.keys import LoraKey, LoraKeyError, parse_key

FLOAT_TAGS = ("F64", "F32", "F16", "BF16")  # LoRA factors multiply in their own dtype (FP8 factors are refused)
REFERENCE_DOWNSCALE_KEY = "reference_downscale_factor"  # IC-LoRA metadata: reference video at 1/f of the size


class LoraError(CheckpointError):
    """A LoRA file that cannot be read or does not fit the model; the message names the file and the key."""


@dataclass(frozen=True)
class LoraPair:
    """The two factors of one adapted module: delta W = B @ A, W (out, in), A (rank, in), B (out, rank)."""

    module: str  # our module name, e.g. "transformer_blocks.0.attn1.to_q"
    key_a: str  # file keys
    key_b: str
    rank: int
    out_features: int
    in_features: int
    dtype: str  # safetensors tag of both factors, e.g. "BF16"
    key_alpha: str | None = None  # kohya's alpha scalar, if the file has one

    @property
    def shape(self) -> tuple[int, int]:
        """(out, in): the shape of the weight this pair adapts."""
        return self.out_features, self.in_features

    @property
    def numel(self) -> int:
        """Elements of A and B."""
        return self.rank * (self.in_features + self.out_features)


def _pairs(path: Path, tensors: Mapping[str, TensorEntry]) -> dict[str, LoraPair]:
    """Group the file's keys into per-module pairs, checking every key, shape and rank."""
    parts: dict[str, dict[str, LoraKey]] = {}
    for key in sorted(tensors):
        try:
            parsed = parse_key(key)
        except LoraKeyError as err:
            raise LoraError(f"{path}: {err}") from None
        roles = parts.setdefault(parsed.module, {})
        if parsed.role in roles:
            raise LoraError(f"{path}: keys {roles[parsed.role].key!r} and {key!r} both adapt {parsed.module} "
                            f"(lora_{parsed.role})")  # fmt: skip
        roles[parsed.role] = parsed
    pairs = {}
    for module, roles in parts.items():
        for role, partner in (("A", "B"), ("B", "A")):
            if role in roles and partner not in roles:
                raise LoraError(f"{path}: key {roles[role].key!r} has no lora_{partner} partner for {module}")
        if "A" not in roles:  # only an alpha
            raise LoraError(f"{path}: key {roles['alpha'].key!r} has no lora_A / lora_B pair for {module}")
        a, b = tensors[roles["A"].key], tensors[roles["B"].key]
        key_a, key_b = roles["A"].key, roles["B"].key
        for key, entry in ((key_a, a), (key_b, b)):
            if len(entry.shape) != 2:
                raise LoraError(f"{path}: key {key!r} has shape {list(entry.shape)}; LoRA factors are matrices")
            if entry.dtype not in FLOAT_TAGS:
                raise LoraError(f"{path}: key {key!r} has dtype {entry.dtype}; LoRA factors must be one of "
                                f"{', '.join(FLOAT_TAGS)}")  # fmt: skip
        if a.shape[0] != b.shape[1]:
            raise LoraError(f"{path}: key {key_b!r}: rank mismatch, lora_B {list(b.shape)} has rank {b.shape[1]} "
                            f"but lora_A {list(a.shape)} has rank {a.shape[0]}")  # fmt: skip
        if a.dtype != b.dtype:
            raise LoraError(f"{path}: key {key_b!r} is {b.dtype} but {key_a!r} is {a.dtype}; "
                            "a pair's factors must share a dtype")  # fmt: skip
        alpha = roles.get("alpha")
        if alpha is not None and tensors[alpha.key].numel != 1:
            raise LoraError(f"{path}: key {alpha.key!r} has shape {list(tensors[alpha.key].shape)}; alpha is a scalar")
        pairs[module] = LoraPair(module, key_a, key_b, a.shape[0], b.shape[0], a.shape[1], a.dtype,
                                 alpha.key if alpha else None)  # fmt: skip
    if not pairs:
        raise LoraError(f"{path}: holds no LoRA tensors")
    return pairs


@dataclass(frozen=True, eq=False)
class LoraFile:
    """A LoRA file's header understood: which modules it adapts, at which ranks (no tensor data read)."""

    path: Path
    file_size: int  # bytes
    pairs: Mapping[str, LoraPair]  # module -> pair, sorted by module name
    metadata: Mapping[str, str]

    @classmethod
    def open(cls, path: str | Path) -> LoraFile:
        """Read and check the header (pickles, truncation and corrupt headers are refused by the reader)."""
        try:
            header = read_header(path)
        except LoraError:
            raise
        except CheckpointError as err:
            raise LoraError(str(err)) from None
        pairs = _pairs(header.path, header.tensors)
        return cls(header.path, header.file_size, MappingProxyType(pairs), MappingProxyType(dict(header.metadata)))

    @property
    def ranks(self) -> tuple[int, ...]:
        """The distinct ranks, ascending (one for most files)."""
        return tuple(sorted({p.rank for p in self.pairs.values()}))

    @property
    def reference_downscale_factor(self) -> int:
        """IC-LoRA: the reference video is given at 1/factor of the generated size (1 when the file says nothing)."""
        text = self.metadata.get(REFERENCE_DOWNSCALE_KEY)
        if text is None:
            return 1
        try:
            factor = json.loads(text)
        except json.JSONDecodeError:
            factor = None
        if isinstance(factor, bool) or not isinstance(factor, int | float) or factor < 1 or factor != int(factor):
            raise LoraError(f"{self.path}: metadata {REFERENCE_DOWNSCALE_KEY}={text!r} is not a positive integer")
        return int(factor)

    def load(self) -> Lora:
        """Read every pair into host memory, in the file's dtype."""
        factors: dict[str, tuple[Tensor, Tensor]] = {}
        with open_tensors(self.path) as f:
            for module, pair in self.pairs.items():
                a, b = f.get_tensor(pair.key_a), f.get_tensor(pair.key_b)  # (r, in), (out, r)
                if pair.key_alpha is not None:
                    _check_alpha(self.path, pair, f.get_tensor(pair.key_alpha))
                factors[module] = (a, b)
        return Lora(self, MappingProxyType(factors))


def _check_alpha(path: Path, pair: LoraPair, alpha: Tensor) -> None:
    """kohya files scale B @ A by alpha / rank; the reference never scales, so only alpha == rank is accepted."""
    value = float(alpha.reshape(()).item())
    if not math.isclose(value, pair.rank):
        raise LoraError(f"{path}: key {pair.key_alpha!r} is {value:g} with rank {pair.rank}: an alpha/rank scale of "
                        f"{value / pair.rank:g} that the reference's fusing does not apply; rescale B or drop alpha")


@dataclass(frozen=True, eq=False)
class Lora:
    """A LoRA file's factors in host memory: module -> (A (rank, in), B (out, rank))."""

    file: LoraFile
    factors: Mapping[str, tuple[Tensor, Tensor]]

    @property
    def path(self) -> Path:
        """The file it was read from."""
        return self.file.path

    @property
    def nbytes(self) -> int:
        """Host bytes of all factors."""
        return sum(a.nbytes + b.nbytes for a, b in self.factors.values())


@dataclass(frozen=True)
class WeightedLora:
    """A loaded LoRA and the strength it is fused at (W += strength * B @ A)."""

    lora: Lora
    strength: float = 1.0

