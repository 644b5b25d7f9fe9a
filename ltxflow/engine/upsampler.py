"""Latent upsampler: doubles (or x1.5) a video latent's H and W (or its frames) between sampling stages."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from einops import rearrange
from safetensors import safe_open
from torch import nn

from ltxflow.engine.video_vae.config import VideoVAEError
from ltxflow.engine.video_vae.latent_stats import PerChannelStatistics

GROUPS = 32  # GroupNorm groups throughout
RATIONAL_SCALES = {0.75: (3, 4), 1.5: (3, 2), 2.0: (2, 1), 4.0: (4, 1)}  # scale -> (up, down)
BLUR_TAPS = 5  # binomial anti-alias kernel of the rational resampler


@dataclass(frozen=True)
class UpsamplerConfig:
    """Upsampler architecture, from the upsampler file's own `config` metadata."""

    in_channels: int = 128  # latent channels
    mid_channels: int = 512  # working width (multiple of 32)
    num_blocks_per_stage: int = 4  # res blocks before and after the upsampling
    dims: int = 3  # 3: Conv3d everywhere; 2: every frame on its own
    spatial_upsample: bool = True
    temporal_upsample: bool = False
    spatial_scale: float = 2.0  # only with rational_resampler: one of RATIONAL_SCALES
    rational_resampler: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> UpsamplerConfig:
        """Parse the metadata dict (reference defaults for absent keys; unknown extra keys are ignored)."""
        defaults = cls()
        values = {name: config.get(name, getattr(defaults, name)) for name in cls.__dataclass_fields__}
        for name in ("in_channels", "mid_channels", "num_blocks_per_stage"):
            value = values[name]
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise VideoVAEError(f"upsampler config['{name}'] must be a positive int, got {value!r}")
        for name in ("spatial_upsample", "temporal_upsample", "rational_resampler"):
            if not isinstance(values[name], bool):
                raise VideoVAEError(f"upsampler config['{name}'] must be true or false, got {values[name]!r}")
        cfg = cls(**values)
        if cfg.dims not in (2, 3):
            raise VideoVAEError(f"upsampler config['dims'] = {cfg.dims!r} is not supported (2 or 3)")
        if cfg.mid_channels % GROUPS:
            raise VideoVAEError(f"upsampler config['mid_channels'] = {cfg.mid_channels} is not a multiple of {GROUPS}")
        if not (cfg.spatial_upsample or cfg.temporal_upsample):
            raise VideoVAEError("upsampler config: spatial_upsample or temporal_upsample must be true")
        if cfg.temporal_upsample and cfg.dims != 3:
            raise VideoVAEError("upsampler config: temporal_upsample needs dims = 3")
        if cfg.rational_resampler and float(cfg.spatial_scale) not in RATIONAL_SCALES:
            raise VideoVAEError(
                f"upsampler config['spatial_scale'] = {cfg.spatial_scale!r} is not one of {sorted(RATIONAL_SCALES)}"
            )
        return cfg

    @classmethod
    def tiny(cls, latent_channels: int = 8) -> UpsamplerConfig:
        """A small x2 spatial upsampler for tests."""
        return cls(in_channels=latent_channels, mid_channels=32, num_blocks_per_stage=1)


class _ResBlock(nn.Module):
    """conv -> GN -> SiLU -> conv -> GN, add input, SiLU."""

    def __init__(self, channels: int, dims: int) -> None:
        super().__init__()
        conv = nn.Conv3d if dims == 3 else nn.Conv2d
        self.conv1 = conv(channels, channels, 3, padding=1)
        self.norm1 = nn.GroupNorm(GROUPS, channels)
        self.conv2 = conv(channels, channels, 3, padding=1)
        self.norm2 = nn.GroupNorm(GROUPS, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.norm1(self.conv1(x)))  # (N, C, ...)
        h = self.norm2(self.conv2(h))  # (N, C, ...)
        return F.silu(h + x)  # (N, C, ...)


class _Shuffle(nn.Module):
    """Move channel factors into (t, h, w): `factors` for the axes being upsampled."""

    def __init__(self, pattern: str, factors: dict[str, int]) -> None:
        super().__init__()
        self.pattern = pattern
        self.factors = factors

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rearrange(x, self.pattern, **self.factors)


