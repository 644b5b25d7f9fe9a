"""The current view of a campaign, rebuilt from the ledger: the deliverables of its current plan's finished tasks
under readable names in `current/` (hard links to the content-addressed files, or copies where links cannot be
made), the manifest CSV for ad-platform upload and a contact sheet of their covers.

Nothing here looks at what happens to be on disk to decide what belongs: a variant removed from the CSV leaves
the view, an edited row shows only its new files, and a reverted row shows its earlier files again.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ltxflow.ledger.models import OutputRecord
    from ltxflow.ledger.store import Ledger
    from ltxflow.tasks import Task

CURRENT_DIR = "current"
MANIFEST_NAME = "manifest.csv"
CONTACT_SHEET_NAME = "contact_sheet.png"
_LINK_ERRORS = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP}  # copy instead


@dataclass(frozen=True)
class CurrentView:
    """What `rebuild_view` wrote."""

    folder: Path  # <out>/<campaign>/current
    files: tuple[Path, ...]  # the files in it, in plan order
    manifest: Path
    contact_sheet: Path | None  # None when no current task has a cover


def current_outputs(ledger: Ledger, campaign: str, task_ids: list[str] | None = None) -> list[OutputRecord]:
    """The recorded files of the current plan's finished tasks whose files all exist, in plan order.

    `task_ids` is the plan (default: the one the last run of the campaign recorded in the ledger).
    """
    ids = ledger.current_task_ids(campaign) if task_ids is None else task_ids
    finished = ledger.finished_task_ids(campaign)
    by_task: dict[str, list[OutputRecord]] = {}
    for output in ledger.outputs(campaign):
        by_task.setdefault(output.task_id, []).append(output)
    result = []
    for task_id in dict.fromkeys(ids):
        files = by_task.get(task_id, [])
        if task_id in finished and files and all(_present(o) for o in files):
            result += files
    return result


def rebuild_view(ledger: Ledger, campaign: str, out: Path, tasks: Mapping[str, Task] | None = None) -> CurrentView:
    """Rebuild `<out>/current/`, `<out>/manifest.csv` and `<out>/contact_sheet.png` from the ledger's current plan
    of `campaign`; `tasks` (id -> Task) add each row's prompt and model."""
    from ltxflow.export import write_manifest
    from ltxflow.export.manifest import upload_fields

    outputs = current_outputs(ledger, campaign, list(tasks) if tasks is not None else None)
    folder = out / CURRENT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    names: dict[str, OutputRecord] = {}
    for output in outputs:
        name = Path(output.path).name
        if name in names:
            raise ValueError(f"current view: two current files are both named {name}")
        names[name] = output
        _link(Path(output.path), folder / name)
    for stale in folder.iterdir():  # (another process's hidden partial is left to it)
        if stale.name not in names and not stale.name.startswith(".") and (stale.is_file() or stale.is_symlink()):
            stale.unlink(missing_ok=True)
    money = ledger.task_money(campaign)
    shares = _shares(outputs)
    rows = []
    for output in outputs:
        probe = json.loads(output.probe_json or "{}")
        task = (tasks or {}).get(output.task_id)
        rows.append({
            "campaign": output.campaign, "variant_id": output.variant_id, "task_id": output.task_id,
            "seed": output.seed, "platform": output.platform, "kind": output.kind,
            "file": str(folder / Path(output.path).name), "sha256": output.sha256, "bytes": output.bytes,
            "duration_s": probe.get("duration_s", ""), "width": probe.get("width", ""),
            "height": probe.get("height", ""), "fps": probe.get("fps", ""), "spec_ok": output.spec_ok,
            "spec_problems": output.spec_problems, "warnings": probe.get("warnings", []),
            "prompt": task.prompt if task else "", "model": f"{task.engine}:{task.checkpoint_id}" if task else "",
            "cost": f"{money.get(output.task_id, 0.0) * shares[output.id]:.6f}", "currency": "USD",
            **_in_view(upload_fields(output.kind, probe), folder),
        })  # fmt: skip
    manifest = write_manifest(rows, out / MANIFEST_NAME)
    sheet = _sheet(outputs, out / CONTACT_SHEET_NAME)
    if sheet is None:
        (out / CONTACT_SHEET_NAME).unlink(missing_ok=True)  # no covers now: an old sheet would show stale work
    return CurrentView(folder, tuple(folder / name for name in names), manifest, sheet)


def write_contact_sheet(ledger: Ledger, campaign: str, path: Path) -> Path | None:
    """A side-by-side sheet of the covers of `campaign`'s current tasks, or None when there is none."""
    return _sheet(current_outputs(ledger, campaign), path)


def _sheet(outputs: list[OutputRecord], path: Path) -> Path | None:
    from ltxflow.export import contact_sheet

    covers = [o for o in outputs if o.kind == "cover"]
    if not covers:
        return None
    contact_sheet([(f"{o.variant_id} s{o.seed} {o.platform}", Path(o.path)) for o in covers], path)
    return path


def _shares(outputs: list[OutputRecord]) -> dict[int | None, float]:
    """Each file's share of its task's money (the ledger's attribution rule: split over delivery files)."""
    from ltxflow.ledger.summary import output_shares

    by_task: dict[str, list[OutputRecord]] = {}
    for output in outputs:
        by_task.setdefault(output.task_id, []).append(output)
    shares = {}
    for files in by_task.values():
        for output, share in zip(files, output_shares([o.platform for o in files]), strict=True):
            shares[output.id] = share
    return shares


def _in_view(fields: dict[str, object], folder: Path) -> dict[str, object]:
    """Upload-form columns with the caption files named as they are in the current view (which links them)."""
    for key in ("caption_file", "caption_vtt"):
        if fields.get(key):
            fields[key] = str(folder / Path(str(fields[key])).name)
    return fields


def _present(output: OutputRecord) -> bool:
    try:
        return os.stat(output.path).st_size == output.bytes
    except OSError:
        return False


def _link(source: Path, target: Path) -> None:
    """Make `target` the same file as `source`: a hard link, or an atomic copy where links are not possible."""
    try:
        if os.path.samefile(source, target):
            return
    except FileNotFoundError:
        pass  # no target yet: make it below
    from ltxflow.export.atomic import atomic_path

    with atomic_path(target) as partial:  # removed on any error; a refused write is a StorageError naming target
        try:
            os.link(source, partial)
        except OSError as exc:
            if exc.errno not in _LINK_ERRORS:
                raise
            shutil.copyfile(source, partial)
