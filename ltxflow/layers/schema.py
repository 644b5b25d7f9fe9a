"""The ad-layer keys of a campaign as pydantic models: `[brand]` (or a brand.toml), `[[layer]]`, `[end_card]`,
`[captions]`, `[credentials]`.

Values validate strictly (TOML has real types: "0.5" is not a number); every failure becomes one line
`<campaign.toml>: <dotted key>: <what is wrong>` (see `parse_ad`). File keys resolve against the file that
names them (a brand.toml's paths against its own folder) and must exist; logos must open as images and
fonts must load. Colours are `#RRGGBB`, `#RRGGBBAA` or the name of a brand colour; fonts are a brand font
name, `default` (the FreeType font bundled with Pillow) or a .ttf/.otf file.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from PIL import Image, ImageFont, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic.functional_validators import AfterValidator, BeforeValidator

from ltxflow.errors import CampaignError
from ltxflow.path_rules import input_file

AD_KEYS: tuple[str, ...] = ("layer", "end_card", "captions", "credentials")  # top-level keys besides [brand]
DEFAULT_FONT = "default"  # Pillow's bundled FreeType font
HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
Anchor = Literal["top-left", "top", "top-right", "left", "center", "right", "bottom-left", "bottom", "bottom-right"]
_PATH_KEYS = ("logo",)  # brand keys holding a path (plus every value of `fonts`)


def _fraction(value: float) -> float:
    if not 0.0 < value <= 1.0:
        raise ValueError(f"must be in (0, 1], got {value}")
    return value


def _non_negative(value: float) -> float:
    if value < 0:
        raise ValueError(f"must be >= 0, got {value}")
    return value


def _colour(value: str) -> str:
    if not (HEX_COLOUR.fullmatch(value) or NAME.fullmatch(value)):
        raise ValueError(f"{value!r} is not #RRGGBB, #RRGGBBAA or a brand colour name")
    return value


Fraction01 = Annotated[float, AfterValidator(_fraction)]  # share of a box or frame side, (0, 1]
Seconds = Annotated[float, AfterValidator(_non_negative)]
Colour = Annotated[str, AfterValidator(_colour)]
Text = Annotated[str, Field(min_length=1)]


def _as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value  # TOML arrays arrive as lists


Names = Annotated[tuple[str, ...], BeforeValidator(_as_tuple)]


def _existing(value: str, info: ValidationInfo) -> Path:
    """A path resolved against the campaign folder (absolute paths stay), inside the campaign's project root, which
    must be a file (ltxflow.path_rules: lengths checked before the file system is touched)."""
    path = input_file(info.context["folder"], value)
    if not path.is_file():
        raise ValueError(f"file not found: {path}")
    return path


def check_image(path: Path) -> Path:
    """`path` if Pillow can decode it, else a ValueError saying why."""
    try:
        with Image.open(path) as image:
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:  # SyntaxError: Pillow's broken-PNG signal
        raise ValueError(f"not a readable image: {path} ({exc})") from None
    return path


def check_font(path: Path) -> Path:
    """`path` if FreeType can load it as a font, else a ValueError saying why."""
    try:
        ImageFont.truetype(str(path), 12)
    except OSError as exc:
        raise ValueError(f"cannot read font {path} ({exc})") from None
    return path


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class TextStyle(_Model):
    """How text is drawn; a layer's own keys override the brand kit's `[brand.text]` defaults."""

    font: str = DEFAULT_FONT  # brand font name, "default", or a .ttf/.otf file
    size: Fraction01 = 0.075  # largest font size, share of the frame's short side
    min_size: Fraction01 = 0.035  # smallest size tried before the text is refused
    color: Colour = "#FFFFFF"  # of the letters
    box: Colour | Literal[""] = "#000000B4"  # background box colour, "" for none
    shadow: bool = True  # a soft drop shadow under the letters
    align: Literal["left", "center", "right"] | None = None  # default: from the anchor
    line_spacing: float = Field(1.15, ge=1.0, le=3.0)  # line height / font size


class BrandKit(_Model):
    """The `[brand]` table (or the brand.toml it names with `kit`): name, logo, colours, fonts, text defaults."""

    name: Text  # the brand, as {{ brand }} in templates
    logo: Path | None = None  # PNG with alpha
    colors: dict[str, Colour] = Field(default_factory=dict)  # name -> "#RRGGBB[AA]"
    fonts: dict[str, Path] = Field(default_factory=dict)  # name -> .ttf/.otf file
    text: TextStyle = TextStyle()
    margin: float = Field(0.03, ge=0.0, le=0.2)  # kept clear inside the safe zone, share of the short side

    @field_validator("logo", mode="before")
    @classmethod
    def _logo(cls, value: Any, info: ValidationInfo) -> Path:
        return check_image(_existing(_string(value), info))

    @field_validator("fonts", mode="before")
    @classmethod
    def _fonts(cls, value: Any, info: ValidationInfo) -> dict[str, Path]:
        if not isinstance(value, dict):
            raise ValueError(f"expected a table of name = \"font file\", got {value!r}")
        out = {}
        for name, path in value.items():
            if not NAME.fullmatch(name) or name == DEFAULT_FONT:
                raise ValueError(f"font name {name!r} must be 1-32 of [A-Za-z0-9_-] and not {DEFAULT_FONT!r}")
            try:
                out[name] = check_font(_existing(_string(path), info))
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return out

    @field_validator("colors")
    @classmethod
    def _colour_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name, colour in value.items():
            if not NAME.fullmatch(name) or not HEX_COLOUR.fullmatch(colour):
                raise ValueError(f"{name} = {colour!r}: names are [A-Za-z0-9_-], values #RRGGBB or #RRGGBBAA")
        return value


class _Window(_Model):
    """A time window in seconds; negative values count back from the deliverable's end."""

    start: float = 0.0  # s; -1.5 = 1.5 s before the end
    end: float | None = None  # s; None = the end (or the end card's start); negative counts back
    fade: Seconds = 0.25  # s of fade in and of fade out
    platforms: Names = ()  # only these presets; () = every platform of the campaign


