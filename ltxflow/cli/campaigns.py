"""`init`, `validate`, `plan` and `run`: campaign commands."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ltxflow.spreadsheet import safe_row

if TYPE_CHECKING:  # the library modules load inside each command, so `--help` imports neither pandas nor torch
    from ltxflow.plan import Plan

_campaign_arg = click.argument("campaign", type=click.Path(path_type=Path))
_ledger_opt = click.option("--ledger", "ledger_url", default=None, help="Ledger: SQLite path or SQLAlchemy URL "
                           "(default $LTXFLOW_LEDGER or ./ltxflow-ledger.db).")  # fmt: skip


@click.command()
@click.argument("folder", type=click.Path(path_type=Path))
def init(folder: Path) -> None:
    """Create a starter campaign in FOLDER (e.g. campaigns/summer-sale)."""
    from ltxflow.scaffold import scaffold_campaign

    for path in scaffold_campaign(folder):
        click.echo(f"created {path}")


@click.command()
@_campaign_arg
def validate(campaign: Path) -> None:
    """Check CAMPAIGN (folder or campaign.toml): TOML, variants, templates, platforms, conditioning files, specs.

    Exit 1 when some variants name unusable conditioning files (their tasks would fail; the rest would run), or
    when a deliverable would fail its platform's spec (unless the campaign sets allow_spec_failures = true).
    """
    from ltxflow.plan import plan_campaign
    from ltxflow.plan_report import spec_lines

    result = plan_campaign(campaign)
    for warning in result.warnings:
        click.echo(f"warning: {warning}")
    for problem in result.input_problems:
        click.echo(f"problem: {problem}")
    for line in spec_lines(result):
        click.echo(line)
    variants = len({t.variant_id for t in result.tasks})
    broken = len({line.split(":", 1)[0] for line in result.input_problems})
    status = f"{broken} variant{'s' if broken != 1 else ''} with unusable files" if broken else "ok"
    if result.spec_blocks:
        status = ("spec failures" if status == "ok" else f"{status}, spec failures")
    elif result.spec_failures:
        status += " (spec failures allowed)"
    click.echo(f"{status}: {result.campaign.name}: {variants} variant{'s' if variants != 1 else ''}, "
               f"{len(result.tasks)} tasks, platforms {', '.join(result.campaign.platforms)}")  # fmt: skip
    if result.input_problems or result.spec_blocks:
        raise SystemExit(1)


@click.command()
@_campaign_arg
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@_ledger_opt
@click.option("--only", multiple=True, help="Only this variant_id (repeatable).")
@click.option("--limit", type=int, default=None, help="At most N pending tasks.")
def plan(campaign: Path, fmt: str, ledger_url: str | None, only: tuple[str, ...], limit: int | None) -> None:
    """Show the tasks (finished ones as finished), platforms and cost estimate of what is pending in CAMPAIGN,
    without loading an engine; reads the ledger (--ledger, else $LTXFLOW_LEDGER, else ./ltxflow-ledger.db)."""
    from ltxflow.ledger.db import default_ledger_location
    from ltxflow.ledger.store import Ledger
    from ltxflow.plan import plan_campaign

    ledger = Ledger.open_existing(ledger_url)  # plan only reads: no ledger file is created
    try:
        result = plan_campaign(campaign, ledger=ledger, only=only, limit=limit)
        where = ledger.location if ledger is not None else f"{ledger_url or default_ledger_location()} (none yet)"
    finally:
        if ledger is not None:
            ledger.close()
    from ltxflow.plan_report import report_lines, report_record

    rows = _plan_rows(result)
    if fmt == "json":
        summary = {**_plan_summary(result), "ledger": where, "overrides": list(result.overrides)}
        click.echo(json.dumps({"campaign": result.campaign.name, "tasks": rows, "summary": summary,
                               **report_record(result)}, indent=2))  # fmt: skip
        return
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["task_id"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(safe_row(row) for row in rows)  # no spreadsheet formulas from user text
        click.echo(buffer.getvalue(), nl=False)
        for problem in result.input_problems:
            click.echo(f"problem: {problem} (this task will fail)", err=True)
        return
    click.echo(_table(rows))
    for line in report_lines(result):
        click.echo(line)
    summary = _plan_summary(result)
    click.echo(f"{summary['tasks']} tasks, {summary['pending']} pending; estimate ${summary['pending_usd']:.2f} "
               f"(~${summary['usd_per_task']:.4f}/task on {result.campaign.estimate.device}); per-clip APIs "
               f"${summary['api_low_usd']:.2f}-{summary['api_high_usd']:.2f}")  # fmt: skip
    click.echo(f"ledger: {where}")
    for override in result.overrides:
        click.echo(f"override: {override}")
    for warning in result.warnings:
        click.echo(f"warning: {warning}")
    for problem in result.input_problems:
        click.echo(f"problem: {problem} (this task will fail)")


def _plan_rows(result: Plan) -> list[dict[str, object]]:
    pending = {t.id for t in result.pending}
    return [
        {"task_id": t.id, "variant_id": t.variant_id, "seed": t.seed, "aspect": t.aspect,
         "platforms": " ".join(t.platforms),
         "status": "pending" if t.id in pending else ("finished" if t.id in result.finished else "later"),
         "size": f"{t.width}x{t.height}x{t.num_frames}", "steps": t.steps, "audio": t.audio_mode,
         "prompt": t.prompt}  # fmt: skip
        for t in result.selected
    ]


def _plan_summary(result: Plan) -> dict[str, object]:
    n = len(result.pending)
    return {"tasks": len(result.selected), "pending": n, "usd_per_task": result.estimate.money,
            "pending_usd": result.pending_money, "spent_usd": result.spent, "budget_usd": result.campaign.budget,
            "api_low_usd": n * result.estimate.comparison_low, "api_high_usd": n * result.estimate.comparison_high,
            "warnings": list(result.warnings), "input_problems": list(result.input_problems)}  # fmt: skip


def _table(rows: list[dict[str, object]], prompt_width: int = 60) -> str:
    """Rows as aligned text columns; long prompts cut."""
    if not rows:
        return "(no tasks)"
    cells = [{k: (str(v)[: prompt_width - 3] + "...") if k == "prompt" and len(str(v)) > prompt_width else str(v)
              for k, v in row.items()} for row in rows]  # fmt: skip
    widths = {k: max(len(k), *(len(c[k]) for c in cells)) for k in cells[0]}
    lines = ["  ".join(k.ljust(widths[k]) for k in widths).rstrip()]
    lines += ["  ".join(c[k].ljust(widths[k]) for k in widths).rstrip() for c in cells]
    return "\n".join(lines)


@click.command()
@_campaign_arg
@click.option("--only", multiple=True, help="Only this variant_id (repeatable).")
@click.option("--limit", type=int, default=None, help="At most N pending tasks.")
@click.option("--dry-run", is_flag=True, help="Show what would run; generate nothing.")
@_ledger_opt
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("out"), show_default=True)
@click.option("--device", default=None, help="Engine device (auto, cpu, cuda, cuda:1); default from the campaign.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Make the tasks here, or on Ray actors (one per GPU; the [ray] extra).")  # fmt: skip
@click.option("--ray-address", default=None, help="Ray cluster to place the actors on (default: start a local one).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Ray actors to place (default: one per "
              "GPU of the cluster, 1 without GPUs).")  # fmt: skip
def run(campaign: Path, only: tuple[str, ...], limit: int | None, dry_run: bool, ledger_url: str | None,
        out_dir: Path, device: str | None, progress: bool, executor: str, ray_address: str | None,
        workers: int | None) -> None:  # fmt: skip
    """Generate, export and record every pending task of CAMPAIGN (resumable): queue them in the ledger, then work
    on them here (or on Ray) until none waits; other runs and `ltxflow worker`s of the same ledger share them."""
    from ltxflow.runner import run_campaign

    result = run_campaign(campaign, ledger=ledger_url, out_dir=out_dir, only=only, limit=limit, dry_run=dry_run,
                          device=device, progress=progress, executor=executor, ray_address=ray_address,
                          workers=workers)  # type: ignore[arg-type]  # fmt: skip
    if dry_run:
        for task in result.plan.pending:
            click.echo(f"would run {task.stem()} ({task.id}) -> {', '.join(task.platforms)}")
        click.echo(f"dry run: {len(result.plan.pending)} pending tasks")
        return
    for stem, error in result.failed:
        click.echo(f"failed: {stem}: {error}")
    for name, problems in result.spec_failures:
        click.echo(f"spec: {name}: {problems}")
    if result.budget_stop:
        click.echo(f"budget {result.budget_stop}")
    record = result.run
    spec = len(result.spec_failures)
    allowed = " (allowed)" if spec and result.plan.campaign.allow_spec_failures else ""
    click.echo(f"{result.plan.campaign.name}: {record.finished} finished, {record.failed} failed, "
               f"{record.skipped} skipped, {record.pending} not run"
               + (f"; {spec} deliverable{'s' if spec != 1 else ''} failing their spec{allowed}" if spec else ""))  # fmt: skip
    click.echo(f"ledger: {result.ledger}")
    if result.current is not None:
        click.echo(f"current: {result.current}")
    if result.manifest is not None:
        click.echo(f"manifest: {result.manifest}")
    if result.contact_sheet is not None:
        click.echo(f"contact sheet: {result.contact_sheet}")
    raise SystemExit(result.exit_code)
