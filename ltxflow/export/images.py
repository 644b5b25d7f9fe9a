"""Still images: the cover JPEG at the delivery size and the centre-crop grid preview."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ltxflow.export.atomic import atomic_path

JPEG_QUALITY = 92


def write_jpeg(rgb: np.ndarray, path: Path, size: tuple[int, int] | None = None) -> Path:
    """Save (H, W, 3) uint8 as a JPEG, resized to `size` (width, height) if given; atomic."""
    image = Image.fromarray(rgb)
    if size is not None and image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    with atomic_path(path) as partial:
        image.save(partial, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return path


def centre_crop(rgb: np.ndarray, aspect: tuple[int, int]) -> np.ndarray:
    """The largest centred (H', W', 3) box of aspect width:height inside (H, W, 3)."""
    h, w = rgb.shape[:2]
    aw, ah = aspect
    cw, ch = (w, w * ah // aw) if w * ah <= h * aw else (h * aw // ah, h)
    x0, y0 = (w - cw) // 2, (h - ch) // 2
    return rgb[y0 : y0 + ch, x0 : x0 + cw]
