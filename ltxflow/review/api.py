"""The review model as JSON-ready data: what /api/ returns (documented in docs/review.md)."""

from __future__ import annotations

from typing import Any

from ltxflow.ledger.decisions import ReviewState
from ltxflow.ledger.models import DecisionRecord
from ltxflow.review.model import CampaignView, FileRef, HistoryEntry, Render, ReviewSource, SafeZone, Slot


def file_url(ref: FileRef) -> str:
    """Where the app serves a recorded file: by output id, never by path."""
    return f"/files/{ref.output_id}"


def file_json(ref: FileRef | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    probe = ref.probe
    return {"output_id": ref.output_id, "url": file_url(ref), "kind": ref.kind, "platform": ref.platform,
            "bytes": ref.bytes, "sha256": ref.sha256, "spec_ok": ref.spec_ok, "spec_problems": ref.spec_problems,
            "duration_s": probe.get("duration_s"), "width": probe.get("width"), "height": probe.get("height"),
            "fps": probe.get("fps")}  # fmt: skip


def state_json(state: ReviewState) -> dict[str, Any]:
    return {"decision": state.decision, "verdict": state.verdict, "winner": state.winner, "rating": state.rating,
            "notes": [{"reviewer": n.reviewer, "decided_utc": n.decided_utc, "text": n.text} for n in state.notes],
            "reviewer": state.reviewer, "decided_utc": state.decided_utc}  # fmt: skip


def settings_json(render: Render) -> dict[str, Any]:
    """The generation settings a reviewer compares."""
    t = render.task
    return {"engine": t.engine, "checkpoint": t.checkpoint_id, "width": t.width, "height": t.height,
            "frames": t.num_frames, "fps": t.fps, "steps": t.steps, "pipeline": t.pipeline,
            "audio_mode": t.audio_mode}  # fmt: skip


def render_json(render: Render) -> dict[str, Any]:
    t = render.task
    return {
        "stage": render.stage, "task_id": t.id, "status": render.status, "error": render.error, "seed": t.seed,
        "prompt": t.prompt, "negative_prompt": t.negative_prompt, "settings": settings_json(render),
        "device_seconds": render.device_seconds, "money_usd": render.money, "review": state_json(render.state),
        "deliverables": [{"platform": d.platform, "video": file_json(d.video), "cover": file_json(d.cover),
                          "preview": file_json(d.preview)} for d in render.deliverables],
        "audio": file_json(render.audio),
    }  # fmt: skip


def slot_json(slot: Slot) -> dict[str, Any]:
    return {"variant_id": slot.variant_id, "seed": slot.seed, "row": slot.row, "values": dict(slot.values),
            "draft": render_json(slot.draft), "final": render_json(slot.final) if slot.final else None}  # fmt: skip


def zone_json(zone: SafeZone) -> dict[str, Any]:
    return {"platform": zone.platform, "label": zone.label, "width": zone.width, "height": zone.height,
            "safe_box_pct": list(zone.box) if zone.box else None}  # fmt: skip


def campaign_json(source: ReviewSource) -> dict[str, Any]:
    """The campaign list entry (cheap: no ledger read)."""
    c = source.campaign
    return {"name": c.name, "brand": c.brand, "description": c.description, "platforms": list(c.platforms),
            "has_final": c.final is not None, "url": f"/c/{c.name}", "api": f"/api/campaigns/{c.name}"}  # fmt: skip


def view_json(view: CampaignView, slots: bool = True) -> dict[str, Any]:
    """The grid as JSON; `slots=False` leaves the slots out (the app joins cached ones after `platforms`)."""
    c = view.campaign
    out = {"name": c.name, "brand": c.brand, "description": c.description, "has_final": view.has_final,
           "counts": view.counts(), "platforms": [zone_json(z) for z in view.platforms]}  # fmt: skip
    if slots:
        out["slots"] = [slot_json(s) for s in view.slots]
    return out


def history_json(entries: list[HistoryEntry]) -> list[dict[str, Any]]:
    return [
        {"task_id": e.record.id, "stage": e.stage, "status": e.record.status, "error": e.record.error,
         "seed": e.record.seed, "prompt": e.record.prompt, "negative_prompt": e.record.negative_prompt,
         "recorded_utc": e.record.recorded_utc, "attempts": e.record.attempts,
         "device_seconds": e.record.device_seconds, "settings": dict(e.settings), "review": state_json(e.state),
         "files": [file_json(f) for f in e.files]}  # fmt: skip
        for e in entries
    ]


def decision_json(d: DecisionRecord) -> dict[str, Any]:
    return {"id": d.id, "task_id": d.task_id, "variant_id": d.variant_id, "seed": d.seed, "action": d.action,
            "rating": d.rating, "note": d.note, "reviewer": d.reviewer, "decided_utc": d.decided_utc}  # fmt: skip
