"""The app's promote button: one background promote per campaign at a time, with a status the page polls."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ltxflow.errors import LtxflowError
from ltxflow.ledger.store import Ledger, utc_now
from ltxflow.review.promote import promote_campaign


@dataclass(frozen=True)
class JobState:
    """Where a campaign's promote stands."""

    state: str = "idle"  # idle | running | finished | failed
    message: str = ""
    started_utc: str = ""
    finished_utc: str = ""
    promotions: tuple[dict[str, Any], ...] = ()

    def json(self) -> dict[str, Any]:
        return {**asdict(self), "promotions": list(self.promotions)}


class PromoteJobs:
    """Background promotes, one per campaign; the engine runs in its own thread, never in a request."""

    def __init__(self, ledger: Ledger, out_dir: Path) -> None:
        self.ledger, self.out_dir = ledger, out_dir
        self._lock = threading.Lock()
        self._states: dict[str, JobState] = {}
        self._threads: dict[str, threading.Thread] = {}

    def state(self, campaign: str) -> JobState:
        with self._lock:
            return self._states.get(campaign, JobState())

    def start(self, campaign: str, folder: Path) -> JobState | None:
        """Start promoting `campaign`; None when one is already running."""
        with self._lock:
            if self._states.get(campaign, JobState()).state == "running":
                return None
            state = JobState("running", "rendering finals", utc_now())
            self._states[campaign] = state
            thread = threading.Thread(target=self._run, args=(campaign, folder), name=f"promote-{campaign}", daemon=True)
            self._threads[campaign] = thread
            thread.start()
            return state

    def join(self, timeout: float | None = None) -> None:
        """Wait for running promotes (tests and shutdown)."""
        for thread in list(self._threads.values()):
            thread.join(timeout)

    def _finish(self, campaign: str, **changes: Any) -> None:
        with self._lock:
            self._states[campaign] = replace(self._states[campaign], finished_utc=utc_now(), **changes)

    def _run(self, campaign: str, folder: Path) -> None:
        try:
            result = promote_campaign(folder, ledger=self.ledger, out_dir=self.out_dir)
        except LtxflowError as exc:
            self._finish(campaign, state="failed", message=str(exc))
            return
        except BaseException as exc:  # recorded for the page, then raised so the thread reports its traceback
            self._finish(campaign, state="failed", message=f"{type(exc).__name__}: {exc}")
            raise
        done = [asdict(p) for p in result.promotions]
        rendered = sum(p.status == "rendered" for p in result.promotions)
        bad = [p for p in result.promotions if p.status in ("failed", "not run")]
        message = (f"{rendered} final{'s' if rendered != 1 else ''} rendered, {len(done) - rendered - len(bad)} "
                   f"already there" + (f", {len(bad)} not finished" if bad else ""))  # fmt: skip
        if not done:
            message = "nothing to promote: approve or mark a winner first"
        self._finish(campaign, state="failed" if bad else "finished", message=message, promotions=tuple(done))
