"""What a run records about its deliverables: the exporter's warnings reach the ledger and the manifest."""

from __future__ import annotations

import csv
import json

from ltxflow.ledger.store import Ledger
from ltxflow.runner import run_campaign

EXPORT = """
[export.shorts]
width = 64
height = 112
x264_preset = "ultrafast"
max_seconds = 0.2
"""


def test_trim_warning_fills_the_manifest_warnings_column(make_campaign, toml, fake_engine, tmp_path):
    folder = make_campaign(toml(platforms='["shorts"]', extra=EXPORT))
    with Ledger.open(tmp_path / "l.db") as book:
        result = run_campaign(folder, ledger=book, out_dir=tmp_path / "out", progress=False)
        outputs = [o for o in book.outputs("spring") if o.kind == "video"]
    assert result.exit_code == 0 and len(outputs) == 2
    for o in outputs:
        assert json.loads(o.probe_json)["warnings"][0] == "trimmed 0.4 s → 0.2 s for shorts"
    with result.manifest.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    videos = [r for r in rows if r["kind"] == "video"]
    assert len(videos) == 2 and all(r["warnings"].startswith("trimmed 0.4 s → 0.2 s for shorts") for r in videos)
    assert all(r["warnings"] == "" for r in rows if r["kind"] != "video")
