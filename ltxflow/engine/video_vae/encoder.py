"""Video VAE encoder: RGB clip in [-1, 1] -> normalised latent (x8 time, x32 space for the shipped VAEs)."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ltxflow.engine.video_vae.blocks import ResnetBlock, ResStage, SpaceToDepthDown, patchify, pixel_norm
from ltxflow.engine.video_vae.config import BlockSpec, VideoVAEConfig, VideoVAEError
from ltxflow.engine.video_vae.conv import CausalConv3d
from ltxflow.engine.video_vae.latent_stats import PerChannelStatistics


def _encoder_block(spec: BlockSpec, channels: int, padding: str) -> tuple[nn.Module, int]:
    """Build one encoder block; return it and its output width."""
    if spec.name == "res_x":
        return ResStage(channels, spec.num_layers, padding_mode=padding), channels
    if spec.name == "res_x_y":
        out = channels * spec.multiplier
        return ResnetBlock(channels, out, padding_mode=padding), out
    if spec.name in ("compress_time", "compress_space", "compress_all"):
        return CausalConv3d(channels, channels, stride=spec.stride, spatial_padding_mode=padding), channels
    if spec.name == "compress_all_x_y":
        out = channels * spec.multiplier
        return CausalConv3d(channels, out, stride=spec.stride, spatial_padding_mode=padding), out
    out = channels * spec.multiplier  # compress_*_res
    return SpaceToDepthDown(channels, out, spec.stride, padding_mode=padding), out


class VideoEncoder(nn.Module):
    """Patchify -> causal conv stack with downsampling -> PixelNorm/SiLU/conv -> normalised means."""

    def __init__(self, config: VideoVAEConfig) -> None:
        super().__init__()
        self.config = config
        pad = config.encoder_padding
        self.per_channel_statistics = PerChannelStatistics(config.latent_channels)
        width = config.latent_channels  # the first conv widens the patches to the latent width
        self.conv_in = CausalConv3d(config.in_channels * config.patch_size**2, width, spatial_padding_mode=pad)
        blocks = []
        for spec in config.encoder_blocks:
            block, width = _encoder_block(spec, width, pad)
            blocks.append(block)
        self.down_blocks = nn.ModuleList(blocks)
        # Output = means plus log-variance channel(s); only the means are kept.
        extra = config.latent_channels if config.latent_log_var == "per_channel" else 1
        self.conv_out = CausalConv3d(width, config.latent_channels + extra, spatial_padding_mode=pad)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """(B, 3, F, H, W) in [-1, 1] with F = 1 + k*time_factor -> (B, C, 1 + k, H/32, W/32), normalised."""
        check_video_shape(video.shape, self.config)
        p = self.config.patch_size
        x = patchify(video, p)  # (B, 3*p*p, F, H/p, W/p)
        x = self.conv_in(x)  # (B, C, F, H/p, W/p)
        for block in self.down_blocks:
            x = block(x)  # (B, C_i, F_i, H_i, W_i)
        x = self.conv_out(F.silu(pixel_norm(x)))  # (B, C + extra, F', H', W')
        means = x[:, : self.config.latent_channels]  # (B, C, F', H', W')
        return self.per_channel_statistics.normalize(means)  # (B, C, F', H', W')


def check_video_shape(shape: torch.Size | tuple[int, ...], config: VideoVAEConfig) -> None:
    """Raise a one-line error unless `shape` is (B, in_channels, 1 + k*t, m*s, n*s)."""
    t, s = config.time_factor, config.space_factor
    if len(shape) != 5 or shape[1] != config.in_channels:
        raise VideoVAEError(f"video must be (B, {config.in_channels}, F, H, W), got {tuple(shape)}")
    frames, height, width = shape[2:]
    if (frames - 1) % t:
        raise VideoVAEError(f"video has {frames} frames; the VAE needs 1 + {t}*k frames")
    if height % s or width % s or height == 0 or width == 0:
        raise VideoVAEError(f"video is {height}x{width} (HxW); both must be positive multiples of {s}")


def frames_to_video(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(F, H, W, 3) uint8 [0, 255] or float [-1, 1] -> (1, 3, F, H, W) float32 in [-1, 1]."""
    x = torch.as_tensor(frames)
    if x.dim() != 4 or x.shape[-1] != 3:
        raise VideoVAEError(f"frames must be (F, H, W, 3), got {tuple(x.shape)}")
    if x.dtype == torch.uint8:
        x = x.float() / 127.5 - 1.0  # (F, H, W, 3) in [-1, 1]
    elif x.is_floating_point():
        lo, hi = float(x.min()), float(x.max())
        if lo < -1.0 - 1e-3 or hi > 1.0 + 1e-3:
            raise VideoVAEError(f"float frames must lie in [-1, 1], got values in [{lo:.3f}, {hi:.3f}]")
        x = x.float()
    else:
        raise VideoVAEError(f"frames must be uint8 or float, got {x.dtype}")
    return x.permute(3, 0, 1, 2).unsqueeze(0).contiguous()  # (1, 3, F, H, W)


@torch.inference_mode()
def encode_frames(encoder: VideoEncoder, frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Encode one clip's frames (F, H, W, 3) into a normalised latent (1, C, F', H', W')."""
    param = next(encoder.parameters())
    video = frames_to_video(frames).to(device=param.device, dtype=param.dtype)  # (1, 3, F, H, W)
    return encoder(video)  # (1, C, F', H', W')


def build_encoder(config: Mapping[str, Any], *, device: torch.device | str = "meta") -> VideoEncoder:
    """Build the encoder from checkpoint `config` metadata (with a `vae` section), on `device` (meta: no init)."""
    vae_config = VideoVAEConfig.from_checkpoint_config(config)
    with torch.device(device):
        return VideoEncoder(vae_config)
