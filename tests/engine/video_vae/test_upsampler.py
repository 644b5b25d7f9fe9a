"""Latent upsampler parity with ltx-core (all variants), normalise/un-normalise wrapper, strict file loading."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from ltx_core.model.upsampler import LatentUpsamplerConfigurator, upsample_video
from ltx_core.model.video_vae import VideoEncoderConfigurator
from safetensors.torch import save_file

from ltxflow.engine.upsampler import UpsamplerConfig, build_upsampler, load_upsampler, upsample_latents
from ltxflow.engine.video_vae import VideoVAEConfig, VideoVAEError, build_encoder

from ._helpers import FP64_TOL, max_rel_error, randomize

TINY = dataclasses.asdict(UpsamplerConfig.tiny())
VARIANTS = {
    "spatial_x2": {},
    "spatial_x2_per_frame": {"dims": 2},
    "spatial_temporal_x2": {"temporal_upsample": True},
    "temporal_x2": {"temporal_upsample": True, "spatial_upsample": False},
    "rational_x1.5": {"rational_resampler": True, "spatial_scale": 1.5},
}
OUT_SHAPES = {
    "spatial_x2": (1, 8, 3, 8, 12),
    "spatial_x2_per_frame": (1, 8, 3, 8, 12),
    "spatial_temporal_x2": (1, 8, 5, 8, 12),
    "temporal_x2": (1, 8, 5, 4, 6),
    "rational_x1.5": (1, 8, 3, 6, 9),
}


def _pair(config: dict, seed: int):
    """Our upsampler with random weights and ltx-core's loaded strictly from its state dict."""
    ours = build_upsampler(config, device="cpu")
    ref = LatentUpsamplerConfigurator.from_config(config)
    if config.get("rational_resampler"):
        # The blur kernel is a fixed buffer: ours must build the same one before it is overwritten below.
        assert torch.equal(ours.upsampler.blur_down.kernel, ref.upsampler.blur_down.kernel)
    kernel = {k: v.clone() for k, v in ours.state_dict().items() if k.endswith("kernel")}
    randomize(ours, seed)
    ours.load_state_dict({**ours.state_dict(), **kernel})
    ref.load_state_dict(ours.state_dict(), strict=True)
    return ours.double().eval(), ref.double().eval()


@pytest.mark.parametrize("name", list(VARIANTS))
def test_upsampler_matches_reference(name: str) -> None:
    ours, ref = _pair({**TINY, **VARIANTS[name]}, seed=0)
    latent = torch.randn(1, 8, 3, 4, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    with torch.no_grad():
        out, expected = ours(latent), ref(latent)
    assert out.shape == OUT_SHAPES[name] and out.dtype == expected.dtype == torch.float64
    assert max_rel_error(out, expected) <= FP64_TOL


def test_upsample_latents_un_normalises_and_re_normalises_with_the_encoder_stats() -> None:
    ours, ref = _pair(TINY, seed=2)
    vae = {"vae": VideoVAEConfig.tiny_v2().to_vae_section()}
    encoder = build_encoder(vae, device="cpu")
    randomize(encoder, 3)
    ref_encoder = VideoEncoderConfigurator.from_config(vae)
    ref_encoder.load_state_dict(encoder.state_dict(), strict=True)
    encoder, ref_encoder = encoder.double(), ref_encoder.double()
    latent = torch.randn(1, 8, 2, 3, 3, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    out = upsample_latents(latent, ours, encoder.per_channel_statistics)
    with torch.no_grad():
        expected = upsample_video(latent, ref_encoder, ref)
        plain = ours(latent)
    assert max_rel_error(out, expected) <= FP64_TOL
    assert not torch.allclose(out, plain, atol=1e-3)  # the statistics really were applied (they move it by O(1))


def test_load_upsampler_from_its_own_file(tmp_path) -> None:
    ours, _ = _pair(TINY, seed=5)
    path = tmp_path / "upsampler.safetensors"
    save_file(ours.state_dict(), str(path), metadata={"config": json.dumps({**TINY, "_class_name": "LatentUpsampler"})})
    loaded = load_upsampler(path, dtype=torch.float64)
    latent = torch.randn(1, 8, 2, 2, 2, dtype=torch.float64)
    with torch.no_grad():
        assert torch.equal(loaded(latent), ours(latent))  # the same weights through the same ops: the same bits


def test_load_upsampler_names_missing_and_unexpected_keys(tmp_path) -> None:
    ours, _ = _pair(TINY, seed=6)
    state = ours.state_dict()
    state.pop("final_conv.bias")
    state["extra.weight"] = torch.zeros(1)
    path = tmp_path / "bad.safetensors"
    save_file(state, str(path), metadata={"config": json.dumps(TINY)})
    with pytest.raises(VideoVAEError, match=r"missing \['final_conv.bias'\] \(1\), unexpected \['extra.weight'\]"):
        load_upsampler(path)


def test_load_upsampler_refuses_non_safetensors_and_missing_config(tmp_path) -> None:
    pickle_path = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(1)}, pickle_path)
    with pytest.raises(VideoVAEError, match="not a readable safetensors"):
        load_upsampler(pickle_path)
    bare = tmp_path / "bare.safetensors"
    save_file({"w": torch.zeros(1)}, str(bare))
    with pytest.raises(VideoVAEError, match="no 'config' metadata"):
        load_upsampler(bare)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mid_channels": 48}, "multiple of 32"),
        ({"spatial_upsample": False}, "spatial_upsample or temporal_upsample"),
        ({"rational_resampler": True, "spatial_scale": 3.0}, "spatial_scale"),
        ({"dims": 1}, "dims"),
    ],
)
def test_bad_upsampler_configs_are_refused(change: dict, message: str) -> None:
    with pytest.raises(VideoVAEError, match=message):
        build_upsampler({**TINY, **change})
