"""RoPE positions of latent tokens: [start, end) bounds in seconds (time) and pixels (space)."""

from __future__ import annotations

from fractions import Fraction

import torch

from ltxflow.engine.latents.shapes import (
    AUDIO_HOP,
    AUDIO_SAMPLE_RATE,
    AUDIO_TIME_STRIDE,
    VIDEO_SPACE_STRIDE,
    VIDEO_TIME_STRIDE,
    AudioLatentShape,
    LatentShapeError,
    VideoLatentShape,
)


def video_positions(
    shape: VideoLatentShape,
    fps: Fraction | float | int,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Per-token bounds (B, 3, F*H*W, 2): time in seconds (causal first frame), y/x in pixels.

    The reference pipelines store these in bf16 (`dtype=torch.bfloat16`); the cast happens last, after the
    division by fps in fp32, exactly as there.
    """
    if fps <= 0:
        raise LatentShapeError(f"fps must be > 0, got {fps}")
    f = torch.arange(shape.frames, device=device)  # (F,)
    h = torch.arange(shape.height, device=device)  # (H,)
    w = torch.arange(shape.width, device=device)  # (W,)
    # causal VAE: latent frame 0 holds pixel frame 0 alone, frame f>=1 holds pixel frames 8f-7 .. 8f
    t_start = (f * VIDEO_TIME_STRIDE + 1 - VIDEO_TIME_STRIDE).clamp(min=0)  # (F,)
    t_end = (f * VIDEO_TIME_STRIDE + 1).clamp(min=0)  # (F,)
    t = torch.stack([t_start, t_end], dim=-1).float() / float(fps)  # (F, 2) seconds
    y = torch.stack([h, h + 1], dim=-1).float() * VIDEO_SPACE_STRIDE  # (H, 2) pixels
    x = torch.stack([w, w + 1], dim=-1).float() * VIDEO_SPACE_STRIDE  # (W, 2) pixels
    grid = (shape.frames, shape.height, shape.width, 2)
    axes = torch.stack(
        [
            t[:, None, None, :].expand(grid),
            y[None, :, None, :].expand(grid),
            x[None, None, :, :].expand(grid),
        ]
    )  # (3, F, H, W, 2)
    bounds = axes.reshape(3, -1, 2)  # (3, T, 2) token order f, h, w
    return bounds.unsqueeze(0).expand(shape.batch, -1, -1, -1).to(dtype).contiguous()  # (B, 3, T, 2)


def audio_positions(shape: AudioLatentShape, device: torch.device | str | None = None) -> torch.Tensor:
    """Per-token bounds (B, 1, A, 2) in seconds, fp32 (never cast: the reference keeps audio positions fp32)."""
    i = torch.arange(shape.frames + 1, dtype=torch.float32, device=device)  # (A+1,) latent frame edges
    mel = (i * AUDIO_TIME_STRIDE + 1 - AUDIO_TIME_STRIDE).clamp(min=0)  # causal: first mel frame fully seen
    edges = mel * AUDIO_HOP / AUDIO_SAMPLE_RATE  # (A+1,) seconds
    bounds = torch.stack([edges[:-1], edges[1:]], dim=-1)  # (A, 2)
    return bounds[None, None].expand(shape.batch, 1, -1, -1).contiguous()  # (B, 1, A, 2)
