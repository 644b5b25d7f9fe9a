"""Drawing a LayerSet: each layer rendered once into an RGBA sprite, alpha-composited per frame only inside its
box and its time window (numpy, integer arithmetic), the end card as one pre-rendered full frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from ltxflow.layers.fonts import face
from ltxflow.layers.layout import EndCardSpec, LayerSet, Placed, TextSpec, text_size

SHADOW_ALPHA = 150  # 0-255 opacity of the drop shadow


def render_text(spec: TextSpec) -> Image.Image:
    """An RGBA image of the text block: box, shadow, lines."""
    w, h = text_size(spec)
    f = face(spec.font, spec.size)
    image = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    if spec.box is not None:
        ImageDraw.Draw(image).rounded_rectangle((0, 0, w - 1 - spec.shadow, h - 1 - spec.shadow),
                                                radius=max(1, spec.padding // 2), fill=spec.box)  # fmt: skip
    inner = w - 2 * spec.padding - spec.shadow

    def draw_lines(target: Image.Image, offset: int, fill: tuple[int, int, int, int]) -> None:
        draw = ImageDraw.Draw(target)
        for n, line in enumerate(spec.lines):
            lw = math.ceil(max(f.getlength(line), f.getbbox(line, anchor="la")[2]))
            dx = {"left": 0, "center": (inner - lw) // 2, "right": inner - lw}[spec.align]
            draw.text((spec.padding + dx + offset, spec.padding + n * spec.line_height + offset), line, font=f,
                      fill=fill, anchor="la")  # fmt: skip

    if spec.shadow:
        shadow = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        draw_lines(shadow, spec.shadow, (0, 0, 0, SHADOW_ALPHA))
        image = Image.alpha_composite(image, shadow.filter(ImageFilter.GaussianBlur(spec.shadow / 2)))
    draw_lines(image, 0, spec.color)
    return image


def render(placed: Placed) -> Image.Image:
    """The RGBA image of one placed layer, exactly its box's size."""
    w, h = placed.box[2] - placed.box[0], placed.box[3] - placed.box[1]
    if placed.text is not None:
        return render_text(placed.text)
    assert placed.logo is not None
    with Image.open(placed.logo.file) as source:
        logo = source.convert("RGBA").resize((w, h), Image.Resampling.LANCZOS)
    if placed.logo.opacity < 1.0:
        alpha = np.asarray(logo)[..., 3].astype(np.float32) * placed.logo.opacity
        logo.putalpha(Image.fromarray(np.round(alpha).astype(np.uint8)))
    return logo


@dataclass(frozen=True, eq=False)
class Sprite:
    """A premultiplied RGBA patch at (x, y), shown on output frames [first, last) with fades."""

    x: int  # px
    y: int  # px
    rgb: np.ndarray  # (h, w, 3) uint16 colour
    alpha: np.ndarray  # (h, w, 1) uint16 0-255
    pre: np.ndarray  # (h, w, 3) uint16 rgb * alpha
    inv: np.ndarray  # (h, w, 1) uint16 255 - alpha
    start: float  # s
    end: float  # s
    fade: float  # s
    opaque: bool  # every pixel has alpha 255 (drawn by copying)

    @classmethod
    def of(cls, image: Image.Image, placed: Placed, frame: tuple[int, int]) -> Sprite | None:
        """The sprite of `image` at placed.box, cropped to its visible pixels and to the frame (w, h); None if empty."""
        rgba = np.asarray(image.convert("RGBA"))  # (h, w, 4) uint8
        x, y = placed.box[0], placed.box[1]
        x0, y0 = max(0, -x), max(0, -y)
        x1, y1 = min(rgba.shape[1], frame[0] - x), min(rgba.shape[0], frame[1] - y)
        rgba = rgba[y0:y1, x0:x1]
        seen = np.nonzero(rgba[..., 3])
        if not len(seen[0]):
            return None
        top, bottom, left, right = seen[0].min(), seen[0].max() + 1, seen[1].min(), seen[1].max() + 1
        rgba = rgba[top:bottom, left:right]
        rgb, alpha = rgba[..., :3].astype(np.uint16), rgba[..., 3:].astype(np.uint16)
        return cls(x + x0 + left, y + y0 + top, rgb, alpha, rgb * alpha, 255 - alpha, placed.start, placed.end, placed.fade,
                   bool((alpha == 255).all()))

    def opacity(self, t: float) -> float:
        """0-1 at time t (s): 0 outside the window, ramps of `fade` s at both ends."""
        if not self.start <= t < self.end:
            return 0.0
        if self.fade <= 0:
            return 1.0
        return max(0.0, min(1.0, (t - self.start) / self.fade, (self.end - t) / self.fade))

    def draw(self, frame: np.ndarray, opacity: float) -> None:
        """Composite onto (H, W, 3) uint8 `frame` in place: out = (src * (255 - a) + rgb * a + 127) // 255."""
        h, w = self.alpha.shape[:2]
        region = frame[self.y : self.y + h, self.x : self.x + w]
        if self.opaque:  # one scalar weight for the whole patch
            k = round(min(1.0, opacity) * 255)
            region[...] = self.rgb if k == 255 else (region * (255 - k) + self.rgb * k + 127) // 255
            return
        if opacity >= 1.0:
            pre, inv = self.pre, self.inv
        else:
            a = (self.alpha * round(opacity * 255) + 127) // 255
            pre, inv = self.rgb * a, 255 - a
        region[...] = (region * inv + pre + 127) // 255  # uint16: src*inv + rgb*a <= 255*255


class Compositor:
    """Draws one LayerSet on the frames of one deliverable (output frame i is at time (i + 0.5) / fps)."""

    def __init__(self, layers: LayerSet, fps: Fraction) -> None:
        self.layers, self.fps = layers, fps
        size = (layers.width, layers.height)
        self.sprites = [s for p in layers.placed if (s := Sprite.of(render(p), p, size)) is not None]
        self.card = _card_frame(layers.end_card, size) if layers.end_card is not None else None

    def time(self, index: int) -> float:
        """Seconds at the middle of output frame `index`."""
        return float((index + Fraction(1, 2)) / self.fps)

    def apply(self, frame: np.ndarray, index: int) -> np.ndarray:
        """The frame with every layer visible at output frame `index` drawn on it (a new array if any is)."""
        t = self.time(index)
        visible = [(s, o) for s in self.sprites if (o := s.opacity(t)) > 0]
        card = self.layers.end_card
        card_opacity = 0.0
        if card is not None and t >= card.start:
            card_opacity = 1.0 if card.fade <= 0 else min(1.0, (t - card.start) / card.fade)
        if not visible and card_opacity <= 0:
            return frame
        out = frame.copy()
        if card_opacity < 1.0:  # a fully shown card covers every layer
            for sprite, opacity in visible:
                sprite.draw(out, opacity)
        if card_opacity > 0:
            assert self.card is not None
            self.card.draw(out, card_opacity)
        return out


def _card_frame(card: EndCardSpec, size: tuple[int, int]) -> Sprite:
    """The whole end card as one frame-sized sprite (its alpha is the background's)."""
    image = Image.new("RGBA", size, card.background)
    for placed in (card.logo, card.text):
        if placed is not None:
            layer = Image.new("RGBA", size, (0, 0, 0, 0))
            layer.paste(render(placed), placed.box[:2])
            image = Image.alpha_composite(image, layer)
    whole = Placed("end_card", "logo", (0, 0, *size), card.start, math.inf, card.fade)
    sprite = Sprite.of(image, whole, size)
    assert sprite is not None
    return sprite
