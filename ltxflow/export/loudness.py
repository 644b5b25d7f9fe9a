"""BS.1770 loudness meter, 4x-oversampled true peak, and normalisation with a true-peak limiter (numpy only)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BLOCK_S = 0.4  # s, gating block (BS.1770-4)
STEP_S = 0.1  # s, block hop (75 % overlap)
ABSOLUTE_GATE = -70.0  # LUFS
RELATIVE_GATE = -10.0  # LU below the absolutely-gated loudness
OVERSAMPLE = 4  # true-peak interpolation factor
LIMITER_WINDOW_S = 0.005  # s, half-width of the limiter's look-ahead/release window


# ── K-weighting ─────────────────────────────────────────────────────────────────────────────────


def _k_weighting_biquads(rate: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(b, a) of the two K-weighting stages, designed for `rate` (they equal BS.1770's table at 48 kHz)."""
    # stage 1: high shelf (head acoustics), +4 dB above ~1.7 kHz
    k = math.tan(math.pi * 1681.974450955533 / rate)
    q, vh = 0.7071752369554196, 10 ** (3.999843853973347 / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf_b = np.array([vh + vb * k / q + k * k, 2 * (k * k - vh), vh - vb * k / q + k * k]) / a0
    shelf_a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    # stage 2: high pass (RLB), ~38 Hz
    k = math.tan(math.pi * 38.13547087602444 / rate)
    q = 0.5003270373238773
    a0 = 1 + k / q + k * k
    hp_b = np.array([1.0, -2.0, 1.0])
    hp_a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    return [(shelf_b, shelf_a), (hp_b, hp_a)]


def k_weight(audio: np.ndarray, rate: int) -> np.ndarray:
    """(C, S) -> (C, S) float64 K-weighted signal, filtered in the frequency domain.

    The signal is zero-padded by one second, long enough for both IIR responses to decay below
    float precision, so the circular FFT product equals the causal recursive filter.
    """
    n = audio.shape[-1]
    size = 1 << math.ceil(math.log2(n + rate))  # power of two >= n + 1 s of decay
    spectrum = np.fft.rfft(audio.astype(np.float64), size, axis=-1)  # (C, size/2+1)
    z = np.exp(-1j * np.linspace(0.0, math.pi, size // 2 + 1))  # z^-1 on the unit circle
    for b, a in _k_weighting_biquads(rate):
        spectrum *= (b[0] + b[1] * z + b[2] * z * z) / (a[0] + a[1] * z + a[2] * z * z)
    return np.fft.irfft(spectrum, size, axis=-1)[:, :n]  # (C, S)


# ── meters ─────────────────────────────────────────────────────────────────────────────────────


def integrated_loudness(audio: np.ndarray, rate: int) -> float:
    """BS.1770-4 gated integrated loudness in LUFS of (C, S) audio; -inf if silent or shorter than a block.

    Channels are weighted 1.0 (mono, stereo; surround is downmixed before metering).
    """
    block, step = round(BLOCK_S * rate), round(STEP_S * rate)
    n = audio.shape[-1]
    if n < block:
        return -math.inf
    y = k_weight(audio, rate)  # (C, S)
    energy = np.concatenate([np.zeros((y.shape[0], 1)), np.cumsum(y * y, axis=-1)], axis=-1)  # (C, S+1)
    starts = np.arange(0, n - block + 1, step)  # (J,)
    z = (energy[:, starts + block] - energy[:, starts]) / block  # (C, J) mean square per block
    power = z.sum(axis=0)  # (J,) channel-summed
    with np.errstate(divide="ignore"):
        loud = -0.691 + 10 * np.log10(power)  # (J,) block loudness
    kept = loud > ABSOLUTE_GATE
    if not kept.any():
        return -math.inf
    relative = -0.691 + 10 * math.log10(power[kept].mean()) + RELATIVE_GATE
    kept &= loud > relative
    return -0.691 + 10 * math.log10(power[kept].mean())


def _interpolation_filter(factor: int, taps_per_phase: int = 24) -> np.ndarray:
    """Kaiser-windowed sinc low-pass at the original Nyquist, for zero-stuffed upsampling by `factor`."""
    n = factor * taps_per_phase
    t = (np.arange(n) - (n - 1) / 2) / factor
    return np.sinc(t) * np.kaiser(n, 8.0)


def oversample(audio: np.ndarray, factor: int = OVERSAMPLE) -> np.ndarray:
    """(C, S) -> (C, S * factor) band-limited interpolation (polyphase FIR)."""
    h = _interpolation_filter(factor)
    c, s = audio.shape
    out = np.empty((c, s * factor))
    for ch in range(c):
        for phase in range(factor):
            taps = h[phase::factor]
            full = np.convolve(audio[ch].astype(np.float64), taps)  # (S + taps - 1,)
            delay = (len(taps) - 1) // 2
            out[ch, phase::factor] = full[delay : delay + s]
    return out


def true_peak_dbtp(audio: np.ndarray) -> float:
    """Highest absolute value of the 4x-oversampled signal (and the samples), in dBTP; -inf for silence."""
    if audio.size == 0:
        return -math.inf
    peak = max(float(np.abs(oversample(audio)).max()), float(np.abs(audio).max()))
    return 20 * math.log10(peak) if peak > 0 else -math.inf


# ── normalisation ──────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class LoudnessReport:
    """What normalisation measured and did (LUFS, dBTP, dB)."""

    input_lufs: float
    input_dbtp: float
    gain_db: float  # static gain applied
    limited_db: float  # deepest gain reduction of the true-peak limiter (0 = untouched)
    output_lufs: float
    output_dbtp: float


def _window_min(x: np.ndarray, radius: int) -> np.ndarray:
    """Minimum of x over [n - radius, n + radius] for each n (van Herk / Gil-Werman, O(S))."""
    w = 2 * radius + 1
    padded = np.pad(x, (radius, radius + (-(len(x) + 2 * radius)) % w), constant_values=np.inf)
    blocks = padded.reshape(-1, w)
    forward = np.minimum.accumulate(blocks, axis=1).ravel()
    backward = np.minimum.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].ravel()
    return np.minimum(backward[: len(x)], forward[w - 1 : w - 1 + len(x)])


def _moving_mean(x: np.ndarray, radius: int) -> np.ndarray:
    """Mean of x over [n - radius, n + radius], edges extended with the end values."""
    padded = np.pad(x, radius, mode="edge")
    c = np.concatenate([[0.0], np.cumsum(padded)])
    return (c[2 * radius + 1 :] - c[: -2 * radius - 1]) / (2 * radius + 1)


def limit_true_peak(audio: np.ndarray, rate: int, ceiling_dbtp: float) -> tuple[np.ndarray, float]:
    """Smooth gain reduction so the oversampled peak stays under the ceiling; returns (audio, deepest dB).

    The required gain per sample is min-filtered then averaged over the same window, so the smooth
    gain never exceeds what any sample needs (no overshoot) and changes over ~2 x 5 ms.
    """
    ceiling = 10 ** (ceiling_dbtp / 20)
    c, s = audio.shape
    peaks = np.abs(oversample(audio)).reshape(c, s, OVERSAMPLE).max(axis=(0, 2))  # (S,) peak up to next sample
    peaks = np.maximum(peaks, np.abs(audio).max(axis=0))
    need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))  # (S,)
    radius = max(1, round(LIMITER_WINDOW_S * rate))
    gain = _moving_mean(_window_min(need, radius), radius)  # (S,) <= need everywhere
    deepest = -20 * math.log10(max(float(gain.min()), 1e-12))
    return (audio * gain).astype(np.float32), deepest


