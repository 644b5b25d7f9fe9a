"""The per-run manifest CSV: one row per delivered file, for ad-platform upload and joining with results."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

from ltxflow.export.atomic import atomic_path
from ltxflow.export.deliver import Deliverable
from ltxflow.spreadsheet import safe_cell

# The documented columns, in order. Rows may carry extra keys (client metadata); they follow, in first-seen order.
MANIFEST_COLUMNS: tuple[str, ...] = (
    "campaign",  # campaign name
    "variant_id",  # the variants CSV row id
    "task_id",  # content-hash id of the generation task
    "seed",  # generation seed
    "platform",  # export preset name ("" for per-clip files such as the WAV)
    "kind",  # video, cover, preview, audio, review
    "file",  # path of the file
    "sha256",  # hex digest of the file
    "bytes",  # file size
    "duration_s",  # seconds, as read back from the file
    "width",  # px
    "height",  # px
    "fps",  # frames/s as a fraction string ("24", "30000/1001")
    "spec_ok",  # true / false: the file meets its preset
    "spec_problems",  # "; "-joined problems
    "warnings",  # "; "-joined changes the exporter made (trims, rate conversion, limiting)
    "prompt",  # rendered prompt
    "model",  # engine and checkpoint identity
    "cost",  # money attributed to this file
    "currency",  # ISO code of `cost`
    # what the ad platforms' upload forms ask for (TikTok's AI-generated content label, Meta's and YouTube's
    # disclosure of altered or synthetic media, a caption file for muted feeds)
    "ai_generated",  # true: the video is AI-generated (declare it in the upload form)
    "ai_disclosure",  # the disclosure sentence written into the MP4's metadata
    "c2pa",  # true: the MP4 carries a signed C2PA manifest
    "caption_file",  # the .srt beside the video, for upload forms that take one
    "caption_vtt",  # the same captions as WebVTT
    "layers",  # id of the layer set drawn on the video ("" without layers)
)


def deliverable_fields(d: Deliverable) -> dict[str, object]:
    """The manifest columns a Deliverable fills; merge with the campaign/task columns for a row."""
    probe = d.probe
    return {
        "kind": d.kind, "file": str(d.path), "sha256": d.sha256, "bytes": d.bytes,
        "duration_s": probe.get("duration_s", ""), "width": probe.get("width", ""), "height": probe.get("height", ""),
        "fps": probe.get("fps", ""), "spec_ok": d.spec_ok, "spec_problems": d.spec_problems, "warnings": d.warnings,
        **upload_fields(d.kind, {**probe, **d.facts}),
    }  # fmt: skip


def upload_fields(kind: str, facts: Mapping[str, object]) -> dict[str, object]:
    """The upload-form columns of a video from its recorded facts (tags read back, layers, captions, C2PA)."""
    if kind not in ("video", "review"):
        return {}
    tags = facts.get("tags") or {}
    captions = facts.get("captions") or {}
    return {
        "ai_generated": tags.get("ai_generated") == "true", "ai_disclosure": tags.get("ai_disclosure", ""),  # type: ignore[union-attr]
        "c2pa": bool(facts.get("c2pa")), "caption_file": captions.get("srt", ""),  # type: ignore[union-attr]
        "caption_vtt": captions.get("vtt", ""), "layers": (facts.get("layers") or {}).get("id", ""),  # type: ignore[union-attr]
    }  # fmt: skip


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return "; ".join(str(v) for v in value)
    return str(value)


def write_manifest(rows: Sequence[Mapping[str, object]], path: Path) -> Path:
    """Write rows as CSV with MANIFEST_COLUMNS first (missing values empty), atomically; returns path."""
    path = Path(path)
    columns = list(MANIFEST_COLUMNS)
    for row in rows:
        columns += [key for key in row if key not in columns]
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as partial:
        with partial.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(columns)
            for row in rows:
                writer.writerow([safe_cell(_cell(row.get(column))) for column in columns])
    return path
