"""What `plan` and `validate` print about a plan besides its task table: settings, aspect groups, spec checks."""

from __future__ import annotations

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


def spec_lines(plan: Plan) -> list[str]:
    """Predicted spec failures ("spec: ...") and notes ("note: ...")."""
    lines = [f"spec: {line}" for line in summary_lines(plan.predictions, failures=True)]
    lines += [f"note: {line}" for line in summary_lines(plan.predictions, failures=False)]
    return lines


def report_lines(plan: Plan) -> list[str]:
    """Settings, groups and spec lines, in that order."""
    lines = settings_lines(plan.effective, plan.campaign.generation.checkpoint) if plan.effective else []
    return lines + group_lines(plan) + spec_lines(plan)


def report_record(plan: Plan) -> dict[str, object]:
    """The same as JSON-ready data (plan --format json)."""
    return {
        "settings": settings_record(plan.effective) if plan.effective else None,
        "aspect_groups": [{"aspect": g.name, "width": g.width, "height": g.height,
                           "deliverables": [{"platform": c.platform, "fit": c.fit, "loss": round(float(c.loss), 4)}
                                            for c in g.cuts]} for g in plan.groups],  # fmt: skip
        "spec_failures": summary_lines(plan.predictions, failures=True),
        "spec_notes": summary_lines(plan.predictions, failures=False),
    }


__all__ = ["group_lines", "report_lines", "report_record", "spec_lines"]
