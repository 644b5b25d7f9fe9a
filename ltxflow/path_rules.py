"""Input hygiene for every campaign value that becomes a path: length limits checked before the file system is
touched, and campaign input files confined to the campaign's project root.

A campaign folder is code-like input (someone else's campaign is run like someone else's script): its template is
sandboxed (ltxflow.prompts) and its paths are too. The files a campaign reads as input (template, variants CSV,
conditioning images and video, brand audio, the brand kit and its logo and fonts, layer images, C2PA PEMs) must
resolve (symlinks followed) inside its project root: the nearest folder at or above the campaign folder holding one
of PROJECT_MARKERS, or, with none, the folder holding `campaigns/` (for `campaigns/<name>/`) or else the folder the
campaign folder sits in. Others are refused unless the operator
allows their folder with `ltxflow --allow-path DIR` or $LTXFLOW_ALLOW_PATHS (os.pathsep-separated). Model files
(checkpoint, text_encoder, upsampler, prompt_embeddings, LoRAs) are only length-checked: they live in model caches.
"""

from __future__ import annotations

import os
from pathlib import Path

NAME_MAX = 255  # bytes of one path component (Linux ext4/xfs/tmpfs, macOS APFS)
PATH_MAX = 4096  # bytes of a whole path (Linux)
ALLOW_ENV = "LTXFLOW_ALLOW_PATHS"
PROJECT_MARKERS = ("ltxflow.toml", "pyproject.toml", ".git")


def path_problem(text: str | os.PathLike[str]) -> str:
    """Why `text` cannot be a path here ("" when it can): a NUL or other control character, a component over
    NAME_MAX bytes or a whole over PATH_MAX bytes. Pure string work: the file system is not touched."""
    text = os.fspath(text)
    bad = next((c for c in text if ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        return f"path contains control character U+{ord(bad):04X}"
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return "path is not valid UTF-8 text"
    if size > PATH_MAX:
        return f"path is {size} bytes, over the {PATH_MAX}-byte limit"
    for part in text.replace("\\", "/").split("/"):
        length = len(part.encode("utf-8"))
        if length > NAME_MAX:
            return f"file name {part[:24]!r}... is {length} bytes, over the {NAME_MAX}-byte limit"
    return ""


def checked_path(folder: Path, text: str | os.PathLike[str]) -> Path:
    """`text` resolved against `folder` (absolute paths stay), after the limits; ValueError saying what is wrong."""
    problem = path_problem(text)
    if not problem:
        path = (folder / text).absolute()
        problem = path_problem(path)
        if not problem:
            return path
    raise ValueError(problem)


def project_root(folder: Path) -> Path:
    """The campaign's project root: the nearest folder at or above `folder` with a project marker; without one the
    folder that holds `campaigns/` when the campaign sits in the documented `campaigns/<name>/` layout (beside
    `templates/`), else the folder the campaign folder sits in."""
    folder = Path(os.path.realpath(folder))
    for candidate in (folder, *folder.parents):
        if any(os.path.lexists(candidate / marker) for marker in PROJECT_MARKERS):
            return candidate
    return folder.parent.parent if folder.parent.name == "campaigns" else folder.parent


def allowed_roots() -> list[Path]:
    """The folders $LTXFLOW_ALLOW_PATHS (or --allow-path) adds to the project root, real paths."""
    return [Path(os.path.realpath(p)) for p in os.environ.get(ALLOW_ENV, "").split(os.pathsep) if p.strip()]


def confinement_problem(path: Path, folder: Path) -> str:
    """Why the input file `path` of the campaign in `folder` may not be read ("" when it may): outside the project
    root and every allowed folder, symlinks followed."""
    real = Path(os.path.realpath(path))
    root = project_root(folder)
    if any(real == r or r in real.parents for r in (root, *allowed_roots())):
        return ""
    return (f"{path} is outside the campaign's project root {root} (campaign files are confined to it; allow a "
            f"folder with 'ltxflow --allow-path DIR' or ${ALLOW_ENV})")  # fmt: skip


def input_file(folder: Path, text: str | os.PathLike[str]) -> Path:
    """A campaign input file: limits, resolution against `folder`, confinement; ValueError saying what is wrong.
    Existence is the caller's check (some callers fail only the variant)."""
    path = checked_path(folder, text)
    problem = confinement_problem(path, folder)
    if problem:
        raise ValueError(problem)
    return path
