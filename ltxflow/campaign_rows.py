"""Per-variant settings: the CSV columns that override a campaign's generation settings for one row.

One pydantic model, `RowSettings`, is the schema of those columns (docs/campaign.md's column reference is
generated from it). CSV cells are text: each is parsed to the type its campaign key has (an integer, a number,
a list of seeds) and then checked by the same validator as that key, so a bad cell reads like a bad key:
`variants.csv: row 3: steps: must be >= 1, got 0`. An empty cell keeps the campaign's value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Annotated, Any

from pydantic import PlainValidator, ValidationError

from ltxflow.campaign import Table, key
from ltxflow.campaign_types import (
    AUDIO_MODE,
    Fps,
    Integers,
    Number,
    Seconds,
    Unit,
    bad,
    error_line,
    frames_problem,
    steps_problem,
)

_INT = re.compile(r"[+-]?\d+")
_SPLIT = re.compile(r"[\s,;]+")


def _as_int(text: Any) -> Any:
    """"12" -> 12; anything else is left for the key's own validator to refuse in its own words."""
    return int(text) if isinstance(text, str) and _INT.fullmatch(text.strip()) else text


def _as_number(text: Any) -> Any:
    if isinstance(text, str):
        try:
            return float(text)
        except ValueError:
            return text
    return text


def _as_ints(text: Any) -> Any:
    """"1 2; 3" -> [1, 2, 3]."""
    if isinstance(text, str):
        parts = [p for p in _SPLIT.split(text.strip()) if p]
        return [_as_int(p) for p in parts]
    return text


def _cell(parse: Callable[[Any], Any], check: Any) -> PlainValidator:
    """A cell validator: parse the text, then run the campaign key's validator (an Annotated type's)."""
    validate = check.__metadata__[0].func

    def run(value: Any) -> Any:
        return validate(parse(value))

    return PlainValidator(run)


def _positive_steps(value: Any) -> int:
    value = _as_int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(f"expected an integer, got {value!r}")
    if problem := steps_problem(value):
        raise bad(problem)
    return value


def _frames(value: Any) -> int:
    value = _as_int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(f"expected an integer, got {value!r}")
    if problem := frames_problem(value):
        raise bad(problem)
    return value


def _seeds(value: Any) -> tuple[int, ...]:
    seeds = _cell(_as_ints, Integers).func(value)
    if not seeds:
        raise bad("give at least one seed")
    return seeds


CellNumber = Annotated[float, _cell(_as_number, Number)]
CellUnit = Annotated[float, _cell(_as_number, Unit)]
CellSeconds = Annotated[float, _cell(_as_number, Seconds)]
CellSteps = Annotated[int, PlainValidator(_positive_steps)]
CellFrames = Annotated[int, PlainValidator(_frames)]
CellSeeds = Annotated[tuple[int, ...], PlainValidator(_seeds)]
CellFps = Annotated[Fraction, _cell(str.strip, Fps)]
CellAudioMode = Annotated[str, _cell(str.strip, AUDIO_MODE)]
CellPath = Annotated[str, PlainValidator(str.strip)]  # resolved against the campaign folder, checked when planned


class RowSettings(Table):
    """A row's own settings; None = the campaign's. Every set value enters the row's task ids."""

    audio_mode: CellAudioMode | None = key(None, '"text", "reference", "video-to-audio" or "silent", for this row')
    brand_audio: CellPath | None = key(None, "a file; used in any audio mode: it drives a reference row and is "
                                       "placed over the generated sound otherwise ([audio] fit, offset)")  # fmt: skip
    seeds: CellSeeds | None = key(None, 'this row\'s seeds instead of the campaign\'s, e.g. "3 4"')
    steps: CellSteps | None = key(None, "denoising steps, >= 1")
    frames: CellFrames | None = key(None, "8k+1 frames (the clip's length; longer than [generation] "
                                    "segment_frames: made by extension)")  # fmt: skip
    fps: CellFps | None = key(None, 'frames per second, as [generation] fps: 24, 25, 30, 48, 50, "30000/1001", ...')
    video_cfg: CellNumber | None = key(None, "[guidance.video] cfg")
    video_stg: CellNumber | None = key(None, "[guidance.video] stg")
    video_rescale: CellUnit | None = key(None, "[guidance.video] rescale, 0..1")
    video_modality: CellNumber | None = key(None, "[guidance.video] modality")
    audio_cfg: CellNumber | None = key(None, "[guidance.audio] cfg")
    audio_stg: CellNumber | None = key(None, "[guidance.audio] stg")
    audio_rescale: CellUnit | None = key(None, "[guidance.audio] rescale, 0..1")
    audio_modality: CellNumber | None = key(None, "[guidance.audio] modality")
    image: CellPath | None = key(None, "a file: this row's first frame")
    image_strength: CellUnit | None = key(None, "0..1 for this row's image")
    end_image: CellPath | None = key(None, "a file: this row's last-frame keyframe")
    end_image_strength: CellUnit | None = key(None, "0..1 for this row's end image")
    source_video: CellPath | None = key(None, 'a file: the video this row scores ("video-to-audio")')
    cover_at: CellSeconds | None = key(None, "s: this row's covers show the frame at this time")

    def guidance(self, modality: str) -> dict[str, float]:
        """The row's guidance scales of one modality ("video" / "audio"), by Guidance field name."""
        names = ("cfg", "stg", "rescale", "modality")
        return {n: v for n in names if (v := getattr(self, f"{modality}_{n}")) is not None}


FILE_COLUMNS: tuple[str, ...] = ("image", "end_image", "brand_audio", "source_video")  # paths, per row
COLUMNS: tuple[str, ...] = tuple(f.alias or n for n, f in RowSettings.model_fields.items())


def row_settings(record: Mapping[str, str], where: str) -> RowSettings:
    """The row's settings from its non-empty setting cells; ValueError(`<where>: <column>: <what>`) if one is bad."""
    cells = {name: record[name] for name in COLUMNS if record.get(name, "").strip()}
    try:
        return RowSettings.model_validate(cells)
    except ValidationError as exc:
        raise ValueError(f"{where}: {error_line(exc, RowSettings)}") from None


__all__ = ["COLUMNS", "FILE_COLUMNS", "RowSettings", "row_settings"]
