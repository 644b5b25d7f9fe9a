"""Variants: the rows of a campaign's CSV, checked before anything runs, and how they expand."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ltxflow.campaign import ID_PATTERN, Campaign
from ltxflow.campaign_rows import COLUMNS, FILE_COLUMNS, RowSettings, row_settings
from ltxflow.errors import VariantsError
from ltxflow.loras import COLUMNS as LORA_COLUMNS
from ltxflow.loras import RowLora, row_loras
from ltxflow.path_rules import input_file
from ltxflow.tasks import safe_name

ID_COLUMN = "variant_id"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # C0 controls and DEL, except tab, newline, CR
RESERVED = (ID_COLUMN, *COLUMNS, "platforms", *LORA_COLUMNS)  # every other column is only template text


@dataclass(frozen=True)
class Variant:
    """One variant to generate: its id, its template values and its own conditioning files."""

    variant_id: str
    row: str  # where it came from, for errors: "row 3" or "rows 2+5" (row 1 is the header)
    values: Mapping[str, str]  # every column of the row(s), as text
    files: Mapping[str, Path]  # role -> absolute path from the FILE_COLUMNS that are set (checked when planned)
    settings: RowSettings  # the row's own generation settings (None fields: the campaign's)
    platforms: tuple[str, ...] | None  # the row's own platforms, or None for the campaign's
    loras: tuple[RowLora, ...] = ()  # the row's own LoRAs (files checked when the task runs)


def read_table(path: Path) -> pd.DataFrame:
    """The CSV as text cells (no NA guessing), or a VariantsError naming the file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise VariantsError(f"{path}: variants file not found") from None
    except OSError as exc:
        raise VariantsError(f"{path}: cannot read ({exc.strerror})") from None
    if b"\x00" in raw[:8192]:
        raise VariantsError(f"{path}: looks binary, expected a UTF-8 CSV file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise VariantsError(f"{path}: not UTF-8 text (byte {exc.start}); save the CSV as UTF-8") from None
    if not text.strip():
        raise VariantsError(f"{path}: empty file, expected a header row and at least one variant")
    bad = _CONTROL.search(text)
    if bad is not None:  # a NUL or other control character past the binary sniff would reach prompts and paths
        line = text.count("\n", 0, bad.start()) + 1
        raise VariantsError(f"{path}: line {line}: control character U+{ord(bad.group()):04X} in the text; "
                            "CSV cells must be plain text")  # fmt: skip
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=True)
    except (pd.errors.ParserError, csv.Error) as exc:
        raise VariantsError(f"{path}: CSV syntax error: {str(exc).strip()}") from None
    if frame.empty:
        raise VariantsError(f"{path}: no variant rows under the header")
    unnamed = [c for c in frame.columns if str(c).startswith("Unnamed:") or not str(c).strip()]
    if unnamed:
        raise VariantsError(f"{path}: a header cell is empty (column {list(frame.columns).index(unnamed[0]) + 1})")
    dupes = [c for c in frame.columns if "." in str(c) and str(c).rsplit(".", 1)[0] in frame.columns]
    if dupes:
        raise VariantsError(f"{path}: column {str(dupes[0]).rsplit('.', 1)[0]!r} appears twice in the header")
    return frame


def load_variants(campaign: Campaign) -> list[Variant]:
    """Every variant of the campaign, rows checked and expanded as the campaign says."""
    path = campaign.variants
    frame = read_table(path)
    columns = list(frame.columns)
    needed = [ID_COLUMN, *campaign.expand_columns]
    for column in needed:
        if column not in columns:
            raise VariantsError(f"{path}: missing column {column!r} (columns: {', '.join(columns)})")
    rows = [_row(campaign, path, i + 2, record) for i, record in enumerate(frame.to_dict("records"))]
    _check_unique(path, [(v.variant_id, v.row) for v in rows])
    if campaign.expand_mode == "cartesian":
        rows = _cartesian(campaign, rows)
    return rows


def _row(campaign: Campaign, path: Path, number: int, record: dict[str, str]) -> Variant:
    """One CSV row checked: id, files, settings, platforms."""
    where = f"{path}: row {number}"
    variant_id = record[ID_COLUMN].strip()
    if not variant_id:
        raise VariantsError(f"{where}: empty variant_id")
    if not ID_PATTERN.fullmatch(variant_id) or ".." in variant_id:
        raise VariantsError(
            f"{where}: variant_id {variant_id!r} must be 1-64 of [A-Za-z0-9._-] starting with a letter or digit "
            f"(e.g. {safe_name(variant_id)!r})"
        )
    try:
        settings = row_settings(record, where)
    except ValueError as exc:
        raise VariantsError(str(exc)) from None
    files: dict[str, Path] = {}
    for role in FILE_COLUMNS:
        cell = getattr(settings, role)
        if cell:  # limits and confinement refuse the CSV; a missing file fails only this variant's tasks
            try:
                files[role] = input_file(campaign.folder, cell)
            except ValueError as exc:
                raise VariantsError(f"{where}: {role}: {exc}") from None
    platforms = None
    cell = record.get("platforms", "").strip()
    if cell:
        platforms = tuple(p for p in cell.replace(";", " ").replace(",", " ").split() if p)
        extra = [p for p in platforms if p not in campaign.platforms]
        if extra:
            raise VariantsError(f"{where}: platforms: {extra[0]!r} is not a campaign platform ({', '.join(campaign.platforms)})")
    loras = row_loras(campaign.folder, where, record)
    return Variant(variant_id, f"row {number}", dict(record), files, settings, platforms, loras)


def _check_unique(path: Path, ids: list[tuple[str, str]]) -> None:
    """Refuse two variants with one id (ids name the output files)."""
    seen: dict[str, str] = {}
    for variant_id, row in ids:
        key = variant_id.lower()  # case-insensitive file systems would merge their files
        if key in seen:
            raise VariantsError(f"{path}: {row}: duplicate variant_id {variant_id!r} (first at {seen[key]})")
        seen[key] = row


def _cartesian(campaign: Campaign, rows: list[Variant]) -> list[Variant]:
    """Cross the distinct non-empty values of the expand columns.

    A combination takes each crossed column's value from the row that holds it, and every other
    column (files included) from the row of the first crossed column. Its id joins the ids of the
    rows it draws from with "-".
    """
    axes: list[list[Variant]] = []
    for column in campaign.expand_columns:
        seen: set[str] = set()
        axis = []
        for variant in rows:
            value = variant.values[column]
            if value.strip() and value not in seen:
                seen.add(value)
                axis.append(variant)
        if not axis:
            raise VariantsError(f"{campaign.variants}: column {column!r} has no values to cross")
        axes.append(axis)
    out = []
    for combo in itertools.product(*axes):
        base = combo[0]
        values = dict(base.values)
        for column, source in zip(campaign.expand_columns, combo, strict=True):
            values[column] = source.values[column]
        variant_id = "-".join(v.variant_id for v in combo)[:64]
        values[ID_COLUMN] = variant_id
        row = "rows " + "+".join(v.row.removeprefix("row ") for v in combo)
        out.append(Variant(variant_id, row, values, base.files, base.settings, base.platforms, base.loras))
    _check_unique(campaign.variants, [(v.variant_id, v.row) for v in out])
    return out
