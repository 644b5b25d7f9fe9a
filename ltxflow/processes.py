"""Whether a process of this host still runs: how claims, runs and partial files left by a killed process (kill -9,
a lost machine) are told from those of a live one."""

from __future__ import annotations

import os


def process_exists(pid: int) -> bool:
    """Whether a process with this pid runs on this host (pids <= 0 name process groups, never one process)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by another user
        return True
    return True
