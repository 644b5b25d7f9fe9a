"""Layout: one variant's layers placed for one deliverable size, inside that platform's safe zone.

Text is wrapped at word boundaries to its box, then shrunk step by step down to its minimum size; what
still does not fit is refused. Every placed box (background and shadow included) lies inside the safe
zone less the brand margin, by construction. The result is plain data; its `id` hashes everything that
decides the pixels and side files, so it is the layer part of a deliverable's identity.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

from PIL import Image

from ltxflow.layers.fonts import RGBA, face, file_identity, font_path, rgba
from ltxflow.layers.schema import AdSettings, Captions, EndCard, LogoLayer, TextLayer, TextStyle

LAYOUT_VERSION = 1  # bump when the same inputs would draw different pixels
SHRINK = 0.94  # each fitting attempt tries this share of the previous font size
Box = tuple[int, int, int, int]  # px (x0, y0, x1, y1), x1/y1 exclusive
Fail = Callable[[str, str], Exception]  # fail(layer name, problem) -> the error to raise
_ANCHORS = {"top-left": (0, 0), "top": (1, 0), "top-right": (2, 0), "left": (0, 1), "center": (1, 1),
            "right": (2, 1), "bottom-left": (0, 2), "bottom": (1, 2), "bottom-right": (2, 2)}  # fmt: skip


@dataclass(frozen=True)
class Geometry:
    """What layout needs of a preset."""

    name: str  # preset name, for errors
    width: int  # px
    height: int  # px
    safe_box: Box | None  # px; None = the whole frame
    captions: str = "both"  # "burn", "sidecar", "both" or "none"


@dataclass(frozen=True)
class TextSpec:
    """Wrapped text ready to draw."""

    lines: tuple[str, ...]
    font: str  # file path, "" = Pillow's bundled font
    font_id: str  # sha256 prefix of the font file
    size: int  # px
    line_height: int  # px
    color: RGBA
    box: RGBA | None  # background box, None = none
    shadow: int  # px shadow offset, 0 = none
    padding: int  # px between the box edge and the text
    align: Literal["left", "center", "right"]


@dataclass(frozen=True)
class LogoSpec:
    """A logo image scaled to its box."""

    file: str
    file_id: str  # sha256 prefix of the image file
    opacity: float  # 0-1


@dataclass(frozen=True)
class Placed:
    """One sprite: what it draws, where, and when."""

    name: str  # layer name; captions are "captions#<cue>", the end card "end_card"
    kind: Literal["text", "logo", "caption"]
    box: Box
    start: float  # s, visible from
    end: float  # s, visible until (exclusive)
    fade: float  # s of fade in and out
    text: TextSpec | None = None
    logo: LogoSpec | None = None


@dataclass(frozen=True)
class Cue:
    """One caption: a time span and its lines."""

    start: float  # s
    end: float  # s
    lines: tuple[str, ...]


@dataclass(frozen=True)
class EndCardSpec:
    """The closing card: a full-frame background with optional logo and text, fading in at `start`."""

    start: float  # s
    fade: float  # s
    background: RGBA
    logo: Placed | None
    text: Placed | None


@dataclass(frozen=True)
class LayerSet:
    """Every layer of one deliverable (one variant on one platform size)."""

    width: int
    height: int
    safe_box: Box
    placed: tuple[Placed, ...]  # in drawing order: layers as declared, then burned-in captions
    end_card: EndCardSpec | None = None
    cues: tuple[Cue, ...] = ()
    sidecars: bool = False  # write .srt and .vtt beside the MP4
    language: str = "en"
    audio_fade: tuple[float, float] | None = None  # s: the sound fades to silence over this span
    version: int = field(default=LAYOUT_VERSION)

    @cached_property
    def id(self) -> str:
        """16 hex digits of the sha256 of everything that decides this layer set's pixels and side files."""
        text = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def text_boxes(self) -> list[tuple[str, Box]]:
        """(name, box) of every drawn text, the end card's included."""
        items = [p for p in self.placed if p.text is not None]
        if self.end_card is not None and self.end_card.text is not None:
            items.append(self.end_card.text)
        return [(p.name, p.box) for p in items]

    def facts(self) -> dict[str, object]:
        """What the ledger records of the layer set (JSON-ready)."""
        card = self.end_card
        return {
            "id": self.id, "safe_box": list(self.safe_box),
            "boxes": [{"name": p.name, "kind": p.kind, "box": list(p.box), "start": p.start, "end": p.end}
                      for p in (*self.placed, *([x for x in (card.logo, card.text) if x] if card else []))],
            "end_card": card.start if card else None, "cues": len(self.cues),
        }  # fmt: skip


