"""The runner: one engine per run, export per platform, record per task, resume, failures, interrupts, budget."""

from __future__ import annotations

from pathlib import Path

import pytest

from ltxflow.campaign import load_campaign
from ltxflow.costs import CostItem
from ltxflow.errors import BudgetError, CampaignError, LtxflowError
from ltxflow.hookspecs import hookimpl
from ltxflow.ledger.store import Ledger
from ltxflow.plan import build_tasks
from ltxflow.runner import run_campaign

SMALL = 'width = 144\nheight = 256\nx264_preset = "ultrafast"\nmin_seconds = 0'
PLATFORMS = f'[export.reels]\n{SMALL}\n[export.tiktok]\n{SMALL}\n'


@pytest.fixture
def campaign(make_campaign, toml):
    """A two-variant campaign delivered to small Reels and TikTok versions."""
    return make_campaign(toml(platforms='["reels", "tiktok"]', extra=PLATFORMS))


@pytest.fixture
def ledger(tmp_path):
    with Ledger.open(tmp_path / "ledger.db") as book:
        yield book


def load_plan_tasks(folder):
    return build_tasks(load_campaign(folder))


def _files(out):
    """The campaign's current view: the readable names in current/, and the reports beside it."""
    folder = out / "spring"
    if not folder.exists():
        return []
    current = sorted(p.name for p in (folder / "current").iterdir()) if (folder / "current").exists() else []
    return current + sorted(p.name for p in folder.iterdir() if p.is_file())


def _stored(out):
    """Every file written under the tasks' own folders (tasks/<task id>/<run id>/)."""
    folder = out / "spring" / "tasks"
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _run(campaign, ledger, out, **options):
    return run_campaign(campaign, ledger=ledger, out_dir=out, progress=False, **options)


def test_run_exports_records_and_rerun_skips(campaign, ledger, tmp_path, fake_engine):
    out = tmp_path / "out"
    result = _run(campaign, ledger, out)
    assert result.exit_code == 0 and result.finished == 2
    assert fake_engine.built == 1 and fake_engine.closed == 1  # one resident engine for the run
    names = _files(out)
    for variant in ("alpha", "beta"):
        assert f"spring__{variant}__s1.wav" in names
        assert f"spring__{variant}__s1__reels.mp4" in names and f"spring__{variant}__s1__tiktok.mp4" in names
    assert "manifest.csv" in names and not [n for n in names + _stored(out) if n.endswith((".tmp", ".part", ".partial"))]
    assert sorted(n for n in names if n.startswith("spring__")) == _stored(out)  # current/ names every stored file
    outputs = ledger.outputs("spring")
    assert {o.platform for o in outputs} == {"", "reels", "tiktok"}
    assert all(o.bytes > 0 and len(o.sha256) == 64 for o in outputs)
    assert result.run.status == "finished" and result.run.finished == 2
    again = _run(campaign, ledger, out)
    assert again.finished == 0 and again.run.skipped == 2 and fake_engine.built == 1  # no engine needed


def test_failing_task_is_recorded_and_the_run_goes_on(campaign, ledger, tmp_path, fake_engine):
    out = tmp_path / "out"
    fake_engine.fail = {"alpha"}
    result = _run(campaign, ledger, out)
    assert result.exit_code == 1
    assert result.failed == (("spring__alpha__s1", "RuntimeError: out of memory on alpha"),)
    assert result.run.status == "failed" and (result.run.finished, result.run.failed) == (1, 1)
    assert not [n for n in _files(out) + _stored(out) if "alpha" in n]
    assert [r.failed for r in ledger.summary("variant", "spring") if r.key == "alpha"] == [1]
    fake_engine.fail = set()
    rerun = _run(campaign, ledger, out)
    assert rerun.exit_code == 0 and rerun.finished == 1 and rerun.run.skipped == 1


def test_a_failure_keeps_its_traceback_in_the_ledger_and_its_stages(campaign, ledger, tmp_path, fake_engine):
    fake_engine.fail = {"alpha"}
    _run(campaign, ledger, tmp_path / "out")
    (alpha,) = [t for t in load_plan_tasks(campaign) if t.variant_id == "alpha"]
    error, trace = ledger.task_failure(alpha.id)
    assert error == "RuntimeError: out of memory on alpha"
    assert trace.startswith("Traceback (most recent call last):") and "in generate" in trace and error in trace
    assert {s.stage for s in ledger.stages("spring")} >= {"load", "denoise", "decode", "export"}
    assert ledger.claims() == []  # the failure released its claim in the same transaction


