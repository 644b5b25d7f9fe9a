"""Full disks and read-only mounts at chosen writes of `ltxflow run` subprocesses (issue 23): a real tmpfs filled
(or remounted read-only) by the fault plugin right before the write, for deliverables, reports and the ledger.
Each ends in the one-line error naming the file, exit 74, nothing half-written, and a clean rerun once the space
is back. Skipped, with the reason, where tmpfs cannot be mounted (not root, or no CAP_SYS_ADMIN in a container);
tests/workflow/test_write_errors.py covers the same paths by injected OSErrors everywhere."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from .conftest import assert_only_complete_recorded_files, make_project



@pytest.fixture
def disk(tmp_path):
    """A 4 MiB tmpfs at tmp_path/disk, unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)
        if os.path.ismount(mount):
            subprocess.run(["umount", "-l", str(mount)], check=False)


def _flat_project(root: Path, ledger: Path | None = None, out: Path | None = None):
    project = make_project(root, Path("/nonexistent"), rows="first,on a shelf\nsecond,by a sink\n")
    toml = project.campaign / "campaign.toml"
    toml.write_text(toml.read_text().replace('engine = "ltx2"', 'engine = "flat"'), encoding="utf-8")
    env = project.env | {"LTXFLOW_LOAD_PLUGINS": "fault,flat"}
    return type(project)(project.campaign, ledger or project.ledger, out or project.out, env)


def _one_line_error(done, names: str) -> None:
    assert done.returncode == 74, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
    assert names in lines[0], lines[0]


@pytest.mark.parametrize("moment, action, names", [
    ("mp4", "fill", "faults__first__s5__shorts.mp4: cannot write (No space left on device)"),
    ("wav", "ro", "faults__first__s5.wav: cannot write (Read-only file system)"),
    ("manifest", "fill", "manifest.csv: cannot write (No space left on device)"),
    ("link", "ro", "current/faults__first__s5"),
])  # fmt: skip
def test_the_output_disk_failing_at_a_write_is_one_line_and_a_rerun_completes(tmp_path, disk, moment, action, names):
    """Catches: a full or read-only output disk ending in a traceback (OSError ENOSPC/EROFS from the encoder, the
    WAV writer, the manifest or a current/ link), a full disk failing every task in turn and
    recording each as failed, and a half-written file or unrecorded attempt left on the disk."""
    project = _flat_project(tmp_path, out=disk / "out")
    filler = disk / "filler"
    done = project.run(f"{moment}:{action}", LTXFLOW_TEST_FILL=str(filler))
    _one_line_error(done, names)
    if action == "ro":
        subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
    filler.unlink(missing_ok=True)  # space is back
    assert_only_complete_recorded_files(project)
    assert not [p for p in disk.rglob("*") if p.is_file() and p.name.startswith(".")]  # no partial anywhere
    rerun = project.run()
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert_only_complete_recorded_files(project)
    assert len(project.recorded()) == 8 and (project.folder / "manifest.csv").is_file()


def test_the_ledger_disk_filling_is_one_line_and_a_rerun_completes(tmp_path, disk):
    """Catches: SQLite's 'database or disk is full' escaping as a sqlalchemy OperationalError traceback, and the
    task's exported files left behind unrecorded when its ledger commit failed."""
    project = _flat_project(tmp_path, ledger=disk / "ledger.db")
    filler = disk / "filler"
    done = project.run("commit:fill", LTXFLOW_TEST_FILL=str(filler))
    _one_line_error(done, f"ledger {disk / 'ledger.db'}: cannot write (database or disk is full)")
    filler.unlink()
    assert_only_complete_recorded_files(project)  # the uncommitted task's files were removed
    assert not list((project.folder / "tasks").glob("*/*"))
    rerun = project.run()
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert_only_complete_recorded_files(project)
    assert len(project.recorded()) == 8
