"""`ledger` and `compare`: read what runs recorded."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ltxflow.errors import LtxflowError

if TYPE_CHECKING:
    from ltxflow.ledger.records import StageRecord


@click.command()
@click.option("--by", type=click.Choice(["campaign", "variant", "platform", "stage"]), default="campaign",
              show_default=True)  # fmt: skip
@click.option("--campaign", default=None, help="Only this campaign (name).")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), default=None, help="Also write every output as CSV.")
@click.option("--ledger", "ledger_url", default=None, help="Ledger: SQLite path or SQLAlchemy URL "
              "(default $LTXFLOW_LEDGER or ./ltxflow-ledger.db).")  # fmt: skip
@click.option("--decision", type=click.Choice(["approved", "winner", "rejected", "undecided"]), default=None,
              help="Only tasks with this review decision (approved includes winners).")  # fmt: skip
def ledger(by: str, campaign: str | None, csv_path: Path | None, ledger_url: str | None, decision: str | None) -> None:
    """Summarise recorded tasks, outputs, device time and money."""
    from ltxflow.ledger.store import Ledger

    with Ledger.open(ledger_url, create=False) as book:
        task_ids = book.task_ids_by_decision(decision, campaign) if decision else None  # type: ignore[arg-type]
        if by == "stage":
            _print_stages(book.stages(campaign))
            return
        rows = book.summary(by, campaign, task_ids)  # type: ignore[arg-type]
        if csv_path is not None:
            book.export_csv(csv_path, campaign, task_ids)
    click.echo(f"{'campaign':<20} {by:<20} {'tasks':>5} {'failed':>6} {'outputs':>7} {'device_s':>9} "
               f"{'usd':>9} {'api_usd':>13}")  # fmt: skip
    for r in rows:
        key = r.key if by != "campaign" else r.campaign
        click.echo(f"{r.campaign:<20} {key or '-':<20} {r.tasks:>5} {r.failed:>6} {r.outputs:>7} "
                   f"{r.device_seconds:>9.1f} {r.money:>9.4f} {r.comparison_low:>6.2f}-{r.comparison_high:<6.2f}")  # fmt: skip
    if decision is not None:
        click.echo(f"decision {decision}: {len(task_ids or ())} task{'s' if len(task_ids or ()) != 1 else ''}")
    if csv_path is not None:
        click.echo(f"csv: {csv_path}")


def _print_stages(rows: list[StageRecord]) -> None:
    """Seconds per stage, summed over every attempt."""
    click.echo(f"{'campaign':<20} {'stage':<12} {'attempts':>8} {'wall_s':>9} {'device_s':>9}")
    for r in rows:
        click.echo(f"{r.campaign:<20} {r.stage:<12} {r.attempts:>8} {r.wall_seconds:>9.1f} {r.device_seconds:>9.1f}")


@click.command()
@click.argument("campaign")
@click.option("--ledger", "ledger_url", default=None, help="Ledger: SQLite path or SQLAlchemy URL "
              "(default $LTXFLOW_LEDGER or ./ltxflow-ledger.db).")  # fmt: skip
@click.option("--out", "out_path", type=click.Path(path_type=Path), default=None,
              help="Image to write (default out/<campaign>/compare.png).")  # fmt: skip
def compare(campaign: str, ledger_url: str | None, out_path: Path | None) -> None:
    """A contact sheet of the covers of CAMPAIGN's current tasks (a name or a campaign folder)."""
    from ltxflow.campaign import load_campaign
    from ltxflow.ledger.store import Ledger
    from ltxflow.report import write_contact_sheet

    name = load_campaign(campaign).name if Path(campaign).exists() else campaign
    path = out_path or Path("out") / name / "compare.png"
    with Ledger.open(ledger_url, create=False) as book:
        written = write_contact_sheet(book, name, path)
    if written is None:
        raise LtxflowError(f"{name}: the ledger holds no covers for this campaign; run it first")
    click.echo(f"contact sheet: {written}")