def test_task_finished_reads_only_its_own_outputs(make_campaign, toml, tmp_path, fake_engine, pm, monkeypatch):
    calls = []
    real = Ledger.outputs
    monkeypatch.setattr(Ledger, "outputs", lambda self, campaign=None: calls.append(campaign) or real(self, campaign))

    class Notify:
        @hookimpl
        def task_finished(self, task, outputs):
            assert {o.task_id for o in outputs} == {task.id} and outputs

    pm.register(Notify(), name="notify")
    try:
        counts = []
        for rows in (2, 6):
            csv = "variant_id,product,scene,sound,avoid\n" + "".join(f"v{rows}-{i},mug,kitchen,kettle,text\n"
                                                                      for i in range(rows))  # fmt: skip
            folder = make_campaign(toml(platforms='["reels"]', extra=PLATFORMS.split("[export.tiktok]")[0]), csv=csv)
            calls.clear()
            with Ledger.open(tmp_path / f"l{rows}.db") as book:
                _run(folder, book, tmp_path / f"out{rows}")
            counts.append(len(calls))
    finally:
        pm.unregister(name="notify")
    assert counts[0] == counts[1]  # whole-campaign reads per run, not per task (was quadratic in tasks)


def test_interrupt_leaves_no_partial_file_or_row_and_rerun_completes(campaign, ledger, tmp_path, fake_engine, monkeypatch):
    import importlib

    deliver_module = importlib.import_module("ltxflow.export.deliver")  # the package re-exports a function `deliver`
    out = tmp_path / "out"
    real_one = deliver_module._deliver_one
    calls = []

    def deliver_then_ctrl_c(clip, preset, out_dir, stem, *args):
        calls.append(stem)
        if len(calls) == 4:  # beta's second platform: beta's wav and first platform's files already exist
            raise KeyboardInterrupt
        return real_one(clip, preset, out_dir, stem, *args)

    monkeypatch.setattr(deliver_module, "_deliver_one", deliver_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        _run(campaign, ledger, out)
    assert not [n for n in _stored(out) if "beta" in n]  # beta's finished files were removed
    assert len([n for n in _stored(out) if "alpha" in n]) == 7  # wav + (video, cover, preview) x 2 platforms
    assert len(ledger.finished_task_ids("spring")) == 1
    assert {o.variant_id for o in ledger.outputs("spring")} == {"alpha"}
    assert ledger.runs("spring")[-1].status == "interrupted" and fake_engine.closed == 1
    monkeypatch.setattr(deliver_module, "_deliver_one", real_one)
    rerun = _run(campaign, ledger, out)
    assert rerun.finished == 1 and len(ledger.finished_task_ids("spring")) == 2
    assert len([n for n in _stored(out) if "beta" in n]) == 7 and len([n for n in _files(out) if "beta" in n]) == 7


def test_an_interrupt_after_the_commit_keeps_the_files_the_ledger_records(campaign, ledger, tmp_path, fake_engine,
                                                                          monkeypatch):  # fmt: skip
    real = Ledger.record_task

    def commit_then_ctrl_c(self, *args, **kwargs):
        real(self, *args, **kwargs)
        raise KeyboardInterrupt  # lands after the transaction committed, before the runner notes it

    monkeypatch.setattr(Ledger, "record_task", commit_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        _run(campaign, ledger, tmp_path / "out")
    outputs = ledger.outputs("spring")
    assert len(ledger.finished_task_ids("spring")) == 1 and outputs
    assert all(Path(o.path).is_file() for o in outputs)  # committed, so kept: never deleted behind the ledger
    monkeypatch.setattr(Ledger, "record_task", real)
    rerun = _run(campaign, ledger, tmp_path / "out")
    assert rerun.finished == 1 and rerun.run.skipped == 1  # the recorded task is not made again


def test_sigterm_is_cleaned_up_like_ctrl_c(campaign, ledger, tmp_path, fake_engine):
    import signal

    before = signal.getsignal(signal.SIGTERM)
    fake_engine.sigterm = "beta"
    with pytest.raises(KeyboardInterrupt, match="signal 15"):
        _run(campaign, ledger, tmp_path / "out")
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is only installed during the run
    assert ledger.runs("spring")[-1].status == "interrupted" and len(ledger.finished_task_ids("spring")) == 1
    assert not [n for n in _stored(tmp_path / "out") if "beta" in n]


def test_only_limit_and_dry_run(campaign, ledger, tmp_path, fake_engine):
    out = tmp_path / "out"
    dry = _run(campaign, ledger, out, dry_run=True)
    assert [t.variant_id for t in dry.plan.pending] == ["alpha", "beta"] and dry.run is None
    assert fake_engine.built == 0 and not out.exists() and ledger.runs() == []
    only = _run(campaign, ledger, out, only=["beta"])
    assert only.finished == 1 and {o.variant_id for o in ledger.outputs("spring")} == {"beta"}
    limited = _run(campaign, ledger, out, limit=0)
    assert limited.finished == 0 and limited.run.pending == 0
    rest = _run(campaign, ledger, out, limit=5)
    assert rest.finished == 1 and rest.run.skipped == 1
    with pytest.raises(Exception, match=r"--only 'gamma': no such variant_id"):
        _run(campaign, ledger, out, only=["gamma"])


def test_budget_refuses_up_front_and_stops_mid_run(make_campaign, toml, ledger, tmp_path, fake_engine, pm):
    out = tmp_path / "out"
    pricey = make_campaign(toml(platforms='["reels"]', extra=f"budget = 0.01\n[estimate]\ndevice = 'H100'\n"
                                f"seconds_per_task = 3600\n[export.reels]\n{SMALL}"))  # fmt: skip
    with pytest.raises(BudgetError, match=r"campaign.toml: budget: 2 pending tasks"):
        _run(pricey, ledger, out)
    assert not out.exists() and ledger.runs() == []

    class Surcharge:
        @hookimpl
        def cost_items(self, task, usage):
            return [CostItem("render-farm", "flat fee", "actual", 1, "task", 1.0, 1.0)]

    pm.register(Surcharge(), name="surcharge")
    try:
        cheap = make_campaign(toml(platforms='["reels"]', extra=f"budget = 0.5\n[estimate]\nseconds_per_task = 0.001\n"
                                   f"device = 'cpu'\n[export.reels]\n{SMALL}"))  # fmt: skip
        result = _run(cheap, ledger, out)
    finally:
        pm.unregister(name="surcharge")
    assert result.finished == 1 and result.exit_code == 1 and "exceed the $0.50 budget" in result.budget_stop
    assert ledger.spent("spring") >= 1.0


def test_unknown_engine_is_bad_input(make_campaign, toml, ledger, tmp_path):
    folder = make_campaign(toml(platforms='["reels"]').replace('engine = "fake"', 'engine = "nope"'))
    with pytest.raises(CampaignError, match=r"generation.engine: 'nope' is not a registered engine"):
        _run(folder, ledger, tmp_path / "out")
    assert load_campaign(folder).generation.engine == "nope"


def test_engine_that_cannot_load_fails_the_run_cleanly(campaign, ledger, tmp_path, fake_engine):
    fake_engine.load_error = "tiny.safetensors: checkpoint not found"
    with pytest.raises(LtxflowError, match="checkpoint not found"):
        _run(campaign, ledger, tmp_path / "out")
    assert ledger.runs("spring")[-1].status == "failed" and ledger.finished_task_ids("spring") == set()
    assert _files(tmp_path / "out") == []


def test_hook_task_finished(campaign, ledger, tmp_path, fake_engine, pm):
    seen = []

    class Notify:
        @hookimpl
        def task_finished(self, task, outputs):
            seen.append((task.variant_id, sorted((o.platform, o.kind) for o in outputs)))

    pm.register(Notify(), name="notify")
    try:
        _run(campaign, ledger, tmp_path / "out", only=["alpha"])
    finally:
        pm.unregister(name="notify")
    assert len(seen) == 1 and seen[0][0] == "alpha"
    assert ("reels", "video") in seen[0][1] and ("tiktok", "video") in seen[0][1]


def test_hook_run_finished(campaign, ledger, tmp_path, fake_engine, pm):
    runs = []

    class Notify:
        @hookimpl
        def run_finished(self, run):
            runs.append(run)

    pm.register(Notify(), name="notify")
    fake_engine.fail = {"beta"}
    try:
        _run(campaign, ledger, tmp_path / "out")
    finally:
        pm.unregister(name="notify")
    assert [(r.status, r.finished, r.failed) for r in runs] == [("failed", 1, 1)]


def test_a_killed_run_is_marked_died_and_its_partial_files_swept_at_the_next_start(campaign, ledger, tmp_path,
                                                                                   fake_engine):  # fmt: skip
    import sqlite3
    import subprocess
    import sys

    from ltxflow.ledger.claims import Worker
    from ltxflow.runner import task_folder

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    killed = ledger.start_run("spring", "run", 2)  # as a `kill -9` leaves it: running, holding a claim
    alive = ledger.start_run("spring", "run", 2)  # a run of this process, still going
    with sqlite3.connect(ledger.location) as conn:
        conn.execute("UPDATE runs SET pid = ? WHERE id = ?", (gone.pid, killed))
    ledger.claim("a" * 16, "spring", Worker(Worker.this_process(killed).host, gone.pid, killed))
    out = tmp_path / "out"
    partial = task_folder(out / "spring", "a" * 16, killed) / ".spring__alpha__s1__reels.123-ab.partial.mp4"
    busy = task_folder(out / "spring", "b" * 16, alive) / "spring__beta__s1.wav"
    for path in (partial, busy):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"half")
    result = _run(campaign, ledger, out)
    assert result.exit_code == 0
    assert ledger.run(killed).status == "died" and ledger.run(alive).status == "running"
    assert not partial.parent.exists() and busy.exists()  # the dead run's leftovers swept, a live run's kept
    assert ledger.claims() == []
