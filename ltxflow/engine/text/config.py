"""Configuration of the text side (Gemma features -> DiT contexts), read from the checkpoint's `transformer` config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ltxflow.errors import LtxflowError

# Feature-extractor variants: which checkpoint keys select them.
RANGE_NORM = "range"  # LTX-2 (19B): per-(sample, layer) range normalisation, one shared projection
TOKEN_RMS = "per_token_rms"  # LTX-2.3 (22B): per-token RMS, separate video / audio projections with bias
_V2_KEYS = {  # present with exactly these values <=> V2 layout (projection before the connectors)
    "caption_proj_before_connector": True,
    "caption_projection_first_linear": False,
    "caption_proj_input_norm": False,
    "caption_projection_second_linear": False,
}


class TextConfigError(LtxflowError, ValueError):
    """The checkpoint's text configuration is unsupported or inconsistent."""


@dataclass(frozen=True)
class ConnectorConfig:
    """One 1-D connector transformer (video or audio side)."""

    heads: int
    head_dim: int
    layers: int

    @property
    def width(self) -> int:
        """Token width (heads * head_dim), also the context width the DiT receives."""
        return self.heads * self.head_dim


@dataclass(frozen=True)
class TextConfig:
    """Feature extractor + connectors; defaults are ltx-core's for absent keys."""

    feature_norm: str  # RANGE_NORM (19B) or TOKEN_RMS (22B)
    video: ConnectorConfig
    audio: ConnectorConfig
    gemma_width: int = 3840  # Gemma-3-12B hidden size ("caption_channels")
    gemma_layers: int = 49  # hidden states per token: embeddings + 48 layers
    registers: int = 128  # learnable register tokens replacing padding (tiled over the sequence)
    rope_theta: float = 10000.0
    rope_max_pos: tuple[int, ...] = (1,)  # "connector_positional_embedding_max_pos" (shipped: [4096])
    rope_layout: str = "interleaved"  # "rope_type" (shipped: "split")
    rope_float64: bool = False  # "frequencies_precision" == "float64" (shipped)
    gated: bool = False  # "connector_apply_gated_attention" (22B)
    eps: float = 1e-6  # RMS norms inside the connectors

    @property
    def flat_width(self) -> int:
        """Width of the flattened multi-layer features, gemma_width * gemma_layers (188160 shipped)."""
        return self.gemma_width * self.gemma_layers

    @staticmethod
    def from_metadata(transformer: dict[str, Any], gemma_layers: int = 49) -> TextConfig:
        """Read the checkpoint's `config["transformer"]` section (as ltx-core's embeddings configurator does)."""
        present = transformer.keys() & _V2_KEYS.keys()
        if not present:
            norm = RANGE_NORM
        elif present != _V2_KEYS.keys():
            missing = ", ".join(sorted(_V2_KEYS.keys() - present))
            raise TextConfigError(f"transformer config: partial text-projection keys, missing {missing}")
        else:
            wrong = [f"{k}={transformer[k]!r} (expected {v!r})" for k, v in _V2_KEYS.items() if transformer[k] != v]
            if wrong:
                raise TextConfigError(f"transformer config: unsupported text projection: {', '.join(wrong)}")
            norm = TOKEN_RMS
        declared = transformer.get("text_encoder_norm_type")
        if declared is not None and declared != norm:
            raise TextConfigError(
                f"transformer config: text_encoder_norm_type={declared!r} does not match the projection layout "
                f"(expected {norm!r})"
            )
        video = ConnectorConfig(
            heads=transformer.get("connector_num_attention_heads", 30),
            head_dim=transformer.get("connector_attention_head_dim", 128),
            layers=transformer.get("connector_num_layers", 2),
        )
        audio = ConnectorConfig(
            heads=transformer.get("audio_connector_num_attention_heads", video.heads),
            head_dim=transformer.get("audio_connector_attention_head_dim", video.head_dim),
            layers=transformer.get("audio_connector_num_layers", video.layers),
        )
        layout = transformer.get("rope_type", "interleaved")
        if layout not in ("split", "interleaved"):
            raise TextConfigError(f"transformer config: rope_type={layout!r} is not 'split' or 'interleaved'")
        config = TextConfig(
            feature_norm=norm,
            video=video,
            audio=audio,
            gemma_width=transformer.get("caption_channels", 3840),
            gemma_layers=gemma_layers,
            rope_max_pos=tuple(transformer.get("connector_positional_embedding_max_pos", [1])),
            rope_layout=layout,
            rope_float64=transformer.get("frequencies_precision", False) == "float64",
            gated=bool(transformer.get("connector_apply_gated_attention", False)),
        )
        if norm == TOKEN_RMS:
            # the V2 projections output the DiT's own widths; the connectors must run at those widths
            for side, conn, h, d in (
                ("video", video, "num_attention_heads", "attention_head_dim"),
                ("audio", audio, "audio_num_attention_heads", "audio_attention_head_dim"),
            ):
                dit = transformer.get(h, 32) * transformer.get(d, 128 if side == "video" else 64)
                if dit != conn.width:
                    raise TextConfigError(
                        f"transformer config: {side} connector width {conn.width} != transformer {side} width {dit}"
                    )
        config.validate()
        return config

    def validate(self) -> None:
        """Check the widths fit together (V1 shares one projection of width gemma_width for both connectors)."""
        if self.feature_norm not in (RANGE_NORM, TOKEN_RMS):
            raise TextConfigError(f"text config: unknown feature_norm {self.feature_norm!r}")
        if self.feature_norm == RANGE_NORM:
            for side, conn in (("video", self.video), ("audio", self.audio)):
                if conn.width != self.gemma_width:
                    raise TextConfigError(
                        f"text config: {side} connector width {conn.width} != caption_channels {self.gemma_width} "
                        "(LTX-2 feeds the same projected features to both connectors)"
                    )
        if len(self.rope_max_pos) != 1:
            raise TextConfigError(f"text config: connector positions are 1-D, got max_pos {list(self.rope_max_pos)}")

    @staticmethod
    def tiny_19b() -> TextConfig:
        """A tiny LTX-2-style (V1) configuration for tests: Gemma width 8 x 3 layers, 2-head connectors."""
        conn = ConnectorConfig(heads=2, head_dim=4, layers=2)
        return TextConfig(RANGE_NORM, conn, conn, gemma_width=8, gemma_layers=3, registers=4, rope_max_pos=(16,),
                          rope_layout="split", rope_float64=True)  # fmt: skip

    @staticmethod
    def tiny_22b() -> TextConfig:
        """A tiny LTX-2.3-style (V2) configuration for tests: gated connectors of widths 8 (video) and 4 (audio)."""
        return TextConfig(TOKEN_RMS, ConnectorConfig(2, 4, 2), ConnectorConfig(2, 2, 2), gemma_width=12,
                          gemma_layers=3, registers=4, rope_max_pos=(16,), rope_layout="split", rope_float64=True,
                          gated=True)  # fmt: skip