class TextLayer(_Window):
    """A `[[layer]]` of `type = "text"`: a Jinja template over the row, drawn in a box inside the safe zone."""

    type: Literal["text"]
    name: Annotated[str, AfterValidator(lambda v: _name(v))]  # names the layer in errors and the ledger
    text: Text  # sandboxed Jinja over the row, like prompts: "{{ headline }}"
    anchor: Anchor = "top"  # where in the safe zone: top-left, top, ..., center, ..., bottom-right
    width: Fraction01 = 1.0  # of the safe zone's width
    height: Fraction01 = 0.3  # of the safe zone's height
    max_lines: int = Field(3, ge=1, le=10)  # lines the text may wrap to
    font: str | None = None  # overrides [brand.text] font
    size: Fraction01 | None = None  # overrides [brand.text] size
    min_size: Fraction01 | None = None  # overrides [brand.text] min_size
    color: Colour | None = None  # overrides [brand.text] color
    box: Colour | Literal[""] | None = None  # overrides [brand.text] box
    shadow: bool | None = None  # overrides [brand.text] shadow
    align: Literal["left", "center", "right"] | None = None  # default: from the anchor


class LogoLayer(_Window):
    """A `[[layer]]` of `type = "logo"`: the brand's logo (or `file`) at an anchor inside the safe zone."""

    type: Literal["logo"]
    name: Annotated[str, AfterValidator(lambda v: _name(v))] = "logo"  # names the layer in errors and the ledger
    file: Path | None = None  # default: the brand kit's logo
    anchor: Anchor = "top-right"  # where in the safe zone
    width: Fraction01 = 0.25  # of the safe zone's width
    height: Fraction01 = 0.15  # of the safe zone's height (the logo is scaled to fit both)
    opacity: Fraction01 = 1.0  # 0-1 multiplier of the logo's own alpha

    @field_validator("file", mode="before")
    @classmethod
    def _file(cls, value: Any, info: ValidationInfo) -> Path:
        return check_image(_existing(_string(value), info))


Layer = Annotated[TextLayer | LogoLayer, Field(discriminator="type")]
Layers = Annotated[tuple[Layer, ...], BeforeValidator(_as_tuple)]


class EndCard(_Model):
    """`[end_card]`: the last `seconds` of each deliverable become a card with the logo and a line of text."""

    seconds: float = Field(1.5, gt=0.0)  # how long the card is shown, at the end
    background: Colour = "#000000"  # fills the whole frame
    logo: bool = True  # draw the brand kit's logo
    logo_width: Fraction01 = 0.55  # of the safe zone's width
    text: str = ""  # Jinja over the row, e.g. "{{ cta }}"; "" = logo only
    font: str | None = None  # overrides [brand.text] font
    size: Fraction01 | None = None  # overrides [brand.text] size
    color: Colour | None = None  # overrides [brand.text] color
    fade: Seconds = 0.3  # s the card takes to appear
    audio: Literal["continue", "fade"] = "fade"  # "fade": the sound fades out over the card


