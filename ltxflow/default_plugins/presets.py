"""Built-in export presets: Reels, Shorts, TikTok (organic and ad), Meta feed 4:5, Snapchat, Pinterest."""

from __future__ import annotations

from collections.abc import Callable

from ltxflow.export.builtin import BUILTIN_PRESETS
from ltxflow.export.presets import Preset
from ltxflow.hookspecs import hookimpl


@hookimpl
def register_export_presets(register: Callable[[Preset], None]) -> None:
    """Register every built-in preset."""
    for preset in BUILTIN_PRESETS:
        register(preset)
