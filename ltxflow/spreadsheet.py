"""CSV cells that are safe to open in a spreadsheet.

Prompts, variant ids and file names come from users' CSV cells and templates; a cell that starts with =, +, -, @,
a tab or a carriage return is read as a formula by Excel, LibreOffice and Google Sheets (CSV injection). Such text
cells get a leading apostrophe, which the spreadsheet shows as text and does not evaluate. Numbers are left alone.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """`value`, with a leading apostrophe if it is text a spreadsheet would evaluate as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(row: dict[str, object]) -> dict[str, object]:
    """`row` with every cell through `safe_cell`."""
    return {key: safe_cell(value) for key, value in row.items()}
