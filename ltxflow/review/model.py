"""What the review app shows, built from the current plan and the ledger's reads (no web framework here).

A *slot* is one variant at one seed of the current plan: its draft task and, when the campaign has a [final]
profile, the final task with the same prompt and seed. Each is a *render*: the planned task, what the ledger
recorded for it (status, files, cost) and its review state. Files are referred to by their ledger output id
only; `ReviewSource.file` maps an id back to a path, and only under the campaign's output folder.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from ltxflow.campaign import Campaign, campaign_file, load_campaign
from ltxflow.ledger.decisions import ReviewState
from ltxflow.ledger.decisions import states as decision_states
from ltxflow.ledger.models import DecisionRecord, OutputRecord, TaskRecord
from ltxflow.ledger.store import Ledger
from ltxflow.ledger.summary import TaskTotals
from ltxflow.plan import Plan, plan_campaign
from ltxflow.tasks import Task, safe_name
from ltxflow.variants import load_variants

Stage = Literal["draft", "final"]
MEDIA_TYPES = {".mp4": "video/mp4", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
               ".wav": "audio/wav"}  # fmt: skip


@dataclass(frozen=True)
class FileRef:
    """One recorded file, by ledger output id."""

    output_id: int
    kind: str  # video, cover, preview, audio, review
    platform: str  # "" for per-clip files
    spec_ok: bool
    spec_problems: str
    bytes: int
    sha256: str  # hex digest recorded when the file was written
    probe: Mapping[str, Any]  # what the exporter read back (duration_s, width, height, fps, ...)


@dataclass(frozen=True)
class Deliverable:
    """One platform's files of one render."""

    platform: str
    video: FileRef | None
    cover: FileRef | None
    preview: FileRef | None


@dataclass(frozen=True)
class Render:
    """A planned task with what the ledger holds about it."""

    stage: Stage
    task: Task
    status: str  # "finished" | "failed" | "pending" (not in the ledger yet)
    error: str | None
    deliverables: tuple[Deliverable, ...]  # one per platform of the task, in its order
    audio: FileRef | None  # the WAV master
    state: ReviewState
    device_seconds: float
    money: float  # USD actually spent, all attempts

    @property
    def task_id(self) -> str:
        """The task's id."""
        return self.task.id


@dataclass(frozen=True)
class Slot:
    """One variant at one seed: its draft and (with a [final] profile) its final."""

    variant_id: str
    seed: int
    row: str  # where it came from in the CSV ("row 3")
    values: Mapping[str, str]  # the row's template values
    draft: Render
    final: Render | None  # None when the campaign has no [final] profile


@dataclass(frozen=True)
class SafeZone:
    """A platform's frame and the box its UI leaves clear, as percentages of the frame."""

    platform: str
    label: str
    width: int  # px of the deliverable
    height: int  # px
    box_px: tuple[int, int, int, int] | None  # (x0, y0, x1, y1) px kept clear of the platform's UI, or None
    box: tuple[float, float, float, float] | None  # the same as (left, top, width, height) in % of the frame


