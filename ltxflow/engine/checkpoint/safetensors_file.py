"""Safe, header-first access to `.safetensors` checkpoint files (never pickle)."""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

from ltxflow.engine.checkpoint.errors import CheckpointError

MAX_HEADER_BYTES = 100 * 1024 * 1024  # the safetensors format itself refuses larger headers

# safetensors dtype tag -> (torch dtype, bytes per element)
DTYPES: dict[str, tuple[torch.dtype, int]] = {
    "F64": (torch.float64, 8),
    "F32": (torch.float32, 4),
    "F16": (torch.float16, 2),
    "BF16": (torch.bfloat16, 2),
    "F8_E4M3": (torch.float8_e4m3fn, 1),
    "F8_E5M2": (torch.float8_e5m2, 1),
    "I64": (torch.int64, 8),
    "I32": (torch.int32, 4),
    "I16": (torch.int16, 2),
    "I8": (torch.int8, 1),
    "U8": (torch.uint8, 1),
    "BOOL": (torch.bool, 1),
}

_ZIP_MAGIC = b"PK\x03\x04"  # torch.save's default container since torch 1.6


@dataclass(frozen=True)
class TensorEntry:
    """One tensor as the header describes it: dtype tag, shape and byte range in the data section."""

    dtype: str  # safetensors tag, e.g. "BF16"
    shape: tuple[int, ...]
    start: int  # byte offset into the data section
    end: int  # exclusive

    @property
    def numel(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """Bytes of data."""
        return self.end - self.start


@dataclass(frozen=True)
class SafetensorsHeader:
    """Everything a safetensors file says about itself, read without touching tensor data."""

    path: Path
    file_size: int  # bytes
    tensors: dict[str, TensorEntry]
    metadata: dict[str, str]


def _refuse_non_safetensors(path: Path, head: bytes) -> None:
    """Raise for files whose first bytes show a pickle or zip (torch.save) checkpoint."""
    pickled = len(head) >= 2 and head[0] == 0x80 and 1 <= head[1] <= 5
    if pickled or head.startswith(_ZIP_MAGIC):
        raise CheckpointError(f"{path} is a pickle checkpoint; ltxflow loads safetensors only")


def _entry(path: Path, name: str, raw: Any, data_size: int) -> TensorEntry:
    """Validate one header record against the data section size."""
    if not isinstance(raw, dict) or not {"dtype", "shape", "data_offsets"} <= raw.keys():
        raise CheckpointError(f"{path} has a corrupt safetensors header: tensor {name!r} lacks dtype/shape/offsets")
    dtype, shape, offsets = raw["dtype"], raw["shape"], raw["data_offsets"]
    if dtype not in DTYPES:
        raise CheckpointError(f"{path}: tensor {name!r} has unsupported dtype {dtype!r}")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise CheckpointError(f"{path} has a corrupt safetensors header: tensor {name!r} shape {shape!r}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
        raise CheckpointError(f"{path} has a corrupt safetensors header: tensor {name!r} offsets {offsets!r}")
    start, end = offsets
    if not 0 <= start <= end:
        raise CheckpointError(f"{path} has a corrupt safetensors header: tensor {name!r} offsets {offsets!r}")
    if end > data_size:
        raise CheckpointError(
            f"{path} is truncated: tensor {name!r} ends at data byte {end} but the file holds only {data_size}"
        )
    entry = TensorEntry(dtype=dtype, shape=tuple(shape), start=start, end=end)
    if entry.nbytes != entry.numel * DTYPES[dtype][1]:
        raise CheckpointError(
            f"{path} is corrupt: tensor {name!r} {dtype}{list(shape)} needs {entry.numel * DTYPES[dtype][1]} bytes, "
            f"header gives {entry.nbytes}"
        )
    return entry


def read_header(path: str | Path) -> SafetensorsHeader:
    """Read and validate a safetensors header; refuses pickle/zip files and truncated or corrupt ones."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist or is not a file")
    file_size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        _refuse_non_safetensors(path, head)
        if len(head) < 8:
            raise CheckpointError(f"{path} is not a safetensors file: only {file_size} bytes long")
        (header_size,) = struct.unpack("<Q", head)
        if header_size > MAX_HEADER_BYTES:
            raise CheckpointError(f"{path} is not a safetensors file: header length {header_size} is implausible")
        if 8 + header_size > file_size:
            raise CheckpointError(
                f"{path} is truncated or not a safetensors file: header length {header_size} "
                f"runs past the end of the {file_size}-byte file"
            )
        raw = f.read(header_size)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path} is not a safetensors file: header is not JSON ({err})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} is not a safetensors file: header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CheckpointError(f"{path} has corrupt safetensors metadata: values must be strings")
    data_size = file_size - 8 - header_size
    tensors = {name: _entry(path, name, rec, data_size) for name, rec in header.items()}
    return SafetensorsHeader(path=path, file_size=file_size, tensors=tensors, metadata=metadata)


def read_config(header: SafetensorsHeader) -> dict[str, Any]:
    """The JSON `config` metadata as a dict; a missing or malformed one is an error."""
    text = header.metadata.get("config")
    if text is None:
        raise CheckpointError(
            f"{header.path} has no 'config' metadata; ltxflow needs the official single-file layout "
            "(model config stored in the safetensors header)"
        )
    try:
        config = json.loads(text)
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{header.path}: 'config' metadata is not valid JSON ({err})") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{header.path}: 'config' metadata must be a JSON object, got {type(config).__name__}")
    return config


@contextmanager
def open_tensors(path: str | Path) -> Iterator[Any]:
    """Lazy tensor access (`get_tensor(name)`) through safetensors' own memory-mapped reader."""
    try:
        handle = safe_open(str(path), framework="pt", device="cpu")
    except Exception as err:  # safetensors raises its own error types for bad files
        raise CheckpointError(f"{path} cannot be opened as safetensors: {err}") from None
    with handle as f:
        yield f