class Captions(_Model):
    """`[captions]`: text split into timed cues, burned in and/or written as .srt/.vtt (per preset's `captions`)."""

    text: Text  # Jinja over the row, e.g. "{{ voiceover }}"
    start: float = 0.0  # s; negative counts back from the end
    end: float | None = None  # s; default: the end card's start, or the end
    max_chars: int = Field(32, ge=8, le=80)  # per line
    max_lines: int = Field(2, ge=1, le=3)  # per cue
    anchor: Anchor = "bottom"  # where in the safe zone
    height: Fraction01 = 0.22  # of the safe zone's height
    font: str | None = None  # overrides [brand.text] font
    size: Fraction01 | None = 0.05  # largest size, share of the short side
    min_size: Fraction01 | None = None  # overrides [brand.text] min_size
    color: Colour | None = None  # overrides [brand.text] color
    box: Colour | Literal[""] | None = None  # overrides [brand.text] box
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")] = "en"  # BCP 47, in the .vtt header


class Credentials(_Model):
    """`[credentials]`: the AI disclosure every MP4 carries, and optional C2PA signing (the `c2pa` extra)."""

    disclosure: Text = "AI-generated video"  # the label, in the MP4's tags and the manifest CSV
    model: str | None = None  # default: from the engine ("LTX-2" for ltx2)
    model_version: str | None = None  # default: the checkpoint's identity
    license: str | None = None  # default: the LTX-2 Community License for ltx2
    c2pa: Literal["auto", "off", "required"] = "auto"  # auto: sign when c2pa-python and a key are there
    cert: Path | None = None  # PEM chain; default $LTXFLOW_C2PA_CERT
    key: Path | None = None  # PEM private key; default $LTXFLOW_C2PA_KEY
    alg: Literal["es256", "es384", "ps256", "ed25519"] = "es256"  # the key's signature algorithm

    @field_validator("cert", "key", mode="before")
    @classmethod
    def _pem(cls, value: Any, info: ValidationInfo) -> Path:
        return _existing(_string(value), info)


class AdSettings(_Model):
    """Everything a campaign says about layers; empty (no brand kit, no layers) by default."""

    brand: BrandKit | None = None
    layer: Layers = ()
    end_card: EndCard | None = None
    captions: Captions | None = None
    credentials: Credentials = Credentials()

    @property
    def active(self) -> bool:
        """Whether any deliverable gets pixels or side files from these settings."""
        return bool(self.layer or self.end_card or self.captions)

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> AdSettings:
        """Layer names unique; colour and font names known, font files readable inside the project root (as the
        brand kit's); a logo where one is drawn."""
        names = [layer.name for layer in self.layer]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"layer name {name!r} is used twice (names identify layers in errors and files)")
        kit = self.brand
        colours, fonts = (kit.colors, kit.fonts) if kit else ({}, {})
        styled = [(f"layer {layer.name!r}", layer) for layer in self.layer]
        styled += [("end_card", self.end_card)] if self.end_card else []
        styled += [("captions", self.captions)] if self.captions else []
        styled += [("brand.text", kit.text)] if kit else []
        for where, item in styled:
            for key in ("color", "box", "background"):
                value = getattr(item, key, None)
                if value and not HEX_COLOUR.fullmatch(value) and value not in colours:
                    raise ValueError(f"{where}: {key}: {value!r} is not a brand colour (known: {', '.join(colours) or 'none'})")
            font = getattr(item, "font", None)
            if font and font != DEFAULT_FONT and font not in fonts and not font.lower().endswith((".ttf", ".otf")):
                raise ValueError(f"{where}: font: {font!r} is not a brand font (known: {', '.join(fonts) or 'none'}), "
                                 f"{DEFAULT_FONT!r} or a .ttf/.otf file")  # fmt: skip
            if font and font != DEFAULT_FONT and font not in fonts:  # a font file: confined and loadable, now
                try:
                    check_font(_existing(font, info))
                except ValueError as exc:
                    raise ValueError(f"{where}: font: {exc}") from None
        no_logo = kit is None or kit.logo is None
        for layer in self.layer:
            if isinstance(layer, LogoLayer) and layer.file is None and no_logo:
                raise ValueError(f"layer {layer.name!r}: no file and the brand kit has no logo")
        if self.end_card and self.end_card.logo and no_logo:
            raise ValueError("end_card: logo = true but the brand kit has no logo")
        return self


