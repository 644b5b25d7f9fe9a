"""The `ltxflow` command line: thin click commands over library functions."""

from __future__ import annotations

import click

from ltxflow import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ltxflow")
def cli() -> None:
    """ltxflow: turn campaigns (TOML + CSV of variants + prompt template) into platform-ready video ads."""
