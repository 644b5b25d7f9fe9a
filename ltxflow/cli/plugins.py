"""`plugins`: what is loaded and what each plugin registered."""

from __future__ import annotations

import click

from ltxflow.plugins import describe_plugins


@click.command()
def plugins() -> None:
    """List plugins, their hooks and the engines, presets and filters each registered."""
    for name, lines in describe_plugins():
        click.echo(name)
        for line in lines:
            click.echo(f"  {line}")