@dataclass(frozen=True)
class CampaignView:
    """Everything the grid shows."""

    campaign: Campaign
    platforms: tuple[SafeZone, ...]
    slots: tuple[Slot, ...]
    has_final: bool
    version: tuple[object, ...] = ()  # changes whenever the plan or the ledger's files change (for caches)

    @property
    def name(self) -> str:
        """The campaign name."""
        return self.campaign.name

    def render(self, task_id: str) -> Render | None:
        """The current render (draft or final) with this task id."""
        for slot in self.slots:
            for render in (slot.draft, slot.final):
                if render is not None and render.task_id == task_id:
                    return render
        return None

    def counts(self) -> dict[str, int]:
        """Slots by the decision on their draft, plus finished finals."""
        out = {"slots": len(self.slots), "winner": 0, "approved": 0, "rejected": 0, "undecided": 0, "finals": 0}
        for slot in self.slots:
            out[slot.draft.state.decision] += 1
            out["finals"] += slot.final is not None and slot.final.status == "finished"
        return out


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded generation of a variant."""

    record: TaskRecord
    settings: Mapping[str, Any]  # the task record as stored (settings_json)
    stage: str  # "draft" / "final" when it is a current task, else "earlier"
    files: tuple[FileRef, ...]
    state: ReviewState

    @property
    def deliverables(self) -> tuple[Deliverable, ...]:
        """The recorded files per platform, in the order they were recorded."""
        platforms = dict.fromkeys(f.platform for f in self.files if f.platform)
        pick = lambda p, k: next((f for f in self.files if f.platform == p and f.kind == k), None)  # noqa: E731
        return tuple(Deliverable(p, pick(p, "video"), pick(p, "cover"), pick(p, "preview")) for p in platforms)


@dataclass(frozen=True)
class _Planned:
    """The current plan (and final plan) of a campaign, with the files whose change makes it stale."""

    signature: tuple[tuple[str, int, int], ...]
    plan: Plan
    final: Plan | None
    values: Mapping[str, tuple[str, Mapping[str, str]]]  # variant id -> (row, template values)


class ReviewSource:
    """One campaign under review: its folder, the ledger and the output folder its files must lie under.

    Reads are cached and refreshed only when their inputs change: the plan when the campaign's files change on
    disk, the ledger's tasks, files and costs when `Ledger.change_markers` says so, decisions incrementally.
    """

    def __init__(self, folder: Path | str, ledger: Ledger, out_dir: Path | str) -> None:
        self.folder = Path(folder)
        self.ledger = ledger
        self._lock = threading.Lock()
        self._planned: _Planned | None = None
        self._snapshot: _LedgerSnapshot | None = None
        self._decisions: _Decisions = _Decisions((None, None), [], {})
        self._bases: tuple[object, list[tuple[Slot, Render, Render | None]]] | None = None
        self.campaign = load_campaign(self.folder)
        self.name = self.campaign.name
        self.out_root = (Path(out_dir) / safe_name(self.name)).resolve()  # every served file lies under it

    # ── cached reads ────────────────────────────────────────────────────────────────────────────

    def planned(self) -> _Planned:
        """The current plan; the campaign, CSV and template are re-read when any of them changed on disk."""
        with self._lock:
            cached = self._planned
            if cached is not None and _signature(cached.signature) == cached.signature:
                return cached
            signature = _signature(((str(campaign_file(self.folder)), 0, 0),))  # each file's stat before it is read
            campaign = load_campaign(self.folder)
            signature += _signature(tuple((str(p), 0, 0) for p in (campaign.variants, campaign.template)))
            plan = plan_campaign(campaign)
            final = plan_campaign(campaign.final_campaign()) if campaign.final is not None else None
            values = {v.variant_id: (v.row, v.values) for v in load_variants(campaign)}
            conditioning = dict.fromkeys(str(c.path) for task in plan.tasks for c in task.conditioning)
            signature += _signature(tuple((p, 0, 0) for p in conditioning))
            self.campaign = campaign
            self._planned = _Planned(signature, plan, final, values)
            return self._planned

    def snapshot(self) -> _LedgerSnapshot:
        """The campaign's tasks, files, costs and review states as the ledger holds them now."""
        content, decided = self.ledger.change_markers()
        with self._lock:
            stale = self._snapshot is None or self._snapshot.version != content
            if stale:
                self._snapshot = _LedgerSnapshot.read(self.ledger, self.name, content)
            if stale or self._decisions.version != decided:
                self._decisions = self._decisions.refreshed(self.ledger, self.name, decided, full=stale)
            return replace(self._snapshot, states=self._decisions.states)

    # ── views ───────────────────────────────────────────────────────────────────────────────────

    def view(self) -> CampaignView:
        """The grid: every current variant × seed with its draft and final renders."""
        planned, ledger = self.planned(), self.snapshot()
        key = (planned.signature, ledger.version)
        with self._lock:
            bases = self._bases[1] if self._bases is not None and self._bases[0] == key else None
        if bases is None:
            finals = {slot_key(t): t for t in planned.final.tasks} if planned.final is not None else {}
            bases = []
            for task in planned.plan.tasks:
                row, values = planned.values.get(task.variant_id, ("", {}))
                final_task = finals.get(slot_key(task))
                draft, final = ledger.render("draft", task), ledger.render("final", final_task) if final_task else None
                bases.append((Slot(task.variant_id, task.seed, row, values, draft, final), draft, final))
            with self._lock:
                self._bases = (key, bases)
        states = ledger.states
        slots = tuple(
            replace(slot, draft=_with_state(draft, states), final=_with_state(final, states) if final else None)
            for slot, draft, final in bases
        )
        zones = tuple(_safe_zone(name, planned.plan.presets[name]) for name in planned.plan.campaign.platforms)
        return CampaignView(planned.plan.campaign, zones, slots, planned.final is not None, key)

    def history(self, variant_id: str) -> list[HistoryEntry] | None:
        """Every recorded generation of a variant (edited rows, other seeds, finals), newest first; None if the
        ledger has never seen the variant."""
        ledger = self.snapshot()
        records = [r for r in ledger.tasks.values() if r.variant_id == variant_id]
        if not records:
            return None
        planned = self.planned()
        stage = {t.id: "draft" for t in planned.plan.tasks}
        if planned.final is not None:
            stage.update({t.id: "final" for t in planned.final.tasks})
        entries = [
            HistoryEntry(r, json.loads(r.settings_json or "{}"), stage.get(r.id, "earlier"), ledger.files.get(r.id, ()),
                         ledger.states.get(r.id, ReviewState(r.id)))  # fmt: skip
            for r in records
        ]
        return sorted(entries, key=lambda e: (e.record.recorded_utc, e.record.id), reverse=True)

    def task_ids(self) -> frozenset[str]:
        """Ids of every recorded task of the campaign."""
        return frozenset(self.snapshot().tasks)

    def file(self, output_id: int) -> tuple[Path, str] | None:
        """(path, media type) of a recorded file of this campaign that lies under its output folder and still
        has its recorded size; None for anything else. The request never names a path: only an id."""
        output = self.ledger.output(output_id)
        if output is None or output.campaign != self.name:
            return None
        try:
            path = Path(output.path).resolve(strict=True)  # links followed: the real file must be inside
            stat = path.stat()
        except (OSError, RuntimeError):
            return None
        if not path.is_relative_to(self.out_root) or not path.is_file() or stat.st_size != output.bytes:
            return None  # outside the campaign's folder, or replaced since it was recorded
        media = MEDIA_TYPES.get(path.suffix.lower())
        return (path, media) if media is not None else None


