"""TransformerConfig: the shape and numerics of the LTX-2 audio+video DiT, read from checkpoint metadata."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from ltxflow.errors import LtxflowError



class TransformerConfigError(LtxflowError, ValueError):
    """A checkpoint `transformer` section this implementation cannot build."""


# Keys the reference insists on: a checkpoint whose `transformer` section holds any other value describes a model
# this code does not implement. `None` as expected value means "absent or null".
_FIXED_VALUES: dict[str, Any] = {
    "dropout": 0.0,
    "attention_bias": True,
    "num_vector_embeds": None,
    "activation_fn": "gelu-approximate",
    "num_embeds_ada_norm": 1000,
    "use_linear_projection": False,
    "only_cross_attention": False,
    "cross_attention_norm": True,
    "double_self_attention": False,
    "upcast_attention": False,
    "standardization_norm": "rms_norm",
    "norm_elementwise_affine": False,
    "qk_norm": "rms_norm",
    "positional_embedding_type": "rope",
    "use_audio_video_cross_attention": True,
    "share_ff": False,
    "av_cross_ada_norm": True,
    "use_middle_indices_grid": True,
}

# Keys present in shipped `transformer` sections that describe other parts (text connectors, latent positions,
# attention backend) or nothing at all for the DiT; they are accepted and not read here.
_NOT_OURS = frozenset({
    "_class_name", "_diffusers_version", "attention_type", "causal_temporal_positioning", "norm_num_groups",
    "use_embeddings_connector", "text_encoder_norm_type", "caption_proj_input_norm",
    "caption_projection_first_linear", "caption_projection_second_linear",
})
_NOT_OURS_PREFIXES = ("connector_", "audio_connector_")


@dataclass(frozen=True)
class TransformerConfig:
    """Everything that decides the DiT's parameters and numerics (field names follow the checkpoint metadata)."""

    num_layers: int = 48
    num_attention_heads: int = 32  # video heads
    attention_head_dim: int = 128  # video head width; video width D_v = heads * head_dim
    in_channels: int = 128  # video latent channels per token
    out_channels: int = 128
    cross_attention_dim: int = 4096  # video text-context width seen by attn2 (must equal D_v)
    audio_num_attention_heads: int = 32  # also the head count of both AV cross-attentions
    audio_attention_head_dim: int = 64  # audio width D_a = heads * head_dim
    audio_in_channels: int = 128  # 8 latent channels x 16 mel bins
    audio_out_channels: int = 128
    audio_cross_attention_dim: int = 2048  # audio text-context width (must equal D_a); also the AV RoPE width
    caption_channels: int | None = None  # text-encoder width fed to the caption projections (19B only)
    norm_eps: float = 1e-6
    positional_embedding_theta: float = 10000.0
    positional_embedding_max_pos: tuple[int, ...] = (20, 2048, 2048)  # (seconds, px, px) that map to +1
    audio_positional_embedding_max_pos: tuple[int, ...] = (20,)  # seconds
    timestep_scale_multiplier: float = 1000.0  # sigma in [0,1] -> embedder input in [0,1000]
    av_ca_timestep_scale_multiplier: float = 1.0  # reference default 1; shipped checkpoints say 1000
    rope_type: str = "interleaved"  # "split" (shipped) or "interleaved" (reference default)
    double_precision_rope: bool = False  # metadata frequencies_precision == "float64": ladder built in float64
    apply_gated_attention: bool = False  # 22B: per-head sigmoid gates on every attention
    cross_attention_adaln: bool = False  # 22B: text cross-attention modulated by AdaLN and the prompt sigma
    caption_proj_before_connector: bool = False  # 22B: no caption projection inside the DiT

    def __post_init__(self) -> None:
        if self.rope_type not in ("split", "interleaved"):
            raise TransformerConfigError(f"transformer.rope_type: {self.rope_type!r} is not 'split' or 'interleaved'")
        if self.cross_attention_dim != self.video_dim:
            raise TransformerConfigError(f"transformer.cross_attention_dim: {self.cross_attention_dim} must equal "
                             f"num_attention_heads*attention_head_dim = {self.video_dim}")
        if self.audio_cross_attention_dim != self.audio_dim:
            raise TransformerConfigError(f"transformer.audio_cross_attention_dim: {self.audio_cross_attention_dim} must equal "
                             f"audio_num_attention_heads*audio_attention_head_dim = {self.audio_dim}")
        if not self.caption_proj_before_connector and not self.caption_channels:
            raise TransformerConfigError("transformer.caption_channels: required when caption_proj_before_connector is false")
        if len(self.positional_embedding_max_pos) != 3 or len(self.audio_positional_embedding_max_pos) != 1:
            raise TransformerConfigError("transformer.positional_embedding_max_pos needs 3 entries and "
                             "audio_positional_embedding_max_pos 1")
        if self.rope_type == "split":
            for name, width, heads in (("video", self.video_dim, self.num_attention_heads),
                                       ("audio", self.audio_dim, self.audio_num_attention_heads),
                                       ("video AV", self.audio_cross_attention_dim, self.num_attention_heads),
                                       ("audio AV", self.audio_cross_attention_dim, self.audio_num_attention_heads)):
                if width % (2 * heads):
                    raise TransformerConfigError(f"transformer: split RoPE needs the {name} width {width} to split into "
                                     f"{heads} heads of even width")

    # ---------------------------------------------------------------------------------------------- derived sizes
    @property
    def video_dim(self) -> int:
        """Video hidden width D_v."""
        return self.num_attention_heads * self.attention_head_dim

    @property
    def audio_dim(self) -> int:
        """Audio hidden width D_a."""
        return self.audio_num_attention_heads * self.audio_attention_head_dim

    @property
    def adaln_rows(self) -> int:
        """Rows K of each block's modulation table: 6, or 9 with cross-attention AdaLN."""
        return 9 if self.cross_attention_adaln else 6

    @property
    def cross_max_pos(self) -> int:
        """Temporal extent used by the AV cross-attention RoPE (the larger of the two time ranges)."""
        return max(self.positional_embedding_max_pos[0], self.audio_positional_embedding_max_pos[0])

    # ---------------------------------------------------------------------------------------------- constructors
    @classmethod
    def from_metadata(cls, section: dict[str, Any]) -> TransformerConfig:
        """Build from a checkpoint's `config["transformer"]` dict; unsupported or unknown entries raise."""
        if not isinstance(section, dict):
            raise TransformerConfigError(f"transformer config: expected a dict, got {type(section).__name__}")
        for key, expected in _FIXED_VALUES.items():
            actual = section.get(key)
            if actual != expected or (isinstance(expected, bool) and not isinstance(actual, bool)):
                raise TransformerConfigError(f"transformer.{key}: is {actual!r}, only {expected!r} is supported")
        names = {f.name for f in fields(cls)} - {"double_precision_rope"}
        unknown = sorted(k for k in section if k not in names and k not in _FIXED_VALUES and k not in _NOT_OURS
                         and k != "frequencies_precision" and not k.startswith(_NOT_OURS_PREFIXES))
        if unknown:
            raise TransformerConfigError(f"transformer config: unknown keys {unknown}")
        precision = section.get("frequencies_precision", False)
        if precision not in (False, None, "float32", "float64"):
            raise TransformerConfigError(f"transformer.frequencies_precision: {precision!r} is not 'float32' or 'float64'")
        values: dict[str, Any] = {"double_precision_rope": precision == "float64"}
        for f in fields(cls):
            if f.name not in section:
                continue
            values[f.name] = _checked(f.name, section[f.name], f.default)
        return cls(**values)

    @classmethod
    def ltx2_19b(cls) -> TransformerConfig:
        """The shipped LTX-2 19B transformer."""
        return cls(caption_channels=3840, av_ca_timestep_scale_multiplier=1000.0, rope_type="split",
                   double_precision_rope=True)

    @classmethod
    def ltx23_22b(cls) -> TransformerConfig:
        """The shipped LTX-2.3 22B transformer."""
        return cls(caption_channels=3840, av_ca_timestep_scale_multiplier=1000.0, rope_type="split",
                   double_precision_rope=True, apply_gated_attention=True, cross_attention_adaln=True,
                   caption_proj_before_connector=True)

    @classmethod
    def tiny_19b(cls) -> TransformerConfig:
        """A 2-layer 19B-style model (widths 16 / 8) for CPU tests."""
        return cls(num_layers=2, num_attention_heads=2, attention_head_dim=8, cross_attention_dim=16,
                   audio_num_attention_heads=2, audio_attention_head_dim=4, audio_cross_attention_dim=8,
                   caption_channels=12, av_ca_timestep_scale_multiplier=1000.0, rope_type="split",
                   double_precision_rope=True)

    @classmethod
    def tiny_22b(cls) -> TransformerConfig:
        """A 2-layer 22B-style model (gates, cross-attention AdaLN, no caption projection) for CPU tests."""
        return cls(num_layers=2, num_attention_heads=2, attention_head_dim=8, cross_attention_dim=16,
                   audio_num_attention_heads=2, audio_attention_head_dim=4, audio_cross_attention_dim=8,
                   caption_channels=12, av_ca_timestep_scale_multiplier=1000.0, rope_type="split",
                   double_precision_rope=True, apply_gated_attention=True, cross_attention_adaln=True,
                   caption_proj_before_connector=True)

    def to_metadata(self) -> dict[str, Any]:
        """The `transformer` metadata section that `from_metadata` reads back to this config."""
        out: dict[str, Any] = dict(_FIXED_VALUES)
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "double_precision_rope":
                out["frequencies_precision"] = "float64" if value else "float32"
            else:
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


def _checked(name: str, value: Any, default: Any) -> Any:
    """Validate one metadata value against the type of the field's default."""
    if name == "caption_channels":
        default = 0
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise TransformerConfigError(f"transformer.{name}: expected true/false, got {value!r}")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, int) and v > 0 for v in value):
            raise TransformerConfigError(f"transformer.{name}: expected a list of positive integers, got {value!r}")
        return tuple(value)
    if isinstance(default, int):
        if name == "caption_channels" and value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise TransformerConfigError(f"transformer.{name}: expected a positive integer, got {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise TransformerConfigError(f"transformer.{name}: expected a positive number, got {value!r}")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise TransformerConfigError(f"transformer.{name}: expected a string, got {value!r}")
        return value
    raise AssertionError(f"no check for field {name}")
