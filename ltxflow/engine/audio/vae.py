"""LTX-2 audio VAE: causal 2-D conv encoder/decoder between (B, 2, T, 64) log-mel and (B, 8, T', 16) latents."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ltxflow.engine.audio.config import AudioError, AudioVAEConfig

PIXEL_NORM_EPS = 1e-6  # audio VAE RMS-norm epsilon (the video VAE uses 1e-8)
STD_KEY = "std-of-means"  # latent statistics buffer names, as the checkpoint spells them
MEAN_KEY = "mean-of-means"


class PixelNorm(nn.Module):
    """x / sqrt(mean over channels of x^2 + eps), per time-frequency cell."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + PIXEL_NORM_EPS)  # (B, C, T, F)


class CausalConv2d(nn.Module):
    """Conv2d whose time axis (dim 2) only looks back: pad (k-1) rows before, frequency padded evenly."""

    def __init__(self, c_in: int, c_out: int, kernel: int) -> None:
        super().__init__()
        side = kernel - 1
        self.pad = (side // 2, side - side // 2, side, 0)  # (freq left, freq right, time before, time after)
        self.conv = nn.Conv2d(c_in, c_out, kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, self.pad))  # (B, C_out, T, F)


class ResnetBlock(nn.Module):
    """norm -> SiLU -> conv -> norm -> SiLU -> conv, plus a 1x1 shortcut when the width changes."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.norm1 = PixelNorm()
        self.conv1 = CausalConv2d(c_in, c_out, 3)
        self.norm2 = PixelNorm()
        self.conv2 = CausalConv2d(c_out, c_out, 3)
        self.nin_shortcut = CausalConv2d(c_in, c_out, 1) if c_in != c_out else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))  # (B, C_out, T, F)
        h = self.conv2(F.silu(self.norm2(h)))  # (B, C_out, T, F)
        skip = x if self.nin_shortcut is None else self.nin_shortcut(x)  # (B, C_out, T, F)
        return skip + h


class AttnBlock(nn.Module):
    """Single-head self-attention over all time-frequency cells, residual."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = PixelNorm()
        self.q = nn.Conv2d(channels, channels, 1)
        self.k = nn.Conv2d(channels, channels, 1)
        self.v = nn.Conv2d(channels, channels, 1)
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, f = x.shape
        h = self.norm(x)  # (B, C, T, F)
        q = self.q(h).flatten(2).transpose(1, 2)  # (B, TF, C)
        k = self.k(h).flatten(2)  # (B, C, TF)
        v = self.v(h).flatten(2)  # (B, C, TF)
        weights = torch.softmax(torch.bmm(q, k) * c**-0.5, dim=2)  # (B, TF_q, TF_k)
        out = torch.bmm(v, weights.transpose(1, 2)).reshape(b, c, t, f)  # (B, C, T, F)
        return x + self.proj_out(out)


