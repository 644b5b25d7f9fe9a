"""Build the embedded `tiny` checkpoint (and its x2 latent upsampler) deterministically and print their sha256.

    python scripts/make_tiny_checkpoint.py            # into the cache ($LTXFLOW_CACHE or ~/.cache/ltxflow)
    python scripts/make_tiny_checkpoint.py --out DIR  # anywhere else

The same torch version gives the same bytes on every run; `checkpoint = "tiny"` builds these files on first use,
so running this script is only needed to inspect them or to pre-fill a cache.
"""

from __future__ import annotations

import argparse
import hashlib
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from ltxflow.engine.tiny import cache_dir, tiny_paths, write_tiny_checkpoint  # noqa: E402


def sha256(path: pathlib.Path) -> str:
    """Hex digest of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build the tiny LTX-2 checkpoint deterministically.")
    parser.add_argument("--out", type=pathlib.Path, default=None, help="folder (default: the ltxflow cache)")
    args = parser.parse_args(argv)
    checkpoint, upsampler = tiny_paths(args.out or cache_dir())
    write_tiny_checkpoint(checkpoint, upsampler)
    for path in (checkpoint, upsampler):
        print(f"{sha256(path)}  {path}  ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
