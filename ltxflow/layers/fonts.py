"""Fonts and colours of the brand kit: FreeType faces by file (or Pillow's bundled one), `#RRGGBB[AA]` to RGBA."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import PIL
from PIL import ImageFont

from ltxflow.layers.schema import DEFAULT_FONT, HEX_COLOUR

RGBA = tuple[int, int, int, int]


@lru_cache(maxsize=512)
def face(path: str, size: int) -> ImageFont.FreeTypeFont:
    """The font file at `path` ("" = Pillow's bundled FreeType font) at `size` px."""
    if not path:
        return ImageFont.load_default(size=size)  # type: ignore[return-value]  # FreeType is required (schema checks fonts)
    return ImageFont.truetype(path, size)


@lru_cache(maxsize=64)
def file_identity(path: str) -> str:
    """What a font or image contributes to a layer set's identity: its bytes' sha256 (16 hex), or Pillow's font."""
    if not path:
        return f"pillow-{PIL.__version__}"
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def font_path(name: str | None, fonts: Mapping[str, Path], folder: Path) -> str:
    """A layer's `font` (brand font name, "default", or a file) as a path string ("" = Pillow's)."""
    if not name or name == DEFAULT_FONT:
        return ""
    if name in fonts:
        return str(fonts[name])
    return str((folder / name).absolute())


def rgba(colour: str, colours: Mapping[str, str]) -> RGBA:
    """`#RRGGBB`, `#RRGGBBAA` or a brand colour name -> (r, g, b, a) in 0-255."""
    value = colour if HEX_COLOUR.fullmatch(colour) else colours[colour]
    digits = value[1:] + ("ff" if len(value) == 7 else "")
    return tuple(int(digits[i : i + 2], 16) for i in range(0, 8, 2))  # type: ignore[return-value]
