"""Write docs/ad-<platform>.png: one frame (at --at seconds) of each MP4 a run of a campaign delivered, downscaled.

Usage: python scripts/readme_frames.py OUT_FOLDER [--variant dawn-porch] [--at 1.0] [--width 300]
(OUT_FOLDER is the campaign's output folder, e.g. out/cold-brew-launch; the README shows these pictures.)
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import av
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def frame_at(video: Path, seconds: float) -> Image.Image:
    """The first decoded frame at or after `seconds`."""
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            if frame.time is not None and frame.time >= seconds:
                return frame.to_image()
    raise SystemExit(f"{video}: no frame at {seconds} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--variant", default="dawn-porch")
    parser.add_argument("--at", type=float, default=1.0)
    parser.add_argument("--width", type=int, default=300)
    args = parser.parse_args()
    for video in sorted(args.folder.glob(f"*__{args.variant}__*.mp4")):
        platform = re.sub(r"__[0-9a-f]{8}$", "", video.stem).rsplit("__", 1)[1]
        image = frame_at(video, args.at)
        image = image.resize((args.width, round(image.height * args.width / image.width)), Image.Resampling.LANCZOS)
        path = ROOT / "docs" / f"ad-{platform}.png"
        image.save(path, optimize=True)
        print(path)


if __name__ == "__main__":
    main()
