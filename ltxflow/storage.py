"""Write failures of the file system and the ledger's database as the one-line error policy (StorageError).

A full disk (ENOSPC), an exhausted quota (EDQUOT), a read-only mount (EROFS) or a refused permission (EACCES, EPERM)
is not a bug and not bad input: every write path turns it into one line naming the file, after removing what it
had half-written, so the user frees space or fixes the mount and reruns.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ltxflow.errors import StorageError

STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG})
# SQLite result codes (primary, low byte) of a database its disk or mount will not let grow or change
SQLITE_CODES = {13: "database or disk is full", 8: "read-only database", 3: "permission denied",
                14: "cannot open the database file", 10: "disk I/O error"}  # fmt: skip


def storage_problem(exc: BaseException) -> bool:
    """Whether `exc` is a refused write of the file system (or already a StorageError)."""
    return isinstance(exc, StorageError) or (isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS)


WRITE_ONLY_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})  # only a write meets these


def write_refused(exc: BaseException, under: Path) -> bool:
    """Whether `exc` is a refused write into `under` (an output folder): a StorageError, a full or read-only disk,
    or a permission refused on a file there. A permission refused on an input (a conditioning file) is not."""
    if isinstance(exc, StorageError):
        return True
    if not isinstance(exc, OSError) or exc.errno not in STORAGE_ERRNOS:
        return False
    if exc.errno in WRITE_ONLY_ERRNOS:
        return True
    name = exc.filename
    return isinstance(name, str | os.PathLike) and Path(os.path.abspath(name)).is_relative_to(under)


def as_storage_error(exc: BaseException, path: Path | str | None = None) -> StorageError | None:
    """The StorageError for `exc` naming `path` (default: the file the OS named), or None if `exc` is another error."""
    if isinstance(exc, StorageError):
        return exc
    if not storage_problem(exc):
        return None
    assert isinstance(exc, OSError)
    where = path if path is not None else (exc.filename or "output")
    reason = exc.strerror or os.strerror(exc.errno or 0)
    return StorageError(f"{where}: cannot write ({reason}); nothing half-written was left, free space or fix the "
                        "folder's permissions and rerun")  # fmt: skip


@contextmanager
def storage_errors(path: Path | str | None = None) -> Iterator[None]:
    """Turn a refused write inside the block into a StorageError naming `path` (or the file the OS named)."""
    try:
        yield
    except OSError as exc:
        error = as_storage_error(exc, path)
        if error is None:
            raise
        raise error from None


def sqlite_storage_problem(exc: BaseException) -> str:
    """What a SQLite error says about its disk ("" when it is about something else: a lock, bad SQL)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return SQLITE_CODES.get(code & 0xFF, "") if isinstance(code, int) else ""
