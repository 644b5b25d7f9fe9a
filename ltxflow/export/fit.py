"""Frame geometry and timing: crop / pad / blur-pad to the delivery size, nearest-frame rate conversion."""

from __future__ import annotations

import math
from fractions import Fraction

import av
import numpy as np
from PIL import Image, ImageFilter

from ltxflow.export.presets import Preset

BLUR_SCALE = 8  # the blurred background is computed at 1/8 size, then upscaled
BLUR_RADIUS = 3  # px at that reduced size


def _resize(rgb: np.ndarray, width: int, height: int, interpolation: str = "LANCZOS") -> np.ndarray:
    """(H, W, 3) uint8 -> (height, width, 3) uint8 with libswscale."""
    if rgb.shape[1] == width and rgb.shape[0] == height:
        return rgb
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    return frame.reformat(width=width, height=height, interpolation=interpolation).to_ndarray()


def _cover_crop(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """Centre crop of (H, W, 3) to the aspect width:height (the largest such box)."""
    h, w = rgb.shape[:2]
    if w * height > h * width:  # source wider than target: crop the sides
        cw = max(1, round(h * width / height))
        x0 = (w - cw) // 2
        return rgb[:, x0 : x0 + cw]
    ch = max(1, round(w * height / width))
    y0 = (h - ch) // 2
    return rgb[y0 : y0 + ch]


def _contain_size(h: int, w: int, width: int, height: int) -> tuple[int, int]:
    """(w, h) of the source scaled to fit inside width x height, even-sized where it does not fill."""
    scale = min(width / w, height / h)
    fw, fh = min(width, round(w * scale)), min(height, round(h * scale))
    return max(2, fw - fw % 2), max(2, fh - fh % 2)


def fit_frame(rgb: np.ndarray, preset: Preset) -> np.ndarray:
    """(H, W, 3) uint8 -> (preset.height, preset.width, 3) uint8 per the preset's fit mode."""
    width, height = preset.width, preset.height
    if preset.fit == "crop":
        return _resize(_cover_crop(rgb, width, height), width, height)
    fw, fh = _contain_size(rgb.shape[0], rgb.shape[1], width, height)
    fg = _resize(rgb, fw, fh)  # (fh, fw, 3)
    if preset.fit == "pad":
        canvas = np.zeros((height, width, 3), np.uint8)
    else:  # blur-pad: a blurred, filled copy behind the fitted frame
        small = _resize(_cover_crop(rgb, width, height), max(2, width // BLUR_SCALE), max(2, height // BLUR_SCALE), "AREA")
        blurred = Image.fromarray(small).filter(ImageFilter.GaussianBlur(BLUR_RADIUS))
        canvas = (np.asarray(blurred.resize((width, height), Image.Resampling.BILINEAR)) * 0.6).astype(np.uint8)
    y0, x0 = (height - fh) // 2, (width - fw) // 2
    canvas[y0 : y0 + fh, x0 : x0 + fw] = fg
    return canvas


def frame_indices(num_frames: int, fps: Fraction, out_fps: Fraction) -> list[int]:
    """Source frame shown at each output frame time i / out_fps (nearest frame, exact rational times)."""
    if out_fps == fps:
        return list(range(num_frames))
    count = max(1, math.floor(num_frames * out_fps / fps + Fraction(1, 2)))
    return [min(num_frames - 1, math.floor(i * fps / out_fps + Fraction(1, 2))) for i in range(count)]


def draw_safe_box(rgb: np.ndarray, box: tuple[int, int, int, int], line: int = 4) -> np.ndarray:
    """A copy with the area outside `box` dimmed and the box outlined (review copies only)."""
    x0, y0, x1, y1 = box
    out = (rgb.astype(np.uint16) * 5 // 10).astype(np.uint8)
    out[y0:y1, x0:x1] = rgb[y0:y1, x0:x1]
    red = np.array([255, 40, 40], np.uint8)
    out[y0 : y0 + line, x0:x1] = red
    out[max(y0, y1 - line) : y1, x0:x1] = red
    out[y0:y1, x0 : x0 + line] = red
    out[y0:y1, max(x0, x1 - line) : x1] = red
    return out
