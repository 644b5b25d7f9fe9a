#!/usr/bin/env python
"""Write the key reference of docs/campaign.md from the campaign models (`--check`: exit 1 if it is stale)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ltxflow.campaign_doc import replace_keys

DOC = Path(__file__).resolve().parent.parent / "docs" / "campaign.md"


def main() -> int:
    """Write or check the key reference."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    current = DOC.read_text(encoding="utf-8")
    updated = replace_keys(current)
    if args.check:
        if current != updated:
            print(f"{DOC} is stale: run python scripts/campaign_doc.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(updated, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
