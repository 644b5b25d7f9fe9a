"""Aspect groups: the aspect ratios a campaign delivers, the master size generated for each, and what every
deliverable loses when its frame is cut (or padded) from its master.

A campaign's `width` x `height` is a pixel budget. Each platform's preset has an aspect ratio; ratios within
`SNAP` of a standard one (9:16, 4:5, 1:1, 16:9, ...) join that group, so Reels, Shorts and TikTok share one 9:16
master. Each group's master is the size the model can make (sides multiples of 32, of 64 for the two-stage
pipelines) nearest to the budget at that ratio. A pinned size makes one master of exactly width x height for
every platform (the old behaviour), and then a loss over `MAX_LOSS` is a warning.

Pure arithmetic on Fractions: `plan` and `validate` use it without the engine.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

# Standard delivery ratios (width:height) a preset snaps to; others keep their own reduced ratio.
STANDARD_RATIOS: tuple[tuple[int, int], ...] = ((9, 16), (4, 5), (1, 1), (16, 9), (2, 3), (3, 4), (4, 3), (3, 2))
SNAP = Fraction(3, 100)  # a preset ratio within 3 % of a standard one joins its group
MAX_LOSS = Fraction(1, 10)  # a deliverable may lose at most 10 % of its master's pixels (crop) or frame (pad)
SEARCH_STEPS = 2  # master sides tried: the nearest multiples and this many more on each side
SOURCE_GROUP = "source"  # the group of presets without a size of their own (they take the budget as given)


@dataclass(frozen=True)
class Cut:
    """How one platform's frame comes out of its master."""

    platform: str
    fit: str  # "crop" | "pad" | "blur-pad" (the preset's fit mode)
    loss: Fraction  # crop: share of the master's pixels cut away; pad: share of the frame that is padding

    @property
    def percent(self) -> str:
        """The loss as text, e.g. "crop 2.5%"."""
        kind = "crop" if self.fit == "crop" else "pad"
        return f"{kind} {float(self.loss) * 100:.1f}%"


@dataclass(frozen=True)
class AspectGroup:
    """Platforms delivered from one master, and the master's size."""

    name: str  # "9:16", "4:5", ..., or "source" for presets without a size
    width: int  # px of the generated master
    height: int  # px of the generated master
    cuts: tuple[Cut, ...]  # one per platform, in the campaign's platform order

    @property
    def platforms(self) -> tuple[str, ...]:
        """The platforms of the group."""
        return tuple(c.platform for c in self.cuts)

    @property
    def tag(self) -> str:
        """The name as a file-name part: "9x16"."""
        return self.name.replace(":", "x")

    @property
    def worst(self) -> Cut:
        """The cut that loses most."""
        return max(self.cuts, key=lambda c: c.loss)


def preset_ratio(preset: Any) -> Fraction | None:
    """width / height of a preset, or None for one without integer sizes (it then takes the master as given)."""
    width, height = getattr(preset, "width", None), getattr(preset, "height", None)
    if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
        return Fraction(width, height)
    return None


def ratio_name(ratio: Fraction) -> str:
    """The standard name a ratio snaps to ("9:16"), else its own reduced form ("7:12")."""
    for w, h in STANDARD_RATIOS:
        standard = Fraction(w, h)
        if abs(ratio / standard - 1) <= SNAP:
            return f"{w}:{h}"
    return f"{ratio.numerator}:{ratio.denominator}"


def name_ratio(name: str) -> Fraction:
    """"9:16" -> Fraction(9, 16)."""
    w, h = name.split(":")
    return Fraction(int(w), int(h))


def cut_loss(master: tuple[int, int], target: tuple[int, int]) -> Fraction:
    """Share lost fitting a master (w, h) to a target (w, h): the smaller ratio over the larger, from 1.

    Cropping keeps min/max of the master's pixels; padding fills min/max of the frame: the same number.
    """
    a, b = Fraction(*master), Fraction(*target)
    return 1 - min(a, b) / max(a, b)


