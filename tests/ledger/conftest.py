"""Fixtures for ledger tests: a fresh SQLite ledger in tmp_path and builders for task inputs."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from ltxflow.ledger import Ledger, OutputIn, TaskIn


@pytest.fixture
def ledger(tmp_path) -> Iterator[Ledger]:
    """A new ledger file in tmp_path."""
    led = Ledger.open(tmp_path / "ledger.db")
    yield led
    led.close()


@pytest.fixture
def make_task() -> Callable[..., TaskIn]:
    """Build a TaskIn; the id defaults to campaign/variant/seed."""

    def make(campaign: str = "spring", variant_id: str = "v1", seed: int = 1, task_id: str | None = None) -> TaskIn:
        return TaskIn(
            id=task_id or f"{campaign}-{variant_id}-{seed}",
            campaign=campaign,
            variant_id=variant_id,
            seed=seed,
            prompt=f"A cup of coffee, hook {variant_id}",
            negative_prompt="blurry",
            settings_json='{"width": 512}',
            engine="ltx2",
            checkpoint="tiny",
        )

    return make


@pytest.fixture
def make_outputs() -> Callable[..., list[OutputIn]]:
    """Build one OutputIn per platform for a task."""

    def make(task: TaskIn, platforms: tuple[str, ...] = ("reels", "shorts", "tiktok")) -> list[OutputIn]:
        return [
            OutputIn(
                task_id=task.task_id,
                platform=p,
                kind="video",
                path=f"out/{task.variant_id}-{task.seed}-{p or 'master'}.mp4",
                sha256=f"{len(p):064x}",
                bytes=1000 + len(p),
                probe_json='{"fps": "24/1"}',
                spec_ok=p != "tiktok",
                spec_problems="" if p != "tiktok" else "duration 3.0 s < 5 s",
            )
            for p in platforms
        ]

    return make
