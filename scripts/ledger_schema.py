#!/usr/bin/env python
"""Write docs/ledger-schema.md from the ledger migrations (`--check`: exit 1 if the file is stale)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ltxflow.ledger.schema_doc import schema_markdown

DOC = Path(__file__).resolve().parent.parent / "docs" / "ledger-schema.md"


def main() -> int:
    """Write or check the schema document."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    markdown = schema_markdown()
    if args.check:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != markdown:
            print(f"{DOC} is stale: run python scripts/ledger_schema.py", file=sys.stderr)
            return 1
        return 0
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(markdown, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
