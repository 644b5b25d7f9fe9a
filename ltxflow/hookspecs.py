"""Every hook ltxflow calls. Contribution hooks take a `register` callback; decisions are firstresult."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import pluggy

if TYPE_CHECKING:
    from ltxflow.campaign import Campaign
    from ltxflow.costs import CostItem, Usage
    from ltxflow.engines import EngineFactory
    from ltxflow.export.presets import Preset
    from ltxflow.ledger.models import OutputRecord, RunRecord
    from ltxflow.tasks import Task

hookspec = pluggy.HookspecMarker("ltxflow")
hookimpl = pluggy.HookimplMarker("ltxflow")


# ── Registries ──────────────────────────────────────────────────────────────────────────────────


@hookspec
def register_engines(register: Callable[[str, EngineFactory], None]) -> None:
    """Register generation engines by name.

    :param register: call ``register(name, factory)``; ``factory(settings)`` builds the one resident
        engine of a run, whose ``generate(task)`` returns a :class:`ltxflow.clip.Clip`.
    """


@hookspec
def register_export_presets(register: Callable[[Preset], None]) -> None:
    """Register platform delivery presets (Reels, Shorts, TikTok, ...).

    :param register: call ``register(preset)`` with a :class:`ltxflow.export.presets.Preset`.
    """


@hookspec
def register_template_filters(register: Callable[[str, Callable[..., Any]], None]) -> None:
    """Register Jinja filters that prompt templates may use.

    :param register: call ``register(name, function)``.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``ltxflow`` command line.

    :param cli: the top-level click group.
    """


# ── Decisions ───────────────────────────────────────────────────────────────────────────────────


@hookspec(firstresult=True)
def brand_audio(campaign: Campaign, task: Task) -> Path | None:
    """Return the brand audio file of a reference-mode ``task`` that names none itself, or None. Stops at first
    non-None result. (A row's own ``brand_audio`` column needs no hook and is used in any audio mode.)

    :param campaign: the campaign the task belongs to.
    :param task: the generation task.
    :returns: a readable audio file (WAV, MP3, AAC, FLAC) or None for no brand audio.
    """


# ── Costs and notifications ─────────────────────────────────────────────────────────────────────


@hookspec
def cost_items(task: Task, usage: Usage) -> list[CostItem]:
    """Return money lines for a finished task.

    :param task: the task that ran.
    :param usage: what it used (device, device seconds, clips).
    :returns: cost items; each names its source, quantity, unit price and currency.
    """


@hookspec
def task_finished(task: Task, outputs: list[OutputRecord]) -> None:
    """Be told that a task finished and its deliverables are recorded.

    :param task: the finished task.
    :param outputs: the ledger records of its files.
    """


@hookspec
def run_finished(run: RunRecord) -> None:
    """Be told that a run ended (finished, failed or interrupted).

    :param run: the ledger record of the run, with its counts.
    """
