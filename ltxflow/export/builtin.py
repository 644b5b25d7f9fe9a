"""The built-in platform presets, as data (sources and caveats in docs: /work/shared/platforms.md).

Numbers marked [3rd] come from third-party guides, not the platform; campaigns override any field.
"""

from __future__ import annotations

from ltxflow.export.presets import Preset

GB = 1_000_000_000  # bytes
MB = 1_000_000  # bytes

REELS = Preset(
    name="reels", label="Instagram / Facebook Reels", width=1080, height=1920,
    min_seconds=3.0, max_seconds=180.0, over_length="trim", max_bytes=4 * GB,
    safe_box=(65, 270, 1015, 1250),  # [3rd] top 14 %, bottom 35 %, sides 6 %
)  # fmt: skip

SHORTS = Preset(
    name="shorts", label="YouTube Shorts", width=1080, height=1920,
    min_seconds=0.0, max_seconds=180.0, over_length="trim",
    safe_box=(60, 250, 960, 1440),  # [3rd]
)  # fmt: skip

TIKTOK = Preset(
    name="tiktok", label="TikTok (organic)", width=1080, height=1920,
    min_seconds=0.0, max_seconds=600.0, over_length="trim",
    safe_box=(60, 150, 930, 1480),  # [3rd] top 150, bottom 440, right 150 px
)  # fmt: skip

TIKTOK_AD = Preset(
    name="tiktok-ad", label="TikTok in-feed ad", width=1080, height=1920,
    min_seconds=5.0, max_seconds=60.0, over_length="refuse",  # an ad cut short loses its end card
    max_bytes=500 * MB, min_total_kbps=516, min_width=540, min_height=960,  # [official]
    safe_box=(60, 150, 930, 1480),  # [3rd]
)  # fmt: skip

META_FEED_4X5 = Preset(
    name="meta-feed-4x5", label="Meta feed 4:5", width=1080, height=1350, fit="blur-pad",
    min_seconds=1.0, max_seconds=241 * 60.0, max_bytes=4 * GB,
    safe_box=(0, 135, 1080, 1215),  # keep the centre 1080x1080
)  # fmt: skip

SNAPCHAT = Preset(
    name="snapchat", label="Snapchat", width=1080, height=1920,
    min_seconds=3.0, max_seconds=180.0, max_bytes=1 * GB,
    audio_kbps=192, require_audio=True,  # no silent video: a silent clip gets a silent track
    safe_box=(0, 150, 1080, 1770),  # 150 px clear top and bottom
)  # fmt: skip

PINTEREST = Preset(
    name="pinterest", label="Pinterest (9:16)", width=1080, height=1920,
    min_seconds=4.0, max_seconds=15 * 60.0, max_bytes=2 * GB,
)  # fmt: skip

BUILTIN_PRESETS: tuple[Preset, ...] = (REELS, SHORTS, TIKTOK, TIKTOK_AD, META_FEED_4X5, SNAPCHAT, PINTEREST)
