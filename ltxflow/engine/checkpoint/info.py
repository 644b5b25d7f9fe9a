"""`describe`: what a checkpoint holds, from its header alone (no tensor data is read)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ltxflow.engine.checkpoint.keys import drop_rule
from ltxflow.engine.checkpoint.loader import Checkpoint


@dataclass(frozen=True)
class ComponentInfo:
    """Size of one component in the file."""

    name: str
    tensors: int
    parameters: int  # elements, buffers included
    nbytes: int
    dtypes: tuple[str, ...]  # safetensors tags, e.g. ("BF16", "F32")


@dataclass(frozen=True)
class CheckpointInfo:
    """A checkpoint summary for `ltxflow engine info`."""

    path: Path
    file_size: int  # bytes
    model_version: str | None
    components: tuple[ComponentInfo, ...]
    dropped: tuple[str, ...]  # file keys discarded by a named drop rule

    def table(self) -> str:
        """A small fixed-width table."""
        lines = [
            f"checkpoint  {self.path}",
            f"version     {self.model_version or 'unknown (config recognised)'}",
            f"file size   {self.file_size:,} bytes",
            "",
            f"{'component':<16}{'tensors':>8}{'parameters':>16}  dtypes",
        ]
        for c in self.components:
            lines.append(f"{c.name:<16}{c.tensors:>8}{c.parameters:>16,}  {','.join(c.dtypes)}")
        if self.dropped:
            lines.append(f"dropped (known unused): {len(self.dropped)} tensor(s)")
        return "\n".join(lines)


def describe(path: str | Path) -> CheckpointInfo:
    """Version, components, per-component tensor/parameter counts and dtypes, file size."""
    ckpt = Checkpoint.open(path)
    components = []
    for name, table in ckpt.keys.items():
        entries = [ckpt.tensors[file_key] for file_key in table.values()]
        components.append(
            ComponentInfo(
                name=name,
                tensors=len(entries),
                parameters=sum(e.numel for e in entries),
                nbytes=sum(e.nbytes for e in entries),
                dtypes=tuple(sorted({e.dtype for e in entries})),
            )
        )
    dropped = tuple(sorted(k for k in ckpt.tensors if drop_rule(k) is not None))
    return CheckpointInfo(ckpt.path, ckpt.file_size, ckpt.model_version, tuple(components), dropped)
