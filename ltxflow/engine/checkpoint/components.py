"""The component registry as data: what each checkpoint component is called, read from and built by."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from ltxflow.engine.checkpoint.errors import CheckpointError
from ltxflow.engine.checkpoint.keys import RULES, Rule

Builder = Callable[[dict[str, Any]], nn.Module]  # full checkpoint config -> module (parameters may be on meta)


@dataclass(frozen=True)
class ComponentSpec:
    """One loadable part of a checkpoint."""

    name: str
    section: str  # the `config` metadata section its builder reads
    builder: str  # "package.module:function", imported only when the component is loaded
    summary: str

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The routing rules that feed this component."""
        return tuple(rule for rule in RULES if self.name in rule.components)


# Each builder takes the checkpoint's full `config` dict; the modules live with their owners' code.
_AUDIO = "ltxflow.engine.audio:"

COMPONENTS: dict[str, ComponentSpec] = {
    spec.name: spec
    for spec in (
        ComponentSpec(
            "transformer",
            "transformer",
            "ltxflow.engine.checkpoint.builders:build_transformer",
            "audio-video diffusion transformer",
        ),
        ComponentSpec(
            "text_embeddings",
            "transformer",
            "ltxflow.engine.text.embeddings:build_text_embeddings",
            "text feature extractor + connectors",
        ),
        ComponentSpec("video_encoder", "vae", "ltxflow.engine.video_vae.encoder:build_encoder", "video VAE encoder"),
        ComponentSpec("video_decoder", "vae", "ltxflow.engine.video_vae.decoder:build_decoder", "video VAE decoder"),
        ComponentSpec("audio_encoder", "audio_vae", _AUDIO + "build_audio_encoder", "audio VAE encoder"),
        ComponentSpec("audio_decoder", "audio_vae", _AUDIO + "build_audio_decoder", "audio VAE decoder"),
        ComponentSpec("vocoder", "vocoder", _AUDIO + "build_vocoder", "mel -> waveform vocoder"),
        ComponentSpec(
            "tiny_text_encoder",
            "text_encoder",
            "ltxflow.engine.text.tiny_encoder:build_tiny_text_model",
            "ltxflow's built-in byte-level text encoder (tiny checkpoint only)",
        ),
    )
}


def component_spec(name: str) -> ComponentSpec:
    """The registered spec for `name`; unknown names are an error listing the known ones."""
    if name not in COMPONENTS:
        raise CheckpointError(f"unknown checkpoint component {name!r}; known: {', '.join(COMPONENTS)}")
    return COMPONENTS[name]


def resolve_builder(target: str) -> Builder:
    """Import a "module:function" builder path."""
    module_name, _, attr = target.partition(":")
    try:
        builder = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise CheckpointError(f"model builder {target!r} is not available: {err}") from None
    if not callable(builder):
        raise CheckpointError(f"model builder {target!r} is not callable")
    return builder
