"""`init`: a new campaign folder with a campaign.toml, a variants CSV and a prompt template that validate as-is."""

from __future__ import annotations

import os
from pathlib import Path

from ltxflow.campaign import CAMPAIGN_FILE, ID_PATTERN
from ltxflow.errors import CampaignError

_TOML = """\
# {name}: edit the brand, the template and the variants, then `ltxflow plan {folder}`.
name = "{name}"
brand = "Your Brand"
template = "prompt.j2"          # relative to this folder
variants = "variants.csv"
platforms = ["reels", "shorts", "tiktok"]
seeds = [1]
# budget = 10.0                 # USD for the whole campaign

[generation]
engine = "ltx2"
checkpoint = "tiny"             # or a path to an LTX-2 .safetensors checkpoint (steps, fps, guidance then default to its own)
width = 160                     # pixels, multiple of 32; width x height is the pixel budget of each master:
height = 288                    #   Reels, Shorts and TikTok (9:16) share one 160x288 master
frames = 73                     # 8k+1: 3.04 s at 24 fps (Reels needs >= 3 s; `ltxflow validate` says when a platform would refuse)
fps = 24
steps = 4

[guidance.video]
stg_blocks = [0]

[guidance.audio]
stg_blocks = [0]

[audio]
mode = "text"                   # text | reference | video-to-audio | silent
"""

_CSV = """\
variant_id,subject,setting,sound
first,a red bicycle,a sunny street,a bell ringing
second,a red bicycle,a rainy alley at night,rain on cobblestones
"""

_TEMPLATE = """\
{{ subject | sentence }} {{ brand }} presents it in {{ setting }}, the camera gliding past.
Sound: {{ sound | sentence }}
{%- set negative_prompt = "blurry, distorted, watermark" %}
"""


def scaffold_campaign(folder: Path | str) -> list[Path]:
    """Create `folder` with a starter campaign; refuse to touch an existing folder."""
    folder = Path(folder)
    name = folder.name
    if not ID_PATTERN.fullmatch(name) or ".." in name:
        raise CampaignError(f"{folder}: campaign name {name!r} must be 1-64 of [A-Za-z0-9._-]")
    if folder.exists():
        raise CampaignError(f"{folder}: already exists; pick a new campaign folder")
    folder.mkdir(parents=True)
    files = {CAMPAIGN_FILE: _TOML.format(name=name, folder=folder), "variants.csv": _CSV, "prompt.j2": _TEMPLATE}
    written = []
    for filename, text in files.items():
        path = folder / filename
        tmp = folder / f".{filename}.tmp"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        written.append(path)
    return written
