"""`review --export approved`: the deliverables of the approved variants, copied into one folder with a manifest.

Per slot (variant × seed) the final is exported when it is finished and not rejected, else the draft when it
passes. Every file is checked against its ledger record (size and sha256) before anything is copied; the folder
is built beside its destination and swapped in whole, so a failed export leaves the previous one as it was.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ltxflow.errors import LtxflowError
from ltxflow.export.manifest import write_manifest
from ltxflow.ledger.summary import output_shares
from ltxflow.review.model import FileRef, Render, ReviewSource, Slot

MANIFEST_NAME = "manifest.csv"
MARKER = ".ltxflow-export"  # marks a folder this module wrote, so re-exporting may replace it
ExportWhich = Literal["approved", "winner"]


@dataclass(frozen=True)
class ApprovedExport:
    """What an export wrote."""

    folder: Path
    manifest: Path
    renders: tuple[Render, ...]  # one per exported slot
    files: tuple[Path, ...]


def chosen_render(slot: Slot, which: ExportWhich) -> Render | None:
    """The render of a slot to deliver: its finished final unless rejected, else its draft if it passes."""
    draft_ok = slot.draft.status == "finished" and slot.draft.state.matches(which)
    final = slot.final
    if final is not None and final.status == "finished" and final.state.verdict != "rejected":
        if final.state.matches(which) or (final.state.verdict is None and draft_ok):
            return final
    return slot.draft if draft_ok else None


def export_approved(source: ReviewSource, dest: Path | None = None, which: ExportWhich = "approved") -> ApprovedExport:
    """Copy the chosen renders' files to `dest` (default: <out>/<campaign>/<which>) with a manifest."""
    view = source.view()
    dest = Path(dest) if dest is not None else source.out_root / which
    _check_replaceable(dest)
    renders = [r for r in (chosen_render(slot, which) for slot in view.slots) if r is not None]
    picked = [(render, ref) for render in renders for ref in _files(render)]
    sources = {ref.output_id: _verified(source, render, ref) for render, ref in picked}
    names = [path.name for path in sources.values()]
    if len(set(names)) != len(names):
        raise LtxflowError(f"{view.name}: two exported files would share a name; nothing was written")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        rows = []
        for render in renders:
            refs = _files(render)
            shares = output_shares([ref.platform for ref in refs])
            for ref, share in zip(refs, shares, strict=True):
                path = sources[ref.output_id]
                shutil.copyfile(path, staging / path.name)
                rows.append(_row(view.name, render, ref, dest / path.name, path, share))
        write_manifest(rows, staging / MANIFEST_NAME)
        (staging / MARKER).write_text(f"ltxflow review --export {which}\n", encoding="utf-8")
        _swap_in(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ApprovedExport(dest, dest / MANIFEST_NAME, tuple(renders), tuple(dest / p.name for p in sources.values()))


def _files(render: Render) -> list[FileRef]:
    """Every recorded file of a render: per platform its video, cover and preview, then the WAV master."""
    refs = [ref for d in render.deliverables for ref in (d.video, d.cover, d.preview) if ref is not None]
    return refs + ([render.audio] if render.audio is not None else [])


def _verified(source: ReviewSource, render: Render, ref: FileRef) -> Path:
    """The file's path after checking it is the file the ledger recorded."""
    found = source.file(ref.output_id)
    where = f"{render.task.variant_id} s{render.task.seed} {render.stage} {ref.platform or 'clip'} {ref.kind}"
    if found is None:
        raise LtxflowError(f"{where}: file missing, outside the campaign's output folder or changed since it was "
                           "recorded; rerun the campaign (nothing was exported)")  # fmt: skip
    if _sha256(found[0]) != ref.sha256:
        raise LtxflowError(f"{where}: {found[0]} changed since it was recorded (sha256 differs); rerun the campaign "
                           "(nothing was exported)")  # fmt: skip
    return found[0]


def _row(campaign: str, render: Render, ref: FileRef, exported: Path, original: Path, share: float) -> dict[str, object]:
    """One manifest row: the run manifest's columns, then the review's."""
    task, probe, state = render.task, ref.probe, render.state
    return {
        "campaign": campaign, "variant_id": task.variant_id, "task_id": task.id, "seed": task.seed,
        "platform": ref.platform, "kind": ref.kind, "file": str(exported), "sha256": ref.sha256, "bytes": ref.bytes,
        "duration_s": probe.get("duration_s", ""), "width": probe.get("width", ""), "height": probe.get("height", ""),
        "fps": probe.get("fps", ""), "spec_ok": ref.spec_ok, "spec_problems": ref.spec_problems,
        "warnings": probe.get("warnings", []), "prompt": task.prompt, "model": f"{task.engine}:{task.checkpoint_id}",
        "cost": round(render.money * share, 6), "currency": "USD",
        "stage": render.stage, "decision": state.decision, "rating": state.rating or "",
        "reviewer": state.reviewer, "notes": [n.text for n in state.notes], "source_file": str(original),
    }  # fmt: skip


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _check_replaceable(dest: Path) -> None:
    """Refuse a destination that exists and is not an earlier export."""
    if dest.exists() and (not dest.is_dir() or (any(dest.iterdir()) and not (dest / MARKER).is_file())):
        raise LtxflowError(f"{dest}: exists and is not an earlier export; choose another --to")


def _swap_in(staging: Path, dest: Path) -> None:
    """Put the finished folder in place of `dest` (an earlier export is removed only after the swap)."""
    old = None
    if dest.exists():
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
        os.replace(dest, old)
    os.replace(staging, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
