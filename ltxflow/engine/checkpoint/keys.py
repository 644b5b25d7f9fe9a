"""Checkpoint key routing as data: which file key feeds which component under which of our names."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ltxflow.engine.checkpoint.errors import CheckpointError

COMFY_PREFIX = "model.diffusion_model."  # the official single file uses ComfyUI's transformer prefix


@dataclass(frozen=True)
class Drop:
    """File keys matching `pattern` (full match) are known to be unused and are dropped on purpose."""

    name: str
    pattern: str
    reason: str


@dataclass(frozen=True)
class Rule:
    """File keys starting with `prefix` (and whose rest matches `only`) go to `components`, renamed."""

    name: str
    components: tuple[str, ...]  # a key may feed several components (shared VAE statistics)
    prefix: str
    becomes: str = ""  # replaces `prefix` in our key
    only: str = ""  # regex the rest of the key must match at its start ("" = anything)
    renames: tuple[tuple[str, str], ...] = ()  # (regex, replacement) applied to the rest, in order

    def apply(self, key: str) -> str | None:
        """Our key for `key`, or None when this rule does not claim it."""
        if not key.startswith(self.prefix):
            return None
        rest = key[len(self.prefix) :]
        if self.only and not re.match(self.only, rest):
            return None
        for pattern, replacement in self.renames:
            rest = re.sub(pattern, replacement, rest)
        return self.becomes + rest


# ---------------------------------------------------------------------------------------------------------------------
# Renames: diffusers names -> ours (= ltx-core's). Anchored on whole name segments so ours pass through unchanged.

DIFFUSERS_TRANSFORMER_RENAMES: tuple[tuple[str, str], ...] = (
    (r"^proj_in\.", "patchify_proj."),
    (r"^audio_proj_in\.", "audio_patchify_proj."),
    (r"^time_embed\.", "adaln_single."),
    (r"^audio_time_embed\.", "audio_adaln_single."),
    (r"^prompt_adaln\.", "prompt_adaln_single."),
    (r"^audio_prompt_adaln\.", "audio_prompt_adaln_single."),
    (r"^av_cross_attn_video_scale_shift\.", "av_ca_video_scale_shift_adaln_single."),
    (r"^av_cross_attn_audio_scale_shift\.", "av_ca_audio_scale_shift_adaln_single."),
    (r"^av_cross_attn_video_a2v_gate\.", "av_ca_a2v_gate_adaln_single."),
    (r"^av_cross_attn_audio_v2a_gate\.", "av_ca_v2a_gate_adaln_single."),
    (r"\.video_a2v_cross_attn_scale_shift_table$", ".scale_shift_table_a2v_ca_video"),
    (r"\.audio_a2v_cross_attn_scale_shift_table$", ".scale_shift_table_a2v_ca_audio"),
    (r"\.norm_q\.", ".q_norm."),
    (r"\.norm_k\.", ".k_norm."),
)

DIFFUSERS_CONNECTOR_RENAMES: tuple[tuple[str, str], ...] = (
    (r"^transformer_blocks\.", "transformer_1d_blocks."),
    (r"\.norm_q\.", ".q_norm."),
    (r"\.norm_k\.", ".k_norm."),
)

# Top-level transformer modules under either naming, for files that carry no prefix at all.
_BARE_TRANSFORMER = (
    r"(scale_shift_table|audio_scale_shift_table|transformer_blocks|proj_out|audio_proj_out"
    r"|patchify_proj|audio_patchify_proj|proj_in|audio_proj_in|caption_projection|audio_caption_projection"
    r"|adaln_single|audio_adaln_single|time_embed|audio_time_embed"
    r"|prompt_adaln_single|audio_prompt_adaln_single|prompt_adaln|audio_prompt_adaln"
    r"|av_ca_\w+_adaln_single|av_cross_attn_\w+)(\.|$)"
)
_AGGREGATE = r"(aggregate_embed|video_aggregate_embed|audio_aggregate_embed)\."

# ---------------------------------------------------------------------------------------------------------------------
# The table. Drops are tried first, then rules in order; the first rule that claims a key wins.

DROPS: tuple[Drop, ...] = (
    Drop(
        "unused-latent-statistics",
        r"(audio_)?vae\.per_channel_statistics\.(channel|mean-of-stds|mean-of-stds_over_std-of-means)",
        "VAE statistics the model never reads (only mean-of-means and std-of-means are used)",
    ),
)

RULES: tuple[Rule, ...] = (
    # official single file (ComfyUI layout)
    Rule("video-connector", ("text_embeddings",), COMFY_PREFIX + "video_embeddings_connector.", "video_connector."),
    Rule("audio-connector", ("text_embeddings",), COMFY_PREFIX + "audio_embeddings_connector.", "audio_connector."),
    Rule("feature-extractor", ("text_embeddings",), "text_embedding_projection.", "feature_extractor.", _AGGREGATE),
    Rule("transformer", ("transformer",), COMFY_PREFIX),
    Rule("video-encoder", ("video_encoder",), "vae.encoder."),
    Rule("video-decoder", ("video_decoder",), "vae.decoder."),
    Rule(
        "video-latent-statistics",
        ("video_encoder", "video_decoder"),
        "vae.per_channel_statistics.",
        "per_channel_statistics.",
    ),
    Rule("audio-encoder", ("audio_encoder",), "audio_vae.encoder."),
    Rule("audio-decoder", ("audio_decoder",), "audio_vae.decoder."),
    Rule(
        "audio-latent-statistics",
        ("audio_encoder", "audio_decoder"),
        "audio_vae.per_channel_statistics.",
        "per_channel_statistics.",
    ),
    Rule("vocoder", ("vocoder",), "vocoder."),  # strips one level: 2.3's `vocoder.vocoder.*` keeps its inner name
    Rule("tiny-text-encoder", ("tiny_text_encoder",), "ltxflow_text_encoder."),  # our embedded tiny checkpoint
    # prefix-less files: a bare transformer (ltx-core or diffusers names) and diffusers' text connectors
    Rule("bare-transformer", ("transformer",), "", only=_BARE_TRANSFORMER, renames=DIFFUSERS_TRANSFORMER_RENAMES),
    Rule("diffusers-text-proj", ("text_embeddings",), "text_proj_in.", "feature_extractor.aggregate_embed."),
    Rule(
        "diffusers-video-text-proj",
        ("text_embeddings",),
        "video_text_proj_in.",
        "feature_extractor.video_aggregate_embed.",
    ),
    Rule(
        "diffusers-audio-text-proj",
        ("text_embeddings",),
        "audio_text_proj_in.",
        "feature_extractor.audio_aggregate_embed.",
    ),
    Rule("bare-video-connector", ("text_embeddings",), "video_connector.", "video_connector.",
         renames=DIFFUSERS_CONNECTOR_RENAMES),
    Rule("bare-audio-connector", ("text_embeddings",), "audio_connector.", "audio_connector.",
         renames=DIFFUSERS_CONNECTOR_RENAMES),
)


def _preview(items: list[str], limit: int = 5) -> str:
    """First few items and the total count, for one-line errors."""
    shown = ", ".join(items[:limit])
    return f"{shown} (+{len(items) - limit} more)" if len(items) > limit else shown


def drop_rule(key: str, drops: tuple[Drop, ...] = DROPS) -> Drop | None:
    """The drop rule that discards `key`, if any."""
    return next((d for d in drops if re.fullmatch(d.pattern, key)), None)


def route(
    keys: Iterable[str], rules: tuple[Rule, ...] = RULES, drops: tuple[Drop, ...] = DROPS
) -> dict[str, dict[str, str]]:
    """Assign every file key to its component(s): {component: {our_key: file_key}}; unclaimed keys are an error."""
    table: dict[str, dict[str, str]] = {}
    unrouted: list[str] = []
    clashes: list[str] = []
    for key in sorted(keys):
        if drop_rule(key, drops) is not None:
            continue
        rule, ours = next(((r, o) for r in rules if (o := r.apply(key)) is not None), (None, None))
        if rule is None or ours is None:
            unrouted.append(key)
            continue
        for component in rule.components:
            routed = table.setdefault(component, {})
            if ours in routed:
                clashes.append(f"{routed[ours]} and {key} -> {component}.{ours}")
            routed[ours] = key
    if unrouted:
        raise CheckpointError(f"{len(unrouted)} checkpoint key(s) match no routing rule: {_preview(unrouted)}")
    if clashes:
        raise CheckpointError(f"{len(clashes)} checkpoint key(s) collide after renaming: {_preview(clashes, 3)}")
    return table
