"""Write-then-rename: a file appears complete or not at all.

A partial file is hidden (`.<stem>.<host>-<pid>-<random>.partial<suffix>`), unique to its writer, and never a
deliverable: readers skip dot-files, and a process killed outright (kill -9, power loss) leaves partials that the
next run on the same host removes with `sweep_partials`, since their writer's pid is gone. A refused write (full
disk, quota, read-only mount, permission) is a StorageError naming the file, with the partial removed.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

from ltxflow.processes import process_exists
from ltxflow.storage import as_storage_error, storage_errors

_PARTIAL = re.compile(r"^\..*\.(?P<host>[A-Za-z0-9-]+)-(?P<pid>\d+)-[0-9a-f]{8}\.partial(\.[^.]*)?$")


def host_tag() -> str:
    """This host's name as partial names carry it (letters, digits and '-' only)."""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:64] or "host"


def partial_path(path: Path) -> Path:
    """A hidden partial name beside `path`, unique to this process and call."""
    path = Path(path)
    return path.with_name(f".{path.stem}.{host_tag()}-{os.getpid()}-{secrets.token_hex(4)}.partial{path.suffix}")


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a partial path beside `path`, unique to this writer (two processes writing the same report never
    share one); move it into place on success, delete it on any error (a refused write: StorageError)."""
    partial = partial_path(path)
    try:
        with storage_errors(path):
            yield partial
            os.replace(partial, path)
    finally:
        _discard(partial)


def _discard(partial: Path) -> None:
    """Remove a partial; on a mount that refuses it (read-only) it stays for the next run to sweep."""
    try:
        partial.unlink(missing_ok=True)
    except OSError as exc:
        if as_storage_error(exc) is None:
            raise


def sweep_partials(folder: Path) -> list[Path]:
    """Remove the partial files in `folder` (not below it) whose writer was a process of this host that is gone."""
    swept = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return swept
    host = host_tag()
    for entry in entries:
        match = _PARTIAL.match(entry.name)
        if match and match["host"] == host and not process_exists(int(match["pid"])) and not entry.is_dir(follow_symlinks=False):
            Path(entry.path).unlink(missing_ok=True)
            swept.append(Path(entry.path))
    return swept
