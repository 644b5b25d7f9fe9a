"""docs/review.md documents every route of the app, and the CLI's choices are the library's."""

from __future__ import annotations

import re
from pathlib import Path

from ltxflow.cli.ledger import ledger
from ltxflow.ledger.decisions import DECISION_FILTERS

DOC = Path(__file__).resolve().parents[2] / "docs" / "review.md"


def test_every_api_route_is_documented(live):
    routes = live.app.asgi.app.routes  # Guard -> Starlette
    doc = DOC.read_text(encoding="utf-8")
    for route in routes:
        path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: "<output id>" if m[1] == "output_id" else f"<{m[1]}>", route.path)
        if path.startswith(("/api/", "/files/")):
            for method in sorted(route.methods - {"HEAD"}):
                assert f"`{method} {path}`" in doc, f"docs/review.md: document {method} {path}"
        elif path not in ("/", "/static/<name>", "/favicon.ico"):
            assert path.split("?")[0].split("/<")[0] in doc, path


def test_ledger_decision_choices_are_the_decision_filters():
    option = next(p for p in ledger.params if p.name == "decision")
    assert tuple(option.type.choices) == DECISION_FILTERS
