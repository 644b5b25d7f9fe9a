"""Built-in export presets: Reels, Shorts, TikTok (organic and ad), Meta feed 4:5, Snapchat, Pinterest."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ltxflow.hookspecs import hookimpl

if TYPE_CHECKING:
    from ltxflow.export.presets import Preset


@hookimpl
def register_export_presets(register: Callable[[Preset], None]) -> None:
    """Register every built-in preset (the export package, PyAV included, loads only when presets are asked for)."""
    from ltxflow.export.builtin import BUILTIN_PRESETS

    for preset in BUILTIN_PRESETS:
        register(preset)