# ── helpers ─────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class _LedgerSnapshot:
    """One read of the campaign's tasks, files and costs (with the review states of the moment)."""

    version: tuple[object, ...]  # Ledger.change_markers()[0] when it was read
    tasks: Mapping[str, TaskRecord]
    files: Mapping[str, tuple[FileRef, ...]]  # task id -> its recorded files
    totals: Mapping[str, TaskTotals]
    states: Mapping[str, ReviewState] = field(default_factory=dict)

    @classmethod
    def read(cls, ledger: Ledger, campaign: str, version: tuple[object, ...]) -> _LedgerSnapshot:
        files: dict[str, list[FileRef]] = {}
        for output in ledger.outputs(campaign):
            files.setdefault(output.task_id, []).append(_file_ref(output))
        tasks = {t.id: t for t in ledger.tasks(campaign)}
        return cls(version, tasks, {k: tuple(v) for k, v in files.items()}, ledger.task_totals(campaign))

    def render(self, stage: Stage, task: Task) -> Render:
        """A planned task as recorded (its review state is applied per view)."""
        record = self.tasks.get(task.id)
        files = self.files.get(task.id, ())
        deliverables = tuple(
            Deliverable(p, *(next((f for f in files if f.platform == p and f.kind == k), None)
                             for k in ("video", "cover", "preview")))  # fmt: skip
            for p in task.platforms
        )
        audio = next((f for f in files if f.platform == "" and f.kind == "audio"), None)
        totals = self.totals.get(task.id)
        return Render(
            stage, task, record.status if record else "pending", record.error if record else None, deliverables, audio,
            ReviewState(task.id), totals.device_seconds if totals else 0.0, totals.money if totals else 0.0,
        )  # fmt: skip


@dataclass(frozen=True)
class _Decisions:
    """The campaign's decisions read so far and the states they fold into; refreshed by reading only new ones."""

    version: tuple[object, ...]  # Ledger.change_markers()[1] when it was read
    records: list[DecisionRecord]
    states: dict[str, ReviewState]

    def refreshed(self, ledger: Ledger, campaign: str, version: tuple[object, ...], full: bool) -> _Decisions:
        """Read the decisions recorded since; `full` re-reads all (decisions are append-only, so only a removed
        task, which changes the content marker, can take some away)."""
        if full or not self.records:
            records = ledger.decisions(campaign)
            return _Decisions(version, records, decision_states(records))
        new = ledger.decisions(campaign, after_id=self.records[-1].id)
        records = self.records + new
        changed = {r.task_id for r in new}
        states = dict(self.states)
        states.update(decision_states(r for r in records if r.task_id in changed))
        return _Decisions(version, records, states)


def slot_key(task: Task) -> tuple[str, int, str]:
    """What a draft and its final share: the variant, the seed and the aspect group (one master per group)."""
    return (task.variant_id, task.seed, task.aspect)


def _with_state(render: Render, states: Mapping[str, ReviewState]) -> Render:
    state = states.get(render.task_id)
    return render if state is None else replace(render, state=state)


def _file_ref(output: OutputRecord) -> FileRef:
    return FileRef(output.output_id, output.kind, output.platform, output.spec_ok, output.spec_problems, output.bytes,
                   output.sha256, json.loads(output.probe_json or "{}"))  # fmt: skip


def _safe_zone(name: str, preset: Any) -> SafeZone:
    """The preset's safe box as percentages (presets from plugins may lack one)."""
    width, height = getattr(preset, "width", 0), getattr(preset, "height", 0)
    box = getattr(preset, "safe_box", None)
    pct = None
    if box and width and height:
        x0, y0, x1, y1 = box
        pct = (100 * x0 / width, 100 * y0 / height, 100 * (x1 - x0) / width, 100 * (y1 - y0) / height)
    return SafeZone(name, getattr(preset, "label", name), width, height, tuple(box) if pct else None, pct)


def _signature(previous: tuple[tuple[str, int, int], ...]) -> tuple[tuple[str, int, int], ...]:
    """(path, mtime ns, size) of each file; a missing file reads as (path, -1, -1)."""
    out = []
    for path, _, _ in previous:
        try:
            stat = os.stat(path)
            out.append((path, stat.st_mtime_ns, stat.st_size))
        except OSError:
            out.append((path, -1, -1))
    return tuple(out)
