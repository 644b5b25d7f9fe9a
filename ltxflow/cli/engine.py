"""`ltxflow engine ...`: inspect engine checkpoints."""

from __future__ import annotations

from pathlib import Path

import click



class BadInput(click.ClickException):
    """A one-line error with the bad-input exit code."""

    exit_code = 2


@click.group()
def engine() -> None:
    """Inspect engine checkpoints."""


@engine.command("info")
@click.argument("checkpoint", type=click.Path(path_type=Path))
def info(checkpoint: Path) -> None:
    """Show version, components, parameter counts and dtypes of CHECKPOINT (reads the header only)."""
    from ltxflow.engine.checkpoint import CheckpointError, describe  # torch: only when a checkpoint is read

    try:
        summary = describe(checkpoint)
    except CheckpointError as err:
        raise BadInput(str(err)) from None
    click.echo(summary.table())
