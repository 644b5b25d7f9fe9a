"""Property-based tests (hypothesis) of the campaign TOML, variants CSV and prompt template loaders (issue 23):
whatever the input, the outcome is success or the project's one-line error (an LtxflowError whose message is one
line naming the file), never another exception. max_examples stays modest so each test takes a few seconds."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ltxflow.campaign import load_campaign
from ltxflow.errors import LtxflowError
from ltxflow.plugins import template_filters
from ltxflow.prompts import PromptTemplate
from ltxflow.variants import load_variants

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
CSV_OK = "variant_id,product\nalpha,mug\n"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A project (pyproject.toml marks its root) with a campaign folder, a template and a CSV."""
    root = tmp_path_factory.mktemp("props")
    (root / "pyproject.toml").write_text("")
    folder = root / "c"
    folder.mkdir()
    (folder / "prompt.j2").write_text("{{ product }} in the sun.")
    (folder / "variants.csv").write_text(CSV_OK)
    return folder


def _one_line(exc: LtxflowError, path: Path) -> None:
    message = str(exc)
    assert "\n" not in message and "\r" not in message, repr(message)
    assert message.startswith(str(path)) or str(path) in message, message


# ── campaign.toml ───────────────────────────────────────────────────────────────────────────────

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
SCALAR = st.one_of(
    TEXT, st.sampled_from(["prompt.j2", "variants.csv", "tiny", "reels", "../x", "/proc/self/environ", "n" * 300]),
    st.integers(-2**63, 2**63 - 1), st.floats(allow_nan=True), st.booleans(),
)
VALUE = st.one_of(SCALAR, st.lists(SCALAR, max_size=4))
TOP_KEYS = ["name", "brand", "template", "variants", "platforms", "seeds", "budget", "allow_spec_failures",
            "description", "bogus"]  # fmt: skip
TABLES = {
    "generation": ["engine", "checkpoint", "width", "height", "frames", "steps", "fps", "device", "dtype",
                   "pipeline", "precision", "text_encoder"],
    "audio": ["mode", "brand_audio", "fit", "offset", "ambience_db"],
    "expand": ["mode", "columns"],
    "conditioning": ["image", "image_strength", "end_image"],
    "estimate": ["device", "seconds_per_task"],
    "brand": ["name", "kit", "logo", "colours"],
    "export.reels": ["width", "height", "min_seconds"],
}  # fmt: skip


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string (\\uXXXX escapes are TOML too)
    return str(value)


@st.composite
def campaign_texts(draw) -> str:
    """A campaign.toml: mostly valid keys with wild values, sometimes raw text."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=200))
    lines = ['brand = "Acme"', 'template = "prompt.j2"', 'variants = "variants.csv"', 'platforms = ["reels"]']
    lines = draw(st.lists(st.sampled_from(lines), unique=True))
    taken = {line.split(" = ")[0] for line in lines}
    for key in draw(st.lists(st.sampled_from(TOP_KEYS), unique=True, max_size=4)):
        if key not in taken:
            lines.append(f"{key} = {_toml_value(draw(VALUE))}")
    for table in draw(st.lists(st.sampled_from(sorted(TABLES)), unique=True, max_size=3)):
        lines.append(f"[{table}]")
        for key in draw(st.lists(st.sampled_from(TABLES[table]), unique=True, max_size=4)):
            lines.append(f"{key} = {_toml_value(draw(VALUE))}")
    return "\n".join(lines) + "\n"


@SETTINGS
@given(text=campaign_texts())
def test_any_campaign_toml_loads_or_is_one_line(folder, text):
    """Catches: a value that makes a validator raise something other than the one-line CampaignError (an
    OSError from a long or odd path, a TypeError from a list where a number goes, a multi-line pydantic
    message, an OverflowError from a huge integer)."""
    path = folder / "campaign.toml"
    path.write_text(text, encoding="utf-8")
    try:
        load_campaign(folder)
    except LtxflowError as exc:
        _one_line(exc, path)


# ── variants CSV ────────────────────────────────────────────────────────────────────────────────

CELL = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
    st.sampled_from(['"', '""', ",", "\n", "\x00", "=1+1", "photo.png", "../../etc/passwd", "n" * 300, "-5", "1e9",
                     "reels", "a;b", " "]),
)  # fmt: skip
COLUMNS = st.sampled_from(["variant_id", "product", "image", "brand_audio", "seed", "seconds", "platforms", "lora",
                           "lora_strength", "steps", "", "variant_id"])  # fmt: skip


@st.composite
def csv_bytes(draw) -> bytes:
    """A variants CSV: a header of (mostly) known columns and rows of awkward cells, or raw bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=300))
    header = draw(st.lists(COLUMNS, min_size=1, max_size=5))
    rows = draw(st.lists(st.lists(CELL, min_size=len(header), max_size=len(header)), max_size=4))

    def quote(cell: str) -> str:
        return '"' + cell.replace('"', '""') + '"' if draw(st.booleans()) else cell

    text = "\n".join(",".join(quote(c) for c in row) for row in [header, *rows])
    return text.encode("utf-8")


@SETTINGS
@given(data=csv_bytes())
def test_any_variants_csv_loads_or_is_one_line(folder, data):
    """Catches: a CSV that pandas, the row model or a file column turns into an exception other than the
    one-line VariantsError (a ParserError variant, a KeyError for a column, an OSError for a cell path)."""
    (folder / "campaign.toml").write_text('brand = "Acme"\ntemplate = "prompt.j2"\nvariants = "variants.csv"\n'
                                          'platforms = ["reels"]\n')  # fmt: skip
    campaign = load_campaign(folder)
    path = folder / "variants.csv"
    path.write_bytes(data)
    try:
        load_variants(campaign)
    except LtxflowError as exc:
        _one_line(exc, path)
    finally:
        path.write_text(CSV_OK)


# ── prompt templates ────────────────────────────────────────────────────────────────────────────

PIECES = st.sampled_from([
    "{{ product }}", "{{ missing }}", "{{ product | upper }}", "{{ product | sentence }}", "{{ product | nope }}",
    "{% if product %}", "{% endif %}", "{% for c in product %}", "{% endfor %}", "{{ 'ab' * 100000 }}",
    "{{ 10 ** 100 }}", "{{ 2 ** 10 }}", "{{ ''.__class__.__mro__ }}", "{{ product[5] }}", "{{ 1 / 0 }}",
    "{{ range(10**9) | list }}", "{% set negative_prompt = 'blurry' %}", "{{", "}}", "{%", "%}", "{# c #}", " ",
    "text", "\n", "{{ product.upper() }}", "{{ lipsum(1000) }}", "{{ cycler }}", "{% raw %}", "{{ self }}",
    "{% include 'prompt.j2' %}", "{% extends '/etc/passwd' %}", "{{ product ~ 5 }}", "{{ [1, 2] * 10**6 }}",
])  # fmt: skip


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(PIECES, max_size=8), product=CELL)
def test_any_template_renders_or_is_one_line(folder, pieces, product):
    """Catches: a template whose syntax error, sandbox refusal, arithmetic, recursion or size reaches the
    caller as anything but the one-line TemplateError (or renders past the prompt limit)."""
    path = folder / "t.j2"
    path.write_text("".join(pieces), encoding="utf-8")
    filters = {name: r.item for name, r in template_filters().items()}
    try:
        rendered = PromptTemplate(path, filters).render({"product": product, "brand": "Acme"}, "variants.csv: row 2")
    except LtxflowError as exc:
        _one_line(exc, path)
    else:
        assert 0 < len(rendered.prompt) <= 20_000
