"""`ltxflow gc`: files no current task refers to, listed (dry run) or removed; current files and claimed tasks kept."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from ltxflow.cli import cli
from ltxflow.ledger.claims import Worker
from ltxflow.ledger.store import Ledger
from ltxflow.plan import plan_campaign
from ltxflow.runner import run_campaign

SMALL = '[export.reels]\nwidth = 144\nheight = 256\nx264_preset = "ultrafast"\nmin_seconds = 0'


def _gc(folder: Path, tmp_path: Path, *extra: str):
    args = ["gc", str(folder), "--out", str(tmp_path / "out"), "--ledger", str(tmp_path / "l.db"), *extra]
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_gc_lists_then_removes_only_what_no_current_task_uses(make_campaign, toml, tmp_path, fake_engine):
    folder = make_campaign(toml(platforms='["reels"]', extra=SMALL))
    run = lambda: run_campaign(folder, ledger=tmp_path / "l.db", out_dir=tmp_path / "out", progress=False)  # noqa: E731
    run()
    csv = folder / "variants.csv"
    original = csv.read_text()
    csv.write_text(original.replace("blue mug", "green mug"))  # beta's old task is no longer current
    run()
    with Ledger.open(tmp_path / "l.db") as book:
        ids = {t.id for t in plan_campaign(folder).tasks}
        current = {Path(o.path) for o in book.outputs("spring") if o.task_id in ids}
        old_beta = {Path(o.path) for o in book.outputs("spring") if o.task_id not in ids}
    assert len(current) == 8 and len(old_beta) == 4  # two current tasks x (wav, video, cover, preview); one old
    tasks = tmp_path / "out" / "spring" / "tasks"
    stray = tasks / "0123456789abcdef" / "01RUN" / "leftover.mp4"  # an unrecorded file from a crashed run
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"x")

    dry = _gc(folder, tmp_path)
    assert dry.exit_code == 0, dry.output
    listed = {Path(line.removeprefix("would remove ")) for line in dry.output.splitlines()[:-1]}
    assert listed == old_beta | {stray}  # the old beta task's files and the unrecorded stray, nothing current
    assert dry.output.splitlines()[-1].startswith("would remove 5 files") and "kept 8" in dry.output
    assert all(p.exists() for p in listed)  # a dry run removes nothing

    done = _gc(folder, tmp_path, "--delete")
    assert done.exit_code == 0 and "removed 5 files" in done.output
    assert not any(p.exists() for p in listed) and not stray.parent.parent.exists()  # empty folders go too
    assert all(p.exists() for p in current)
    csv.write_text(original)  # revert: beta's old files are gone, so it is made again
    with Ledger.open(tmp_path / "l.db") as book:
        assert [t.variant_id for t in plan_campaign(folder, ledger=book).pending] == ["beta"]
    assert run().finished == 1


def test_gc_never_touches_a_claimed_task(make_campaign, toml, tmp_path, fake_engine):
    folder = make_campaign(toml(platforms='["reels"]', extra=SMALL))
    with Ledger.open(tmp_path / "l.db") as book:
        run_id = book.start_run("spring", "run", 1)
        book.claim("feedfacefeedface", "spring", Worker("elsewhere", 1, run_id))
    busy = tmp_path / "out" / "spring" / "tasks" / "feedfacefeedface" / run_id / "half-written.mp4"
    busy.parent.mkdir(parents=True)
    busy.write_bytes(b"x")
    assert "removed 0 files" in _gc(folder, tmp_path, "--delete").output and busy.exists()


def test_gc_without_a_ledger_is_a_one_line_error(make_campaign, toml, tmp_path):
    result = _gc(make_campaign(toml(platforms='["reels"]')), tmp_path)
    assert result.exit_code == 2 and result.output.startswith("Error: no ledger at ") and result.output.count("\n") == 1
