"""CSV export: one row per output file, written to a temp file and moved into place."""

from __future__ import annotations

import csv
import os
import tempfile
from collections import defaultdict
from collections.abc import Collection
from pathlib import Path

from sqlalchemy import Connection, select

from ltxflow.ledger.models import OUTPUTS, TASKS
from ltxflow.ledger.summary import output_shares, task_totals
from ltxflow.spreadsheet import safe_row

# device_seconds and money_usd are the task's totals split over its files (see summary.py), so each
# column sums to the campaign's totals; prompt lets a reviewer see which hook a file shows.
CSV_COLUMNS = (
    "campaign", "variant_id", "seed", "platform", "kind", "path", "bytes", "sha256",
    "spec_ok", "spec_problems", "task_id", "run_id", "recorded_utc",
    "engine", "checkpoint", "device", "device_seconds", "money_usd", "prompt",
)  # fmt: skip


def write_csv(conn: Connection, path: Path, campaign: str | None, task_ids: Collection[str] | None = None) -> Path:
    """Write the outputs (of one campaign, of some tasks) as CSV at `path`; nothing is left behind on failure."""
    rows = _csv_rows(conn, campaign, task_ids)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(safe_row(row) for row in rows)  # no spreadsheet formulas from user text
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _csv_rows(conn: Connection, campaign: str | None, task_ids: Collection[str] | None) -> list[dict[str, object]]:
    """The CSV rows, ordered by campaign, variant, seed, platform."""
    query = (
        select(
            OUTPUTS, TASKS.c.campaign, TASKS.c.variant_id, TASKS.c.seed,
            TASKS.c.engine, TASKS.c.checkpoint, TASKS.c.prompt,
        )  # fmt: skip
        .select_from(OUTPUTS.join(TASKS, OUTPUTS.c.task_id == TASKS.c.id))
        .order_by(TASKS.c.campaign, TASKS.c.variant_id, TASKS.c.seed, OUTPUTS.c.platform, OUTPUTS.c.id)
    )
    if campaign is not None:
        query = query.where(TASKS.c.campaign == campaign)
    if task_ids is not None:
        query = query.where(TASKS.c.id.in_(list(task_ids)))
    records = list(conn.execute(query).mappings())
    totals = task_totals(conn, campaign, task_ids)

    by_task: dict[str, list[int]] = defaultdict(list)  # task id -> indexes into records
    for i, r in enumerate(records):
        by_task[r["task_id"]].append(i)
    share = [0.0] * len(records)
    for indexes in by_task.values():
        for i, s in zip(indexes, output_shares([records[i]["platform"] for i in indexes]), strict=True):
            share[i] = s

    rows = []
    for r, s in zip(records, share, strict=True):
        t = totals[r["task_id"]]
        rows.append(
            {
                "campaign": r["campaign"], "variant_id": r["variant_id"], "seed": r["seed"],
                "platform": r["platform"], "kind": r["kind"], "path": r["path"], "bytes": r["bytes"],
                "sha256": r["sha256"], "spec_ok": bool(r["spec_ok"]), "spec_problems": r["spec_problems"],
                "task_id": r["task_id"], "run_id": r["run_id"], "recorded_utc": r["recorded_utc"],
                "engine": r["engine"], "checkpoint": r["checkpoint"], "device": t.device or "",
                "device_seconds": round(t.device_seconds * s, 3), "money_usd": round(t.money * s, 6),
                "prompt": r["prompt"],
            }
        )  # fmt: skip
    return rows