# ── Geometry helpers ────────────────────────────────────────────────────────────────────────────


def inner_box(geometry: Geometry, margin: float) -> Box:
    """The safe zone less the brand margin (share of the short side)."""
    x0, y0, x1, y1 = geometry.safe_box or (0, 0, geometry.width, geometry.height)
    m = round(margin * min(geometry.width, geometry.height))
    return x0 + m, y0 + m, x1 - m, y1 - m


def _anchored(outer: Box, w: int, h: int, anchor: str) -> Box:
    """A w x h box placed inside `outer` at `anchor`."""
    col, row = _ANCHORS[anchor]
    x = outer[0] + (outer[2] - outer[0] - w) * col // 2
    y = outer[1] + (outer[3] - outer[1] - h) * row // 2
    return x, y, x + w, y + h


def _region(inner: Box, width: float, height: float, anchor: str) -> Box:
    """A layer's region: shares of the inner box, at the anchor."""
    w = max(1, math.floor((inner[2] - inner[0]) * width))
    h = max(1, math.floor((inner[3] - inner[1]) * height))
    return _anchored(inner, w, h, anchor)


def window(start: float, end: float | None, seconds: float, default_end: float, fail: Callable[[str], Exception]) -> tuple[float, float]:
    """(start, end) in seconds of a layer's window; negatives count back from `seconds`."""
    s = start if start >= 0 else seconds + start
    e = default_end if end is None else (end if end >= 0 else seconds + end)
    if s < 0:
        raise fail(f"start {start:g} s is before the clip's start ({seconds:.2f} s long)")
    if e > seconds + 1e-6:
        raise fail(f"time window {s:g}-{e:g} s ends past the clip's end ({seconds:.2f} s)")
    if e <= s:
        raise fail(f"time window {s:g}-{e:g} s is empty")
    return round(s, 6), round(e, 6)


# ── Text fitting ────────────────────────────────────────────────────────────────────────────────


def _wrap(text: str, font: str, size: int, max_width: int) -> list[str] | None:
    """Greedy word wrap at `size` px; None when a single word is wider than `max_width`."""
    f = face(font, size)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            trial = f"{line} {word}" if line else word
            if _width(f, trial) <= max_width:
                line = trial
                continue
            if not line or _width(f, word) > max_width:
                return None
            lines.append(line)
            line = word
        if line:
            lines.append(line)
    return lines


def _width(f: object, line: str) -> int:
    """Drawn width of a line: the advance or the ink, whichever is wider."""
    return math.ceil(max(f.getlength(line), f.getbbox(line, anchor="la")[2]))  # type: ignore[attr-defined]


def fit_text(text: str, style: TextStyle, box: tuple[int, int], short_side: int, max_lines: int,
             fonts: Mapping[str, Path], colours: Mapping[str, str], folder: Path, default_align: str) -> TextSpec | None:  # fmt: skip
    """The largest size from style.size down to style.min_size at which `text` fits a (w, h) box; None if none."""
    font = font_path(style.font, fonts, folder)
    top = max(1, round(style.size * short_side))
    bottom = max(1, min(top, round(style.min_size * short_side)))
    size = top
    while True:
        padding = round(0.3 * size) if style.box else 0
        shadow = max(1, round(size / 18)) if style.shadow else 0
        line_height = round(size * style.line_spacing)
        lines = _wrap(text, font, size, box[0] - 2 * padding - shadow)
        if lines is not None and 0 < len(lines) <= max_lines:
            ascent, descent = face(font, size).getmetrics()
            height = (len(lines) - 1) * line_height + ascent + descent + 2 * padding + shadow
            if height <= box[1]:
                return TextSpec(tuple(lines), font, file_identity(font), size, line_height,
                                rgba(style.color, colours), rgba(style.box, colours) if style.box else None,
                                shadow, padding, style.align or default_align)  # type: ignore[arg-type]  # fmt: skip
        if size <= bottom:
            return None
        size = max(bottom, min(size - 1, math.floor(size * SHRINK)))


def text_size(spec: TextSpec) -> tuple[int, int]:
    """(w, h) px of the drawn block: lines, padding and shadow."""
    f = face(spec.font, spec.size)
    ascent, descent = f.getmetrics()
    w = max(_width(f, line) for line in spec.lines) + 2 * spec.padding + spec.shadow
    h = (len(spec.lines) - 1) * spec.line_height + ascent + descent + 2 * spec.padding + spec.shadow
    return w, h


