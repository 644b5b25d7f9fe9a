"""The `ltxflow` command line: thin click commands over library functions."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import click

from ltxflow import __version__
from ltxflow.errors import Interrupted, LtxflowError
from ltxflow.storage import storage_errors

BAD_INPUT = 2
_plugin_error: LtxflowError | None = None  # a plugin that failed to load, reported when a command runs


class _Cli(click.Group):
    """The top group: bad input becomes one line `Error: ...` and exit code 2, never a traceback; a refused write
    (full disk, read-only, permission) one line and 74; Ctrl-C one line and 130, SIGTERM during a run 143."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with storage_errors():  # a refused write that no library layer named: still one line (a StorageError)
                return super().invoke(ctx)
        except LtxflowError as exc:  # ledger, costs and storage errors are LtxflowErrors too
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt as exc:
            signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
            click.echo(f"Interrupted ({signal.Signals(signum).name}): stopped cleanly, nothing half-written; "
                       "finished work is recorded, rerun to carry on", err=True)  # fmt: skip
            ctx.exit(128 + signum)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ltxflow")
@click.option("--allow-path", "allow", multiple=True, type=click.Path(path_type=Path, file_okay=False),
              help="Let campaigns read input files from DIR too (repeatable; default: only their project root).")
def cli(allow: tuple[Path, ...]) -> None:
    """ltxflow: turn campaigns (TOML + CSV of variants + prompt template) into platform-ready video ads."""
    if _plugin_error is not None:
        raise _plugin_error
    if allow:  # read by ltxflow.path_rules wherever a campaign loads
        from ltxflow.path_rules import ALLOW_ENV

        os.environ[ALLOW_ENV] = os.pathsep.join([*map(str, allow), *filter(None, [os.environ.get(ALLOW_ENV)])])


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
