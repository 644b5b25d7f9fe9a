"""Mel spectrogram vs an independent numpy implementation of the stated formulas; resampler accuracy; waveform path."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal
import torch

from ltxflow.engine.audio import AudioError, AudioVAEConfig, build_audio_encoder, encode_waveform, latent_frames_for
from ltxflow.engine.audio.mel import (KAISER_BETA, MelSpec, log_mel_spectrogram, mel_filterbank, resample,
                                      to_stereo)

from ._helpers import FP64_TOL, max_rel_error, randomize


def kaiser_ripple(beta: float) -> float:
    """Pass- and stop-band ripple of a Kaiser-windowed sinc (Kaiser's design formula A = beta / 0.1102 + 8.7 dB,
    valid for A > 50 dB): 1.07e-5 for our beta = 10, 1.98e-3 for scipy.signal.resample_poly's default beta = 5."""
    return 10 ** (-(beta / 0.1102 + 8.7) / 20)


def _slaney_hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Auditory Toolbox mel: 3 mel per 200 Hz up to 1 kHz, then 27 mel per factor 6.4."""
    f = np.asarray(f, dtype=np.float64)
    return np.where(f < 1000, 3 * f / 200, 15 + 27 * np.log(np.maximum(f, 1e-9) / 1000) / np.log(6.4))


def _slaney_mel_to_hz(m: np.ndarray) -> np.ndarray:
    return np.where(m < 15, 200 * m / 3, 1000 * 6.4 ** ((m - 15) / 27))


def _numpy_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """librosa-style (n_mels, n_fft//2+1) filters with slaney area normalisation, written from the formulas."""
    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    edges = _slaney_mel_to_hz(np.linspace(_slaney_hz_to_mel(fmin), _slaney_hz_to_mel(fmax), n_mels + 2))
    weights = np.zeros((n_mels, freqs.size))
    for m in range(n_mels):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        up = (freqs - lo) / (mid - lo)
        down = (hi - freqs) / (hi - mid)
        weights[m] = np.maximum(0, np.minimum(up, down)) * 2 / (hi - lo)
    return weights


def _numpy_log_mel(x: np.ndarray, spec: MelSpec) -> np.ndarray:
    """(S,) -> (T, n_mels): reflect-centred frames, periodic Hann, |rfft|, filterbank, log(max(., 1e-5))."""
    n, hop = spec.n_fft, spec.hop_length
    padded = np.pad(x.astype(np.float64), n // 2, mode="reflect")
    frames = np.stack([padded[i : i + n] for i in range(0, padded.size - n + 1, hop)])  # (T, n)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)
    magnitude = np.abs(np.fft.rfft(frames * window, axis=1))  # (T, n/2+1)
    fb = _numpy_filterbank(spec.sample_rate, n, spec.n_mels, spec.f_min, spec.sample_rate / 2)
    return np.log(np.maximum(magnitude @ fb.T, 1e-5))


def test_filterbank_matches_slaney_formulas() -> None:
    spec = MelSpec()
    ours = mel_filterbank(spec).numpy()
    want = _numpy_filterbank(16000, 1024, 64, 0.0, 8000.0)
    assert ours.shape == (64, 513)
    assert np.abs(ours - want).max() / np.abs(want).max() <= FP64_TOL  # both float64, a handful of ops per entry
    assert (ours > 0).sum(axis=1).min() >= 1  # no empty band at 1024 / 64 / 8 kHz


def test_log_mel_matches_numpy_reference() -> None:
    spec = MelSpec()
    rng = np.random.default_rng(0)
    t = np.arange(8000) / 16000
    x = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal((2, t.size))  # (2, S) stereo
    ours = log_mel_spectrogram(torch.from_numpy(x[None]).to(torch.float64), spec)  # (1, 2, T, 64)
    assert ours.shape == (1, 2, 8000 // 160 + 1, 64)
    assert ours.dtype == torch.float64
    for ch in range(2):  # float64 both: FFT (10 stages), <= 46-term filter sums and a log, ~1e-15 (measured 2e-15)
        want = torch.from_numpy(_numpy_log_mel(x[ch], spec))
        assert max_rel_error(ours[0, ch], want) <= FP64_TOL
        assert max_rel_error(ours[0, ch].exp(), want.exp()) <= FP64_TOL
    # The pipeline runs the mel in float32 (encode_waveform). Its error vs float64, relative to the largest mel
    # value, in units of u = 2^-24: the filter sums add <= K nonnegative terms (K = the widest band's nonzero
    # bins, 46): <= K u; the radix-2 FFT of N = 1024 points: <= log2(N) * 7u relative to the frame's spectrum
    # (Higham, Accuracy and Stability, Thm 24.2), which a 440 Hz tone dominates, so its peak bins carry that bound;
    # the log rounds to u |log mel| <= 12u (the floor is log 1e-5 = -11.5) and exp turns that into a relative one.
    ours32 = log_mel_spectrogram(torch.from_numpy(x[None]).float(), spec)
    assert ours32.dtype == torch.float32
    widest = int((mel_filterbank(spec) > 0).sum(dim=1).max())
    bound = (widest + 7 * math.log2(spec.n_fft) + 12) * 2.0**-24  # 128 u = 7.6e-6 (measured 1.5e-7)
    assert max_rel_error(ours32.double().exp(), ours.exp()) <= bound


def test_log_mel_tone_lands_in_its_band() -> None:
    spec = MelSpec()
    t = torch.arange(16000, dtype=torch.float64) / 16000
    mel = log_mel_spectrogram(torch.sin(2 * math.pi * 2000 * t)[None, None], spec)[0, 0, 10:-10]  # (T, 64)
    peak = int(mel.mean(dim=0).argmax())
    fb = mel_filterbank(spec)
    assert int(fb[:, round(2000 / 16000 * 1024)].argmax()) == peak


@pytest.mark.parametrize(("orig", "new"), [(48000, 16000), (44100, 16000), (22050, 16000), (16000, 48000)])
def test_resampler_keeps_frequency_and_amplitude(orig: int, new: int) -> None:
    seconds, freq, amp = 0.5, 1000.0, 0.5
    x = amp * torch.sin(2 * math.pi * freq * torch.arange(int(orig * seconds), dtype=torch.float64) / orig)
    y = resample(x, orig, new)
    assert y.shape == (math.ceil(x.numel() * new / orig),)
    want = amp * torch.sin(2 * math.pi * freq * torch.arange(y.numel(), dtype=torch.float64) / new)
    edge = new // 100  # 10 ms at each end sees the zero padding
    # a 1 kHz tone is deep in the pass band (edge >= 6.6 kHz for every pair here): off by at most the ripple
    assert float((y - want)[edge:-edge].abs().max()) <= kaiser_ripple(KAISER_BETA) * amp  # measured ~2e-6 * amp


def test_resampler_rejects_aliases_and_agrees_with_scipy() -> None:
    orig, new = 48000, 16000
    t = torch.arange(24000, dtype=torch.float64) / orig
    alias = resample(torch.sin(2 * math.pi * 11000 * t), orig, new)  # 11 kHz would fold to 5 kHz
    # 11 kHz lies past the stop-band edge (cutoff 7.6 kHz + half the transition width of a 152-tap beta = 10
    # Kaiser filter, (A - 7.95) / (2.285 * 152) rad = 1 kHz at 48 kHz): attenuated to at most the ripple
    assert float(alias[200:-200].abs().max()) <= kaiser_ripple(KAISER_BETA)  # measured ~3e-6
    x = torch.randn(3, 4800, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x = torch.from_numpy(scipy.signal.resample_poly(x.numpy(), 1, 4, axis=-1))  # band-limited to 6 kHz at 48 kHz
    x = torch.from_numpy(scipy.signal.resample_poly(x.numpy(), 4, 1, axis=-1))
    ours = resample(x, orig, new)[:, 100:-100]
    want = torch.from_numpy(scipy.signal.resample_poly(x.numpy(), 1, 3, axis=-1))[:, 100:-100]
    # two different anti-alias designs on in-band content: each off by at most its pass-band ripple
    assert max_rel_error(ours, want) <= kaiser_ripple(5.0) + kaiser_ripple(KAISER_BETA)  # 2.0e-3 (measured 9e-4)


def test_resampler_keeps_float32_and_leading_dims() -> None:
    x = torch.randn(2, 3, 480)
    y = resample(x, 48000, 16000)
    assert y.dtype == torch.float32 and y.shape == (2, 3, 160)
    assert resample(x, 16000, 16000) is x
    with pytest.raises(AudioError, match="positive"):
        resample(x, 0, 16000)


def test_to_stereo() -> None:
    mono = torch.randn(1, 1, 10)
    assert torch.equal(to_stereo(mono), mono.expand(1, 2, 10))
    stereo = torch.randn(1, 2, 10)
    assert to_stereo(stereo) is stereo
    with pytest.raises(AudioError, match="6 channels"):
        to_stereo(torch.randn(1, 6, 10))


def test_encode_waveform_chains_resample_stereo_mel_encoder_and_crops() -> None:
    cfg = AudioVAEConfig.tiny()
    encoder = build_audio_encoder({"audio_vae": cfg.to_checkpoint_section()})
    randomize(encoder, 3)
    encoder.eval()
    mono = torch.randn(1, 48000 // 5, generator=torch.Generator().manual_seed(4))  # 0.2 s mono at 48 kHz
    got = encode_waveform(mono, 48000, encoder)
    mel = log_mel_spectrogram(to_stereo(resample(mono[None], 48000, 16000)), MelSpec())
    with torch.no_grad():
        want = encoder(mel)
    assert got.shape == (1, cfg.z_channels, cfg.latent_frames(3200 // 160 + 1), 16)
    assert torch.equal(got, want)
    assert torch.equal(encode_waveform(mono, 48000, encoder, latent_frames=4), want[:, :, :4])
    with pytest.raises(AudioError, match="shorter than the 99"):
        encode_waveform(mono, 48000, encoder, latent_frames=99)


def test_latent_count_per_clip() -> None:
    assert latent_frames_for(121, 25) == 121
    assert latent_frames_for(121, 24) == 126
