"""`queue`, `worker` and `farm`: the ledger's work queue, the workers that empty it, and a Ray farm of them."""

from __future__ import annotations

from pathlib import Path

import click

_ledger_opt = click.option("--ledger", "ledger_url", default=None, help="Ledger: SQLite path or SQLAlchemy URL, e.g. "
                           "postgresql://user@host/db (default $LTXFLOW_LEDGER or ./ltxflow-ledger.db).")  # fmt: skip
_lease_opt = click.option("--lease", "lease_s", type=click.FloatRange(min=0.1), default=None,
                          help="Seconds a claim lasts unless renewed (renewed every quarter of it; default 60).")  # fmt: skip


@click.group(invoke_without_command=True)
@_ledger_opt
@click.option("--campaign", default=None, help="Only this campaign (name).")
@click.option("--tasks", "every_task", is_flag=True, help="List every queued task, not only the running ones.")
@click.pass_context
def queue(ctx: click.Context, ledger_url: str | None, campaign: str | None, every_task: bool) -> None:
    """List the work queue: per campaign what waits, runs (where, since when), is done or failed."""
    ctx.ensure_object(dict)["ledger"] = ledger_url
    if ctx.invoked_subcommand is not None:
        return
    from ltxflow.enqueue import queue_view
    from ltxflow.ledger.store import Ledger

    with Ledger.open(ledger_url, create=False) as book:
        view = queue_view(book, campaign, every_task=every_task)
    lines = [f"{'campaign':<24} {'state':<9} {'priority':>8} {'waiting':>7} {'running':>7} {'done':>6} {'failed':>6} "
             f"{'budget':>9}"]  # fmt: skip
    for c in view.campaigns:
        budget = "-" if c.campaign.budget is None else f"${c.campaign.budget:.2f}"
        lines.append(f"{c.campaign.campaign:<24} {c.campaign.state:<9} {c.campaign.priority:>8} {c.waiting:>7} "
                     f"{c.running:>7} {c.done:>6} {c.failed:>6} {budget:>9}")  # fmt: skip
    if not view.campaigns:
        lines.append("(the queue is empty: ltxflow queue add CAMPAIGN, or ltxflow run CAMPAIGN)")
    for t in view.tasks:
        where = f"  {t.where}" if t.where else ""
        lines.append(f"{t.state:<8} {t.task_id}  {t.campaign}  priority {t.priority}{where}  since {t.since}")
    click.echo("\n".join(lines))


@queue.command("add")
@click.argument("campaign", type=click.Path(path_type=Path))
@click.option("--priority", type=int, default=None, help="Claimed before lower priorities (default: the campaign's "
              "priority key, or the priority it was queued with).")  # fmt: skip
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("out"), show_default=True,
              help="Output root the workers write under (a shared path on a farm).")  # fmt: skip
@_ledger_opt
@click.pass_context
def queue_add(ctx: click.Context, campaign: Path, priority: int | None, out_dir: Path, ledger_url: str | None) -> None:
    """Plan CAMPAIGN (folder or campaign.toml) and queue its pending tasks for workers (idempotent)."""
    from ltxflow.enqueue import queue_campaign
    from ltxflow.ledger.store import Ledger

    with Ledger.open(ledger_url or ctx.obj.get("ledger")) as book:
        done = queue_campaign(campaign, book, out_dir, priority=priority)
    click.echo(f"queued {done.campaign}: {done.waiting} waiting, {done.finished} already finished, "
               f"priority {done.priority}")  # fmt: skip


def _state_command(name: str, state: str, help_text: str) -> click.Command:
    @queue.command(name, help=help_text)
    @click.argument("campaign")
    @_ledger_opt
    @click.pass_context
    def command(ctx: click.Context, campaign: str, ledger_url: str | None) -> None:
        from ltxflow.ledger.store import Ledger

        with Ledger.open(ledger_url or ctx.obj.get("ledger"), create=False) as book:
            book.set_queue_state(campaign, state)  # type: ignore[arg-type]
        click.echo(f"{campaign}: {state}")

    return command


_state_command("pause", "paused", "Stop workers from claiming CAMPAIGN's tasks (running ones finish).")
_state_command("resume", "active", "Let workers claim CAMPAIGN's tasks again.")
_state_command("cancel", "cancelled", "Take CAMPAIGN's waiting tasks off the queue (running ones finish; queue add "
               "or run queues them again).")


@click.command()
@click.option("--device", default=None, help="Engine device of this worker (cuda:N: one worker per GPU); default "
              "each campaign's own.")  # fmt: skip
@click.option("--until-idle", is_flag=True, help="Exit once nothing is left that this worker could claim.")
@click.option("--campaign", "campaigns", multiple=True, help="Only this campaign (repeatable).")
@_ledger_opt
@_lease_opt
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
def worker(device: str | None, until_idle: bool, campaigns: tuple[str, ...], ledger_url: str | None,
           lease_s: float | None, progress: bool) -> None:  # fmt: skip
    """Claim queued tasks from the ledger and make them, one at a time, keeping the engine loaded between them.

    SIGTERM stops it after the current task; a second SIGTERM or Ctrl-C hands that task back.
    """
    from ltxflow.ledger.claims import LEASE_S
    from ltxflow.ledger.store import Ledger
    from ltxflow.worker import run_worker

    with Ledger.open(ledger_url) as book:
        result = run_worker(book, device=device, until_idle=until_idle, lease_s=lease_s or LEASE_S,
                            campaigns=campaigns or None, progress=progress)  # fmt: skip
    for stem, error in result.failed:
        click.echo(f"failed: {stem}: {error}")
    for campaign, why in result.budget_stops:
        click.echo(f"budget {campaign}: {why}")
    how = "stopped (SIGTERM)" if result.stopped else "idle"
    click.echo(f"worker {how}: {result.finished} finished, {len(result.failed)} failed")
    raise SystemExit(1 if result.failed else 0)


@click.command()
@click.option("--address", default=None, help="Ray cluster address (ray://host:10001 or auto); default: a local "
              "cluster on this machine.")  # fmt: skip
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Actors to place (default: one per GPU of "
              "the cluster, 1 without GPUs).")  # fmt: skip
@click.option("--until-idle", is_flag=True, help="Stop once nothing is left to claim.")
@click.option("--campaign", "campaigns", multiple=True, help="Only this campaign (repeatable).")
@_ledger_opt
@_lease_opt
def farm(address: str | None, workers: int | None, until_idle: bool, campaigns: tuple[str, ...],
         ledger_url: str | None, lease_s: float | None) -> None:  # fmt: skip
    """Place one worker per GPU of a Ray cluster on the queue (the [ray] extra); the ledger says what is done, so
    use a ledger every node reaches (--ledger postgresql://...)."""
    from ltxflow.farm import work_on_ray
    from ltxflow.ledger.claims import LEASE_S
    from ltxflow.ledger.store import Ledger

    with Ledger.open(ledger_url) as book:  # migrated once here, and the URL the actors open
        url = book.engine.url.render_as_string(hide_password=False)
    result = work_on_ray(url, address=address, workers=workers, until_idle=until_idle,
                         campaigns=campaigns or None, lease_s=lease_s or LEASE_S)  # fmt: skip
    for stem, error in result.failed:
        click.echo(f"failed: {stem}: {error}")
    for campaign, why in result.budget_stops:
        click.echo(f"budget {campaign}: {why}")
    click.echo(f"farm of {result.workers}: {result.finished} finished, {len(result.failed)} failed")
    raise SystemExit(1 if result.failed else 0)
