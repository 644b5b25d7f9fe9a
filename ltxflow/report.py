"""Run reports from the ledger: the manifest CSV of deliverables and a contact sheet of their covers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ltxflow.ledger.store import Ledger


def write_manifest_csv(ledger: Ledger, campaign: str, path: Path) -> Path:
    """Write one row per recorded deliverable of `campaign` that still exists on disk."""
    from ltxflow.export import write_manifest

    records = [o for o in ledger.outputs(campaign) if Path(o.path).exists()]
    write_manifest(records, path)
    return path


def write_contact_sheet(ledger: Ledger, campaign: str, path: Path) -> Path | None:
    """A side-by-side sheet of every recorded cover of `campaign`, or None when there is none."""
    from ltxflow.export import contact_sheet

    covers = [o for o in ledger.outputs(campaign) if o.kind == "cover" and Path(o.path).exists()]
    if not covers:
        return None
    contact_sheet([(f"{o.variant_id} s{o.seed} {o.platform}", Path(o.path)) for o in covers], path)
    return path
