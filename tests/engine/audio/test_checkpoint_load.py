"""An official-layout tiny file with audio VAE + 2.3 vocoder loads strictly through the checkpoint registry."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from ltx_core.model.audio_vae import AudioDecoderConfigurator, AudioEncoderConfigurator, VocoderConfigurator
from safetensors.torch import save_file

from ltxflow.engine.audio import AudioVAEConfig, VocoderConfig, decode_to_waveform
from ltxflow.engine.checkpoint import Checkpoint

from ._helpers import FP64_TOL, max_rel_error, randomize, to_float64

STATS = "per_channel_statistics."


def _write(path: Path, config: dict) -> tuple[torch.nn.Module, torch.nn.Module, torch.nn.Module]:
    """Seeded ltx-core modules saved under the official file's prefixes; returns (encoder, decoder, vocoder)."""
    configurators = (AudioEncoderConfigurator, AudioDecoderConfigurator, VocoderConfigurator)
    enc, dec, voc = (c.from_config(config) for c in configurators)
    for seed, module in enumerate((enc, dec, voc)):
        randomize(module, seed)
    tensors: dict[str, torch.Tensor] = {}
    for prefix, module in (("audio_vae.decoder.", dec), ("audio_vae.encoder.", enc)):  # the encoder's stats win
        for key, value in module.state_dict().items():
            name = "audio_vae." + key if key.startswith(STATS) else prefix + key
            tensors[name] = value.clone().contiguous()
    shared = {k: tensors["audio_vae." + k] for k in dec.state_dict() if k.startswith(STATS)}
    dec.load_state_dict(shared, strict=False)  # one set of statistics serves both, as in the file
    tensors.update({"vocoder." + k: v.clone().contiguous() for k, v in voc.state_dict().items()})
    tensors["audio_vae.per_channel_statistics.channel"] = torch.arange(4.0)  # present in real files, unused
    save_file(tensors, str(path), metadata={"config": json.dumps(config), "model_version": "2.3.0"})
    return (to_float64(m).eval() for m in (enc, dec, voc))


def test_audio_components_load_strictly_and_match_reference(tmp_path: Path) -> None:
    config = {
        "audio_vae": AudioVAEConfig.tiny().to_checkpoint_section(),
        "vocoder": VocoderConfig.tiny_bigvgan_bwe().to_checkpoint_section(),
    }
    path = tmp_path / "tiny-audio.safetensors"
    enc, dec, voc = _write(path, config)
    ckpt = Checkpoint.open(path)
    assert {"audio_encoder", "audio_decoder", "vocoder"} <= set(ckpt.components)
    # the float32 file loaded into float64 modules, so parity is float64 (the bound: see _helpers.FP64_TOL)
    encoder, decoder, vocoder = (ckpt.load(c, dtype=torch.float64) for c in ("audio_encoder", "audio_decoder",
                                                                              "vocoder"))
    mel = torch.randn(1, 2, 17, 64, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    with torch.no_grad():
        z, want_z = encoder.eval()(mel), enc(mel)
        want_wave = voc(dec(want_z))
    assert z.dtype == want_wave.dtype == torch.float64
    assert max_rel_error(z, want_z) <= FP64_TOL
    wave, rate = decode_to_waveform(z, decoder.eval(), vocoder.eval())
    assert rate == 48000
    assert wave.shape == want_wave.shape == (1, 2, 17 * 4 * 3)
    # decode_to_waveform hands back float32: rounding the float64 waveform costs at most half a float32 ulp,
    # 2^-24 of an element <= max|want| (the ±1 clamp only lowers magnitudes), plus the float64 difference.
    assert wave.dtype == torch.float32
    assert max_rel_error(wave.double(), want_wave) <= 2.0**-24 + FP64_TOL
