"""Encoder/decoder parity with ltx-core 1.0.0 on tiny random VAEs of both block layouts (float64, <= FP64_TOL)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from ltx_core.model.video_vae import VideoDecoderConfigurator, VideoEncoderConfigurator, decode_video

from ltxflow.engine.video_vae import (
    VideoVAEConfig,
    VideoVAEError,
    build_decoder,
    build_encoder,
    decode_to_frames,
    encode_frames,
)

from ._helpers import FP64_TOL, max_rel_error, randomize

LAYOUTS = {
    "v2": VideoVAEConfig.tiny_v2(),
    "v23": VideoVAEConfig.tiny_v23(),
    "v2_timestep": dataclasses.replace(VideoVAEConfig.tiny_v2(), timestep_conditioning=True),
    "v2_causal_replicate": dataclasses.replace(
        VideoVAEConfig.tiny_v2(), causal_decoder=True, spatial_padding_mode="replicate"
    ),
}


def _pair(cfg: VideoVAEConfig, seed: int):
    """Our encoder and decoder with random weights, and ltx-core's loaded strictly from the same state dicts."""
    config = {"vae": cfg.to_vae_section()}
    enc, dec = build_encoder(config, device="cpu"), build_decoder(config, device="cpu")
    randomize(enc, seed)
    randomize(dec, seed + 1)
    ref_enc = VideoEncoderConfigurator.from_config(config)
    ref_dec = VideoDecoderConfigurator.from_config(config)
    ref_enc.load_state_dict(enc.state_dict(), strict=True)
    ref_dec.load_state_dict(dec.state_dict(), strict=True)
    return tuple(m.double().eval() for m in (enc, dec, ref_enc, ref_dec))


@pytest.mark.parametrize("name", ["v2", "v23"])
def test_encoder_matches_reference(name: str) -> None:
    enc, _, ref_enc, _ = _pair(LAYOUTS[name], seed=0)
    video = torch.rand(1, 3, 17, 64, 64, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 2 - 1
    with torch.no_grad():
        ours, ref = enc(video), ref_enc(video)
    assert ours.shape == (1, 8, 3, 2, 2) and ours.dtype == ref.dtype == torch.float64
    assert max_rel_error(ours, ref) <= FP64_TOL


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_decoder_matches_reference(name: str) -> None:
    _, dec, _, ref_dec = _pair(LAYOUTS[name], seed=2)
    latent = torch.randn(1, 8, 3, 2, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    with torch.no_grad():
        ours = dec(latent, generator=torch.Generator().manual_seed(4))
        ref = ref_dec(latent, generator=torch.Generator().manual_seed(4))
    assert ours.shape == (1, 3, 17, 64, 64) and ours.dtype == ref.dtype == torch.float64
    assert max_rel_error(ours, ref) <= FP64_TOL


def test_timestep_conditioned_decoder_uses_the_timestep() -> None:
    _, dec, _, ref_dec = _pair(LAYOUTS["v2_timestep"], seed=5)
    latent = torch.randn(2, 8, 2, 2, 2, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    timestep = torch.tensor([0.05, 0.3])
    with torch.no_grad():
        ours = dec(latent, timestep=timestep, generator=torch.Generator().manual_seed(7))
        ref = ref_dec(latent, timestep=timestep, generator=torch.Generator().manual_seed(7))
        default = dec(latent, generator=torch.Generator().manual_seed(7))
    assert max_rel_error(ours, ref) <= FP64_TOL
    assert torch.equal(ours[0], default[0]) and not torch.allclose(ours[1], default[1])


def test_uint8_frames_and_round_trip_shapes() -> None:
    enc, dec, ref_enc, ref_dec = _pair(LAYOUTS["v23"], seed=8)
    frames = np.random.default_rng(9).integers(0, 256, size=(9, 32, 64, 3), dtype=np.uint8)
    latent = encode_frames(enc, frames)
    pixels = torch.from_numpy(frames).permute(3, 0, 1, 2)[None].float() / 127.5 - 1.0  # float32, as encode_frames
    with torch.no_grad():
        ref_latent = ref_enc(pixels.double())
    assert latent.shape == (1, 8, 2, 1, 2)
    assert max_rel_error(latent, ref_latent) <= FP64_TOL
    out = decode_to_frames(dec, latent[0])
    with torch.no_grad():
        ref_out = next(decode_video(latent, ref_dec))
    assert out.dtype == torch.uint8 and out.shape == frames.shape
    # ltx-core truncates its float64 video to uint8, decode_to_frames rounds it to float32 first: a pixel flips by
    # one level only if the value lies within one float32 rounding (255 * 2^-24 = 1.5e-5 levels) of an integer,
    # which ~3e-5 of uniformly spread pixels do, so far fewer than 1e-3 differ and none by more than one level.
    assert (out.int() - ref_out.int()).abs().max() <= 1
    assert (out == ref_out).float().mean() > 0.999


def test_float_frames_in_range_encode_like_uint8() -> None:
    enc, *_ = _pair(LAYOUTS["v2"], seed=10)
    frames = np.random.default_rng(11).integers(0, 256, size=(9, 32, 32, 3), dtype=np.uint8)
    as_float = torch.from_numpy(frames).float() / 127.5 - 1.0
    # encode_frames maps uint8 to exactly these float32 values, so the encoder sees the same input: the same bits
    assert torch.equal(encode_frames(enc, frames), encode_frames(enc, as_float))
    with pytest.raises(VideoVAEError, match=r"\[-1, 1\]"):
        encode_frames(enc, as_float * 2)


@pytest.mark.parametrize(
    ("shape", "message"),
    [((1, 3, 16, 64, 64), "1 \\+ 8\\*k"), ((1, 3, 17, 48, 64), "multiples of 32"), ((1, 4, 17, 64, 64), "video must")],
)
def test_bad_video_shapes_are_refused(shape: tuple[int, ...], message: str) -> None:
    enc, *_ = _pair(LAYOUTS["v2"], seed=12)
    with pytest.raises(VideoVAEError, match=message):
        enc(torch.zeros(shape))
