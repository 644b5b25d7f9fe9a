"""Latent grids <-> token sequences (patch size 1: one token per video cell / audio frame)."""

from __future__ import annotations

import torch
from einops import rearrange

from ltxflow.engine.latents.shapes import AudioLatentShape, VideoLatentShape


def patchify_video(latent: torch.Tensor) -> torch.Tensor:
    """(B, C, F, H, W) -> (B, F*H*W, C), frame-major then row then column."""
    return rearrange(latent, "b c f h w -> b (f h w) c")


def unpatchify_video(tokens: torch.Tensor, shape: VideoLatentShape) -> torch.Tensor:
    """(B, F*H*W, C) -> (B, C, F, H, W)."""
    return rearrange(tokens, "b (f h w) c -> b c f h w", f=shape.frames, h=shape.height, w=shape.width)


def patchify_audio(latent: torch.Tensor) -> torch.Tensor:
    """(B, C, A, M) -> (B, A, C*M), channel-major features per frame."""
    return rearrange(latent, "b c t m -> b t (c m)")


def unpatchify_audio(tokens: torch.Tensor, shape: AudioLatentShape) -> torch.Tensor:
    """(B, A, C*M) -> (B, C, A, M)."""
    return rearrange(tokens, "b t (c m) -> b c t m", c=shape.channels, m=shape.mel_bins)
