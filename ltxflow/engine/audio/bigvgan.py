"""LTX-2.3 base vocoder: BigVGAN-v2 with SnakeBeta activations run at twice the rate (anti-aliased)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ltxflow.engine.audio.hifigan import MelGenerator, ResBlock

ALIAS_RATIO = 2  # activations run on a x2 upsampled signal
ALIAS_TAPS = 12  # Kaiser-sinc filter length for both directions
SNAKE_EPS = 1e-9


def kaiser_sinc(cutoff: float, half_width: float, taps: int) -> torch.Tensor:
    """(1, 1, taps) unit-DC-gain low-pass: sinc at `cutoff` (cycles/sample) under a Kaiser window."""
    half = taps // 2
    attenuation = 2.285 * (half - 1) * math.pi * 4 * half_width + 7.95  # dB, Kaiser's design formula
    if attenuation > 50.0:
        beta = 0.1102 * (attenuation - 8.7)
    elif attenuation >= 21.0:
        beta = 0.5842 * (attenuation - 21) ** 0.4 + 0.07886 * (attenuation - 21.0)
    else:
        beta = 0.0
    window = torch.kaiser_window(taps, periodic=False, beta=beta)  # (taps,)
    if taps % 2 == 0:
        t = torch.arange(-half, half) + 0.5  # (taps,) tap times, centred between samples
    else:
        t = torch.arange(taps) - half  # (taps,)
    taps_ = 2 * cutoff * window * torch.sinc(2 * cutoff * t)  # (taps,)
    return (taps_ / taps_.sum()).view(1, 1, taps)


class SnakeBeta(nn.Module):
    """x + sin^2(alpha x) / beta per channel, alpha and beta stored as logs."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(channels))  # log alpha
        self.beta = nn.Parameter(torch.zeros(channels))  # log beta

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        alpha = self.alpha.exp()[None, :, None]  # (1, C, 1)
        beta = self.beta.exp()[None, :, None]  # (1, C, 1)
        return x + torch.sin(alpha * x).pow(2) / (beta + SNAKE_EPS)  # (B, C, L)


class KaiserUpsample(nn.Module):
    """x2 band-limited upsampling: replicate-pad, zero-stuffing transposed conv with the Kaiser-sinc, crop."""

    def __init__(self) -> None:
        super().__init__()
        self.pad = ALIAS_TAPS // ALIAS_RATIO - 1  # input samples added each side
        self.crop_left = self.pad * ALIAS_RATIO + (ALIAS_TAPS - ALIAS_RATIO) // 2
        self.crop_right = self.pad * ALIAS_RATIO + (ALIAS_TAPS - ALIAS_RATIO + 1) // 2
        self.register_buffer("filter", kaiser_sinc(0.5 / ALIAS_RATIO, 0.6 / ALIAS_RATIO, ALIAS_TAPS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        x = F.pad(x, (self.pad, self.pad), mode="replicate")  # (B, C, L + 2 pad)
        taps = self.filter.to(x).expand(c, -1, -1)  # (C, 1, K)
        y = ALIAS_RATIO * F.conv_transpose1d(x, taps, stride=ALIAS_RATIO, groups=c)  # (B, C, ~2L)
        return y[..., self.crop_left : y.shape[-1] - self.crop_right]  # (B, C, 2L)


class KaiserLowPass(nn.Module):
    """Kaiser-sinc low-pass with stride (the x2 decimator), replicate padding."""

    def __init__(self) -> None:
        super().__init__()
        self.pad = (ALIAS_TAPS // 2 - 1, ALIAS_TAPS // 2)  # even kernel: one less on the left
        self.register_buffer("filter", kaiser_sinc(0.5 / ALIAS_RATIO, 0.6 / ALIAS_RATIO, ALIAS_TAPS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        x = F.pad(x, self.pad, mode="replicate")  # (B, C, L + K - 1)
        return F.conv1d(x, self.filter.expand(c, -1, -1), stride=ALIAS_RATIO, groups=c)  # (B, C, L / 2)


class KaiserDownsample(nn.Module):
    """Holds the decimating low-pass (as `lowpass`, the checkpoint's name)."""

    def __init__(self) -> None:
        super().__init__()
        self.lowpass = KaiserLowPass()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lowpass(x)  # (B, C, L / 2)


class AntiAliasedSnake(nn.Module):
    """upsample x2 -> SnakeBeta -> low-pass and decimate x2."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.upsample = KaiserUpsample()
        self.act = SnakeBeta(channels)
        self.downsample = KaiserDownsample()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(self.act(self.upsample(x)))  # (B, C, L)


class AMPBlock(ResBlock):
    """BigVGAN "AMP1": HiFi-GAN's residual conv pairs with anti-aliased snakes instead of leaky ReLUs."""

    def __init__(self, channels: int, kernel: int, dilations: tuple[int, ...]) -> None:
        super().__init__(channels, kernel, dilations)  # convs1 (dilated), convs2
        self.acts1 = nn.ModuleList(AntiAliasedSnake(channels) for _ in dilations)
        self.acts2 = nn.ModuleList(AntiAliasedSnake(channels) for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv1, conv2, act1, act2 in zip(self.convs1, self.convs2, self.acts1, self.acts2, strict=True):
            h = conv1(act1(x))  # (B, C, L)
            x = x + conv2(act2(h))  # (B, C, L)
        return x


class BigVGAN(MelGenerator):
    """BigVGAN-v2 generator: no activation before the upsampling convs, anti-aliased SnakeBeta everywhere else."""

    def make_block(self, channels: int, kernel: int, dilations: tuple[int, ...]) -> nn.Module:
        return AMPBlock(channels, kernel, dilations)

    def make_final_activation(self, channels: int) -> nn.Module:
        return AntiAliasedSnake(channels)

    def stage_input(self, x: torch.Tensor) -> torch.Tensor:
        return x
