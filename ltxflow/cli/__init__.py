"""The `ltxflow` command line: thin click commands over library functions."""

from __future__ import annotations

from typing import Any

import click

from ltxflow import __version__
from ltxflow.errors import LtxflowError

BAD_INPUT = 2
_plugin_error: LtxflowError | None = None  # a plugin that failed to load, reported when a command runs


class _Cli(click.Group):
    """The top group: bad input becomes one line `Error: ...` and exit code 2, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LtxflowError as exc:  # ledger and costs errors are LtxflowErrors too
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(BAD_INPUT)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ltxflow")
def cli() -> None:
    """ltxflow: turn campaigns (TOML + CSV of variants + prompt template) into platform-ready video ads."""
    if _plugin_error is not None:
        raise _plugin_error


def _add_commands() -> None:
    """Built-in commands, then those plugins add through `register_commands`."""
    global _plugin_error
    from ltxflow.cli.campaigns import init, plan, run, validate
    from ltxflow.cli.engine import engine
    from ltxflow.cli.farm import farm, queue, worker
    from ltxflow.cli.gc import gc
    from ltxflow.cli.ledger import compare, ledger
    from ltxflow.cli.plugins import plugins
    from ltxflow.cli.review import promote, review
    from ltxflow.plugins import get_plugin_manager

    for command in (init, validate, plan, run, queue, worker, farm, ledger, compare, gc, review, promote, plugins, engine):
        cli.add_command(command)
    try:
        get_plugin_manager().hook.register_commands(cli=cli)
    except LtxflowError as exc:
        _plugin_error = exc


_add_commands()
