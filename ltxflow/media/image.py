"""Conditioning images: PNG/JPEG/WebP read with Pillow, fitted to the clip (cover + centre crop), in [-1, 1]."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image, ImageOps

from ltxflow.engine.conditioning.decoded import fit_cover, to_unit_range
from ltxflow.media.errors import check_file, media_error

FORMATS = ("PNG", "JPEG", "WEBP")  # what Pillow must identify the file as
VIDEO_LIKE_CRF = 33  # the reference's H.264 quality for making a still look like a video frame; 0 = skip


def read_image(
    path: Path | str, width: int, height: int, *, variant: str | None = None, crf: int = VIDEO_LIKE_CRF
) -> torch.Tensor:
    """The image at `path` as (height, width, 3) float32 in [-1, 1], covering the frame with a centre crop."""
    if width < 1 or height < 1:
        raise ValueError(f"target size must be positive, got {width}x{height}")
    pixels = load_image(path, variant=variant, crf=crf)  # (H0, W0, 3) uint8
    return to_unit_range(fit_cover(torch.tensor(pixels, dtype=torch.float32), height, width))


def load_image(path: Path | str, *, variant: str | None = None, crf: int = VIDEO_LIKE_CRF) -> np.ndarray:
    """The image at `path` as (H, W, 3) uint8 RGB at its own size (even sides when `crf` > 0).

    Transparent pixels are composited on white; EXIF orientation is applied. With `crf` > 0 the still is passed
    through one H.264 frame at that quality, as the reference does so that it resembles decoded video.
    """
    path = check_file("image", path, variant)
    pixels = _decode(path, variant)  # (H0, W0, 3) uint8
    return h264_round_trip(pixels, crf) if crf else pixels


def _decode(path: Path, variant: str | None) -> np.ndarray:
    """Decode with Pillow to (H, W, 3) uint8 RGB; any decoder complaint becomes a one-line MediaError."""
    try:
        with Image.open(path) as image:
            kind = image.format
            if kind not in FORMATS:
                raise media_error("image", path, f"unsupported format {kind}; use PNG, JPEG or WebP", variant)
            image.load()  # decodes everything now, so truncated files fail here
            image = ImageOps.exif_transpose(image)
            if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
                rgba = image.convert("RGBA")
                white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                image = Image.alpha_composite(white, rgba)
            rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise media_error("image", path, f"cannot decode image ({exc})", variant) from None
    if rgb.ndim != 3 or rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise media_error("image", path, f"image has no pixels (shape {rgb.shape})", variant)
    return rgb


def h264_round_trip(pixels: np.ndarray, crf: int) -> np.ndarray:
    """(H, W, 3) uint8 -> the same still after one H.264 (yuv420p) frame at `crf`, cropped to even sides."""
    h, w = pixels.shape[0] // 2 * 2, pixels.shape[1] // 2 * 2
    if h == 0 or w == 0:
        return pixels
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=1, options={"crf": str(crf), "preset": "veryfast"})
        stream.height, stream.width = h, w
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels[:h, :w]), format="rgb24").reformat(format="yuv420p")
        out.mux(stream.encode(frame))
        out.mux(stream.encode())
    buffer.seek(0)
    with av.open(buffer) as src:
        decoded = next(src.decode(video=0))
        return decoded.to_ndarray(format="rgb24")  # (h, w, 3)