def master_size(ratio: Fraction, budget: int, multiple: int) -> tuple[int, int]:
    """The (width, height) the model can make for `ratio` nearest the pixel `budget`.

    Sides are multiples of `multiple`. Candidates are the multiples around the ideal sides sqrt(budget * ratio)
    and sqrt(budget / ratio). Among those losing at most MAX_LOSS against `ratio`, the one with the least
    loss + |ln(pixels / budget)| wins: the aspect kept, the budget kept, in that balance. When none does (a budget
    too small for the side multiple), the least loss wins, then the nearest budget, then the larger size.
    """
    ideal_w, ideal_h = math.sqrt(budget * ratio), math.sqrt(budget / ratio)

    def sides(ideal: float) -> list[int]:
        base = math.floor(ideal / multiple)
        return [k * multiple for k in range(base - SEARCH_STEPS + 1, base + SEARCH_STEPS + 1) if k >= 1]

    candidates = [(w, h) for w in sides(ideal_w) for h in sides(ideal_h)]
    fitting = [c for c in candidates if cut_loss(c, (ratio.numerator, ratio.denominator)) <= MAX_LOSS]

    def off_budget(size: tuple[int, int]) -> float:
        return abs(math.log(size[0] * size[1] / budget))

    def loss(size: tuple[int, int]) -> Fraction:
        return cut_loss(size, (ratio.numerator, ratio.denominator))

    if fitting:
        return min(fitting, key=lambda s: (float(loss(s)) + off_budget(s), s))
    return min(candidates, key=lambda s: (loss(s), round(off_budget(s), 9), -s[0] * s[1]))


def aspect_groups(presets: Mapping[str, Any], width: int, height: int, multiple: int, pinned: bool) -> tuple[AspectGroup, ...]:
    """The campaign's aspect groups, in order of their first platform.

    `presets`: platform -> preset (anything with `width`, `height` and `fit`); `width` x `height` the requested
    size (the pixel budget); `multiple` the side multiple the pipeline needs; `pinned`: one master of exactly
    width x height for every platform.
    """
    by_name: dict[str, list[tuple[str, Any]]] = {}
    for platform, preset in presets.items():
        ratio = preset_ratio(preset)
        name = SOURCE_GROUP if pinned or ratio is None else ratio_name(ratio)
        by_name.setdefault(name, []).append((platform, preset))
    groups = []
    for name, members in by_name.items():
        size = (width, height) if name == SOURCE_GROUP else master_size(name_ratio(name), width * height, multiple)
        groups.append(AspectGroup(_label(name, size, pinned), size[0], size[1], tuple(_cut(p, s, size) for p, s in members)))
    return _merge_same_masters(groups)


def _label(name: str, size: tuple[int, int], pinned: bool) -> str:
    """A pinned or size-less group is named by its master's own ratio."""
    if name != SOURCE_GROUP:
        return name
    return ratio_name(Fraction(*size)) if pinned else SOURCE_GROUP


def _cut(platform: str, preset: Any, master: tuple[int, int]) -> Cut:
    ratio = preset_ratio(preset)
    loss = Fraction(0) if ratio is None else cut_loss(master, (ratio.numerator, ratio.denominator))
    return Cut(platform, str(getattr(preset, "fit", "crop")), loss)


def _merge_same_masters(groups: Iterable[AspectGroup]) -> tuple[AspectGroup, ...]:
    """Groups that came out at the same master size are one group (one generation serves both)."""
    merged: dict[tuple[int, int], AspectGroup] = {}
    for group in groups:
        key = (group.width, group.height)
        if key in merged:
            first = merged[key]
            name = first.name if first.name != SOURCE_GROUP else group.name
            merged[key] = AspectGroup(name, first.width, first.height, first.cuts + group.cuts)
        else:
            merged[key] = group
    return tuple(merged.values())


def loss_warnings(groups: Iterable[AspectGroup], pinned: bool) -> list[str]:
    """One line per deliverable losing more than MAX_LOSS of its master."""
    lines = []
    for group in groups:
        for cut in group.cuts:
            if cut.loss > MAX_LOSS:
                why = ("the campaign pins its size (generation.pin_size)" if pinned else
                       f"no size the model can make near the budget fits {group.name} better")  # fmt: skip
                lines.append(f"aspect: {cut.platform} loses {cut.percent} of its {group.width}x{group.height} master "
                             f"(over {float(MAX_LOSS) * 100:.0f}%): {why}")  # fmt: skip
    return lines


__all__ = ["MAX_LOSS", "STANDARD_RATIOS", "AspectGroup", "Cut", "aspect_groups", "cut_loss", "loss_warnings",
           "master_size", "preset_ratio", "ratio_name"]  # fmt: skip