class Downsample(nn.Module):
    """Stride-2 3x3 conv: time padded 2 before (causal), frequency 1 after."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 2, 0)))  # (B, C, (T-1)//2+1, F//2)


class Upsample(nn.Module):
    """Nearest x2 on both axes, causal conv, then drop the first time row (2T-1 rows: mirrors Downsample)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = CausalConv2d(channels, channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")  # (B, C, 2T, 2F)
        return self.conv(x)[:, :, 1:]  # (B, C, 2T-1, 2F)


class Level(nn.Module):
    """One resolution level: resnets (each optionally followed by attention) and an optional resampler."""

    def __init__(self, widths: list[tuple[int, int]], attention: bool, resample: nn.Module | None) -> None:
        super().__init__()
        self.block = nn.ModuleList(ResnetBlock(c_in, c_out) for c_in, c_out in widths)
        self.attn = nn.ModuleList(AttnBlock(c_out) for _, c_out in widths) if attention else nn.ModuleList()
        if resample is not None:
            self.add_module("downsample" if isinstance(resample, Downsample) else "upsample", resample)

    def run_blocks(self, x: torch.Tensor) -> torch.Tensor:
        """The resnets (and attention) of the level, without resampling."""
        for i, block in enumerate(self.block):
            x = block(x)  # (B, C, T, F)
            if len(self.attn):
                x = self.attn[i](x)
        return x


class MidBlock(nn.Module):
    """resnet -> (attention) -> resnet at the lowest resolution."""

    def __init__(self, channels: int, attention: bool) -> None:
        super().__init__()
        self.block_1 = ResnetBlock(channels, channels)
        self.attn_1 = AttnBlock(channels) if attention else nn.Identity()
        self.block_2 = ResnetBlock(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block_2(self.attn_1(self.block_1(x)))  # (B, C, T, F)


class LatentStatistics(nn.Module):
    """Dataset mean/std of each patchified latent feature (z_channels x latent mel bins)."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.register_buffer(STD_KEY, torch.empty(features))
        self.register_buffer(MEAN_KEY, torch.empty(features))

    def _apply(self, z: torch.Tensor, fn: Any) -> torch.Tensor:
        """Apply `fn(tokens, mean, std)` on (B, T, C*F) tokens of a (B, C, T, F) latent."""
        b, c, t, f = z.shape
        features = self.get_buffer(MEAN_KEY).shape[0]
        if c * f != features:
            raise AudioError(f"latent has {c}x{f} features per frame; the statistics hold {features}")
        tokens = z.permute(0, 2, 1, 3).reshape(b, t, c * f)  # (B, T, C*F)
        tokens = fn(tokens, self.get_buffer(MEAN_KEY).to(z), self.get_buffer(STD_KEY).to(z))  # (B, T, C*F)
        return tokens.reshape(b, t, c, f).permute(0, 2, 1, 3)  # (B, C, T, F)

    def normalize(self, z: torch.Tensor) -> torch.Tensor:
        """Raw latent -> normalised latent."""
        return self._apply(z, lambda x, mean, std: (x - mean) / std)

    def un_normalize(self, z: torch.Tensor) -> torch.Tensor:
        """Normalised latent -> raw latent."""
        return self._apply(z, lambda x, mean, std: x * std + mean)


def _attends(cfg: AudioVAEConfig, res: int) -> bool:
    """Whether a level whose running resolution is `res` carries attention blocks."""
    return res in cfg.attn_resolutions


class AudioEncoder(nn.Module):
    """(B, 2, T_mel, 64) log-mel -> (B, z, (T_mel-1)//4+1, 16) normalised latent means."""

    def __init__(self, cfg: AudioVAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        widths = [cfg.ch * m for m in (1, *cfg.ch_mult)]
        self.per_channel_statistics = LatentStatistics(cfg.ch)
        self.conv_in = CausalConv2d(cfg.in_channels, cfg.ch, 3)
        self.down = nn.ModuleList()
        res = cfg.resolution
        for i, c_out in enumerate(widths[1:]):
            pairs = [(widths[i], c_out)] + [(c_out, c_out)] * (cfg.num_res_blocks - 1)
            last = i == len(cfg.ch_mult) - 1
            attention = cfg.encoder_attention and _attends(cfg, res)
            self.down.append(Level(pairs, attention, None if last else Downsample(c_out)))
            res = res if last else res // 2
        top = widths[-1]
        self.mid = MidBlock(top, cfg.mid_block_add_attention and cfg.encoder_attention)
        self.norm_out = PixelNorm()
        self.conv_out = CausalConv2d(top, cfg.z_channels * (2 if cfg.double_z else 1), 3)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(mel)  # (B, ch, T, 64)
        for level in self.down:
            h = level.run_blocks(h)  # (B, C_l, T_l, F_l)
            if hasattr(level, "downsample"):
                h = level.downsample(h)  # (B, C_l, (T_l-1)//2+1, F_l/2)
        h = self.mid(h)  # (B, C_top, T', F')
        h = self.conv_out(F.silu(self.norm_out(h)))  # (B, z or 2z, T', F')
        means = h[:, : self.cfg.z_channels]  # (B, z, T', F') drop the log-variance half
        return self.per_channel_statistics.normalize(means)


class AudioDecoder(nn.Module):
    """(B, z, A, 16) normalised latent -> (B, 2, 4A-3, mel_bins) log-mel."""

    def __init__(self, cfg: AudioVAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        top = cfg.ch * cfg.ch_mult[-1]
        levels = len(cfg.ch_mult)
        self.per_channel_statistics = LatentStatistics(cfg.ch)
        self.conv_in = CausalConv2d(cfg.z_channels, top, 3)
        self.mid = MidBlock(top, cfg.mid_block_add_attention)
        stages: list[Level] = []
        c_in, res = top, cfg.resolution // 2 ** (levels - 1)
        for i in reversed(range(levels)):
            c_out = cfg.ch * cfg.ch_mult[i]
            pairs = [(c_in, c_out)] + [(c_out, c_out)] * cfg.num_res_blocks
            stages.insert(0, Level(pairs, _attends(cfg, res), Upsample(c_out) if i else None))
            c_in, res = c_out, res * 2 if i else res
        self.up = nn.ModuleList(stages)  # index = level, run from the deepest
        self.norm_out = PixelNorm()
        self.conv_out = CausalConv2d(c_in, cfg.out_ch, 3)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        frames = self.cfg.mel_frames(latent.shape[2])
        bins = self.cfg.mel_bins or latent.shape[3]
        h = self.conv_in(self.per_channel_statistics.un_normalize(latent))  # (B, C_top, A, 16)
        h = self.mid(h)  # (B, C_top, A, 16)
        for level in reversed(self.up):
            h = level.run_blocks(h)  # (B, C_l, T_l, F_l)
            if hasattr(level, "upsample"):
                h = level.upsample(h)  # (B, C_l, 2T_l-1, 2F_l)
        h = self.conv_out(F.silu(self.norm_out(h)))  # (B, 2, 4A-3, 64)
        h = h[:, :, :frames, :bins]  # (B, 2, <=frames, <=bins)
        return F.pad(h, (0, bins - h.shape[3], 0, frames - h.shape[2]))  # (B, 2, frames, bins)


def build_audio_encoder(config: dict[str, Any]) -> AudioEncoder:
    """Our audio VAE encoder for a checkpoint's full `config` metadata (works under torch.device("meta"))."""
    return AudioEncoder(AudioVAEConfig.from_checkpoint_config(config))


def build_audio_decoder(config: dict[str, Any]) -> AudioDecoder:
    """Our audio VAE decoder for a checkpoint's full `config` metadata (works under torch.device("meta"))."""
    return AudioDecoder(AudioVAEConfig.from_checkpoint_config(config))
