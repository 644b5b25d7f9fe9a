"""Tiled decoding: exact blending for local decoders, identical with one tile, close to untiled otherwise."""

from __future__ import annotations

import pytest
import torch

from ltxflow.engine.video_vae import VideoVAEConfig, VideoVAEError, build_decoder
from ltxflow.engine.video_vae.tiling import TilingConfig, tiled_decode, tiled_decode_with

from ._helpers import randomize


def _local_decode(latent: torch.Tensor) -> torch.Tensor:
    """A decoder with no spatial/temporal context: latent cell -> its 8 frames x 32x32 pixels (first frame alone)."""
    frames = torch.repeat_interleave(latent[:, :3], 8, dim=2)[:, :, 7:]  # (B, 3, 8F'-7, H', W')
    return torch.repeat_interleave(torch.repeat_interleave(frames, 32, dim=3), 32, dim=4)


@pytest.mark.parametrize(
    "tiling",
    [TilingConfig(64, 32, 24, 8), TilingConfig(96, 32, 32, 16), TilingConfig(None, 0, 16, 8), TilingConfig(64, 0)],
)
def test_blending_is_exact_for_a_context_free_decoder(tiling: TilingConfig) -> None:
    latent = torch.randn(1, 4, 7, 5, 6, generator=torch.Generator().manual_seed(0))
    tiled = tiled_decode_with(_local_decode, latent, tiling, time_factor=8, space_factor=32)
    # Every tile decodes the same value v at a pixel and tiled_decode_with accumulates in float32 (u = 2^-24):
    # out = sum w_i v over n <= 2^3 tiles (overlaps below half a tile: at most two tiles meet per axis) costs
    # n roundings (products, sum of same-sign terms), total = sum w_i n - 1, the division one: v (1 +- 2n u).
    # The rounded weights themselves cancel (the same w_i enters out and total).
    want = _local_decode(latent)
    assert ((tiled - want).abs() <= 2 * 8 * 2.0**-24 * want.abs()).all()


def _decoder():
    config = VideoVAEConfig.tiny_v2(latent_channels=4, base_channels=4)
    decoder = build_decoder({"vae": config.to_vae_section()}, device="cpu")
    randomize(decoder, 1)
    return decoder.eval()


def test_one_tile_covering_everything_equals_untiled() -> None:
    decoder = _decoder()
    latent = torch.randn(1, 4, 3, 2, 3, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.equal(tiled_decode(decoder, latent, TilingConfig()), decoder(latent))


@pytest.mark.parametrize(
    ("tiling", "shape"),
    [(TilingConfig(320, 192, None, 0), (1, 4, 3, 12, 12)), (TilingConfig(None, 0, 64, 32), (1, 4, 12, 2, 2))],
)
def test_tiled_decode_is_close_to_untiled(tiling: TilingConfig, shape: tuple[int, ...]) -> None:
    # Bound: mean |tiled - untiled| <= 10% of mean |untiled|. A random, untrained decoder has a receptive field of
    # ~6 latent cells in every direction, so tile borders change its output far more than a trained VAE's
    # (measured 6.7% spatial, 6.9% temporal here); the exact-blend test above covers the stitching itself.
    decoder = _decoder()
    latent = torch.randn(shape, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        full = decoder(latent)
    tiled = tiled_decode(decoder, latent, tiling)
    assert tiled.shape == full.shape
    assert (tiled - full).abs().mean() <= 0.10 * full.abs().mean()
    assert not torch.equal(tiled, full)  # more than one tile really was used


@pytest.mark.parametrize(
    ("tiling", "message"),
    [
        (TilingConfig(100, 32), "multiples of 32"),
        (TilingConfig(64, 64), "overlap_pixels=64 must be in"),
        (TilingConfig(None, 0, 32, 0), "overlap_frames=0 must be in \\[8, "),
    ],
)
def test_bad_tile_sizes_are_refused(tiling: TilingConfig, message: str) -> None:
    with pytest.raises(VideoVAEError, match=message):
        tiled_decode_with(_local_decode, torch.zeros(1, 4, 3, 2, 2), tiling, time_factor=8, space_factor=32)
