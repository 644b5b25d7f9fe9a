"""Presets as data: built-ins registered by the default plugin, validated overrides, one-line errors."""

from __future__ import annotations

from fractions import Fraction

import pluggy
import pytest

from ltxflow import hookspecs
from ltxflow.default_plugins import presets as preset_plugin
from ltxflow.errors import LtxflowError
from ltxflow.export import ExportError, Preset, find_preset, preset_registry
from ltxflow.export.builtin import BUILTIN_PRESETS, REELS, TIKTOK_AD


def test_default_plugin_registers_every_builtin_through_the_hook():
    pm = pluggy.PluginManager("ltxflow")
    pm.add_hookspecs(hookspecs)
    pm.register(preset_plugin)
    pm.check_pending()
    seen: list[Preset] = []
    pm.hook.register_export_presets(register=seen.append)
    registry = preset_registry(seen)
    assert set(registry) == {"reels", "shorts", "tiktok", "tiktok-ad", "meta-feed-4x5", "snapchat", "pinterest"}
    assert registry["meta-feed-4x5"].height == 1350 and registry["tiktok-ad"].over_length == "refuse"
    assert registry["snapchat"].require_audio and not registry["reels"].require_audio


def test_builtins_follow_the_shared_master_spec():
    for p in BUILTIN_PRESETS:
        assert (p.profile, p.pix_fmt, p.b_frames, p.sample_rate, p.channels) == ("high", "yuv420p", 2, 48000, 2)
        assert (p.loudness_lufs, p.true_peak_dbtp) == (-14.0, -1.0)
        assert p.gop_frames(Fraction(30)) == 15 and p.gop_frames(Fraction(24)) == 12
        assert p.video_bitrate(Fraction(24)) == 8_000_000 and p.video_bitrate(Fraction(60)) == 12_000_000


def test_duplicate_and_unknown_names_are_one_line_errors():
    with pytest.raises(ExportError, match="'reels' is registered twice"):
        preset_registry([REELS, REELS])
    registry = preset_registry(BUILTIN_PRESETS)
    with pytest.raises(ExportError) as e:
        find_preset(registry, "vine", "spring/campaign.toml: platforms")
    assert str(e.value) == ("spring/campaign.toml: platforms: unknown export preset 'vine' (known: meta-feed-4x5, "
                            "pinterest, reels, shorts, snapchat, tiktok, tiktok-ad)")  # fmt: skip
    assert isinstance(e.value, LtxflowError)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"width": 1081}, "c.toml: preset 'reels' field 'width': 1081 is odd; yuv420p needs even sizes"),
        ({"video_kbps": -8000}, "c.toml: preset 'reels' field 'video_kbps': -8000 must be a positive bitrate"),
        ({"widht": 720}, "c.toml: preset 'reels' has no field 'widht'"),
        ({"fit": "stretch"}, "c.toml: preset 'reels' field 'fit': 'stretch' is not one of crop, pad, blur-pad"),
        ({"width": "720"}, "c.toml: preset 'reels' field 'width': expected an integer, got '720'"),
        ({"max_seconds": 2.0}, "c.toml: preset 'reels' field 'max_seconds': 2.0 must be above min_seconds 3.0"),
        ({"safe_box": [0, 0, 2000, 10]}, "c.toml: preset 'reels' field 'safe_box': (0, 0, 2000, 10) is not a box inside 1080x1920"),
        ({"true_peak_dbtp": 0.5}, "c.toml: preset 'reels' field 'true_peak_dbtp': 0.5 is above 0 dBTP"),
    ],
)  # fmt: skip
def test_impossible_overrides_are_one_line_errors(overrides, message):
    with pytest.raises(ExportError) as e:
        REELS.with_overrides(overrides, "c.toml")
    assert str(e.value) == message and "\n" not in str(e.value)


def test_overrides_convert_toml_values_and_rescale_the_safe_box():
    p = REELS.with_overrides({"width": 540, "height": 960, "fps": "30000/1001", "fps_policy": "fixed",
                              "loudness_lufs": -16, "preview_aspect": [4, 5]}, "c.toml")  # fmt: skip
    assert (p.width, p.height, p.fps, p.loudness_lufs, p.preview_aspect) == (540, 960, Fraction(30000, 1001), -16.0, (4, 5))
    assert p.safe_box == (32, 135, 508, 625)  # (65, 270, 1015, 1250) halved, rounded
    assert p.output_fps(Fraction(24)) == Fraction(30000, 1001)
    assert REELS.output_fps(Fraction(24)) == 24 and REELS.output_fps(Fraction(120)) == 30
    assert TIKTOK_AD.with_overrides({}, "c.toml") == TIKTOK_AD
