"""Built-in brand audio: the file the campaign names in [audio] brand_audio, for reference-audio tasks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ltxflow.hookspecs import hookimpl

if TYPE_CHECKING:
    from ltxflow.campaign import Campaign
    from ltxflow.tasks import Task


@hookimpl(trylast=True)
def brand_audio(campaign: Campaign, task: Task) -> Path | None:
    """The campaign's brand audio file when the task's audio mode is "reference"."""
    if task.audio_mode != "reference":
        return None
    return campaign.brand_audio
