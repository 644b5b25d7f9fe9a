"""LTX-2.3 bandwidth extension: BigVGAN at 16 kHz, then a second generator adds the band up to 48 kHz."""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn

from ltxflow.engine.audio.bigvgan import BigVGAN
from ltxflow.engine.audio.config import BWEConfig, VocoderConfig
from ltxflow.engine.audio.mel import LOG_FLOOR

SKIP_ROLLOFF = 0.99  # Hann-sinc skip resampler: cutoff as a fraction of the input Nyquist
SKIP_ZERO_CROSSINGS = 6  # ... and its half-length in zero crossings


class CausalSTFT(nn.Module):
    """Magnitude STFT as a strided conv with checkpoint DFT x window bases; left-only padding (no lookahead)."""

    def __init__(self, n_fft: int, hop: int) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.hop = hop
        bins = n_fft // 2 + 1
        self.register_buffer("forward_basis", torch.zeros(2 * bins, 1, n_fft))  # real rows, then imaginary rows
        self.register_buffer("inverse_basis", torch.zeros(2 * bins, 1, n_fft))  # stored in the file; unused here

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """(N, S) waveform -> (N, n_fft//2+1, S // hop) magnitude."""
        y = F.pad(y[:, None], (max(0, self.n_fft - self.hop), 0))  # (N, 1, S + n_fft - hop)
        spec = F.conv1d(y, self.forward_basis, stride=self.hop)  # (N, 2 bins, frames)
        real, imag = spec.chunk(2, dim=1)  # (N, bins, frames) each
        return torch.sqrt(real**2 + imag**2)


class CausalLogMel(nn.Module):
    """Causal STFT magnitude projected on the checkpoint's mel basis, then log(clamp)."""

    def __init__(self, cfg: BWEConfig) -> None:
        super().__init__()
        self.stft_fn = CausalSTFT(cfg.n_fft, cfg.hop_length)
        self.register_buffer("mel_basis", torch.zeros(cfg.num_mels, cfg.n_fft // 2 + 1))  # (M, bins)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """(N, S) waveform -> (N, M, S // hop) log-mel."""
        magnitude = self.stft_fn(y)  # (N, bins, frames)
        mel = torch.matmul(self.mel_basis.to(magnitude.dtype), magnitude)  # (N, M, frames)
        return torch.log(mel.clamp(min=LOG_FLOOR))


@lru_cache(maxsize=4)
def hann_sinc_taps(ratio: int) -> torch.Tensor:
    """(1, 1, 2 w ratio + 1) Hann-windowed sinc for integer x`ratio` upsampling (w = zero-crossing span)."""
    width = math.ceil(SKIP_ZERO_CROSSINGS / SKIP_ROLLOFF)  # input samples either side
    t = (torch.arange(2 * width * ratio + 1) / ratio - width) * SKIP_ROLLOFF  # (K,) in cutoff periods
    window = torch.cos(t.clamp(-SKIP_ZERO_CROSSINGS, SKIP_ZERO_CROSSINGS) * math.pi / (2 * SKIP_ZERO_CROSSINGS)) ** 2
    return (torch.sinc(t) * window * SKIP_ROLLOFF / ratio).view(1, 1, -1)


def hann_sinc_upsample(x: torch.Tensor, ratio: int) -> torch.Tensor:
    """(B, C, L) -> (B, C, L * ratio): zero-stuff and low-pass with the Hann sinc, replicate-padded edges."""
    taps = hann_sinc_taps(ratio).to(device=x.device, dtype=x.dtype)  # (1, 1, K)
    width = (taps.shape[-1] - 1) // (2 * ratio)
    c = x.shape[1]
    y = F.pad(x, (width, width), mode="replicate")  # (B, C, L + 2w)
    y = ratio * F.conv_transpose1d(y, taps.expand(c, -1, -1), stride=ratio, groups=c)  # (B, C, (L+2w-1) r + K)
    start = 2 * width * ratio
    return y[..., start : start + x.shape[-1] * ratio]  # (B, C, L r)


class VocoderWithBWE(nn.Module):
    """(B, 2, T, 64) log-mel -> BigVGAN waveform at 16 kHz -> + predicted high band -> (B, 2, S) at 48 kHz."""

    def __init__(self, cfg: VocoderConfig) -> None:
        super().__init__()
        assert cfg.bwe is not None, "VocoderWithBWE needs a config with a bwe section"
        self.cfg = cfg
        self.bwe = cfg.bwe
        self.output_sampling_rate = cfg.bwe.output_sampling_rate
        self.vocoder = BigVGAN(cfg.generator)
        self.bwe_generator = BigVGAN(cfg.bwe.generator)
        self.mel_stft = CausalLogMel(cfg.bwe)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        low = self.vocoder(mel)  # (B, 2, L) at the input rate, in [-1, 1]
        b, c, length = low.shape
        hop = self.bwe.hop_length
        low = F.pad(low, (0, -length % hop))  # (B, 2, L') whole mel frames
        band_mel = self.mel_stft(low.reshape(b * c, -1))  # (2B, M, L'/hop)
        band_mel = band_mel.reshape(b, c, band_mel.shape[1], -1).transpose(2, 3)  # (B, 2, L'/hop, M)
        residual = self.bwe_generator(band_mel)  # (B, 2, L' r)
        skip = hann_sinc_upsample(low, self.bwe.ratio)  # (B, 2, L' r)
        return (residual + skip).clamp(-1, 1)[..., : length * self.bwe.ratio]  # (B, 2, L r)
