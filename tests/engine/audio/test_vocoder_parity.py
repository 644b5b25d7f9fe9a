"""HiFi-GAN (LTX-2) and BigVGAN-v2 + BWE (LTX-2.3) vocoder parity with ltx-core 1.0.0 (float64, <= FP64_TOL)."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from ltx_core.model.audio_vae import AudioDecoderConfigurator, VocoderConfigurator, decode_audio

from ltxflow.engine.audio import (
    AudioError,
    AudioVAEConfig,
    VocoderConfig,
    build_audio_decoder,
    build_vocoder,
    decode_to_waveform,
)
from ltxflow.engine.audio.bigvgan import kaiser_sinc
from ltxflow.engine.audio.bwe import VocoderWithBWE, hann_sinc_upsample
from ltxflow.engine.audio.hifigan import HiFiGAN

from ._helpers import FP64_TOL, max_rel_error, randomize, to_float64

CONFIGS = {"hifigan": VocoderConfig.tiny_hifigan(), "bigvgan_bwe": VocoderConfig.tiny_bigvgan_bwe()}


def _pair(cfg: VocoderConfig, seed: int) -> tuple[torch.nn.Module, torch.nn.Module]:
    """(ours, reference) with the same random weights, loaded strictly into ours."""
    config = {"vocoder": cfg.to_checkpoint_section()}
    ref, ours = VocoderConfigurator.from_config(config), build_vocoder(config)
    randomize(ref, seed)
    ours.load_state_dict(ref.state_dict(), strict=True)
    return to_float64(ours).eval(), to_float64(ref).eval()


def _mel(frames: int, seed: int, batch: int = 2) -> torch.Tensor:
    return torch.randn(batch, 2, frames, 64, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("frames", [1, 9])
def test_vocoder_matches_reference(name: str, frames: int) -> None:
    cfg = CONFIGS[name]
    ours, ref = _pair(cfg, seed=7)
    mel = _mel(frames, seed=8)
    with torch.no_grad():
        got, want = ours(mel), ref(mel)
    samples = frames * cfg.generator.hop * (cfg.bwe.ratio if cfg.bwe else 1)
    assert got.shape == (2, 2, samples) and got.dtype == want.dtype == torch.float64
    assert max_rel_error(got, want) <= FP64_TOL
    assert got.abs().max() <= 1.0
    assert ours.output_sampling_rate == ref.output_sampling_rate == cfg.output_sampling_rate


def test_builders_kind_and_keys_at_full_size_on_meta() -> None:
    full_bwe = {
        "vocoder": {
            "resblock": "AMP1", "activation": "snakebeta", "stereo": True, "upsample_initial_channel": 1536,
            "upsample_rates": [5, 2, 2, 2, 2, 2], "upsample_kernel_sizes": [11, 4, 4, 4, 4, 4],
            "use_tanh_at_final": False, "use_bias_at_final": False,
        },
        "bwe": {
            "resblock": "AMP1", "activation": "snakebeta", "stereo": True, "upsample_initial_channel": 512,
            "upsample_rates": [6, 5, 2, 2, 2], "upsample_kernel_sizes": [12, 11, 4, 4, 4],
            "use_tanh_at_final": False, "use_bias_at_final": False,
            "input_sampling_rate": 16000, "output_sampling_rate": 48000, "n_fft": 512, "hop_length": 80,
            "num_mels": 64,
        },
    }
    for section, kind in (({"resblock": "1", "stereo": True}, HiFiGAN), (full_bwe, VocoderWithBWE)):
        config = {"vocoder": section}
        with torch.device("meta"):
            ours, ref = build_vocoder(config), VocoderConfigurator.from_config(config)
        assert isinstance(ours, kind)
        ours_shapes = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
        assert ours_shapes == {k: tuple(v.shape) for k, v in ref.state_dict().items()}
    assert VocoderConfig.from_checkpoint_config({"vocoder": full_bwe}).output_sampling_rate == 48000
    assert VocoderConfig.from_checkpoint_config({"vocoder": {}}).output_sampling_rate == 24000


def test_anti_alias_filters_match_reference_design() -> None:
    # Both designs built in float64 (they follow the default dtype): the same Kaiser-windowed sinc, ours through
    # torch.sinc, ltx-core through its own sin(pi x) / (pi x); a few eps64 roundings per tap, FP64_TOL.
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        ref = VocoderConfigurator.from_config({"vocoder": CONFIGS["bigvgan_bwe"].to_checkpoint_section()})
        ours = build_vocoder({"vocoder": CONFIGS["bigvgan_bwe"].to_checkpoint_section()})
        taps = kaiser_sinc(0.25, 0.3, 12)
    finally:
        torch.set_default_dtype(default)
    want = dict(ref.state_dict())
    filters = {k: v for k, v in ours.state_dict().items() if k.endswith(".filter")}
    assert filters and all(v.dtype == torch.float64 for v in filters.values())
    assert all(max_rel_error(v, want[k]) <= FP64_TOL for k, v in filters.items())
    # unit DC gain: normalised by its own sum, then summed again in 11 float64 additions (<= 11 * 2^-53 = 1.2e-15)
    assert abs(float(taps.sum()) - 1.0) <= 11 * 2.0**-53
    assert torch.equal(taps, taps.flip(-1))  # sinc and window are even functions of the tap time


def test_skip_resampler_matches_reference_and_keeps_low_tones() -> None:
    x = torch.randn(1, 2, 50, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    ref = VocoderConfigurator.from_config({"vocoder": CONFIGS["bigvgan_bwe"].to_checkpoint_section()})
    assert max_rel_error(hann_sinc_upsample(x, 3), to_float64(ref).resampler(x)) <= FP64_TOL
    t = torch.arange(600, dtype=torch.float64)
    tone = torch.sin(2 * torch.pi * 0.05 * t)[None, None]  # 800 Hz at 16 kHz
    up = hann_sinc_upsample(tone, 3)[0, 0, 60:-60]  # 48 kHz, edges dropped
    want = torch.sin(2 * torch.pi * 0.05 * torch.arange(1800, dtype=torch.float64) / 3)[60:-60]
    # A filter-design bound, not a rounding one (the float32 taps add <= 43 * 2^-24 = 3e-6): a 6-zero-crossing
    # Hann-windowed sinc passes a tone below half its cutoff within -46 dB (5e-3); it is 2.6e-4 at this 800 Hz
    # and still 3.9e-3 at 0.3 cycles/sample, while a wrong phase or gain (ratio, pad) is off by >= 0.1.
    assert float((up - want).abs().max()) < 5e-3


def test_decode_to_waveform_matches_reference_decode_audio() -> None:
    vae_cfg = AudioVAEConfig.tiny()
    vae_config = {"audio_vae": vae_cfg.to_checkpoint_section()}
    ref_dec = AudioDecoderConfigurator.from_config(vae_config)
    randomize(ref_dec, 11)
    ours_dec = build_audio_decoder(vae_config)
    ours_dec.load_state_dict(ref_dec.state_dict())
    to_float64(ours_dec), to_float64(ref_dec)
    ours_voc, ref_voc = _pair(CONFIGS["hifigan"], seed=12)
    z = torch.randn(1, vae_cfg.z_channels, 5, 16, generator=torch.Generator().manual_seed(13), dtype=torch.float64)
    wave, rate = decode_to_waveform(z, ours_dec.eval(), ours_voc)
    with torch.no_grad():
        want = decode_audio(z, ref_dec.eval(), ref_voc)
    assert rate == want.sampling_rate == 24000
    assert wave.shape == (1, 2, (4 * 5 - 3) * 8)
    # Both sides decode in float64 and hand back float32 waveforms (our decode_to_waveform and ltx-core's
    # decode_audio both end in .float()): float64 values 1e-15 apart may round to neighbouring float32 values,
    # one float32 ulp = 2^-23 of an element <= max|want|, plus the float64 difference itself.
    assert wave.dtype == want.waveform.dtype == torch.float32
    assert max_rel_error(wave[0].double(), want.waveform.double()) <= 2.0**-23 + FP64_TOL


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.update(resblock="2"), "resblock"),
        (lambda s: s.update(stereo=False), "stereo"),
        (lambda s: s.update(upsample_rates=[4]), "differ in length"),
        (lambda s: s["bwe"].update(num_mels=80), "num_mels"),
        (lambda s: s["bwe"].update(hop_length=7), "multiply to"),
        (lambda s: s["bwe"].update(activation="snake"), "activation"),
        (lambda s: s["bwe"].pop("n_fft"), "n_fft"),
    ],
)
def test_unsupported_vocoder_configs_are_loud(change, message: str) -> None:
    uses_bwe = "bwe" in message or message in ("num_mels", "multiply to", "activation", "n_fft")
    section = CONFIGS["bigvgan_bwe" if uses_bwe else "hifigan"].to_checkpoint_section()
    change(section)
    with pytest.raises(AudioError, match=message):
        VocoderConfig.from_checkpoint_config({"vocoder": section})


def test_vocoder_rejects_wrong_mel_layout() -> None:
    ours, _ = _pair(CONFIGS["hifigan"], seed=1)
    with pytest.raises(AudioError, match="2, frames, 64"):
        ours(torch.zeros(1, 2, 5, 80))
    assert dataclasses.replace(CONFIGS["hifigan"].generator).hop == 8
