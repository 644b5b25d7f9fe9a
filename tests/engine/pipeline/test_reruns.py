"""Reruns tell the truth (issue 13), on the demo campaign with the tiny engine: run -> edit a row -> run -> revert
-> run -> remove a row -> run. After each run the manifest, the contact sheet and current/ hold exactly the current
rows x platforms, every file's sha256 is its ledger record's, and every finished task's files exist; the revert
and the removal generate nothing. (The demo is cut to 17 frames and small encodes to keep this quick.)"""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import pytest

import ltxflow.report
from ltxflow.default_plugins.ltx2 import LTX2Engine
from ltxflow.ledger.store import Ledger
from ltxflow.runner import run_campaign

REPO = Path(__file__).resolve().parents[3]
PLATFORMS = ("reels", "shorts", "tiktok")
SMALL = "".join(f'\n[export.{p}]\nwidth = 144\nheight = 256\nx264_preset = "ultrafast"\nmin_seconds = 0\n' for p in PLATFORMS)


@pytest.fixture
def demo(tmp_path, monkeypatch, tiny_cache):
    """campaigns/demo copied to tmp_path, 17 frames, small encodes; generations and contact sheets spied on."""
    shutil.copytree(REPO / "campaigns" / "demo", tmp_path / "campaigns" / "demo")
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    toml = tmp_path / "campaigns" / "demo" / "campaign.toml"
    toml.write_text(toml.read_text().replace("frames = 73", "frames = 17") + SMALL)
    monkeypatch.setenv("LTXFLOW_CACHE", str(tiny_cache))
    generated, sheets = [], []
    real_generate, real_sheet = LTX2Engine.generate, ltxflow.report._sheet

    def generate(self, task, progress=None):
        generated.append(task.variant_id)
        return real_generate(self, task, progress)

    def sheet(outputs, path):
        sheets.append(sorted(f"{o.variant_id} {o.platform}" for o in outputs if o.kind == "cover"))
        return real_sheet(outputs, path)

    monkeypatch.setattr(LTX2Engine, "generate", generate)
    monkeypatch.setattr(ltxflow.report, "_sheet", sheet)
    return tmp_path / "campaigns" / "demo", generated, sheets


def _run(folder: Path, tmp_path: Path):
    result = run_campaign(folder, ledger=tmp_path / "ledger.db", out_dir=tmp_path / "out", device="cpu", progress=False)
    assert result.exit_code == 0, result.failed
    return result


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_view(tmp_path: Path, result, variants: tuple[str, ...], sheets: list[list[str]]) -> dict[str, str]:
    """The current view holds exactly `variants` x platforms, matching the ledger; returns {file name: sha256}."""
    out = tmp_path / "out" / "demo"
    expected = {f"demo__{v}__s7.wav" for v in variants}
    expected |= {f"demo__{v}__s7__{p}{ext}" for v in variants for p in PLATFORMS
                 for ext in (".mp4", ".cover.jpg", ".preview-3x4.jpg")}  # fmt: skip
    assert {p.name for p in (out / "current").iterdir()} == expected
    current_ids = {t.id for t in result.plan.tasks}
    with Ledger.open(tmp_path / "ledger.db") as book:
        recorded = book.outputs("demo")
        finished = book.finished_task_ids("demo")
    by_name = {Path(o.path).name: o for o in recorded if o.task_id in current_ids}
    assert set(by_name) == expected
    with (out / "manifest.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {Path(r["file"]).name for r in rows} == expected and len(rows) == len(expected)
    for row in rows:
        record = by_name[Path(row["file"]).name]
        assert Path(row["file"]).parent == out / "current" and row["task_id"] == record.task_id
        assert _sha(Path(row["file"])) == row["sha256"] == record.sha256  # the file is the one the ledger recorded
        assert float(row["cost"]) >= 0 and row["currency"] == "USD"
    assert sum(float(r["cost"]) for r in rows) > 0  # the manifest's cost column is filled
    assert sheets[-1] == sorted(f"{v} {p}" for v in variants for p in PLATFORMS) and (out / "contact_sheet.png").is_file()
    for o in recorded:  # every finished task's files exist, with the recorded bytes (current or not)
        if o.task_id in finished:
            assert Path(o.path).is_file() and _sha(Path(o.path)) == o.sha256, o.path
    return {name: row["sha256"] for name, row in ((Path(r["file"]).name, r) for r in rows)}


def test_run_edit_revert_remove_each_leave_exactly_the_current_deliverables(demo, tmp_path):
    folder, generated, sheets = demo
    all_variants = ("desk-night", "studio-day", "dorm-study")
    csv_path = folder / "variants.csv"
    original = csv_path.read_text(encoding="utf-8")

    _run(folder, tmp_path)
    assert sorted(generated) == sorted(all_variants)
    again = _run(folder, tmp_path)  # an unchanged rerun makes nothing
    assert len(generated) == 3 and again.run.skipped == 3
    first = _check_view(tmp_path, again, all_variants, sheets)

    csv_path.write_text(original.replace("a bright design studio with plants", "a rooftop terrace at dusk"))
    edited = _run(folder, tmp_path)
    assert generated[3:] == ["studio-day"] and edited.finished == 1
    after_edit = _check_view(tmp_path, edited, all_variants, sheets)
    changed = {n for n in after_edit if after_edit[n] != first[n]}
    assert changed and all("studio-day" in n for n in changed)  # only the edited row's files changed

    csv_path.write_text(original)
    reverted = _run(folder, tmp_path)
    assert len(generated) == 4 and reverted.finished == 0  # the revert generates nothing
    assert _check_view(tmp_path, reverted, all_variants, sheets) == first  # the earlier files, byte for byte

    csv_path.write_text("\n".join(line for line in original.splitlines() if not line.startswith("dorm-study")) + "\n")
    removed = _run(folder, tmp_path)
    assert len(generated) == 4 and removed.finished == 0
    _check_view(tmp_path, removed, ("desk-night", "studio-day"), sheets)
