"""Interrupts at chosen moments of real `ltxflow run` subprocesses on the tiny model (issue 23).

The fault plugin (tests/faults/plugin/fault.py) sends the signal from inside the run at a point in the code, so
nothing here depends on timing. After every interrupt the deliverables folder holds only complete files the ledger
records with their sha256, and a rerun completes with the bytes of an uninterrupted run.
"""

from __future__ import annotations

import shutil

import pytest

from .conftest import assert_only_complete_recorded_files, make_project, sha256


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, tiny_cache):
    """One uninterrupted run: the bytes every interrupted-then-resumed run must end with."""
    project = make_project(tmp_path_factory.mktemp("baseline"), tiny_cache)
    done = project.run()
    assert done.returncode == 0, done.stdout + done.stderr
    return project


def _view(project):
    """The finished view's bytes: manifest, contact sheet and each current/ file, by name."""
    folder = project.folder
    files = {p.name: sha256(p) for p in (folder / "current").iterdir()}
    return (folder / "manifest.csv").read_bytes(), (folder / "contact_sheet.png").read_bytes(), files


def _one_line_interrupt(done, name):
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr, done.stderr
    assert lines and lines[-1].startswith(f"Interrupted ({name})"), done.stderr


@pytest.mark.parametrize("moment, signal_name, code", [
    ("manifest", "TERM", 143), ("sheet", "INT", 130), ("reports", "TERM", 143),
])  # fmt: skip
def test_a_signal_while_the_reports_are_written_stops_cleanly_and_a_rerun_restores_them(baseline, moment,
                                                                                          signal_name, code):  # fmt: skip
    """Catches: the SIGTERM handler covering only the task loop (a SIGTERM in the manifest, the contact sheet or
    the current/ links killed the process on the spot: a partial left in the deliverables folder, exit -15 and no
    message), and Ctrl-C there ending as click's bare 'Aborted!' with exit 1."""
    expected = _view(baseline)
    shutil.rmtree(baseline.folder / "current")  # so the link moment is reached: existing links are not remade
    (baseline.folder / "manifest.csv").unlink()
    done = baseline.run(f"{moment}:{signal_name}")
    assert done.returncode == code, done.stdout + done.stderr
    _one_line_interrupt(done, f"SIG{signal_name}")
    assert_only_complete_recorded_files(baseline)
    assert not (baseline.folder / "manifest.csv").exists() or moment == "sheet"  # never a half-written one
    rerun = baseline.run()
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert _view(baseline) == expected  # byte-identical to the uninterrupted run
    assert_only_complete_recorded_files(baseline)


def test_kill_9_while_the_manifest_is_written_leaves_a_partial_the_next_run_sweeps(baseline):
    """Catches: partial reports a killed process left beside the deliverables forever (only attempt folders under
    tasks/ were swept at the next start), and a current/ link partial named by pid alone, unsweepable."""
    expected = _view(baseline)
    for moment in ("manifest", "link"):
        if moment == "link":
            shutil.rmtree(baseline.folder / "current")
        done = baseline.run(f"{moment}:KILL")
        assert done.returncode == -9
        left = [p.name for p in baseline.folder.rglob(".*")]
        assert left and all(".partial" in name for name in left)  # what kill -9 leaves: the partial, hidden
        rerun = baseline.run()
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert_only_complete_recorded_files(baseline)
        assert _view(baseline) == expected


def test_kill_9_at_each_moment_of_a_task_leaves_only_recorded_files_and_a_rerun_completes(tmp_path, tiny_cache,
                                                                                          baseline):  # fmt: skip
    """Catches (a regression guard of the died-run sweep and commit-then-forget, which main already has): a kill -9
    during an MP4 encode leaving its partial and a finished unrecorded WAV among the deliverables for good, the
    run row 'running' forever, and a kill after the ledger commit losing files the ledger records (the rerun
    then skips a task whose files are gone)."""
    project = make_project(tmp_path, tiny_cache)
    killed = project.run("mp4:KILL")  # the WAV is written first: a finished WAV, a partial MP4, no ledger row
    assert killed.returncode == -9, killed.stdout + killed.stderr
    left = sorted(p.name for p in (project.folder / "tasks").rglob("*") if p.is_file())
    assert len(left) == 2 and left[0].startswith(".faults__first__s5__shorts.") and left[1].endswith(".wav")
    assert not project.recorded()
    assert_only_complete_recorded_files(project, tasks=False)
    killed = project.run("commit:KILL")
    assert killed.returncode == -9, killed.stdout + killed.stderr
    assert "died" in killed.stdout  # the first kill's run, marked at this start; its attempt swept
    assert len(list((project.folder / "tasks").glob("*/*"))) == 1
    assert len(project.recorded()) == 4  # the commit landed: wav, mp4, cover, preview
    assert_only_complete_recorded_files(project)  # committed, so kept: nothing deleted behind the ledger
    rerun = project.run()
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "0 finished, 0 failed, 1 skipped" in rerun.stdout  # recorded before the kill, files kept
    assert_only_complete_recorded_files(project)
    _, _, files = _view(project)
    assert files == _view(baseline)[2]  # the deliverables of the uninterrupted run, byte for byte
