"""Ray as the farm's placement engine: one Ray actor per GPU, each wrapping a queue worker (worker.py).

Ray places the actors (one GPU each; on a cluster without GPUs, `workers` actors of one CPU each), restarts one whose
process died and scales with the cluster; the ledger, not Ray, stays the source of truth for what is done: an actor
claims, makes and records tasks exactly as `ltxflow worker` does, so a restarted actor (or a lost node) only costs
the lease of the task it held. Ray is the optional extra `[ray]`; nothing imports it unless a farm is asked for.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass

from ltxflow.errors import LtxflowError
from ltxflow.ledger.claims import LEASE_S

RESTARTS = 3  # times Ray restarts an actor whose process died before the farm gives that actor up


@dataclass(frozen=True)
class FarmResult:
    """What the farm's actors did together."""

    workers: int  # actors placed
    finished: int
    failed: tuple[tuple[str, str], ...]  # (task stem, error)
    spec_failures: tuple[tuple[str, str], ...]  # (file name, problems)
    budget_stops: tuple[tuple[str, str], ...]  # (campaign, why)


class FarmWorker:
    """The body of one Ray actor: a queue worker on this actor's device, against the shared ledger."""

    def __init__(self, ledger_url: str, lease_s: float) -> None:
        self.ledger_url, self.lease_s = ledger_url, lease_s

    def serve(self, until_idle: bool, campaigns: list[str] | None, task_ids: list[str] | None,
              runs: dict[str, str] | None) -> object:  # fmt: skip
        """Work until idle (or forever); the WorkerResult."""
        import ray

        from ltxflow.ledger.store import Ledger
        from ltxflow.worker import run_worker

        device = "cuda:0" if ray.get_gpu_ids() else None  # Ray shows the actor its one GPU as device 0
        with Ledger.open(self.ledger_url) as book:
            return run_worker(book, device=device, until_idle=until_idle, lease_s=self.lease_s, campaigns=campaigns,
                              task_ids=task_ids, runs=runs, progress=False)  # fmt: skip


def work_on_ray(ledger_url: str, *, address: str | None = None, workers: int | None = None, until_idle: bool = True,
                campaigns: Collection[str] | None = None, task_ids: Collection[str] | None = None,
                runs: dict[str, str] | None = None, lease_s: float = LEASE_S) -> FarmResult:  # fmt: skip
    """Place one worker actor per GPU of the Ray cluster at `address` (None: start a local one) and wait for them.

    `workers` overrides the count (the count on a cluster without GPUs, default 1). The ledger URL must reach the
    same database from every node (a SQLite file only works on one machine).
    """
    try:
        import ray
        from ray.exceptions import RayActorError
    except ImportError:
        raise LtxflowError("the Ray executor needs the [ray] extra: pip install 'ltxflow[ray]'") from None
    started = not ray.is_initialized()
    if started:
        local = {"num_cpus": max(2, workers or 1)} if address is None else {}
        env = {k: v for k, v in os.environ.items() if k.startswith("LTXFLOW_")}  # plugins, rates, model settings
        ray.init(address=address, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env},
                 **local)  # fmt: skip
    try:
        gpus = int(ray.cluster_resources().get("GPU", 0))
        count = workers or gpus or 1
        actor = ray.remote(FarmWorker).options(num_gpus=1 if gpus else 0, num_cpus=0 if gpus else 1,
                                               max_restarts=RESTARTS)  # fmt: skip
        actors = [actor.remote(ledger_url, lease_s) for _ in range(count)]
        args = (until_idle, list(campaigns) if campaigns is not None else None,
                list(task_ids) if task_ids is not None else None, runs)  # fmt: skip
        calls = {i: handle.serve.remote(*args) for i, handle in enumerate(actors)}  # all at once, then wait
        restarts = dict.fromkeys(calls, 0)
        results = []
        while calls:
            i, call = calls.popitem()
            try:
                results.append(ray.get(call))
            except RayActorError:  # its process died; Ray restarts it: the ledger says what is left
                if restarts[i] == RESTARTS:
                    raise
                restarts[i] += 1
                calls[i] = actors[i].serve.remote(*args)
    finally:
        if started:
            ray.shutdown()
    return FarmResult(count, sum(r.finished for r in results), tuple(f for r in results for f in r.failed),
                      tuple(s for r in results for s in r.spec_failures),
                      tuple(sorted({b for r in results for b in r.budget_stops})))  # fmt: skip
