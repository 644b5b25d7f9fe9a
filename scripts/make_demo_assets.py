"""Make the product-photo demo's assets: two product stills (Pillow) and a sonic logo (numpy), deterministically.

Usage: python scripts/make_demo_assets.py [OUT_DIR]   (default: campaigns/product-photo/assets)
The files are generated, not photographed or recorded, and are dedicated to the public domain (CC0).
"""

from __future__ import annotations

import os
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SIZE = 256  # px, square stills
LOGO_RATE = 24_000  # Hz
LOGO_SECONDS = 1.25
NOTES_HZ = (659.25, 830.61, 987.77)  # E5, G#5, B5: a rising major triad
NOTE_START_S = (0.0, 0.18, 0.36)


def product_still(body: tuple[int, int, int], cap: tuple[int, int, int]) -> Image.Image:
    """A bottle on a plinth against a soft two-tone backdrop, with a highlight and a label band."""
    image = Image.new("RGB", (SIZE, SIZE), (236, 230, 220))
    draw = ImageDraw.Draw(image)
    for y in range(SIZE // 2, SIZE):  # floor: a vertical gradient
        shade = 214 - (y - SIZE // 2) // 4
        draw.line([(0, y), (SIZE, y)], fill=(shade, shade - 6, shade - 14))
    draw.ellipse([58, 196, 198, 224], fill=(170, 162, 150))  # plinth shadow
    draw.rounded_rectangle([88, 78, 168, 212], radius=22, fill=body)  # bottle body
    draw.rectangle([110, 50, 146, 82], fill=cap)  # cap
    draw.rectangle([88, 132, 168, 164], fill=(245, 242, 236))  # label band
    draw.text((115, 142), "LUMA", fill=(40, 40, 40))
    draw.rounded_rectangle([94, 88, 102, 196], radius=4, fill=tuple(min(255, c + 70) for c in body))  # highlight
    return image


def sonic_logo() -> np.ndarray:
    """A three-note chime (partials 1, 2, 3 with exponential decay), mono float32 in [-1, 1]."""
    t = np.arange(int(LOGO_RATE * LOGO_SECONDS)) / LOGO_RATE
    out = np.zeros_like(t)
    for freq, start in zip(NOTES_HZ, NOTE_START_S, strict=True):
        local = np.clip(t - start, 0.0, None)
        on = (t >= start).astype(float)
        attack = np.minimum(local / 0.005, 1.0)  # 5 ms attack, no click
        envelope = on * attack * np.exp(-local * 4.0)
        partials = sum(amp * np.sin(2 * np.pi * freq * k * local) for k, amp in ((1, 1.0), (2, 0.35), (3, 0.12)))
        out += envelope * partials
    fade = np.minimum(1.0, (t[-1] - t) / 0.05)  # 50 ms fade-out at the end
    out *= fade
    return (0.6 * out / np.abs(out).max()).astype(np.float32)


def write_atomically(path: Path, write) -> None:
    """Call write(temp_path) on a temp file in path's folder, then rename it over `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=path.suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)  # mkstemp makes owner-only files; these are shipped assets
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_wav(path: Path, mono: np.ndarray, rate: int) -> None:
    """16-bit PCM mono WAV with the standard library."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(mono, -1, 1) * 32767).round().astype("<i2").tobytes())


def main(out_dir: Path) -> list[Path]:
    """Write product.png, product_sage.png and sonic_logo.wav into `out_dir`; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stills = {
        "product.png": product_still(body=(178, 64, 52), cap=(52, 46, 44)),  # terracotta, dark cap
        "product_sage.png": product_still(body=(120, 150, 118), cap=(230, 226, 214)),  # sage, ivory cap
    }
    written = []
    for name, image in stills.items():
        path = out_dir / name
        write_atomically(path, lambda p, im=image: im.save(p, format="PNG", optimize=True))
        written.append(path)
    logo = out_dir / "sonic_logo.wav"
    write_atomically(logo, lambda p: write_wav(p, sonic_logo(), LOGO_RATE))
    written.append(logo)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "campaigns/product-photo/assets"
    for p in main(target):
        print(p)
