"""Database connections: ledger location → SQLAlchemy engine, SQLite pragmas, write transactions."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from ltxflow.errors import StorageError
from ltxflow.ledger.records import LedgerError
from ltxflow.storage import sqlite_storage_problem

LEDGER_ENV = "LTXFLOW_LEDGER"
DEFAULT_LEDGER_NAME = "ltxflow-ledger.db"
BUSY_TIMEOUT_MS = 30_000  # a writer waits this long for another process's transaction
_WRITE = "ltxflow_write"  # execution option: begin the transaction as a writer


def default_ledger_location() -> str | Path:
    """The one location rule every command follows when no --ledger is given: $LTXFLOW_LEDGER (a path or a
    SQLAlchemy URL) if set, else ./ltxflow-ledger.db in the working folder."""
    return os.environ.get(LEDGER_ENV) or Path.cwd() / DEFAULT_LEDGER_NAME


def ledger_url(location: str | Path | None, *, create: bool = True) -> URL:
    """A SQLAlchemy URL from a URL string, a file path, or None (the default location); `create` makes the
    folder of a SQLite file."""
    location = default_ledger_location() if location is None else location
    if isinstance(location, str) and "://" in location:
        try:
            url = make_url(location)
        except ArgumentError:
            raise LedgerError(f"ledger: not a valid database URL: {location!r}") from None
        # postgresql:// means psycopg 3 (the [postgres] extra), not SQLAlchemy's default psycopg2
        return url.set(drivername="postgresql+psycopg") if url.drivername == "postgresql" else url
    path = Path(location).expanduser()
    if path.is_dir():
        raise LedgerError(f"ledger: {path} is a folder, expected a database file")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    return URL.create("sqlite", database=str(path.resolve()))


def missing_sqlite_file(location: str | Path | None) -> Path | None:
    """The SQLite file `location` names when it does not exist yet (None for an existing file or a server URL)."""
    url = ledger_url(location, create=False)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = Path(url.database)
    return None if path.is_file() else path


def connect(location: str | Path | None) -> Engine:
    """An engine for the ledger; SQLite connections get WAL, a busy timeout and foreign keys."""
    url = ledger_url(location)
    try:
        engine = create_engine(url)
    except (NoSuchModuleError, ImportError) as exc:
        extra = " (pip install 'ltxflow[postgres]')" if url.get_backend_name() == "postgresql" else ""
        raise LedgerError(f"ledger: no driver for {url.drivername!r}{extra} ({exc})") from None
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, in_memory=url.database in (None, "", ":memory:"))
    return engine


def _configure_sqlite(engine: Engine, *, in_memory: bool) -> None:
    """Pragmas on every new connection; transactions begun by us (IMMEDIATE for writers)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # noqa: ANN001 (driver objects)
        dbapi_conn.isolation_level = None  # the driver stops opening transactions; "begin" below does
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if not in_memory:
            _use_wal(cursor)  # readers never block the one writer
            cursor.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: atomic, fsync at checkpoints
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A writer takes the write lock up front, so SQLite's busy handler waits for it instead of
        # failing a read transaction that later tries to write.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


def _use_wal(cursor) -> None:  # noqa: ANN001 (a driver cursor)
    """Switch the file to WAL once; retry while another process holds the lock that switch needs."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")  # the busy handler does not cover this switch
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction: committed when the block ends, rolled back if it raises. A ledger another process
    keeps locked past the busy timeout is a one-line LedgerError (nothing of this transaction is written)."""
    try:
        with engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn
    except OperationalError as exc:
        where = engine.url.database or str(engine.url)
        problem = sqlite_storage_problem(exc.orig)
        if problem:  # its disk is full or read-only: SQLite rolled the transaction back
            raise StorageError(f"ledger {where}: cannot write ({problem}); nothing of this transaction was written, "
                               "free space or fix the folder's permissions and rerun") from None  # fmt: skip
        if "locked" not in str(exc.orig) and "busy" not in str(exc.orig):
            raise
        raise LedgerError(f"ledger {where}: locked by another process for over {BUSY_TIMEOUT_MS / 1000:g} s; "
                          "nothing was written, rerun when it finishes") from None


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """One consistent read snapshot."""
    with engine.connect() as conn, conn.begin():
        yield conn