def normalize(audio: np.ndarray, rate: int, target_lufs: float, ceiling_dbtp: float) -> tuple[np.ndarray, LoudnessReport]:
    """Two-pass normalisation of (C, S) audio: measure, gain to the target, limit true peaks to the ceiling.

    Audio too quiet to measure (every block under -70 LUFS) is returned unchanged.
    """
    input_lufs, input_tp = integrated_loudness(audio, rate), true_peak_dbtp(audio)
    if not math.isfinite(input_lufs):
        return audio, LoudnessReport(input_lufs, input_tp, 0.0, 0.0, input_lufs, input_tp)
    gain_db = target_lufs - input_lufs
    y = audio.astype(np.float64) * 10 ** (gain_db / 20)
    deepest = 0.0
    for _ in range(3):  # limiting lowers loudness; make it up and limit again
        if true_peak_dbtp(y) <= ceiling_dbtp:
            break
        y, limited = limit_true_peak(y, rate, ceiling_dbtp - 0.1)
        deepest = max(deepest, limited)
        shortfall = target_lufs - integrated_loudness(y, rate)
        if shortfall > 0.05:
            y = y * 10 ** (shortfall / 20)
            gain_db += shortfall
    tp = true_peak_dbtp(y)
    if tp > ceiling_dbtp:  # the limiter's last pass made room; any residue is removed by a static cut
        y = y * 10 ** ((ceiling_dbtp - tp) / 20)
        gain_db += ceiling_dbtp - tp
    y = y.astype(np.float32)
    return y, LoudnessReport(input_lufs, input_tp, gain_db, deepest, integrated_loudness(y, rate), true_peak_dbtp(y))
