"""TextEmbeddings: Gemma hidden states + attention mask -> (video_context, audio_context) for the DiT."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ltxflow.engine.text.config import RANGE_NORM, TextConfig
from ltxflow.engine.text.connector import Connector
from ltxflow.engine.text.feature_extractor import RangeNormFeatures, TokenRmsFeatures

# Checkpoint key prefix -> our module prefix (the loader strips / renames with these plainly).
CHECKPOINT_PREFIXES = {
    "text_embedding_projection.": "feature_extractor.",
    "model.diffusion_model.video_embeddings_connector.": "video_connector.",
    "model.diffusion_model.audio_embeddings_connector.": "audio_connector.",
}


class TextEmbeddings(nn.Module):
    """Feature extractor (V1 or V2) + video and audio connectors; keys feature_extractor.*, *_connector.*."""

    def __init__(self, config: TextConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        extractor = RangeNormFeatures if config.feature_norm == RANGE_NORM else TokenRmsFeatures
        self.feature_extractor = extractor(config)
        self.video_connector = Connector(config.video, config)
        self.audio_connector = Connector(config.audio, config)

    def forward(self, hidden_states: Tensor | Sequence[Tensor], attention_mask: Tensor) -> tuple[Tensor, Tensor]:
        """Gemma states (B, T, D, L) or L tensors (B, T, D), mask (B, T) -> video (B, T, Dv), audio (B, T, Da)."""
        hidden = hidden_states if isinstance(hidden_states, Tensor) else torch.stack(list(hidden_states), dim=-1)
        b, t, d, l = hidden.shape  # noqa: E741
        if (d, l) != (self.config.gemma_width, self.config.gemma_layers):
            raise ValueError(
                f"text encoder states have width {d} x {l} layers, expected "
                f"{self.config.gemma_width} x {self.config.gemma_layers}"
            )
        if attention_mask.shape != (b, t):
            raise ValueError(f"attention mask shape {tuple(attention_mask.shape)} != states' (B, T) = {(b, t)}")
        video, audio = self.feature_extractor(hidden, attention_mask)  # (B, T, Dv), (B, T, Da)
        return self.video_connector(video, attention_mask), self.audio_connector(audio, attention_mask)


def build_text_embeddings(config: dict[str, Any]) -> TextEmbeddings:
    """Loader entry point: the checkpoint's full `config` dict -> TextEmbeddings (build it on the meta device).

    Gemma gives 49 hidden states; a checkpoint with its own text encoder (the tiny one) says how many it gives.
    """
    encoder = config.get("text_encoder")
    layers = encoder.get("hidden_states", 49) if isinstance(encoder, dict) else 49
    return TextEmbeddings(TextConfig.from_metadata(config.get("transformer", {}), gemma_layers=layers))
