"""Make the cold-brew-launch campaign's logo: a PNG with alpha drawn with Pillow and the campaign's own font.

Usage: python scripts/make_brand_assets.py [OUT_DIR]   (default: campaigns/cold-brew-launch/assets)
Deterministic (same bytes on every run with the same Pillow); the drawing is dedicated to the public domain (CC0).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
CREAM, GREEN, GOLD = (246, 239, 226, 255), (31, 58, 43, 255), (242, 193, 78, 255)


def logo(font_file: Path) -> Image.Image:
    """A 480x200 badge: a gold roundel with a bean, the word mark on a green plate, transparent corners."""
    image = Image.new("RGBA", (480, 200), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, 479, 199), radius=44, fill=GREEN)
    draw.ellipse((22, 22, 178, 178), fill=GOLD)
    draw.ellipse((62, 48, 138, 152), fill=GREEN)  # the bean
    draw.arc((84, 52, 116, 148), 250, 110, fill=GOLD, width=7)  # its crease
    big, small = ImageFont.truetype(str(font_file), 52), ImageFont.truetype(str(font_file), 25)
    draw.text((198, 26), "NORTH", font=big, fill=CREAM)
    draw.text((198, 80), "WIND", font=big, fill=GOLD)
    draw.text((200, 146), "COLD BREW", font=small, fill=CREAM)
    return image


def main(out_dir: Path) -> list[Path]:
    """Write logo.png into out_dir (the font is read from there); return its path."""
    path = out_dir / "logo.png"
    logo(out_dir / "DejaVuSans-Bold.ttf").save(path, format="PNG", optimize=False)
    return [path]


if __name__ == "__main__":
    for p in main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "campaigns/cold-brew-launch/assets"):
        print(p)
