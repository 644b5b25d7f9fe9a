"""What `plan` and `validate` print about a plan besides its task table: settings, aspect groups, spec checks."""

from __future__ import annotations

from fractions import Fraction

from ltxflow.model_defaults import settings_lines, settings_record
from ltxflow.plan import Plan
from ltxflow.spec_check import summary_lines


def group_lines(plan: Plan) -> list[str]:
    """The aspect groups: each master's size and each deliverable's crop/pad loss."""
    gen = plan.campaign.generation
    budget = gen.width * gen.height
    head = (f"aspect groups (size pinned at {gen.width}x{gen.height}):" if gen.pin_size else
            f"aspect groups (pixel budget {gen.width}x{gen.height} = {budget:,} px):")  # fmt: skip
    lines = [head]
    for g in plan.groups:
        cuts = ", ".join(f"{c.platform} {c.percent}" for c in g.cuts)
        lines.append(f"  {g.name:<6} master {g.width}x{g.height} ({g.width * g.height:,} px): {cuts}")
    return lines


def extension_lines(plan: Plan) -> list[str]:
    """Which variants are made by extension, in how many segments (none: no line)."""
    extended: dict[tuple[int, int, int, str], list[str]] = {}
    for t in plan.tasks:
        if t.segment_frames:
            extended.setdefault((t.num_frames, t.segments, t.segment_frames, t.fps), []).append(t.variant_id)
    lines = []
    for (frames, segments, per, fps), variants in extended.items():
        seconds = float(frames / Fraction(fps))
        names = ", ".join(dict.fromkeys(variants))
        lines.append(f"extension: {frames} frames ({seconds:.2f} s at {Fraction(fps)} fps) in {segments} segments of "
                     f"<= {per} frames, overlap {plan.campaign.generation.overlap} latent frame(s) ({names})")  # fmt: skip
    return lines


def extension_record(plan: Plan) -> list[dict[str, object]]:
    """The extended tasks' settings (plan --format json)."""
    return [{"task": t.id, "variant": t.variant_id, "frames": t.num_frames, "segments": t.segments,
             "segment_frames": t.segment_frames, "overlap": t.overlap} for t in plan.tasks if t.segment_frames]  # fmt: skip


def spec_lines(plan: Plan) -> list[str]:
    """Predicted spec failures ("spec: ...") and notes ("note: ...")."""
    lines = [f"spec: {line}" for line in summary_lines(plan.predictions, failures=True)]
    lines += [f"note: {line}" for line in summary_lines(plan.predictions, failures=False)]
    return lines


def report_lines(plan: Plan) -> list[str]:
    """Settings, groups and spec lines, in that order."""
    lines = settings_lines(plan.effective, plan.campaign.generation.checkpoint) if plan.effective else []
    return lines + group_lines(plan) + extension_lines(plan) + spec_lines(plan)


def report_record(plan: Plan) -> dict[str, object]:
    """The same as JSON-ready data (plan --format json)."""
    return {
        "settings": settings_record(plan.effective) if plan.effective else None,
        "aspect_groups": [{"aspect": g.name, "width": g.width, "height": g.height,
                           "deliverables": [{"platform": c.platform, "fit": c.fit, "loss": round(float(c.loss), 4)}
                                            for c in g.cuts]} for g in plan.groups],  # fmt: skip
        "extension": extension_record(plan),
        "spec_failures": summary_lines(plan.predictions, failures=True),
        "spec_notes": summary_lines(plan.predictions, failures=False),
    }


__all__ = ["extension_lines", "extension_record", "group_lines", "report_lines", "report_record", "spec_lines"]
