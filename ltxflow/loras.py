"""LoRAs a campaign names: `[[lora]]` entries, a row's `lora` / `lora_strength` columns, and how they merge.

    [[lora]]
    path = "loras/brand.safetensors"
    strength = 0.8

    [[lora]]                                  # the two-stage pipeline's refinement, as the reference's
    path = "ltx-2-19b-distilled-lora-384.safetensors"
    stage = "refine"

A row adds LoRAs with `lora` (paths separated by ";") and their strengths with `lora_strength` (one number for all,
or one per path; empty = 1.0). A row path that names a campaign LoRA's file overrides that entry's strength (0
turns it off for the row); the others are fused after the campaign's, in the row's order. No torch here: the files
are read by the engine, and a bad file fails only its variants.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator

from ltxflow.campaign_types import ModelFile, Number, bad, bad_at
from ltxflow.errors import VariantsError
from ltxflow.path_rules import checked_path

LORA_COLUMN = "lora"
STRENGTH_COLUMN = "lora_strength"
COLUMNS = (LORA_COLUMN, STRENGTH_COLUMN)
STAGES = ("all", "refine")


def _stage(value: Any) -> str:
    if value not in STAGES:
        raise bad(f"{value!r} is not one of {', '.join(STAGES)}")
    return value


Stage = Annotated[Literal["all", "refine"], PlainValidator(_stage)]


class LoraEntry(BaseModel):
    """One `[[lora]]` table: a LoRA file fused into the transformer for every variant."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: ModelFile = Field(..., description="a LoRA .safetensors file (official, ComfyUI or diffusers naming)",
                       examples=['"loras/brand.safetensors"'])  # fmt: skip
    strength: Number = Field(1.0, description="W += strength * B @ A (no alpha/rank scale, as the reference)",
                             examples=["0.8"])  # fmt: skip
    stage: Stage = Field("all", description='"all", or "refine": the two-stage refinement only (the distilled LoRA)',
                         examples=['"all"'])  # fmt: skip


def check_lora_stages(entries: Sequence[LoraEntry], pipeline: str, checkpoint: str) -> None:
    """A "refine" LoRA needs the two-stage pipeline; two-stage with a real checkpoint needs one (the reference's
    two-stage always refines with the distilled LoRA fused)."""
    refine = [i for i, e in enumerate(entries) if e.stage == "refine"]
    if refine and pipeline != "two-stage":
        raise bad_at(f"lora.{refine[0]}.stage", f'"refine" is the two-stage pipeline\'s refinement; the pipeline is '
                     f"{pipeline!r}")  # fmt: skip
    if not refine and pipeline == "two-stage" and checkpoint != "tiny":
        raise bad_at("lora", 'the two-stage pipeline refines with the distilled LoRA fused, as the reference does: add '
                     '[[lora]] path = "ltx-2-19b-distilled-lora-384.safetensors", stage = "refine"')  # fmt: skip


@dataclass(frozen=True)
class RowLora:
    """A LoRA a CSV row names: resolved path (checked when the task runs) and strength."""

    path: Path
    strength: float = 1.0


def row_loras(folder: Path, where: str, record: Mapping[str, str]) -> tuple[RowLora, ...]:
    """The row's `lora` / `lora_strength` cells; VariantsError naming the row and column when they do not parse."""
    paths = [p.strip() for p in record.get(LORA_COLUMN, "").split(";") if p.strip()]
    cells = [c.strip() for c in record.get(STRENGTH_COLUMN, "").split(";")] if record.get(STRENGTH_COLUMN, "").strip() \
        else []  # fmt: skip
    if cells and not paths:
        raise VariantsError(f"{where}: {STRENGTH_COLUMN}: given without a {LORA_COLUMN} path (name the file, even "
                            "one the campaign already fuses, to change its strength)")  # fmt: skip
    if len(cells) not in (0, 1, len(paths)):
        raise VariantsError(f"{where}: {STRENGTH_COLUMN}: {len(cells)} strengths for {len(paths)} LoRA paths "
                            "(give one for all or one per path)")  # fmt: skip
    strengths: list[float] = []
    for cell in cells:
        try:
            strengths.append(float(cell))
        except ValueError:
            raise VariantsError(f"{where}: {STRENGTH_COLUMN}: expected a number, got {cell!r}") from None
    strengths = strengths * len(paths) if len(strengths) == 1 else strengths or [1.0] * len(paths)
    try:
        files = [checked_path(folder, p) for p in paths]  # lengths checked before the engine stats them
    except ValueError as exc:
        raise VariantsError(f"{where}: {LORA_COLUMN}: {exc}") from None
    return tuple(RowLora(path, s) for path, s in zip(files, strengths, strict=True))


def merged(campaign: Sequence[LoraEntry], row: Sequence[RowLora]) -> list[tuple[Path, float, str]]:
    """(path, strength, stage) in fusing order: the campaign's entries (a row naming one of their files sets its
    strength), then the row's other LoRAs in row order (for every stage)."""
    out = [(entry.path, entry.strength, entry.stage) for entry in campaign]
    for item in row:
        where = next((i for i, (path, *_) in enumerate(out) if path == item.path), None)
        if where is None:
            out.append((item.path, item.strength, "all"))
        else:
            out[where] = (item.path, item.strength, out[where][2])
    return out
