"""Waveform preparation for the audio VAE: resampling, stereo, and the log-mel spectrogram (torch only)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch

from ltxflow.engine.audio.config import AudioError

LOG_FLOOR = 1e-5  # mel magnitudes are clamped here before the log


@dataclass(frozen=True)
class MelSpec:
    """STFT + mel filterbank parameters of the LTX-2 audio VAE input."""

    sample_rate: int = 16000  # Hz
    n_fft: int = 1024  # FFT size = window length (Hann, periodic)
    hop_length: int = 160  # samples between frames
    n_mels: int = 64  # slaney-scale bands with slaney (area) normalisation
    f_min: float = 0.0  # Hz
    f_max: float | None = None  # Hz; None: Nyquist


# --- mel filterbank -----------------------------------------------------------------------------------------------

_LINEAR_HZ_PER_MEL = 200.0 / 3.0  # slaney: linear below 1 kHz
_BREAK_HZ = 1000.0
_BREAK_MEL = _BREAK_HZ / _LINEAR_HZ_PER_MEL  # 15 mel
_LOG_STEP = math.log(6.4) / 27.0  # slaney: log-spaced above 1 kHz


def hz_to_mel(hz: torch.Tensor) -> torch.Tensor:
    """Slaney mel scale (linear to 1 kHz, logarithmic above)."""
    linear = hz / _LINEAR_HZ_PER_MEL
    log = _BREAK_MEL + torch.log(hz.clamp(min=_BREAK_HZ) / _BREAK_HZ) / _LOG_STEP
    return torch.where(hz >= _BREAK_HZ, log, linear)


def mel_to_hz(mel: torch.Tensor) -> torch.Tensor:
    """Inverse of `hz_to_mel`."""
    linear = mel * _LINEAR_HZ_PER_MEL
    log = _BREAK_HZ * torch.exp(_LOG_STEP * (mel.clamp(min=_BREAK_MEL) - _BREAK_MEL))
    return torch.where(mel >= _BREAK_MEL, log, linear)


@lru_cache(maxsize=8)
def mel_filterbank(spec: MelSpec) -> torch.Tensor:
    """(n_mels, n_fft//2+1) float64 triangular slaney filters, each scaled to unit area (2 / bandwidth)."""
    f_max = spec.f_max if spec.f_max is not None else spec.sample_rate / 2
    bins = torch.linspace(0, spec.sample_rate / 2, spec.n_fft // 2 + 1, dtype=torch.float64)  # (F,)
    mels = torch.linspace(
        float(hz_to_mel(torch.tensor(spec.f_min, dtype=torch.float64))),
        float(hz_to_mel(torch.tensor(f_max, dtype=torch.float64))),
        spec.n_mels + 2,
        dtype=torch.float64,
    )
    edges = mel_to_hz(mels)  # (M+2,) lower edge, centre, upper edge of consecutive bands
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]  # (M, 1) each
    rising = (bins[None, :] - lower) / (centre - lower)  # (M, F)
    falling = (upper - bins[None, :]) / (upper - centre)  # (M, F)
    tri = torch.clamp(torch.minimum(rising, falling), min=0.0)  # (M, F)
    return tri * (2.0 / (upper - lower))  # (M, F)


# --- spectrogram --------------------------------------------------------------------------------------------------


def log_mel_spectrogram(waveform: torch.Tensor, spec: MelSpec = MelSpec()) -> torch.Tensor:
    """(B, C, S) waveform at spec.sample_rate -> (B, C, T, n_mels) log-magnitude mel, T = S // hop + 1."""
    if waveform.dim() != 3:
        raise AudioError(f"waveform must be (batch, channels, samples), got shape {tuple(waveform.shape)}")
    b, c, s = waveform.shape
    if s <= spec.n_fft // 2:
        raise AudioError(f"waveform has {s} samples; the reflect-padded STFT needs more than {spec.n_fft // 2}")
    x = waveform.reshape(b * c, s).to(torch.promote_types(waveform.dtype, torch.float32))  # (BC, S) >= float32
    window = torch.hann_window(spec.n_fft, periodic=True, dtype=x.dtype, device=x.device)  # (N,)
    stft = torch.stft(
        x, spec.n_fft, spec.hop_length, spec.n_fft, window, center=True, pad_mode="reflect", return_complex=True
    )  # (BC, F, T)
    magnitude = stft.abs()  # (BC, F, T) power 1
    fbank = mel_filterbank(spec).to(dtype=x.dtype, device=x.device)  # (M, F)
    mel = torch.matmul(fbank, magnitude)  # (BC, M, T)
    log_mel = torch.log(mel.clamp(min=LOG_FLOOR))  # (BC, M, T)
    return log_mel.reshape(b, c, spec.n_mels, -1).transpose(2, 3).contiguous().to(waveform.dtype)  # (B, C, T, M)


# --- channels -----------------------------------------------------------------------------------------------------


def to_stereo(waveform: torch.Tensor) -> torch.Tensor:
    """(B, C, S) -> (B, 2, S): mono is duplicated, stereo kept, more channels are an error."""
    if waveform.dim() != 3:
        raise AudioError(f"waveform must be (batch, channels, samples), got shape {tuple(waveform.shape)}")
    channels = waveform.shape[1]
    if channels == 2:
        return waveform
    if channels == 1:
        return waveform.expand(-1, 2, -1).contiguous()
    raise AudioError(f"waveform has {channels} channels; only mono or stereo is supported")


# --- resampling ---------------------------------------------------------------------------------------------------

ZERO_CROSSINGS = 24  # filter half-length, in zero crossings of the low-pass sinc
ROLLOFF = 0.95  # cutoff as a fraction of the lower Nyquist frequency
KAISER_BETA = 10.0  # window shape: ~100 dB stop band for a long enough filter


@lru_cache(maxsize=16)
def _polyphase_kernels(orig: int, new: int) -> tuple[torch.Tensor, int]:
    """(new, 1, K) float64 kernels, one per output phase, and the left padding, for orig -> new (coprime)."""
    cutoff = 0.5 * min(1.0, new / orig) * ROLLOFF  # cycles per input sample
    half = ZERO_CROSSINGS / (2 * cutoff)  # input samples either side of an output instant
    pad = math.ceil(half)
    taps = torch.arange(-pad, pad + orig, dtype=torch.float64)  # (K,) input offsets from each block start
    phase = torch.arange(new, dtype=torch.float64)[:, None] * orig / new  # (new, 1) output instant in the block
    d = taps[None, :] - phase  # (new, K) distance to the output instant, input samples
    inside = torch.sqrt((1 - (d / half) ** 2).clamp(min=0))  # (new, K) 1 at the centre, 0 at the ends
    window = torch.special.i0(KAISER_BETA * inside) / torch.special.i0(torch.tensor(KAISER_BETA, dtype=torch.float64))
    window = torch.where(d.abs() <= half, window, torch.zeros_like(window))  # (new, K)
    kernels = 2 * cutoff * torch.sinc(2 * cutoff * d) * window  # (new, K)
    return kernels[:, None, :], pad


def resample(waveform: torch.Tensor, orig_rate: int, new_rate: int) -> torch.Tensor:
    """(..., S) at orig_rate -> (..., ceil(S * new / orig)) at new_rate, Kaiser-windowed sinc, zero outside."""
    if orig_rate <= 0 or new_rate <= 0:
        raise AudioError(f"sample rates must be positive, got {orig_rate} -> {new_rate}")
    if orig_rate == new_rate:
        return waveform
    g = math.gcd(orig_rate, new_rate)
    orig, new = orig_rate // g, new_rate // g
    kernels, pad = _polyphase_kernels(orig, new)
    lead, s = waveform.shape[:-1], waveform.shape[-1]
    x = waveform.reshape(-1, 1, s).to(torch.float64)  # (N, 1, S)
    x = torch.nn.functional.pad(x, (pad, pad + orig))  # (N, 1, S + 2 pad + orig)
    y = torch.nn.functional.conv1d(x, kernels.to(x.device), stride=orig)  # (N, new, blocks)
    y = y.transpose(1, 2).reshape(x.shape[0], -1)  # (N, blocks * new) outputs in time order
    out_len = math.ceil(s * new / orig)
    return y[:, :out_len].to(waveform.dtype).reshape(*lead, out_len)
