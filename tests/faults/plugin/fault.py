"""Test-only local plugin: one fault at one chosen moment of a run, named by $LTXFLOW_TEST_FAULT.

The fault tests load it into `ltxflow run` subprocesses through $LTXFLOW_PLUGINS_DIR (it is never shipped), so no
fault hook lives in ltxflow itself. A moment is a point in the code, not a time: the fault is timing-free.

$LTXFLOW_TEST_FAULT is `<moment>:<action>`:
- moments: `mp4` (an MP4 encoded and flushed into its partial, not yet renamed), `wav` (a task's WAV finished and
  renamed, nothing of the task recorded), `manifest` / `sheet` (the report's partial written, not renamed),
  `link` (the first current/ link's partial made), `commit` (the ledger committed the task, the runner has not
  noted it yet), `reports` (the run_finished hook: the task loop is over, the reports not begun).
- actions: `KILL`, `TERM`, `INT` (the signal, sent to this process right at the moment); `fill` (fill the file
  system of $LTXFLOW_TEST_FILL with that file first, so the write at the moment meets a full disk); `ro`
  (remount the tmpfs at $LTXFLOW_TEST_FILL's folder read-only first).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ltxflow.hookspecs import hookimpl

FAULT_ENV = "LTXFLOW_TEST_FAULT"
FILL_ENV = "LTXFLOW_TEST_FILL"

_AFTER_BODY = {  # moment -> which atomic writes it is (the fault lands once the partial is complete)
    "mp4": lambda p: p.suffix == ".mp4" and p.parent.parent.parent.name == "tasks",
    "manifest": lambda p: p.name == "manifest.csv",
    "sheet": lambda p: p.name == "contact_sheet.png",
    "link": lambda p: p.parent.name == "current",
}
_AFTER_RENAME = {"wav": lambda p: p.suffix == ".wav" and p.parent.parent.parent.name == "tasks"}


def fill(filler: Path) -> None:
    """Write `filler` until its file system is full (the file stays; the test removes it to free the space)."""
    with open(filler, "ab", buffering=0) as f:  # unbuffered: closing has nothing left to write
        block = b"\0" * 65536
        with contextlib.suppress(OSError):
            while True:
                f.write(block)

        with contextlib.suppress(OSError):  # the last few bytes a smaller write still finds
            while True:
                f.write(b"\0" * 512)



def act(action: str) -> None:
    """Do the fault now."""
    if action == "fill":
        fill(Path(os.environ[FILL_ENV]))
    elif action == "ro":
        subprocess.run(["mount", "-o", "remount,ro", str(Path(os.environ[FILL_ENV]).parent)], check=True)
    else:
        os.kill(os.getpid(), getattr(signal, f"SIG{action}"))


def install(spec: str) -> Callable[[], None]:
    """Arm the fault `spec` (`<moment>:<action>`) in this process; returns the function that disarms it."""
    from ltxflow.export import atomic
    from ltxflow.ledger.store import Ledger

    moment, action = spec.split(":")
    before = action in ("fill", "ro")
    fired: list[str] = []
    undo: list[Callable[[], None]] = []

    def once() -> bool:
        if fired:
            return False
        fired.append(moment)
        return True

    if moment in _AFTER_BODY or moment in _AFTER_RENAME:
        real = atomic.atomic_path
        wanted = _AFTER_BODY.get(moment) or _AFTER_RENAME[moment]

        @contextlib.contextmanager
        def faulty(path: Path) -> Iterator[Path]:
            hit = wanted(Path(path)) and once()
            if hit and before:
                act(action)
            with real(path) as partial:
                yield partial
                if hit and not before and moment in _AFTER_BODY:
                    act(action)
            if hit and not before and moment in _AFTER_RENAME:
                act(action)

        for module in [m for name, m in list(sys.modules.items()) if name.startswith("ltxflow") and m is not None]:
            if getattr(module, "atomic_path", None) is real:
                setattr(module, "atomic_path", faulty)
                undo.append(lambda module=module: setattr(module, "atomic_path", real))
    elif moment == "commit":
        real_record = Ledger.record_task

        def record_then_fault(self: Ledger, *args: Any, **kwargs: Any) -> Any:
            hit = once()
            if hit and before:
                act(action)
            result = real_record(self, *args, **kwargs)
            if hit and not before:
                act(action)
            return result

        Ledger.record_task = record_then_fault  # type: ignore[method-assign]
        undo.append(lambda: setattr(Ledger, "record_task", real_record))
    elif moment == "reports":
        _REPORTS.append(action)
        undo.append(_REPORTS.clear)
    else:
        raise ValueError(f"unknown fault moment {moment!r}")

    def disarm() -> None:
        for step in reversed(undo):
            step()

    return disarm


_REPORTS: list[str] = []


@hookimpl
def run_finished(run: Any) -> None:
    if _REPORTS:
        act(_REPORTS.pop())


if os.environ.get(FAULT_ENV):  # loaded as a plugin of a subprocess under test
    import ltxflow.export.contact_sheet  # noqa: F401  (the modules whose atomic writes a moment names)
    import ltxflow.export.deliver  # noqa: F401
    import ltxflow.export.encode  # noqa: F401
    import ltxflow.export.manifest  # noqa: F401

    install(os.environ[FAULT_ENV])
