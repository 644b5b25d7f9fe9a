"""docs/layers.md is generated from the schema models: a new or changed key must be regenerated, not hand-edited."""

from pathlib import Path

from ltxflow.layers.doc import render
from ltxflow.layers.schema import AdSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "layers.md"


def test_the_layers_doc_is_current():
    assert DOC.read_text(encoding="utf-8") == render(), "run: python -m ltxflow.layers.doc > docs/layers.md"


def test_every_key_of_every_table_is_documented():
    from ltxflow.layers.doc import TABLES

    rows = {line.split("|")[1].strip(" `"): line for line in render().splitlines() if line.startswith("| `")}
    for _, model in TABLES:
        for name in model.model_fields:
            if name == "type" or (model.__name__ == "BrandKit" and name == "text"):  # the union tag; its own table
                continue
            assert name in rows and not rows[name].endswith("|  |"), (model.__name__, name)
