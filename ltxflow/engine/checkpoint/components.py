"""The component registry as data: what each checkpoint component is called, read from and built by.

Each `Component[M]` names its builder, a typed function from the checkpoint's full `config` dict to the module `M`,
so `Checkpoint.load(VIDEO_DECODER)` is a `VideoDecoder` to the type checker as well.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from torch import nn

from ltxflow.engine.audio.vae import build_audio_decoder, build_audio_encoder
from ltxflow.engine.audio.waveform import build_vocoder
from ltxflow.engine.checkpoint.errors import CheckpointError
from ltxflow.engine.checkpoint.keys import RULES, Rule
from ltxflow.engine.text.embeddings import build_text_embeddings
from ltxflow.engine.text.tiny_encoder import build_tiny_text_model
from ltxflow.engine.transformer.config import TransformerConfig
from ltxflow.engine.transformer.model import LTXTransformer
from ltxflow.engine.video_vae.decoder import build_decoder
from ltxflow.engine.video_vae.encoder import build_encoder

M = TypeVar("M", bound=nn.Module, covariant=True)
Builder = Callable[[dict[str, Any]], M]  # full checkpoint config -> module (built under torch.device("meta"))


@dataclass(frozen=True)
class Component(Generic[M]):
    """One loadable part of a checkpoint."""

    name: str
    section: str  # the `config` metadata section its builder reads
    build: Builder[M]
    summary: str

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The routing rules that feed this component."""
        return tuple(rule for rule in RULES if self.name in rule.components)


def _section(config: dict[str, Any], name: str) -> dict[str, Any]:
    """config[name], which must be a JSON object."""
    section = config.get(name)
    if not isinstance(section, dict):
        raise CheckpointError(f"checkpoint config has no {name!r} section")
    return section


def build_transformer(config: dict[str, Any]) -> LTXTransformer:
    """Our LTX-2 transformer for `config["transformer"]`."""
    return LTXTransformer(TransformerConfig.from_metadata(_section(config, "transformer")))


TRANSFORMER = Component("transformer", "transformer", build_transformer, "audio-video diffusion transformer")
TEXT_EMBEDDINGS = Component("text_embeddings", "transformer", build_text_embeddings,
                            "text feature extractor + connectors")
VIDEO_ENCODER = Component("video_encoder", "vae", build_encoder, "video VAE encoder")
VIDEO_DECODER = Component("video_decoder", "vae", build_decoder, "video VAE decoder")
AUDIO_ENCODER = Component("audio_encoder", "audio_vae", build_audio_encoder, "audio VAE encoder")
AUDIO_DECODER = Component("audio_decoder", "audio_vae", build_audio_decoder, "audio VAE decoder")
VOCODER = Component("vocoder", "vocoder", build_vocoder, "mel -> waveform vocoder")
TINY_TEXT_ENCODER = Component("tiny_text_encoder", "text_encoder", build_tiny_text_model,
                                             "ltxflow's built-in byte-level text encoder (tiny checkpoint only)")

COMPONENTS: dict[str, Component[nn.Module]] = {
    c.name: c for c in (TRANSFORMER, TEXT_EMBEDDINGS, VIDEO_ENCODER, VIDEO_DECODER, AUDIO_ENCODER, AUDIO_DECODER,
                        VOCODER, TINY_TEXT_ENCODER)
}


def component_spec(name: str) -> Component[nn.Module]:
    """The registered component called `name`; unknown names are an error listing the known ones."""
    if name not in COMPONENTS:
        raise CheckpointError(f"unknown checkpoint component {name!r}; known: {', '.join(COMPONENTS)}")
    return COMPONENTS[name]
