"""Run ids: 26-character Crockford base32 ULIDs that sort by creation time."""

from __future__ import annotations

import time

from ltxflow.ledger.ids import new_ulid


def test_ulids_are_unique_sortable_and_carry_the_time():
    before = time.time_ns() // 1_000_000
    ids = [new_ulid() for _ in range(2000)]  # many share a millisecond
    after = time.time_ns() // 1_000_000
    assert sorted(ids) == ids and len(set(ids)) == len(ids)
    assert all(len(i) == 26 and set(i) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for i in ids)
    ms = int("".join(f"{'0123456789ABCDEFGHJKMNPQRSTVWXYZ'.index(c):05b}" for c in ids[0])[:50], 2)
    assert before <= ms <= after
