"""Layers in planning: each variant's texts rendered (sandboxed Jinja, like prompts), laid out per platform,
checked at `validate`; and which finished tasks have deliverables whose layer set has changed since.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from ltxflow.errors import CampaignError
from ltxflow.layers.layout import Geometry, LayerSet, VariantTexts, lay_out
from ltxflow.layers.schema import AdSettings, TextLayer

if TYPE_CHECKING:
    from ltxflow.campaign import Campaign
    from ltxflow.export.presets import Preset
    from ltxflow.ledger.models import OutputRecord
    from ltxflow.tasks import Task
    from ltxflow.variants import Variant


class LayerError(CampaignError):
    """A layer that cannot be drawn for a row: names the campaign, the layer and the row."""


def deliverable_seconds(num_frames: int, fps: Fraction, preset: Preset) -> float:
    """Seconds of a deliverable cut from a clip of `num_frames` at `fps` (trimmed and rate-converted as export does)."""
    from ltxflow.export.fit import frame_indices

    frames = num_frames
    if num_frames / fps > Fraction(str(preset.max_seconds)):
        frames = max(1, int(Fraction(str(preset.max_seconds)) * fps))
    out_fps = preset.output_fps(fps)
    return float(len(frame_indices(frames, fps, out_fps)) / out_fps)


def geometry(preset: Preset) -> Geometry:
    """The layout-relevant fields of a preset."""
    return Geometry(preset.name, preset.width, preset.height, preset.safe_box, getattr(preset, "captions", "both"))


class _Texts:
    """The campaign's layer texts compiled once, rendered per variant."""

    def __init__(self, campaign: Campaign, filters: Mapping[str, Callable[..., Any]]) -> None:
        self.campaign = campaign
        env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
        env.filters.update(filters)
        ad = campaign.ad
        sources = {layer.name: layer.text for layer in ad.layer if isinstance(layer, TextLayer)}
        if ad.end_card is not None and ad.end_card.text:
            sources["end_card"] = ad.end_card.text
        if ad.captions is not None:
            sources["captions"] = ad.captions.text
        self.templates: dict[str, jinja2.Template] = {}
        for name, source in sources.items():
            try:
                self.templates[name] = env.from_string(source)
            except jinja2.TemplateSyntaxError as exc:
                raise LayerError(f"{self._layer(name)}: text: template syntax error: {exc.message}") from None

    def _layer(self, name: str) -> str:
        what = name if name in ("end_card", "captions") else f"layer {name!r}"
        return f"{self.campaign.path}: campaign {self.campaign.name!r}: {what}"

    def where(self, name: str, variant: Variant) -> str:
        """The error prefix naming campaign, layer and row."""
        return f"{self._layer(name)}: {self.campaign.variants.name} {variant.row} (variant_id={variant.variant_id})"

    def render(self, variant: Variant) -> VariantTexts:
        """Every layer text for one row."""
        context = {**variant.values, "row": dict(variant.values), "brand": self.campaign.brand,
                   "campaign": self.campaign.name}  # fmt: skip
        out = {}
        for name, template in self.templates.items():
            try:
                lines = template.render(context).splitlines()  # a cell's line breaks stay line breaks
                out[name] = "\n".join(" ".join(line.split()) for line in lines).strip()
            except jinja2.UndefinedError as exc:
                raise LayerError(f"{self.where(name, variant)}: {_undefined(exc)}") from None
            except SecurityError as exc:
                raise LayerError(f"{self.where(name, variant)}: blocked by the template sandbox: {exc}") from None
            except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as exc:
                raise LayerError(f"{self.where(name, variant)}: {type(exc).__name__}: {exc}") from None
        end_card, captions = out.pop("end_card", ""), out.pop("captions", "")
        return VariantTexts(out, end_card, captions)


def _undefined(exc: jinja2.UndefinedError) -> str:
    message = str(exc)
    if "is undefined" in message and message.startswith("'"):
        return f"undefined variable {message.split(chr(39))[1]!r} (not a column of the row)"
    return message


def layer_sets(campaign: Campaign, tasks: Iterable[Task], presets: Mapping[str, Preset],
               filters: Mapping[str, Callable[..., Any]]) -> dict[str, dict[str, LayerSet]]:  # fmt: skip
    """task id -> platform -> LayerSet for a campaign with layers ({} without); LayerError on bad input."""
    ad: AdSettings = campaign.ad
    if not ad.active:
        return {}
    from ltxflow.variants import load_variants

    texts = _Texts(campaign, filters)
    variants = {v.variant_id: v for v in load_variants(campaign)}
    known = set(campaign.platforms)
    for layer in ad.layer:
        for name in layer.platforms:
            if name not in known:
                raise LayerError(f"{texts._layer(layer.name)}: platforms: {name!r} is not a campaign platform")
    done: dict[tuple[str, str], LayerSet] = {}  # (variant, platform) -> set: seeds share it
    out: dict[str, dict[str, LayerSet]] = {}
    for task in tasks:
        variant = variants[task.variant_id]
        rendered = None
        for platform in task.platforms:
            key = (task.variant_id, platform)
            if key not in done:
                rendered = rendered or texts.render(variant)
                preset = presets[platform]
                seconds = deliverable_seconds(task.num_frames, task.frame_rate, preset)

                def fail(layer: str, what: str, variant: Variant = variant) -> LayerError:
                    return LayerError(f"{texts.where(layer, variant)}: {what}")

                done[key] = lay_out(ad, rendered, geometry(preset), seconds, campaign.folder, fail)
            out.setdefault(task.id, {})[platform] = done[key]
    return out


def stale_platforms(tasks: Iterable[Task], finished: frozenset[str], sets: Mapping[str, Mapping[str, LayerSet]],
                    outputs: Iterable[OutputRecord]) -> dict[str, tuple[str, ...]]:  # fmt: skip
    """Finished task id -> its platforms whose recorded layer set differs from the current one."""
    recorded: dict[tuple[str, str], str] = {}
    for o in outputs:
        if o.kind == "video":
            recorded[(o.task_id, o.platform)] = json.loads(o.probe_json or "{}").get("layers", {}).get("id", "")
    out = {}
    for task in tasks:
        if task.id not in finished:
            continue
        want = sets.get(task.id, {})
        changed = tuple(p for p in task.platforms
                        if recorded.get((task.id, p), "") != (want[p].id if p in want else ""))  # fmt: skip
        if changed:
            out[task.id] = changed
    return out
