"""The one exception media readers raise: a conditioning file that is missing, unreadable or unusable."""

from __future__ import annotations

from pathlib import Path

from ltxflow.errors import LtxflowError


class MediaError(LtxflowError):
    """A conditioning file (image, audio, video) that cannot be used; the message names the file and variant."""


def media_error(kind: str, path: Path | str, problem: str, variant: str | None = None) -> MediaError:
    """A one-line MediaError: "variant <v>: <kind> <path>: <problem>"."""
    lead = f"variant {variant}: " if variant is not None else ""
    problem = " ".join(str(problem).split())  # one line, whatever the decoder said
    return MediaError(f"{lead}{kind} {path}: {problem}")


def check_file(kind: str, path: Path | str, variant: str | None = None) -> Path:
    """`path` as a Path if it is an existing non-empty regular file, else a MediaError naming it."""
    path = Path(path)
    if not path.exists():
        raise media_error(kind, path, "file not found", variant)
    if not path.is_file():
        raise media_error(kind, path, "not a regular file", variant)
    if path.stat().st_size == 0:
        raise media_error(kind, path, "file is empty (0 bytes)", variant)
    return path
