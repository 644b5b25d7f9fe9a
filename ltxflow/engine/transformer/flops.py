"""FLOPs of one transformer forward (the formula documented in model.py), for benchmarks and MFU."""

from __future__ import annotations

from ltxflow.engine.transformer.config import TransformerConfig
from ltxflow.engine.transformer.timestep import SINUSOID_CHANNELS


def block_linear_flops(config: TransformerConfig, n_video: int, n_audio: int, n_text: int) -> int:
    """Matmul FLOPs of the linear layers of one block."""
    dv, da, dx = config.video_dim, config.audio_dim, config.audio_dim
    flops = n_video * (28 * dv * dv + 8 * dv * dx) + n_audio * (28 * da * da + 8 * da * dx)
    flops += n_text * (4 * dv * config.cross_attention_dim + 4 * da * config.audio_cross_attention_dim)
    if config.apply_gated_attention:  # gate logits of the 3 attentions each stream queries
        flops += 3 * 2 * (n_video * dv * config.num_attention_heads + n_audio * da * config.audio_num_attention_heads)
    return flops


def block_attention_flops(config: TransformerConfig, n_video: int, n_audio: int, n_text: int) -> int:
    """Score and value FLOPs (QK^T and PV) of the attentions of one block."""
    dv, da, dx = config.video_dim, config.audio_dim, config.audio_dim
    return (4 * n_video * n_video * dv + 4 * n_video * n_text * dv + 4 * n_audio * n_audio * da
            + 4 * n_audio * n_text * da + 8 * n_video * n_audio * dx)


def adaln_flops(config: TransformerConfig, n_video: int, n_audio: int) -> int:
    """Per-token sigma MLP and modulation projection FLOPs for both streams."""
    k = config.adaln_rows
    per = lambda d: 2 * SINUSOID_CHANNELS * d + 2 * d * d + 2 * k * d * d  # noqa: E731
    return n_video * per(config.video_dim) + n_audio * per(config.audio_dim)


def forward_flops(config: TransformerConfig, n_video: int, n_audio: int, n_text: int) -> int:
    """FLOPs (2 x multiply-adds) of one batch-1 forward with dense attention over the given token counts."""
    per_block = block_linear_flops(config, n_video, n_audio, n_text) + block_attention_flops(
        config, n_video, n_audio, n_text)
    return config.num_layers * per_block + adaln_flops(config, n_video, n_audio)
