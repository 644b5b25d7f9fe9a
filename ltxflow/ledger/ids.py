"""ULID-style ids: 48-bit millisecond time + 80 random bits in Crockford base32, sortable by time."""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
_RANDOM_BITS = 80
_lock = threading.Lock()
_last = (0, 0)  # (ms, random part) of the previous id from this process


def new_ulid() -> str:
    """A 26-character id; ids made later sort later (within a process, even in the same millisecond)."""
    global _last
    with _lock:
        ms = time.time_ns() // 1_000_000
        last_ms, last_rand = _last
        if ms <= last_ms:  # same millisecond (or the clock stepped back): count up from the last id
            ms, rand = last_ms, last_rand + 1
        else:
            rand = int.from_bytes(os.urandom(_RANDOM_BITS // 8), "big")
        _last = (ms, rand)
    value = (ms << _RANDOM_BITS) | (rand & ((1 << _RANDOM_BITS) - 1))
    return "".join(_ALPHABET[(value >> shift) & 31] for shift in range(125, -1, -5))
