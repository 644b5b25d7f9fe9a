"""Audio VAE encoder/decoder parity with ltx-core 1.0.0 on tiny random configs (float64, rel err <= FP64_TOL)."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from ltx_core.model.audio_vae import AudioDecoderConfigurator, AudioEncoderConfigurator

from ltxflow.engine.audio import (
    AudioError,
    AudioVAEConfig,
    build_audio_decoder,
    build_audio_encoder,
)

from ._helpers import FP64_TOL, max_rel_error, randomize, to_float64

CONFIGS = {
    "tiny": AudioVAEConfig.tiny(),
    "mid_attention": AudioVAEConfig.tiny(mid_block_add_attention=True),
    "level_attention": AudioVAEConfig.tiny(attn_resolutions=(16,), resolution=64, num_res_blocks=2),
    "single_z": AudioVAEConfig.tiny(ch=16, z_channels=1, double_z=False),
}


def _pair(cfg: AudioVAEConfig, part: str, seed: int) -> tuple[torch.nn.Module, torch.nn.Module]:
    """(ours, reference) with the same random weights, loaded strictly into ours."""
    config = {"audio_vae": cfg.to_checkpoint_section()}
    if part == "encoder":
        ref, ours = AudioEncoderConfigurator.from_config(config), build_audio_encoder(config)
    else:
        ref, ours = AudioDecoderConfigurator.from_config(config), build_audio_decoder(config)
    randomize(ref, seed)
    ours.load_state_dict(ref.state_dict(), strict=True)
    return to_float64(ours).eval(), to_float64(ref).eval()


@pytest.mark.parametrize(("name", "mel_frames"), [("tiny", 1), *((name, 23) for name in CONFIGS)])
def test_encoder_matches_reference(name: str, mel_frames: int) -> None:
    cfg = CONFIGS[name]
    ours, ref = _pair(cfg, "encoder", seed=1)
    mel = torch.randn(2, 2, mel_frames, 64, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    with torch.no_grad():
        got, want = ours(mel), ref(mel)
    assert got.shape == (2, cfg.z_channels, cfg.latent_frames(mel_frames), 16) and got.dtype == want.dtype
    assert max_rel_error(got, want) <= FP64_TOL


@pytest.mark.parametrize(("name", "latent_frames"), [("tiny", 1), *((name, 6) for name in CONFIGS)])
def test_decoder_matches_reference(name: str, latent_frames: int) -> None:
    cfg = CONFIGS[name]
    ours, ref = _pair(cfg, "decoder", seed=3)
    z = torch.randn(2, cfg.z_channels, latent_frames, 16, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    with torch.no_grad():
        got, want = ours(z), ref(z)
    assert got.shape == (2, 2, cfg.mel_frames(latent_frames), 64) and got.dtype == want.dtype
    assert max_rel_error(got, want) <= FP64_TOL


def test_encoder_is_causal_in_time() -> None:
    ours, _ = _pair(AudioVAEConfig.tiny(), "encoder", seed=5)
    mel = torch.randn(1, 2, 21, 64, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    changed = mel.clone()
    changed[:, :, 13:] += 1.0  # edits from mel frame 13 on reach latent 13 // 4 = 3 at the earliest
    with torch.no_grad():
        a, b = ours(mel), ours(changed)
    assert torch.equal(a[:, :, :3], b[:, :, :3])
    assert not torch.equal(a[:, :, 3:], b[:, :, 3:])


def test_builders_work_on_meta_and_match_reference_keys() -> None:
    config = {"audio_vae": AudioVAEConfig().to_checkpoint_section()}
    pairs = ((build_audio_encoder, AudioEncoderConfigurator), (build_audio_decoder, AudioDecoderConfigurator))
    for build, configurator in pairs:
        with torch.device("meta"):
            ours, ref = build(config), configurator.from_config(config)
        ours_shapes = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
        ref_shapes = {k: tuple(v.shape) for k, v in ref.state_dict().items()}
        assert ours_shapes == ref_shapes


def test_reference_defaults_when_keys_are_absent() -> None:
    cfg = AudioVAEConfig.from_checkpoint_config({"audio_vae": {"preprocessing": {"mel": {"n_mel_channels": 64}}}})
    assert cfg == AudioVAEConfig()


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("norm_type", "group", "norm_type"),
        ("causality_axis", "width", "causality_axis"),
        ("attn_type", "linear", "attn_type"),
        ("ch", 0, "['ch']"),
        ("ch_mult", [], "ch_mult"),
    ],
)
def test_unsupported_config_values_are_loud(key: str, value: object, message: str) -> None:
    section = AudioVAEConfig.tiny().to_checkpoint_section()
    section["model"]["params"]["ddconfig"][key] = value
    with pytest.raises(AudioError, match=message.replace("[", r"\[").replace("]", r"\]")):
        AudioVAEConfig.from_checkpoint_config({"audio_vae": section})


def test_missing_section_and_mismatched_statistics() -> None:
    with pytest.raises(AudioError, match="audio_vae"):
        build_audio_encoder({"vae": {}})
    enc = build_audio_encoder({"audio_vae": dataclasses.replace(AudioVAEConfig.tiny(), ch=16).to_checkpoint_section()})
    randomize(enc, 0)
    with pytest.raises(AudioError, match="statistics hold 16"):
        enc(torch.zeros(1, 2, 5, 64))
