"""Layout and drawing: every drawn pixel lies inside the platform's safe zone (checked on the pixels, not on the
recorded boxes), blending matches the alpha-over formula, windows and fades gate what is drawn, and the end card
replaces the frame once it has faded in."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
from PIL import Image

from ltxflow.export.builtin import BUILTIN_PRESETS
from ltxflow.layers.composite import Compositor, Sprite
from ltxflow.layers.layout import Geometry, Placed, VariantTexts, lay_out
from ltxflow.layers.plan import geometry
from ltxflow.layers.schema import AdSettings

TEXTS = VariantTexts({"headline": "Cold brew that wakes up slowly, every single morning", "price": "$4.50"},
                     "Order at northwind.example", "Twenty hours steeped. Smooth from the first sip. Try it.")  # fmt: skip


def _fail(layer, what):
    return AssertionError(f"{layer}: {what}")


@pytest.fixture
def ad(tmp_path):
    logo = Image.new("RGBA", (300, 120), (0, 0, 0, 0))
    logo.paste((200, 40, 40, 255), (10, 10, 290, 110))
    logo.save(tmp_path / "logo.png")
    return AdSettings.model_validate({
        "brand": {"name": "N", "logo": "logo.png", "colors": {"green": "#1F3A2B"}},
        "layer": [{"type": "text", "name": "headline", "text": "x", "end": 2.0, "anchor": anchor, "height": 0.3}
                  for anchor in ["top"]]
                 + [{"type": "text", "name": "price", "text": "x", "anchor": "bottom-left", "width": 0.4, "height": 0.1},
                    {"type": "logo", "anchor": "top-right", "width": 0.3, "height": 0.1}],
        "captions": {"text": "x"}, "end_card": {"background": "green", "text": "x", "seconds": 1.0},
    }, context={"folder": tmp_path})  # fmt: skip


@pytest.mark.parametrize("preset", [p for p in BUILTIN_PRESETS if p.safe_box], ids=lambda p: p.name)
def test_every_drawn_pixel_is_inside_the_safe_zone(ad, tmp_path, preset):
    layers = lay_out(ad, TEXTS, geometry(preset), 4.0, tmp_path, _fail)
    compositor = Compositor(layers, Fraction(24))
    x0, y0, x1, y1 = preset.safe_box
    for base in (0, 255):  # a pixel drawn in any colour differs from black or from white
        frame = np.full((preset.height, preset.width, 3), base, np.uint8)
        drawn = np.zeros((preset.height, preset.width), bool)
        for index in range(0, 67, 6):  # before the end card (at 3.0 s)
            drawn |= (compositor.apply(frame, index) != frame).any(axis=-1)
        ys, xs = np.nonzero(drawn)
        assert len(ys) > 1000
        assert x0 <= xs.min() and xs.max() < x1 and y0 <= ys.min() and ys.max() < y1, preset.name
    text = [box for name, box in layers.text_boxes()]
    assert all(x0 <= a and c <= x1 and y0 <= b and d <= y1 for a, b, c, d in text)


def test_layout_is_per_frame_size_not_scaled(ad, tmp_path):
    """Each platform's own safe zone decides the layout: Reels' is 950 px wide, Meta 4:5's the full 1080."""
    reels, meta = (lay_out(ad, TEXTS, geometry(p), 4.0, tmp_path, _fail) for p in BUILTIN_PRESETS
                   if p.name in ("reels", "meta-feed-4x5"))  # fmt: skip
    r, m = reels.placed[0], meta.placed[0]
    assert r.text.size < m.text.size  # the same words fit larger in the wider zone: not a scaled copy
    assert r.box[2] - r.box[0] <= 950 - 2 * 32 < m.box[2] - m.box[0]
    assert m.box[1] >= 135 and r.box[1] >= 270  # each inside its own top safe margin
    assert reels.id != meta.id


def test_alpha_over_matches_the_float_formula():
    rng = np.random.default_rng(1)
    image = Image.fromarray(rng.integers(0, 256, (20, 30, 4), dtype=np.uint8), "RGBA")
    sprite = Sprite.of(image, Placed("x", "logo", (5, 7, 35, 27), 0.0, 1.0, 0.0), (64, 48))
    frame = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    out = frame.copy()
    sprite.draw(out, 1.0)
    rgba = np.asarray(image).astype(np.float64)
    a = rgba[..., 3:] / 255
    expected = frame.astype(np.float64)
    expected[7:27, 5:35] = frame[7:27, 5:35] * (1 - a) + rgba[..., :3] * a
    assert np.abs(out.astype(np.float64) - expected).max() <= 0.5 + 1e-9  # integer rounding of the same formula
    half = frame.copy()
    sprite.draw(half, 0.5)
    assert np.abs(half.astype(int) - (frame.astype(int) + out.astype(int)) / 2).max() <= 1.5


def test_windows_and_fades_gate_drawing(ad, tmp_path):
    layers = lay_out(ad, TEXTS, geometry(BUILTIN_PRESETS[0]), 4.0, tmp_path, _fail)
    compositor = Compositor(layers, Fraction(24))
    frame = np.zeros((1920, 1080, 3), np.uint8)
    x0, y0, x1, y1 = layers.placed[0].box  # the headline: 0-2 s, 0.25 s fades
    inside = lambda index: compositor.apply(frame, index)[y0:y1, x0:x1].astype(int).sum()  # noqa: E731
    assert 0 < inside(0) < inside(3) < inside(12) == inside(24)  # fading in, then steady
    assert inside(47) < inside(24)  # fading out before 2 s
    without = Compositor(replace(layers, placed=layers.placed[1:]), Fraction(24))
    assert not np.array_equal(compositor.apply(frame, 40), without.apply(frame, 40))  # 1.69 s: drawn
    assert np.array_equal(compositor.apply(frame, 50), without.apply(frame, 50))  # 2.1 s: nothing of it left


def test_the_end_card_replaces_the_frame_once_faded_in(ad, tmp_path):
    layers = lay_out(ad, TEXTS, geometry(BUILTIN_PRESETS[0]), 4.0, tmp_path, _fail)
    compositor = Compositor(layers, Fraction(24))
    rng = np.random.default_rng(2)
    a, b = (rng.integers(0, 256, (1920, 1080, 3), dtype=np.uint8) for _ in range(2))
    last = 95  # 3.98 s: the card started at 3.0 s and faded in over 0.3 s
    assert np.array_equal(compositor.apply(a, last), compositor.apply(b, last))
    card = compositor.apply(a, last)
    assert tuple(card[5, 5]) == (0x1F, 0x3A, 0x2B)  # the brand colour, edge to edge
    assert not np.array_equal(compositor.apply(a, 73), compositor.apply(b, 73))  # 3.06 s: still fading in


def test_a_layer_limited_to_other_platforms_is_left_out(ad, tmp_path):
    limited = ad.model_copy(update={"layer": (ad.layer[0].model_copy(update={"platforms": ("tiktok",)}),)})
    reels = lay_out(limited, TEXTS, geometry(BUILTIN_PRESETS[0]), 4.0, tmp_path, _fail)
    assert "headline" not in {p.name for p in reels.placed}
