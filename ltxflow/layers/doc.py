"""docs/layers.md, generated from the pydantic models of ltxflow.layers.schema (a test checks it is current).

Run: python -m ltxflow.layers.doc > docs/layers.md
Each key's line comes from the model: its TOML name, type, default and the comment beside its declaration.
"""

from __future__ import annotations

import inspect
import re
import typing

from pydantic import BaseModel

from ltxflow.layers import schema

TABLES: tuple[tuple[str, type[BaseModel]], ...] = (
    ("[brand] (or brand.toml, named by `kit`)", schema.BrandKit),
    ("[brand.text]: text defaults", schema.TextStyle),
    ('[[layer]] type = "text"', schema.TextLayer),
    ('[[layer]] type = "logo"', schema.LogoLayer),
    ("[captions]", schema.Captions),
    ("[end_card]", schema.EndCard),
    ("[credentials]", schema.Credentials),
)
_LINE = re.compile(r"^\s{4}(\w+): .*?(?:  # (.*))?$")  # a declaration and its trailing comment

INTRO = """# Ad layers

Generated from `ltxflow/layers/schema.py` by `python -m ltxflow.layers.doc`; do not edit by hand.

A campaign makes its deliverables ad-ready with a brand kit and layers. Text is sandboxed Jinja over the row,
like prompts (`"{{ headline }}"`), so CSV columns fill it per variant; an empty result leaves the layer out for
that row. Every layer is laid out for each platform's own frame size inside its safe zone (less the brand's
margin): text wraps at words, then shrinks down to `min_size`, then is refused with an error naming the
campaign, layer and row. Times are seconds; negative ones count back from the deliverable's end; windows end
where the end card starts unless they say otherwise. Layers are drawn on the fitted frames before the one
encode per deliverable; the layer set's id names the files (`<stem>__<id8>.mp4`) and is recorded in the
ledger, so a changed headline re-exports from the kept clip (`clips/<task id>.mkv`) without generating.
Each preset's `captions` field (`burn`, `sidecar`, `both`, `none`; default `both`) decides whether captions
are drawn, written as `.srt` + `.vtt` beside the MP4, or both. Every MP4 carries the AI disclosure as
metadata tags; with the `c2pa` extra and a key (`cert`/`key` or `$LTXFLOW_C2PA_CERT`/`$LTXFLOW_C2PA_KEY`) it
also carries a signed C2PA manifest declaring `trainedAlgorithmicMedia`.
"""


def _comments(model: type[BaseModel]) -> dict[str, str]:
    """Field name -> the comment on its declaration line, for the model and its bases."""
    out: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if cls is BaseModel or not (isinstance(cls, type) and issubclass(cls, BaseModel)) or cls.__module__ != schema.__name__:
            continue
        for line in inspect.getsource(cls).splitlines():
            match = _LINE.match(line)
            if match and match.group(2):
                out[match.group(1)] = match.group(2)
    return out


def _type(annotation: object) -> str:
    text = str(annotation).replace("typing.", "").replace("pathlib.", "").replace("NoneType", "None")
    text = re.sub(r"Annotated\[(\w+(?:\[[^\]]*\])?), [^\]]*\]", r"\1", text)
    text = re.sub(r"<class '(\w+)'>", r"\1", text)
    return text.replace("ltxflow.layers.schema.", "")


def _default(field: typing.Any) -> str:
    if field.is_required():
        return "required"
    value = field.default if field.default_factory is None else field.default_factory()
    if isinstance(value, BaseModel):
        return "(table)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return "none" if value is None else f"`{value!r}`".replace("'", '"')


def render() -> str:
    """The whole page."""
    parts = [INTRO]
    for title, model in TABLES:
        parts.append(f"\n## {title}\n\n{inspect.getdoc(model)}\n\n| key | type | default | meaning |\n|---|---|---|---|")
        comments = _comments(model)
        for name, field in model.model_fields.items():
            if name == "type" or (model is schema.BrandKit and name == "text"):
                continue
            kind = _type(field.annotation).replace("|", "\\|")
            parts.append(f"| `{name}` | {kind} | {_default(field)} | {comments.get(name, '')} |")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    print(render(), end="")
