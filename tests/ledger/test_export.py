"""CSV export: one row per output, fixed columns, shares that sum to the totals, atomic writes."""

from __future__ import annotations

import csv

import pytest

from ltxflow.costs import DEFAULT_RATES, Usage, api_comparisons, device_cost
from ltxflow.ledger import CSV_COLUMNS

USAGE = Usage(device="NVIDIA H100 80GB HBM3", device_seconds=90.0)


def _record(ledger, make_task, make_outputs, campaign, variant, platforms):
    run = ledger.start_run(campaign, "run", 1)
    task = make_task(campaign=campaign, variant_id=variant)
    costs = [device_cost(USAGE, DEFAULT_RATES), *api_comparisons(USAGE, DEFAULT_RATES)]
    ledger.record_task(run, task, make_outputs(task, platforms), costs, USAGE)
    return task


def test_csv_has_one_row_per_output_with_the_documented_columns(ledger, make_task, make_outputs, tmp_path):
    task = _record(ledger, make_task, make_outputs, "spring", "v1", ("reels", "shorts", ""))
    _record(ledger, make_task, make_outputs, "autumn", "v9", ("tiktok",))

    path = ledger.export_csv(tmp_path / "exports" / "spring.csv", campaign="spring")

    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert tuple(reader.fieldnames) == CSV_COLUMNS
    assert [r["platform"] for r in rows] == ["", "reels", "shorts"]
    reels = rows[1]
    assert reels["path"] == "out/v1-1-reels.mp4" and reels["bytes"] == "1005" and reels["spec_ok"] == "True"
    assert (reels["campaign"], reels["variant_id"], reels["seed"], reels["task_id"]) == ("spring", "v1", "1", task.task_id)
    assert reels["prompt"] == task.prompt and reels["device"] == USAGE.device
    # the task's 90 s and its money are split over its two delivery files; the master gets none
    assert [float(r["device_seconds"]) for r in rows] == [0.0, 45.0, 45.0]
    assert sum(float(r["money_usd"]) for r in rows) == pytest.approx(ledger.spent("spring"), abs=1e-6)


def test_csv_of_all_campaigns(ledger, make_task, make_outputs, tmp_path):
    _record(ledger, make_task, make_outputs, "spring", "v1", ("reels",))
    _record(ledger, make_task, make_outputs, "autumn", "v9", ("tiktok", "reels"))
    with ledger.export_csv(tmp_path / "all.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["campaign"], r["platform"]) for r in rows] == [("autumn", "reels"), ("autumn", "tiktok"), ("spring", "reels")]


def test_failed_export_leaves_the_old_file_and_no_temp_file(ledger, make_task, make_outputs, tmp_path, monkeypatch):
    _record(ledger, make_task, make_outputs, "spring", "v1", ("reels",))
    target = tmp_path / "out.csv"
    target.write_text("previous export\n")

    def broken_writerows(self, rows):
        raise OSError("disk full")

    monkeypatch.setattr(csv.DictWriter, "writerows", broken_writerows)
    with pytest.raises(OSError, match="disk full"):
        ledger.export_csv(target)

    assert target.read_text() == "previous export\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_quoted(ledger, make_task, make_outputs, tmp_path):
    run = ledger.start_run("spring", "run", 1)
    task = make_task(variant_id="v1").model_copy(update={"prompt": '=HYPERLINK("http://evil.example","win")'})
    ledger.record_task(run, task, make_outputs(task, ("reels",)), [], USAGE)
    path = ledger.export_csv(tmp_path / "spring.csv", campaign="spring")
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {r["prompt"] for r in rows} == {"'=HYPERLINK(\"http://evil.example\",\"win\")"}
    assert {r["seed"] for r in rows} == {"1"} and rows[0]["device_seconds"] != ""  # numbers untouched