def _style(base: TextStyle, item: TextLayer | Captions | EndCard) -> TextStyle:
    """The brand's text defaults with the item's own keys over them."""
    own = {k: getattr(item, k) for k in ("font", "size", "min_size", "color", "box", "shadow", "align")
           if getattr(item, k, None) is not None}  # fmt: skip
    style = base.model_copy(update=own)
    if style.min_size > style.size:
        style = style.model_copy(update={"min_size": style.size})
    return style


# ── Captions ────────────────────────────────────────────────────────────────────────────────────


def split_cues(text: str, max_chars: int, max_lines: int) -> list[tuple[str, ...]]:
    """Text -> cues of at most `max_lines` lines of at most `max_chars` characters, sentences kept apart."""
    cues: list[tuple[str, ...]] = []
    for sentence in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
        lines: list[str] = []
        for word in sentence.split():
            if lines and len(lines[-1]) + 1 + len(word) <= max_chars:
                lines[-1] += " " + word
                continue
            if len(lines) == max_lines:
                cues.append(tuple(lines))
                lines = []
            lines.append(word)
        if lines:
            cues.append(tuple(lines))
    return cues


def time_cues(cues: list[tuple[str, ...]], start: float, end: float) -> tuple[Cue, ...]:
    """Spread cues over [start, end] in proportion to their characters (reading speed is per character)."""
    weights = [sum(len(line) for line in cue) + 1 for cue in cues]
    total, out, at = sum(weights), [], start
    for cue, weight in zip(cues, weights, strict=True):
        until = at + (end - start) * weight / total
        out.append(Cue(round(at, 3), round(until, 3), cue))
        at = until
    return tuple(out)


# ── The layer set ───────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class VariantTexts:
    """One variant's rendered layer texts ("" = the layer is left out for this variant)."""

    layers: Mapping[str, str]  # text layer name -> text
    end_card: str = ""
    captions: str = ""


def lay_out(ad: AdSettings, texts: VariantTexts, geometry: Geometry, seconds: float, folder: Path, fail: Fail) -> LayerSet:
    """Every layer of `ad` placed for `geometry`, over a deliverable of `seconds`; fail(layer, problem) on bad input."""
    kit = ad.brand
    base = kit.text if kit else TextStyle()
    fonts, colours = (kit.fonts, kit.colors) if kit else ({}, {})
    inner = inner_box(geometry, kit.margin if kit else 0.03)
    short = min(geometry.width, geometry.height)
    card_start = seconds - ad.end_card.seconds if ad.end_card else seconds
    if card_start < 0:
        raise fail("end_card", f"seconds = {ad.end_card.seconds:g} is longer than the clip ({seconds:.2f} s)")  # type: ignore[union-attr]
    placed: list[Placed] = []
    for layer in ad.layer:
        if layer.platforms and geometry.name not in layer.platforms:
            continue
        start, end = window(layer.start, layer.end, seconds, card_start, lambda what, n=layer.name: fail(n, what))
        region = _region(inner, layer.width, layer.height, layer.anchor)
        size = (region[2] - region[0], region[3] - region[1])
        if isinstance(layer, LogoLayer):
            file = str(layer.file or kit.logo)  # type: ignore[union-attr]
            box = _logo_box(file, region, layer.anchor)
            placed.append(Placed(layer.name, "logo", box, start, end, layer.fade,
                                 logo=LogoSpec(file, file_identity(file), layer.opacity)))  # fmt: skip
            continue
        text = texts.layers.get(layer.name, "")
        if not text.strip():
            continue
        style = _style(base, layer)
        spec = fit_text(text, style, size, short, layer.max_lines, fonts, colours, folder, _align(layer.anchor))
        if spec is None:
            raise fail(layer.name, _no_fit(text, size, style, short, layer.max_lines, geometry.name))
        w, h = text_size(spec)
        placed.append(Placed(layer.name, "text", _anchored(region, w, h, layer.anchor), start, end, layer.fade, text=spec))
    cues: tuple[Cue, ...] = ()
    if ad.captions is not None and texts.captions.strip() and geometry.captions != "none":
        cap = ad.captions
        start, end = window(cap.start, cap.end, seconds, card_start, lambda what: fail("captions", what))
        cues = time_cues(split_cues(texts.captions, cap.max_chars, cap.max_lines), start, end)
        if geometry.captions in ("burn", "both"):
            placed += _burned(cues, cap, base, inner, short, fonts, colours, folder, geometry.name, fail)
    card = _end_card(ad, texts.end_card, inner, short, (card_start, seconds), folder, geometry.name, fail) if ad.end_card else None
    fade = (card_start, seconds) if ad.end_card is not None and ad.end_card.audio == "fade" else None
    return LayerSet(geometry.width, geometry.height, inner, tuple(placed), card, cues,
                    geometry.captions in ("sidecar", "both") and bool(cues), ad.captions.language if ad.captions else "en",
                    fade)  # fmt: skip


