"""The value types of campaign.toml keys (pydantic validators with ltxflow's wording) and the one-line error.

Each type validates strictly (TOML has real types: a quoted "64" is not a number, `true` is not 1) and
fails with the sentence the user reads after `<file>: <dotted key>: `. `error_line` turns a pydantic
ValidationError into that line: unknown keys list the allowed ones, missing keys say so, the rest use the
type's own sentence.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, PlainValidator, ValidationError, ValidationInfo
from pydantic_core import PydanticCustomError

from ltxflow.path_rules import checked_path, input_file
from ltxflow.tasks import AUDIO_MODES, PIPELINES

BRAND_FITS: tuple[str, ...] = ("pad", "loop", "stretch-to-clip")
COVER_RULES: tuple[str, ...] = ("sharpest", "middle", "at")

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # campaign names and variant ids
_BAD = "ltxflow_campaign"  # pydantic error type of every failure below


def bad(what: str) -> PydanticCustomError:
    """A failure of the key being validated: `what` is the sentence after `<key>: `."""
    return PydanticCustomError(_BAD, "{what}", {"what": what})


def bad_at(key: str, what: str) -> PydanticCustomError:
    """A failure a table-level check finds in one of its keys (dotted, relative to the table)."""
    return PydanticCustomError(_BAD, "{what}", {"what": what, "key": key})


def positive(value: float, key: str) -> None:
    """Refuse a number <= 0."""
    if value <= 0:
        raise bad_at(key, f"must be > 0, got {value}")


# ── Validators ──────────────────────────────────────────────────────────────────────────────────


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise bad(f"expected a non-empty string, got {value!r}")
    return value


def _optional_text(value: Any) -> str:
    return "" if value == "" else _text(value)  # an explicitly empty description is the same as none


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if _text(value) not in options:
            raise bad(f"{value!r} is not one of {', '.join(options)}")
        return value

    return check


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise bad(f"expected a number, got {value!r}")
    return float(value)


def _unit(value: Any) -> float:
    number = _number(value)
    if not 0.0 <= number <= 1.0:
        raise bad(f"must be in [0, 1], got {number}")
    return number


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise bad(f"expected true or false, got {value!r}")
    return value


def _seconds(value: Any) -> float:
    number = _number(value)
    if number < 0:
        raise bad(f"must be >= 0 seconds, got {number:g}")
    return number


def _offset(value: Any) -> float | str:
    if value == "end":
        return "end"
    if isinstance(value, str):
        raise bad(f'expected seconds (a number >= 0) or "end", got {value!r}')
    return _seconds(value)


def frames_problem(frames: int) -> str | None:
    """Why a frame count cannot be generated (the model makes 8k+1 frames), or None."""
    if frames <= 0 or (frames - 1) % 8:
        lower = max(1, (frames - 1) // 8 * 8 + 1)
        return f"{frames} is not 8k+1; nearest valid: {lower} or {lower + 8}"
    return None


def steps_problem(steps: int) -> str | None:
    """Why a step count is refused, or None."""
    return f"must be >= 1, got {steps}" if steps < 1 else None


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(f"expected an integer, got {value!r}")
    return value


def _names(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise bad(f"expected a list of names, got {value!r}")
    if len(set(value)) != len(value):
        raise bad(f"repeats a name: {value!r}")
    return tuple(value)


def _integers(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise bad(f"expected a list of integers, got {value!r}")
    if len(set(value)) != len(value):
        raise bad(f"repeats a value: {value!r}")
    return tuple(value)


# Frame rates LTX-2 makes (it was trained at 24-50 fps; frame rate enters only its RoPE time positions and the
# audio token count) that the platforms take as they are: film, PAL, NTSC/web, and their doubles.
MODEL_FPS: tuple[Fraction, ...] = (Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001),
                                   Fraction(30), Fraction(48), Fraction(50))  # fmt: skip


def fps_name(fps: Fraction) -> str:
    """24 -> "24", 30000/1001 -> "30000/1001"."""
    return str(fps.numerator) if fps.denominator == 1 else f"{fps.numerator}/{fps.denominator}"


def _fps(value: Any) -> Fraction:
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError
        fps = Fraction(value).limit_denominator(1001) if isinstance(value, float) else Fraction(value.strip()
                                                                                                if isinstance(value, str) else value)  # fmt: skip
    except (ValueError, ZeroDivisionError, OverflowError):
        raise bad(f'expected frames per second like 24 or "30000/1001", got {value!r}') from None
    if fps not in MODEL_FPS:
        raise bad(f"{value!r} fps is not a rate the model makes; use one of "
                  f"{', '.join(fps_name(f) for f in MODEL_FPS)}")  # fmt: skip
    return fps


def _folder(info: ValidationInfo) -> Path:
    """The folder of the campaign.toml being validated (paths resolve against it)."""
    return info.context["path"].parent


def _file(value: Any, info: ValidationInfo) -> Path:
    """A campaign input file: resolved against the campaign folder, inside its project root (ltxflow.path_rules),
    and existing; its length is checked before the file system is touched."""
    return _existing_file(input_file, value, info)


def _model_file(value: Any, info: ValidationInfo) -> Path:
    """A model file (a LoRA): resolved against the campaign folder, length-checked, existing; not confined (model
    files live in model caches)."""
    return _existing_file(checked_path, value, info)


def _existing_file(resolve: Callable[[Path, str], Path], value: Any, info: ValidationInfo) -> Path:
    """`value` resolved by `resolve` (ValueError: what is wrong) against the campaign folder; it must be a file."""
    try:
        resolved = resolve(_folder(info), _text(value))
    except ValueError as exc:
        raise bad(str(exc)) from None
    if not resolved.is_file():
        raise bad(f"file not found: {resolved}")
    return resolved


def _checkpoint(value: Any, info: ValidationInfo) -> str:
    """A built-in name as is; anything that looks like a path made absolute against the campaign folder."""
    checkpoint = _text(value)
    if "/" in checkpoint or "\\" in checkpoint or checkpoint.endswith(".safetensors"):
        try:
            return str(checked_path(_folder(info), checkpoint))
        except ValueError as exc:
            raise bad(str(exc)) from None
    return checkpoint


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise bad(f"expected true or false, got {value!r}")
    return value


def _path(value: Any, info: ValidationInfo) -> Path:
    """A file or folder path resolved against the campaign folder (the engine checks it when it loads)."""
    try:
        return checked_path(_folder(info), _text(value))
    except ValueError as exc:
        raise bad(str(exc)) from None


def _campaign_name(value: Any) -> str:
    name = _text(value)
    if not ID_PATTERN.fullmatch(name) or ".." in name:
        raise bad(f"{name!r} must be 1-64 of [A-Za-z0-9._-], starting with a letter or digit")
    return name


def _export(value: Any) -> Mapping[str, Mapping[str, Any]]:
    """[export.<preset>] tables, kept as given (the preset checks its own fields)."""
    if not isinstance(value, dict):
        raise bad(f"expected a table, got {value!r}")
    for name, overrides in value.items():
        if not isinstance(overrides, dict):
            raise bad_at(name, f"expected a table, got {overrides!r}")
    return MappingProxyType({name: MappingProxyType(dict(overrides)) for name, overrides in value.items()})


Text = Annotated[str, PlainValidator(_text)]
OptionalText = Annotated[str, PlainValidator(_optional_text)]
Number = Annotated[float, PlainValidator(_number)]
Unit = Annotated[float, PlainValidator(_unit)]
Integer = Annotated[int, PlainValidator(_integer)]
Names = Annotated[tuple[str, ...], PlainValidator(_names)]
Integers = Annotated[tuple[int, ...], PlainValidator(_integers)]
Bool = Annotated[bool, PlainValidator(_bool)]
Seconds = Annotated[float, PlainValidator(_seconds)]
Offset = Annotated[float | str, PlainValidator(_offset)]
Fps = Annotated[Fraction, PlainValidator(_fps)]
File = Annotated[Path, PlainValidator(_file)]
OptionalFile = Annotated[Path | None, PlainValidator(_file)]
ModelFile = Annotated[Path, PlainValidator(_model_file)]
Checkpoint = Annotated[str, PlainValidator(_checkpoint)]
Flag = Annotated[bool, PlainValidator(_flag)]
OptionalPath = Annotated[Path | None, PlainValidator(_path)]
CampaignName = Annotated[str, PlainValidator(_campaign_name)]
ExportTables = Annotated[Mapping[str, Mapping[str, Any]], PlainValidator(_export)]
PIPELINE = Annotated[Literal["one-stage", "two-stage", "distilled"], PlainValidator(_choice(PIPELINES))]
AUDIO_MODE = Annotated[Literal["text", "reference", "video-to-audio", "silent"], PlainValidator(_choice(AUDIO_MODES))]
EXPAND_MODE = Annotated[Literal["rows", "cartesian"], PlainValidator(_choice(("rows", "cartesian")))]
FIT = Annotated[Literal["pad", "loop", "stretch-to-clip"], PlainValidator(_choice(BRAND_FITS))]
COVER_RULE = Annotated[Literal["sharpest", "middle", "at"], PlainValidator(_choice(COVER_RULES))]
PRECISION = Annotated[Literal["exact", "fp8"], PlainValidator(_choice(("exact", "fp8")))]
DTYPE = Annotated[Literal["auto", "float32", "bfloat16", "float16"],
                  PlainValidator(_choice(("auto", "float32", "bfloat16", "float16")))]  # fmt: skip


# ── The one-line error ──────────────────────────────────────────────────────────────────────────


def error_line(exc: ValidationError, model: type[BaseModel]) -> str:
    """`<dotted key>: <what is wrong>` for the first problem (an unknown top-level key comes first)."""
    errors = exc.errors(include_url=False)
    first = min(range(len(errors)), key=lambda i: (not _is_unknown_top_key(errors[i]), i))
    error = errors[first]
    loc = tuple(str(part) for part in error["loc"])
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "extra_forbidden":
        allowed = ", ".join(_aliases(_table_at(model, loc[:-1])))
        return f"unknown key {'.'.join(loc)!r} (allowed: {allowed})"
    where = ".".join(loc + ((ctx["key"],) if "key" in ctx else ()))
    if kind == _BAD:
        return f"{where}: {ctx['what']}"
    if kind == "missing":
        return f"{where}: missing (required)"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{where}: expected a table, got {error['input']!r}"
    return f"{where}: {error['msg']}"  # a pydantic check with no ltxflow wording (none is expected)


def _is_unknown_top_key(error: Any) -> bool:
    return error["type"] == "extra_forbidden" and len(error["loc"]) == 1


def _aliases(model: type[BaseModel]) -> list[str]:
    """The TOML names of a table's keys, in declaration order."""
    return [field.alias or name for name, field in model.model_fields.items()]


def _table_at(model: type[BaseModel], loc: tuple[str, ...]) -> type[BaseModel]:
    """The model of the (nested) table at `loc`."""
    for part in loc:
        if part.isdigit():  # an entry of an array of tables ([[lora]])
            continue
        field = next(f for name, f in model.model_fields.items() if (f.alias or name) == part)
        model = table_model(field.annotation)
    return model


def table_model(annotation: Any) -> type[BaseModel]:
    """The BaseModel inside an annotation such as `Table` or `Table | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is not None:
        for arg in get_args(annotation):
            try:
                return table_model(arg)
            except TypeError:
                continue
    raise TypeError(f"no table model in {annotation!r}")
