"""Tiled decoding for large clips: decode overlapping latent tiles and blend them with linear ramps."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable

import torch

from ltxflow.engine.video_vae.config import VideoVAEError
from ltxflow.engine.video_vae.decoder import VideoDecoder


@dataclass(frozen=True)
class TilingConfig:
    """Tile sizes in output pixels/frames; None switches tiling off along that axis."""

    tile_pixels: int | None = 512  # spatial tile side (px), a multiple of the VAE's space factor (32)
    overlap_pixels: int = 64  # spatial overlap between neighbouring tiles (px), same multiple
    tile_frames: int | None = 64  # temporal tile length (frames), a multiple of the time factor (8)
    overlap_frames: int = 24  # temporal overlap (frames), at least one latent frame (8)

    def latent_sizes(self, time_factor: int, space_factor: int) -> tuple[int | None, int, int | None, int]:
        """(tile, overlap) in latent units for space, then time; raises on sizes that do not fit."""
        space = _to_latent(self.tile_pixels, self.overlap_pixels, space_factor, "pixels", min_overlap=0)
        time = _to_latent(self.tile_frames, self.overlap_frames, time_factor, "frames", min_overlap=1)
        return space + time


def _to_latent(tile: int | None, overlap: int, factor: int, unit: str, min_overlap: int) -> tuple[int | None, int]:
    """Convert one axis' tile/overlap to latent cells, validating them."""
    if tile is None:
        return None, 0
    if tile % factor or overlap % factor:
        raise VideoVAEError(f"tile_{unit}={tile} and overlap_{unit}={overlap} must be multiples of {factor}")
    tile_lat, overlap_lat = tile // factor, overlap // factor
    if not min_overlap <= overlap_lat < tile_lat:
        low = min_overlap * factor
        raise VideoVAEError(f"overlap_{unit}={overlap} must be in [{low}, tile_{unit}={tile})")
    return tile_lat, overlap_lat


@dataclass(frozen=True)
class _AxisTile:
    """One tile along one axis: latent input slice, output slice and its 1-D blend weights."""

    latent: slice
    out: slice
    weight: torch.Tensor  # (out length,)


def _spans(length: int, tile: int | None, overlap: int) -> list[tuple[int, int]]:
    """Overlapping [start, end) latent spans covering `length`; the last one is flush with the end."""
    if tile is None or length <= tile:
        return [(0, length)]
    step = tile - overlap
    starts = list(range(0, length - tile, step)) + [length - tile]
    return [(s, s + tile) for s in starts]


def _ramp_weights(n: int, left: int, right: int, zero_first: bool) -> torch.Tensor:
    """Ones, with a rising ramp over the first `left` and a falling one over the last `right` samples.

    Neighbouring ramps over the same samples sum to one. With `zero_first` the rising ramp starts at 0
    (k / left) so a temporal tile's first frame, decoded without history, does not count.
    """
    w = torch.ones(n)
    if left > 0:
        k = torch.arange(left, dtype=torch.float32)
        w[:left] *= k / left if zero_first else (k + 1) / (left + 1)
    if right > 0:
        k = torch.arange(right, dtype=torch.float32)
        w[n - right :] *= 1 - k / right if zero_first else (right - k) / (right + 1)
    return w


def _axis_tiles(length: int, tile: int | None, overlap: int, factor: int, temporal: bool) -> list[_AxisTile]:
    """Tiles along one axis, with output slices in pixels (space) or frames (time, causal first frame)."""
    spans = _spans(length, tile, overlap)
    if temporal:
        outs = [(factor * s, factor * (e - 1) + 1) for s, e in spans]  # latent s -> frame factor*s
    else:
        outs = [(factor * s, factor * e) for s, e in spans]
    tiles = []
    for i, ((s, e), (o0, o1)) in enumerate(zip(spans, outs)):
        left = outs[i - 1][1] - o0 if i > 0 else 0
        right = o1 - outs[i + 1][0] if i + 1 < len(outs) else 0
        tiles.append(_AxisTile(slice(s, e), slice(o0, o1), _ramp_weights(o1 - o0, left, right, temporal)))
    return tiles


def tiled_decode_with(
    decode: Callable[[torch.Tensor], torch.Tensor],
    latent: torch.Tensor,
    tiling: TilingConfig,
    time_factor: int,
    space_factor: int,
) -> torch.Tensor:
    """Decode (B, C, F', H', W') tile by tile with `decode` and blend into (B, 3, 1+t(F'-1), sH', sW')."""
    space_tile, space_overlap, time_tile, time_overlap = tiling.latent_sizes(time_factor, space_factor)
    _, _, frames, height, width = latent.shape
    t_tiles = _axis_tiles(frames, time_tile, time_overlap, time_factor, temporal=True)
    h_tiles = _axis_tiles(height, space_tile, space_overlap, space_factor, temporal=False)
    w_tiles = _axis_tiles(width, space_tile, space_overlap, space_factor, temporal=False)
    out = None
    total = torch.zeros(1, 1, time_factor * (frames - 1) + 1, space_factor * height, space_factor * width)
    for tt, th, tw in itertools.product(t_tiles, h_tiles, w_tiles):
        piece = decode(latent[:, :, tt.latent, th.latent, tw.latent])  # (B, 3, f, h, w)
        if out is None:
            out = torch.zeros(piece.shape[:2] + total.shape[2:], dtype=torch.float32, device=piece.device)
            total = total.to(piece.device)
        weight = (
            tt.weight.to(piece.device)[:, None, None]
            * th.weight.to(piece.device)[None, :, None]
            * tw.weight.to(piece.device)[None, None, :]
        )  # (f, h, w)
        out[:, :, tt.out, th.out, tw.out] += piece.float() * weight
        total[:, :, tt.out, th.out, tw.out] += weight
    return out / total  # (B, 3, F, H, W)


@torch.inference_mode()
def tiled_decode(
    decoder: VideoDecoder,
    latent: torch.Tensor,
    tiling: TilingConfig,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Decode a normalised latent (B, C, F', H', W') in overlapping tiles -> (B, 3, F, H, W) float32."""
    cfg = decoder.config
    return tiled_decode_with(
        lambda z: decoder(z, generator=generator), latent, tiling, cfg.time_factor, cfg.space_factor
    )