def _align(anchor: str) -> str:
    return ("left", "center", "right")[_ANCHORS[anchor][0]]


def _no_fit(text: str, box: tuple[int, int], style: TextStyle, short: int, max_lines: int, platform: str) -> str:
    shown = text if len(text) <= 40 else text[:37] + "..."
    return (f"text {shown!r} does not fit {box[0]}x{box[1]} px on {platform} in {max_lines} line(s) even at the "
            f"minimum size {max(1, round(style.min_size * short))} px; shorten it or give the layer more room")  # fmt: skip


def _logo_box(file: str, region: Box, anchor: str) -> Box:
    """The largest box of the logo's aspect inside `region`, at the anchor."""
    with Image.open(file) as image:
        iw, ih = image.size
    rw, rh = region[2] - region[0], region[3] - region[1]
    scale = min(rw / iw, rh / ih)
    return _anchored(region, max(1, math.floor(iw * scale)), max(1, math.floor(ih * scale)), anchor)


def _burned(cues: tuple[Cue, ...], cap: Captions, base: TextStyle, inner: Box, short: int, fonts: Mapping[str, Path],
            colours: Mapping[str, str], folder: Path, platform: str, fail: Fail) -> list[Placed]:  # fmt: skip
    """One sprite per cue in the captions region."""
    region = _region(inner, 1.0, cap.height, cap.anchor)
    size = (region[2] - region[0], region[3] - region[1])
    style = _style(base, cap)
    out = []
    for n, cue in enumerate(cues):
        text = " ".join(cue.lines)
        spec = fit_text(text, style, size, short, cap.max_lines, fonts, colours, folder, _align(cap.anchor))
        if spec is None:
            raise fail("captions", _no_fit(text, size, style, short, cap.max_lines, platform))
        w, h = text_size(spec)
        out.append(Placed(f"captions#{n + 1}", "caption", _anchored(region, w, h, cap.anchor), cue.start, cue.end, 0.0, text=spec))
    return out


def _end_card(ad: AdSettings, text: str, inner: Box, short: int, span: tuple[float, float], folder: Path,
              platform: str, fail: Fail) -> EndCardSpec:  # fmt: skip
    """The card: logo above text, the pair centred in the inner safe box, shown over `span` (s)."""
    (start, end), card, kit = span, ad.end_card, ad.brand
    assert card is not None
    colours, fonts = (kit.colors, kit.fonts) if kit else ({}, {})
    iw, ih = inner[2] - inner[0], inner[3] - inner[1]
    logo_box = text_box = None
    logo_spec = text_spec = None
    if card.logo and kit is not None and kit.logo is not None:
        logo_box = _logo_box(str(kit.logo), (0, 0, math.floor(iw * card.logo_width), ih * 45 // 100), "center")
        logo_spec = LogoSpec(str(kit.logo), file_identity(str(kit.logo)), 1.0)
    if text.strip():
        style = _style(kit.text if kit else TextStyle(), card).model_copy(update={"box": "", "shadow": False})
        text_spec = fit_text(text, style, (iw, ih * 30 // 100), short, 3, fonts, colours, folder, "center")
        if text_spec is None:
            raise fail("end_card", _no_fit(text, (iw, ih * 30 // 100), style, short, 3, platform))
    heights = [b[3] - b[1] for b in (logo_box,) if b] + ([text_size(text_spec)[1]] if text_spec else [])
    gap = round(0.04 * ih) if len(heights) == 2 else 0
    y = inner[1] + (ih - sum(heights) - gap) // 2
    logo = text_placed = None
    if logo_box is not None and logo_spec is not None:
        w, h = logo_box[2] - logo_box[0], logo_box[3] - logo_box[1]
        x = inner[0] + (iw - w) // 2
        logo = Placed("end_card.logo", "logo", (x, y, x + w, y + h), start, end, card.fade, logo=logo_spec)
        y += h + gap
    if text_spec is not None:
        w, h = text_size(text_spec)
        x = inner[0] + (iw - w) // 2
        text_placed = Placed("end_card.text", "text", (x, y, x + w, y + h), start, end, card.fade, text=text_spec)
    return EndCardSpec(start, card.fade, rgba(card.background, colours), logo, text_placed)
