"""`ltxflow engine ...`: inspect engine checkpoints and LoRA files."""

from __future__ import annotations

from pathlib import Path

import click



class BadInput(click.ClickException):
    """A one-line error with the bad-input exit code."""

    exit_code = 2


@click.group()
def engine() -> None:
    """Inspect engine checkpoints and LoRA files."""


@engine.command("info")
@click.argument("checkpoint", type=click.Path(path_type=Path))
def info(checkpoint: Path) -> None:
    """Show version, components, parameter counts and dtypes of CHECKPOINT, or a LoRA file's target, rank and
    modules (reads the header only)."""
    from ltxflow.engine.checkpoint import CheckpointError  # torch: only when a file is read
    from ltxflow.engine.lora.info import describe_file

    try:
        summary = describe_file(checkpoint)
    except CheckpointError as err:
        raise BadInput(str(err)) from None
    click.echo(summary.table())
