"""Gemma hidden states (B, T, D, L) -> normalised, flattened multi-layer features -> projected text features."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ltxflow.engine.text.config import TextConfig

_EPS = 1e-6


def range_norm_features(hidden: Tensor, mask: Tensor) -> Tensor:
    """V1: per (sample, layer) 8 (x - mean) / (max - min) over valid tokens; (B, T, D, L) -> (B, T, D*L), pads 0."""
    b, t, d, l = hidden.shape  # noqa: E741
    valid = mask.bool().view(b, t, 1, 1)  # (B, T, 1, 1)
    count = mask.sum(dim=-1).view(b, 1, 1, 1)  # (B, 1, 1, 1) valid tokens
    mean = hidden.masked_fill(~valid, 0.0).sum(dim=(1, 2), keepdim=True) / (count * d + _EPS)  # (B, 1, 1, L)
    low = hidden.masked_fill(~valid, float("inf")).amin(dim=(1, 2), keepdim=True)  # (B, 1, 1, L)
    high = hidden.masked_fill(~valid, float("-inf")).amax(dim=(1, 2), keepdim=True)  # (B, 1, 1, L)
    normed = 8 * (hidden - mean) / (high - low + _EPS)  # (B, T, D, L)
    flat = normed.reshape(b, t, d * l)  # (B, T, D*L), index d*L + l
    return flat.masked_fill(~valid.view(b, t, 1), 0.0)


def token_rms_features(hidden: Tensor, mask: Tensor) -> Tensor:
    """V2: per token and layer x / rms(x) over D; (B, T, D, L) -> (B, T, D*L), pads 0."""
    b, t, d, l = hidden.shape  # noqa: E741
    normed = hidden * torch.rsqrt(hidden.pow(2).mean(dim=2, keepdim=True) + _EPS)  # (B, T, D, L)
    flat = normed.reshape(b, t, d * l)  # (B, T, D*L)
    return torch.where(mask.bool().unsqueeze(-1), flat, torch.zeros_like(flat))


class RangeNormFeatures(nn.Module):
    """LTX-2 (19B) extractor: range norm, one bias-free projection to gemma_width shared by video and audio."""

    def __init__(self, config: TextConfig) -> None:
        super().__init__()
        self.aggregate_embed = nn.Linear(config.flat_width, config.gemma_width, bias=False)

    def forward(self, hidden: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """hidden (B, T, D, L), mask (B, T) -> (video, audio) features, both the same (B, T, D)."""
        features = self.aggregate_embed(range_norm_features(hidden, mask).to(hidden.dtype))  # (B, T, D)
        return features, features


class TokenRmsFeatures(nn.Module):
    """LTX-2.3 (22B) extractor: per-token RMS, rescaled by sqrt(out/D), separate video / audio projections."""

    def __init__(self, config: TextConfig) -> None:
        super().__init__()
        self.gemma_width = config.gemma_width
        self.video_aggregate_embed = nn.Linear(config.flat_width, config.video.width)
        self.audio_aggregate_embed = nn.Linear(config.flat_width, config.audio.width)

    def forward(self, hidden: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """hidden (B, T, D, L), mask (B, T) -> video (B, T, Dv), audio (B, T, Da)."""
        flat = token_rms_features(hidden, mask).to(hidden.dtype)  # (B, T, D*L)
        outs = []
        for proj in (self.video_aggregate_embed, self.audio_aggregate_embed):
            outs.append(proj(flat * math.sqrt(proj.out_features / self.gemma_width)))  # (B, T, D_out)
        return outs[0], outs[1]
