"""LTX-2 vocoder: a stereo HiFi-GAN (v1 layout) from (B, 2, T, 64) log-mel to (B, 2, T * 240) samples at 24 kHz."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ltxflow.engine.audio.config import AudioError, GeneratorConfig

MEL_CHANNELS = 128  # 2 stereo channels x 64 mel bins, stacked channel-major before conv_pre
INNER_SLOPE = 0.1  # LeakyReLU slope inside the generator
FINAL_SLOPE = 0.01  # LeakyReLU slope before conv_post (torch's default, as the reference uses)


def same_padding(kernel: int, dilation: int) -> int:
    """Padding that keeps the length of a stride-1 odd-kernel conv."""
    return (kernel - 1) * dilation // 2


class ResBlock(nn.Module):
    """HiFi-GAN "ResBlock1": three (act -> dilated conv -> act -> conv) residual pairs."""

    def __init__(self, channels: int, kernel: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel, dilation=d, padding=same_padding(kernel, d)) for d in dilations
        )
        self.convs2 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel, padding=same_padding(kernel, 1)) for _ in dilations
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for dilated, plain in zip(self.convs1, self.convs2, strict=True):
            h = dilated(F.leaky_relu(x, INNER_SLOPE))  # (B, C, L)
            x = x + plain(F.leaky_relu(h, INNER_SLOPE))  # (B, C, L)
        return x


class MelGenerator(nn.Module):
    """conv_pre -> [upsample -> mean of parallel residual blocks] per stage -> act -> conv_post -> squash."""

    def __init__(self, cfg: GeneratorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.output_sampling_rate = cfg.output_sampling_rate
        width = cfg.upsample_initial_channel
        self.conv_pre = nn.Conv1d(MEL_CHANNELS, width, 7, padding=3)
        self.ups = nn.ModuleList(
            nn.ConvTranspose1d(width >> i, width >> (i + 1), k, stride=s, padding=(k - s) // 2)
            for i, (s, k) in enumerate(zip(cfg.upsample_rates, cfg.upsample_kernel_sizes, strict=True))
        )
        self.resblocks = nn.ModuleList(
            self.make_block(width >> (i + 1), k, d)
            for i in range(len(cfg.upsample_rates))
            for k, d in zip(cfg.resblock_kernel_sizes, cfg.resblock_dilation_sizes, strict=True)
        )
        final = width >> len(cfg.upsample_rates)
        self.act_post = self.make_final_activation(final)
        self.conv_post = nn.Conv1d(final, 2, 7, padding=3, bias=cfg.use_bias_at_final)

    def make_block(self, channels: int, kernel: int, dilations: tuple[int, ...]) -> nn.Module:
        """One residual block of a stage."""
        return ResBlock(channels, kernel, dilations)

    def make_final_activation(self, channels: int) -> nn.Module:
        """The activation before conv_post."""
        return nn.LeakyReLU(FINAL_SLOPE)

    def stage_input(self, x: torch.Tensor) -> torch.Tensor:
        """Applied before each upsampling conv."""
        return F.leaky_relu(x, INNER_SLOPE)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        if mel.dim() != 4 or mel.shape[1] != 2 or mel.shape[1] * mel.shape[3] != MEL_CHANNELS:
            raise AudioError(f"vocoder input must be (batch, 2, frames, 64) log-mel, got {tuple(mel.shape)}")
        b, _, t, _ = mel.shape
        x = mel.transpose(2, 3).reshape(b, MEL_CHANNELS, t)  # (B, 2*64, T) left bins then right bins
        x = self.conv_pre(x)  # (B, C0, T)
        n = len(self.cfg.resblock_kernel_sizes)
        for i, up in enumerate(self.ups):
            x = up(self.stage_input(x))  # (B, C0 / 2^(i+1), L * rate_i)
            x = torch.stack([block(x) for block in self.resblocks[i * n : (i + 1) * n]]).mean(dim=0)  # (B, C_i, L)
        x = self.conv_post(self.act_post(x))  # (B, 2, T * hop)
        if not self.cfg.apply_final_activation:
            return x
        return torch.tanh(x) if self.cfg.use_tanh_at_final else x.clamp(-1, 1)


class HiFiGAN(MelGenerator):
    """The LTX-2 (2.0) vocoder: LeakyReLU stages, 24 kHz stereo output."""
