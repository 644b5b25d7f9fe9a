"""Refused writes injected at each write path of a run (issue 23), for machines where no tmpfs can be mounted
(tests/faults/test_full_disks.py fills a real one): every ENOSPC, EDQUOT, EROFS and EACCES becomes one line naming
the file, exit 74, nothing half-written, and a rerun completes once the write is allowed again."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, event

from ltxflow.cli import cli
from ltxflow.ledger.store import Ledger

SMALL = 'width = 144\nheight = 256\nx264_preset = "ultrafast"\nmin_seconds = 0'
REAL_REPLACE, REAL_LINK = os.replace, os.link


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _refuse(code: int, wanted):
    """An os.replace / os.link that refuses (with `code`) the first move into a path `wanted` accepts."""
    hit = []

    def refuse(real):
        def call(src, dst, *args, **kwargs):
            if wanted(Path(dst)) and not hit:
                hit.append(dst)
                raise OSError(code, os.strerror(code), str(dst))
            return real(src, dst, *args, **kwargs)

        return call

    return refuse


def _partials(out: Path):
    return [p for p in out.rglob(".*") if p.is_file()]


CASES = {  # errno, where (an os function), which move it refuses, the file the error line must name
    "deliverable full": (errno.ENOSPC, "replace", lambda p: p.suffix == ".mp4", "spring__alpha__s1__reels.mp4"),
    "wav over quota": (errno.EDQUOT, "replace", lambda p: p.suffix == ".wav", "spring__alpha__s1.wav"),
    "manifest read-only": (errno.EROFS, "replace", lambda p: p.name == "manifest.csv", "manifest.csv"),
    "current link refused": (errno.EACCES, "link", lambda p: p.parent.name == "current", "current/spring__alpha"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_refused_write_is_one_line_naming_the_file_and_a_rerun_completes(case, make_campaign, toml, tmp_path,
                                                                           fake_engine, monkeypatch):  # fmt: skip
    """Catches: an OSError from a deliverable, the WAV, the manifest or a current/ link escaping as a traceback
    (or, inside a task, recorded as that task's failure while the run went on to fail every other task the same
    way), and a partial or an unrecorded attempt left in the output folder."""
    code, where, wanted, name = CASES[case]
    folder = make_campaign(toml(platforms='["reels"]', extra=f"[export.reels]\n{SMALL}"))
    db, out = tmp_path / "l.db", tmp_path / "out"
    real = REAL_REPLACE if where == "replace" else REAL_LINK
    monkeypatch.setattr(os, where, _refuse(code, wanted)(real))
    done = _invoke("run", folder, "--ledger", db, "--out", out, "--no-progress")
    assert done.exit_code == 74, done.output
    line = done.output.strip().splitlines()[-1]
    assert line.startswith("Error: ") and name in line and f"cannot write ({os.strerror(code)})" in line, done.output
    assert _partials(out) == []
    with Ledger.open(db) as book:
        recorded = {o.path for o in book.outputs("spring")}
        assert all(o.sha256 for o in book.outputs("spring"))
        assert not [r for r in book.runs("spring") if r.status == "running"]
    stored = {str(p) for p in (out / "spring" / "tasks").rglob("*") if p.is_file()}
    assert stored == recorded  # only what the ledger records (a refused task's attempt was removed)
    monkeypatch.setattr(os, where, real)
    rerun = _invoke("run", folder, "--ledger", db, "--out", out, "--no-progress")
    assert rerun.exit_code == 0, rerun.output
    assert (out / "spring" / "manifest.csv").is_file() and _partials(out) == []


def test_a_full_ledger_is_one_line_and_writes_nothing_half(make_campaign, toml, tmp_path, fake_engine):
    """Catches: SQLite's 'database or disk is full' (here: the file may not grow past its pages, which is what a
    full disk does to it) escaping as a sqlalchemy OperationalError traceback, and exported files left behind
    by a task whose record could not be committed."""
    folder = make_campaign(toml(platforms='["reels"]', extra=f"[export.reels]\n{SMALL}"))
    db, out = tmp_path / "l.db", tmp_path / "out"
    assert _invoke("run", folder, "--ledger", db, "--out", out, "--dry-run").exit_code == 0  # creates the ledger
    @event.listens_for(Engine, "connect")
    def no_growth(dbapi_conn, _record):  # every ledger connection of this test: the file is as big as it gets
        cursor = dbapi_conn.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {pages}")
        cursor.close()

    try:
        done = _invoke("run", folder, "--ledger", db, "--out", out, "--no-progress")
    finally:
        event.remove(Engine, "connect", no_growth)
    assert done.exit_code == 74, done.output
    line = done.output.strip().splitlines()[-1]
    assert line == (f"Error: ledger {db}: cannot write (database or disk is full); nothing of this transaction was "
                    "written, free space or fix the folder's permissions and rerun"), done.output  # fmt: skip
    assert _partials(out) == []
    with Ledger.open(db) as book:
        recorded = {o.path for o in book.outputs("spring")}
    assert {str(p) for p in out.rglob("*") if p.is_file() and "tasks" in p.parts} == recorded


def test_a_permission_refused_on_an_input_fails_only_its_variant(make_campaign, toml, tmp_path, fake_engine,
                                                                 monkeypatch):  # fmt: skip
    """Catches: the full-disk rule applied to reads, so one unreadable conditioning file (EACCES outside the output
    folder) stopped the whole run with 'cannot write' instead of failing its own variant."""
    import ltxflow.attempt as attempt  # where a claimed task is made (issue 18 moved it out of the runner)

    def unreadable(task):
        if task.variant_id == "beta":
            raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "assets" / "photo.png"))

    monkeypatch.setattr(attempt, "check_task_inputs", unreadable)
    folder = make_campaign(toml(platforms='["reels"]', extra=f"[export.reels]\n{SMALL}"))
    done = _invoke("run", folder, "--ledger", tmp_path / "l.db", "--out", tmp_path / "out", "--no-progress")
    assert done.exit_code == 1, done.output
    assert "failed: spring__beta__s1: PermissionError" in done.output and "1 finished, 1 failed" in done.output
