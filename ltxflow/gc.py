"""`gc`: the files under a campaign's tasks/ folder that no task of its current plan refers to (dry run by default).

Kept: every file the ledger records for a task of the plan the campaign gives now (its drafts and, with a [final]
profile, their finals). Never touched: the folders of
tasks some run holds a claim on (their files may be half-way through being written and not recorded yet), the
current/ view and the reports (rebuilt by every run). A removed file's task is simply made again if its row comes
back: planning treats a finished task whose file is gone as pending.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ltxflow.campaign import Campaign
from ltxflow.ledger.store import Ledger
from ltxflow.plan import plan_campaign
from ltxflow.runner import TASKS_DIR
from ltxflow.tasks import safe_name


@dataclass(frozen=True)
class Collection:
    """What gc found (and, with `delete`, removed)."""

    folder: Path  # <out>/<campaign>/tasks
    remove: tuple[Path, ...]  # files no current task refers to
    keep: int  # files current tasks refer to
    bytes: int  # total size of `remove`
    deleted: bool  # whether `remove` was deleted


def collect_garbage(target: Campaign | Path | str, *, ledger: Ledger, out_dir: Path | str,
                    delete: bool = False) -> Collection:  # fmt: skip
    """Find (and with `delete`, remove) the files under `<out>/<campaign>/tasks/` that no current task refers to."""
    plan = plan_campaign(target)
    name = plan.campaign.name
    folder = Path(out_dir).absolute() / safe_name(name) / TASKS_DIR
    current = {t.id for t in plan.tasks}
    if plan.campaign.final is not None:  # the finals `promote` made of the current rows are current too
        current |= {t.id for t in plan_campaign(plan.campaign.final_campaign()).tasks}
    keep = {Path(o.path).absolute() for o in ledger.outputs(name) if o.task_id in current}
    claimed = {c.task_id for c in ledger.claims(name)}
    remove, kept, size = [], 0, 0
    if folder.is_dir():
        for path in sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink()):
            if path.relative_to(folder).parts[0] in claimed:
                continue
            if path.absolute() in keep:
                kept += 1
                continue
            remove.append(path)
            size += path.lstat().st_size
    if delete:
        for path in remove:
            path.unlink(missing_ok=True)
        _remove_empty_folders(folder)
    return Collection(folder, tuple(remove), kept, size, delete)


def _remove_empty_folders(folder: Path) -> None:
    """Remove the empty folders under `folder`, deepest first."""
    for root, _, _ in os.walk(folder, topdown=False):
        path = Path(root)
        if path != folder and not any(path.iterdir()):
            path.rmdir()
