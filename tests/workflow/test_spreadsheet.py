"""CSV cells from user text never reach a spreadsheet as formulas."""

import pytest

from ltxflow.export.manifest import write_manifest
from ltxflow.spreadsheet import safe_cell


@pytest.mark.parametrize("text", ["=1+1", "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"])
def test_formula_text_gets_an_apostrophe(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["A sunny kitchen", "1080x1920", "", 3, -14.0, None, True])
def test_other_cells_are_unchanged(value):
    assert safe_cell(value) == value


def test_manifest_quotes_formula_prompts(tmp_path):
    path = write_manifest([{"campaign": "c", "variant_id": "=cmd|' /C calc'!A0", "prompt": "fine"}],
                          tmp_path / "manifest.csv")
    text = path.read_text(encoding="utf-8")
    assert "'=cmd|' /C calc'!A0" in text and ",fine" in text
