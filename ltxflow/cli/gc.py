"""`gc`: remove the files no current task of a campaign refers to (a dry run unless --delete)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("campaign", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("out"), show_default=True)
@click.option("--ledger", "ledger_url", default=None, help="Ledger: SQLite path or SQLAlchemy URL "
              "(default $LTXFLOW_LEDGER or ./ltxflow-ledger.db).")  # fmt: skip
@click.option("--delete", is_flag=True, help="Remove the files (without it, only list them).")
def gc(campaign: Path, out_dir: Path, ledger_url: str | None, delete: bool) -> None:
    """List (or with --delete remove) files under OUT/<campaign>/tasks/ that no current task of CAMPAIGN uses."""
    from ltxflow.gc import collect_garbage
    from ltxflow.ledger.store import Ledger

    with Ledger.open(ledger_url, create=False) as book:
        found = collect_garbage(campaign, ledger=book, out_dir=out_dir, delete=delete)
    for path in found.remove:
        click.echo(f"{'removed' if delete else 'would remove'} {path}")
    verb = "removed" if delete else "would remove"
    click.echo(f"{verb} {len(found.remove)} files ({found.bytes / 1e6:.1f} MB) no current task refers to; "
               f"kept {found.keep}" + ("" if delete else "; run again with --delete to remove them"))
