"""Video VAE decoder: normalised latent -> RGB clip in [-1, 1] (and uint8 frames)."""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ltxflow.engine.video_vae.blocks import (
    DepthToSpaceUp,
    ResnetBlock,
    ResStage,
    SigmaEmbedder,
    pixel_norm,
    unpatchify,
)
from ltxflow.engine.video_vae.config import BlockSpec, VideoVAEConfig, VideoVAEError
from ltxflow.engine.video_vae.conv import CausalConv3d
from ltxflow.engine.video_vae.latent_stats import PerChannelStatistics

DECODE_TIMESTEP = 0.05  # default timestep of a timestep-conditioned decoder
DECODE_NOISE_SCALE = 0.025  # latent noise mixed in before a timestep-conditioned decode


def _decoder_block(spec: BlockSpec, channels: int, padding: str, conditioned: bool) -> tuple[nn.Module, int]:
    """Build one decoder block; return it and its output width."""
    if spec.name == "res_x":
        return ResStage(channels, spec.num_layers, padding_mode=padding, timestep_conditioning=conditioned), channels
    if spec.name == "res_x_y":
        out = channels // spec.multiplier
        return ResnetBlock(channels, out, padding_mode=padding), out
    out = channels // spec.multiplier  # compress_time / compress_space / compress_all
    up = DepthToSpaceUp(channels, spec.stride, reduction=spec.multiplier, residual=spec.residual, padding_mode=padding)
    return up, out


class VideoDecoder(nn.Module):
    """Un-normalise -> conv_in -> up blocks (reversed checkpoint order) -> PixelNorm/SiLU/conv -> unpatchify."""

    def __init__(self, config: VideoVAEConfig) -> None:
        super().__init__()
        self.config = config
        pad = config.decoder_padding
        conditioned = config.timestep_conditioning
        self.per_channel_statistics = PerChannelStatistics(config.latent_channels)
        width = 8 * config.decoder_base_channels  # the shipped decoders halve this three times
        self.conv_in = CausalConv3d(config.latent_channels, width, spatial_padding_mode=pad)
        blocks = []
        for spec in reversed(config.decoder_blocks):
            block, width = _decoder_block(spec, width, pad, conditioned)
            blocks.append(block)
        self.up_blocks = nn.ModuleList(blocks)
        self.conv_out = CausalConv3d(width, config.out_channels * config.patch_size**2, spatial_padding_mode=pad)
        if conditioned:
            self.timestep_scale_multiplier = nn.Parameter(torch.empty(()))
            self.last_time_embedder = SigmaEmbedder(2 * width)
            self.last_scale_shift_table = nn.Parameter(torch.empty(2, width))  # rows: shift, scale

    def forward(
        self,
        latent: torch.Tensor,
        timestep: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """(B, C, F', H', W') normalised -> (B, 3, 1 + t*(F'-1), s*H', s*W') in about [-1, 1]."""
        causal = self.config.causal_decoder
        batch = latent.shape[0]
        t = None
        if self.config.timestep_conditioning:
            noise = torch.randn(latent.size(), generator=generator, dtype=latent.dtype, device=latent.device)
            latent = noise * DECODE_NOISE_SCALE + (1.0 - DECODE_NOISE_SCALE) * latent  # (B, C, F', H', W')
            if timestep is None:
                timestep = torch.full((batch,), DECODE_TIMESTEP, device=latent.device, dtype=latent.dtype)
        x = self.per_channel_statistics.un_normalize(latent)  # (B, C, F', H', W')
        x = self.conv_in(x, causal=causal)  # (B, 8*base, F', H', W')
        if self.config.timestep_conditioning:
            t = timestep * self.timestep_scale_multiplier.to(x)  # (B,)
        for block in self.up_blocks:
            if isinstance(block, ResStage):
                x = block(x, causal=causal, t=t)  # (B, C_i, F_i, H_i, W_i)
            else:
                x = block(x, causal=causal)  # (B, C_i, F_i, H_i, W_i)
        x = pixel_norm(x)  # (B, base, F, H/p, W/p)
        if self.config.timestep_conditioning:
            emb = self.last_time_embedder(t.flatten(), x.dtype).view(batch, 2, -1)  # (B, 2, base)
            mod = self.last_scale_shift_table[None].to(x) + emb  # (B, 2, base)
            shift, scale = (m[:, :, None, None, None] for m in mod.unbind(dim=1))  # (B, base, 1, 1, 1)
            x = x * (1 + scale) + shift  # (B, base, F, H/p, W/p)
        x = self.conv_out(F.silu(x), causal=causal)  # (B, 3*p*p, F, H/p, W/p)
        p = self.config.patch_size
        return unpatchify(x, p)  # (B, 3, F, H, W)


def video_to_frames(video: torch.Tensor) -> torch.Tensor:
    """(1, 3, F, H, W) in [-1, 1] -> (F, H, W, 3) uint8 (truncating, as the reference does)."""
    if video.dim() != 5 or video.shape[0] != 1:
        raise VideoVAEError(f"expected one decoded clip (1, 3, F, H, W), got {tuple(video.shape)}")
    frames = (((video[0] + 1.0) / 2.0).clamp(0.0, 1.0) * 255.0).to(torch.uint8)  # (3, F, H, W)
    return frames.permute(1, 2, 3, 0).contiguous()  # (F, H, W, 3)


@torch.inference_mode()
def decode_to_frames(
    decoder: VideoDecoder, latent: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Decode one normalised latent (1, C, F', H', W') or (C, F', H', W') into (F, H, W, 3) uint8 frames."""
    if latent.dim() == 4:
        latent = latent.unsqueeze(0)  # (1, C, F', H', W')
    param = next(decoder.parameters())
    video = decoder(latent.to(device=param.device, dtype=param.dtype), generator=generator)  # (1, 3, F, H, W)
    return video_to_frames(video.float())


def build_decoder(config: Mapping[str, Any], *, device: torch.device | str = "meta") -> VideoDecoder:
    """Build the decoder from checkpoint `config` metadata (with a `vae` section), on `device` (meta: no init)."""
    vae_config = VideoVAEConfig.from_checkpoint_config(config)
    with torch.device(device):
        return VideoDecoder(vae_config)
