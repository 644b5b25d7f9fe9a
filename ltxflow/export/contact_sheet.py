"""A contact sheet: images side by side in a grid, each labelled with its variant id (Pillow)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from ltxflow.export.atomic import atomic_path
from ltxflow.export.presets import ExportError

CELL_WIDTH = 270  # px of each thumbnail
LABEL_HEIGHT = 28  # px strip under each thumbnail for its label
GAP = 8  # px between cells and around the sheet
BACKGROUND = (24, 24, 24)
TEXT = (240, 240, 240)


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=18)
    except TypeError:  # Pillow < 10.1 has one bitmap size
        return ImageFont.load_default()


def sheet_size(count: int, cell_height: int, columns: int) -> tuple[int, int]:
    """(width, height) px of a sheet of `count` cells in `columns` columns."""
    rows = math.ceil(count / columns)
    return GAP + columns * (CELL_WIDTH + GAP), GAP + rows * (cell_height + LABEL_HEIGHT + GAP)


def contact_sheet(items: Sequence[tuple[str, Path]], path: Path, columns: int | None = None) -> Path:
    """Write a PNG grid of (label, image) items, ceil(sqrt(n)) columns unless given; atomic; returns path.

    Thumbnails share the first image's aspect ratio (others are letterboxed into it).
    """
    if not items:
        raise ExportError(f"{path}: no images for the contact sheet")
    if columns is not None and columns < 1:
        raise ExportError(f"{path}: contact sheet columns must be at least 1, got {columns}")
    columns = min(columns or math.ceil(math.sqrt(len(items))), len(items))
    images = []
    for label, image_path in items:
        try:
            with Image.open(image_path) as image:
                images.append((label, image.convert("RGB")))
        except OSError as e:
            raise ExportError(f"{image_path}: cannot read image for '{label}' ({e})") from None
    first = images[0][1]
    cell_height = max(1, round(CELL_WIDTH * first.height / first.width))
    sheet = Image.new("RGB", sheet_size(len(images), cell_height, columns), BACKGROUND)
    draw, font = ImageDraw.Draw(sheet), _font()
    for n, (label, image) in enumerate(images):
        x = GAP + (n % columns) * (CELL_WIDTH + GAP)
        y = GAP + (n // columns) * (cell_height + LABEL_HEIGHT + GAP)
        image.thumbnail((CELL_WIDTH, cell_height), Image.Resampling.LANCZOS)
        sheet.paste(image, (x + (CELL_WIDTH - image.width) // 2, y + (cell_height - image.height) // 2))
        draw.text((x + 4, y + cell_height + 4), label, fill=TEXT, font=font)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as partial:
        sheet.save(partial, format="PNG")
    return path