class _RationalResampler(nn.Module):
    """Per-frame conv + pixel shuffle up by `up`, then binomial blur and stride `down`."""

    def __init__(self, channels: int, scale: float) -> None:
        super().__init__()
        self.up, self.down = RATIONAL_SCALES[float(scale)]
        self.conv = nn.Conv2d(channels, self.up**2 * channels, 3, padding=1)
        self.blur_down = _BlurDown()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, F, H, W) -> (B, C, F, H*up/down, W*up/down)."""
        frames = x.shape[2]
        y = rearrange(x, "b c f h w -> (b f) c h w")  # (B*F, C, H, W)
        y = rearrange(self.conv(y), "n (c u v) h w -> n c (h u) (w v)", u=self.up, v=self.up)  # (B*F, C, uH, uW)
        if self.down > 1:
            kernel = self.blur_down.kernel.to(y).expand(y.shape[1], 1, BLUR_TAPS, BLUR_TAPS)  # (C, 1, 5, 5)
            y = F.conv2d(y, kernel, stride=self.down, padding=BLUR_TAPS // 2, groups=y.shape[1])  # (B*F, C, ., .)
        return rearrange(y, "(b f) c h w -> b c f h w", f=frames)


class _BlurDown(nn.Module):
    """Holds the normalised 5x5 binomial kernel (a checkpoint buffer)."""

    def __init__(self) -> None:
        super().__init__()
        row = torch.tensor([math.comb(BLUR_TAPS - 1, k) for k in range(BLUR_TAPS)], dtype=torch.float32)
        grid = row[:, None] * row[None, :]
        self.register_buffer("kernel", (grid / grid.sum())[None, None])  # (1, 1, 5, 5)


class LatentUpsampler(nn.Module):
    """conv -> GN -> SiLU -> res blocks -> upsample -> res blocks -> conv, on un-normalised latents."""

    def __init__(self, config: UpsamplerConfig) -> None:
        super().__init__()
        self.config = config
        c, mid, dims = config.in_channels, config.mid_channels, config.dims
        conv = nn.Conv3d if dims == 3 else nn.Conv2d
        self.initial_conv = conv(c, mid, 3, padding=1)
        self.initial_norm = nn.GroupNorm(GROUPS, mid)
        self.res_blocks = nn.ModuleList(_ResBlock(mid, dims) for _ in range(config.num_blocks_per_stage))
        if config.spatial_upsample and config.temporal_upsample:
            pattern = "b (c t u v) f h w -> b c (f t) (h u) (w v)"
            self.upsampler = nn.Sequential(nn.Conv3d(mid, 8 * mid, 3, padding=1), _Shuffle(pattern, {"t": 2, "u": 2, "v": 2}))
        elif config.spatial_upsample and config.rational_resampler:
            self.upsampler = _RationalResampler(mid, config.spatial_scale)
        elif config.spatial_upsample:
            pattern = "n (c u v) h w -> n c (h u) (w v)"
            self.upsampler = nn.Sequential(nn.Conv2d(mid, 4 * mid, 3, padding=1), _Shuffle(pattern, {"u": 2, "v": 2}))
        else:
            pattern = "b (c t) f h w -> b c (f t) h w"
            self.upsampler = nn.Sequential(nn.Conv3d(mid, 2 * mid, 3, padding=1), _Shuffle(pattern, {"t": 2}))
        self.post_upsample_res_blocks = nn.ModuleList(
            _ResBlock(mid, dims) for _ in range(config.num_blocks_per_stage)
        )
        self.final_conv = conv(mid, c, 3, padding=1)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        """(B, C, F, H, W) raw latent -> (B, C, F or 2F-1, 2H or 1.5H.., 2W ..)."""
        frames = latent.shape[2]
        per_frame = self.config.dims == 2
        x = rearrange(latent, "b c f h w -> (b f) c h w") if per_frame else latent  # (N, C, [F,] H, W)
        x = F.silu(self.initial_norm(self.initial_conv(x)))  # (N, mid, [F,] H, W)
        for block in self.res_blocks:
            x = block(x)  # (N, mid, [F,] H, W)
        x = self._upsample(x)  # (N, mid, [F',] H', W')
        for block in self.post_upsample_res_blocks:
            x = block(x)  # (N, mid, [F',] H', W')
        x = self.final_conv(x)  # (N, C, [F',] H', W')
        return rearrange(x, "(b f) c h w -> b c f h w", f=frames) if per_frame else x  # (B, C, F', H', W')

    def _upsample(self, x: torch.Tensor) -> torch.Tensor:
        """The resolution change, in whichever layout the configured upsampler wants."""
        cfg = self.config
        if cfg.temporal_upsample:
            return self.upsampler(x)[:, :, 1:]  # (B, mid, 2F-1, ...): the first latent frame stays single
        if cfg.dims == 2 or cfg.rational_resampler:
            return self.upsampler(x)
        frames = x.shape[2]
        y = self.upsampler(rearrange(x, "b c f h w -> (b f) c h w"))  # (B*F, mid, 2H, 2W)
        return rearrange(y, "(b f) c h w -> b c f h w", f=frames)  # (B, mid, F, 2H, 2W)


def build_upsampler(config: Mapping[str, Any], *, device: torch.device | str = "meta") -> LatentUpsampler:
    """Build the upsampler from its file's `config` metadata, on `device` (meta: no init)."""
    parsed = UpsamplerConfig.from_config(config)
    with torch.device(device):
        return LatentUpsampler(parsed)


def load_upsampler(
    path: str | Path, *, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
) -> LatentUpsampler:
    """Load an upsampler .safetensors file strictly (its keys carry no prefix)."""
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            tensors = {key: f.get_tensor(key) for key in f.keys()}
    except Exception as exc:  # safetensors raises several types for foreign/corrupt files
        raise VideoVAEError(f"{path}: not a readable safetensors file ({exc})") from exc
    if "config" not in metadata:
        raise VideoVAEError(f"{path}: no 'config' metadata; is this a latent upsampler file?")
    model = build_upsampler(json.loads(metadata["config"]))
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = sorted(k for k in set(expected) & set(tensors) if tuple(expected[k].shape) != tuple(tensors[k].shape))
    if missing or unexpected or wrong:
        raise VideoVAEError(
            f"{path}: state dict does not fit the upsampler config: missing {missing[:5]} ({len(missing)}), "
            f"unexpected {unexpected[:5]} ({len(unexpected)}), wrong shape {wrong[:5]} ({len(wrong)})"
        )
    state = {k: v.to(device=device, dtype=dtype) for k, v in tensors.items()}
    model.load_state_dict(state, strict=True, assign=True)
    return model.eval()


@torch.inference_mode()
def upsample_latents(
    latents: torch.Tensor, upsampler: LatentUpsampler, stats: PerChannelStatistics
) -> torch.Tensor:
    """Normalised latents (B, C, F, H, W) -> un-normalise -> upsample -> normalise (stats: the VAE encoder's)."""
    raw = stats.un_normalize(latents)  # (B, C, F, H, W)
    return stats.normalize(upsampler(raw))  # (B, C, F', 2H, 2W)
