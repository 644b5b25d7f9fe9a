"""Run reports from the ledger: the manifest CSV of deliverables and a contact sheet of their covers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ltxflow.ledger.store import Ledger
    from ltxflow.tasks import Task


def write_manifest_csv(ledger: Ledger, campaign: str, path: Path, tasks: Mapping[str, Task] | None = None) -> Path:
    """Write one row per recorded deliverable of `campaign` that still exists on disk; `tasks` add prompt and model."""
    from ltxflow.export import write_manifest

    rows = []
    for o in ledger.outputs(campaign):
        if not Path(o.path).exists():
            continue
        probe = json.loads(o.probe_json or "{}")
        task = (tasks or {}).get(o.task_id)
        rows.append({
            "campaign": o.campaign, "variant_id": o.variant_id, "task_id": o.task_id, "seed": o.seed,
            "platform": o.platform, "kind": o.kind, "file": o.path, "sha256": o.sha256, "bytes": o.bytes,
            "duration_s": probe.get("duration_s", ""), "width": probe.get("width", ""),
            "height": probe.get("height", ""), "fps": probe.get("fps", ""), "spec_ok": o.spec_ok,
            "spec_problems": o.spec_problems, "warnings": probe.get("warnings", []),
            "prompt": task.prompt if task else "", "model": f"{task.engine}:{task.checkpoint_id}" if task else "",
        })  # fmt: skip
    write_manifest(rows, path)
    return path


def write_contact_sheet(ledger: Ledger, campaign: str, path: Path) -> Path | None:
    """A side-by-side sheet of every recorded cover of `campaign`, or None when there is none."""
    from ltxflow.export import contact_sheet

    covers = [o for o in ledger.outputs(campaign) if o.kind == "cover" and Path(o.path).exists()]
    if not covers:
        return None
    contact_sheet([(f"{o.variant_id} s{o.seed} {o.platform}", Path(o.path)) for o in covers], path)
    return path