def _string(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value


def _name(value: str) -> str:
    if not NAME.fullmatch(value):
        raise ValueError(f"{value!r} must be 1-32 of [A-Za-z0-9_-]")
    return value


# ── Parsing ─────────────────────────────────────────────────────────────────────────────────────


def parse_ad(top: Mapping[str, Any], path: Path) -> AdSettings:
    """The ad settings of a campaign's top-level TOML table; CampaignError `<path>: <key>: <problem>`."""
    data = {key: top[key] for key in AD_KEYS if key in top}
    if isinstance(top.get("brand"), dict):
        data["brand"] = _brand_table(dict(top["brand"]), path)
    try:
        return AdSettings.model_validate(data, context={"folder": path.parent})
    except ValidationError as exc:
        raise CampaignError(f"{path}: {error_line(exc, data)}") from None


def _brand_table(table: dict[str, Any], path: Path) -> dict[str, Any]:
    """Inline [brand] keys over those of the brand.toml its `kit` names (whose paths resolve against itself)."""
    kit = table.pop("kit", None)
    if kit is None:
        return table
    if not isinstance(kit, str) or not kit.strip():
        raise CampaignError(f"{path}: brand.kit: expected the path of a brand.toml, got {kit!r}")
    try:
        kit_path = input_file(path.parent, kit)
    except ValueError as exc:
        raise CampaignError(f"{path}: brand.kit: {exc}") from None
    try:
        base = tomllib.loads(kit_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CampaignError(f"{path}: brand.kit: file not found: {kit_path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CampaignError(f"{path}: brand.kit: cannot read {kit_path} ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise CampaignError(f"{kit_path}: TOML syntax error: {exc}") from None
    base = base.get("brand", base)  # a brand.toml may hold its keys at top level or under [brand]
    for key in _PATH_KEYS:
        if isinstance(base.get(key), str):
            base[key] = str(kit_path.parent / base[key])
    if isinstance(base.get("fonts"), dict):
        base["fonts"] = {k: str(kit_path.parent / v) if isinstance(v, str) else v for k, v in base["fonts"].items()}
    merged = {**base, **table}
    for key in ("colors", "fonts", "text"):
        if isinstance(base.get(key), dict) and isinstance(table.get(key), dict):
            merged[key] = {**base[key], **table[key]}
    return merged


_TYPE_WORDS = {
    "float_type": "expected a number", "int_type": "expected an integer", "bool_type": "expected true or false",
    "string_type": "expected a string", "dict_type": "expected a table", "model_type": "expected a table",
    "tuple_type": "expected a list", "list_type": "expected a list",
}  # fmt: skip


def error_line(exc: ValidationError, data: Mapping[str, Any]) -> str:
    """`<dotted key>: <problem>` for the first error; `layer[i]` is named by the layer's `name` when it has one."""
    error = exc.errors(include_url=False)[0]
    loc, kind, ctx = list(error["loc"]), error["type"], error.get("ctx") or {}
    if loc[:1] == ["layer"] and len(loc) > 1 and isinstance(loc[1], int):
        raw = data.get("layer", [])
        name = raw[loc[1]].get("name") if loc[1] < len(raw) and isinstance(raw[loc[1]], dict) else None
        loc[:2] = [f"layer {name!r}" if isinstance(name, str) else f"layer[{loc[1]}]"]
        if len(loc) > 1 and loc[1] in ("text", "logo"):  # the discriminated union's branch
            loc.pop(1)
    where = ".".join(str(part) for part in loc)
    if kind == "extra_forbidden":
        return f"unknown key {where!r}"
    if kind in ("missing", "union_tag_not_found"):
        return f"{where}{'.type' if kind == 'union_tag_not_found' else ''}: missing (required)"
    if kind == "union_tag_invalid":
        return f"{where}.type: {ctx.get('tag')!r} is not one of {ctx.get('expected_tags')}"
    if kind in _TYPE_WORDS:
        message = f"{_TYPE_WORDS[kind]}, got {error['input']!r}"
    elif kind == "literal_error":
        message = f"{error['input']!r} is not one of {ctx.get('expected', '')}"
    elif kind == "value_error":
        message = str(error["msg"]).removeprefix("Value error, ")
    else:  # pydantic's own bounds (greater_than, string_pattern_mismatch, ...)
        message = f"{str(error['msg']).replace('Input should', 'must')}, got {error['input']!r}"
    return f"{where}: {message}" if where else message
