"""`ltxflow run --executor ray` on a real local Ray cluster (two CPU workers): the actors share the campaign through
the ledger, and the run records what they made."""

from __future__ import annotations

import pytest

from ltxflow.ledger.store import Ledger

from .conftest import finish, generated, make_campaign, start, worker_env

pytest.importorskip("ray", reason="the [ray] extra is not installed")


def test_a_run_on_ray_makes_every_task_once_on_two_actors(tmp_path):
    """Catches actors that each make the whole campaign (the ledger not consulted), a run that does not count what
    its actors recorded, or actors left holding claims."""
    folder = make_campaign(tmp_path, "spring", 4)
    ledger = str(tmp_path / "ledger.db")
    env = worker_env(tmp_path, ledger, SLOW_BARRIER="2")
    run = ["run", str(folder), "--executor", "ray", "--workers", "2", "--out", str(tmp_path / "out"), "--no-progress"]
    (code, out), = finish([start(tmp_path, run, env)], timeout=240)
    assert code == 0, out
    assert "spring: 4 finished, 0 failed, 0 skipped, 0 not run" in out
    made = generated(tmp_path)
    assert len({task for _, task, _ in made}) == len(made) == 4 and len({pid for pid, _, _ in made}) == 2
    with Ledger.open(ledger) as book:
        assert len(book.finished_task_ids("spring")) == 4 and book.claims() == []
        (record,) = book.runs("spring")
        assert (record.command, record.status, record.finished) == ("run", "finished", 4)
