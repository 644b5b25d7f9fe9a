"""Benchmark (not a test): review app answer times with a 200-variant campaign; target < 100 ms per page.

The ledger is synthetic: every draft of the plan recorded with a video, cover and preview per platform (3
platforms) and a WAV, finals for a tenth of them, an earlier edit of every tenth row, decisions on a third.
The server runs as `ltxflow review` runs it (uvicorn on 127.0.0.1, a free port); each URL is fetched
--repeats times after one warm-up, over one keep-alive connection.

Run: .venv/bin/python benchmarks/review_bench.py [--variants 200] [--repeats 20]
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from ltxflow.costs import CostItem, Usage
from ltxflow.ledger import DecisionIn, OutputIn, TaskIn
from ltxflow.ledger.store import Ledger
from ltxflow.plan import plan_campaign
from ltxflow.review.server import build_server, open_sources
from ltxflow.tasks import Task

REPO = Path(__file__).resolve().parents[1]
PLATFORMS = ("reels", "shorts", "tiktok")
MEDIA = (("video", "clip.mp4"), ("cover", "cover.jpg"), ("preview", "preview.jpg"), ("audio", "clip.wav"))
FINAL = "\n[final]\nwidth = 512\nheight = 320\nsteps = 30\n"


def make_campaign(root: Path, variants: int) -> Path:
    """campaigns/demo with `variants` rows and a [final] profile, in `root`."""
    folder = root / "bench"
    shutil.copytree(REPO / "campaigns" / "demo", folder)
    toml = (folder / "campaign.toml").read_text().replace("../../templates/", str(REPO / "templates") + "/")
    (folder / "campaign.toml").write_text(toml.replace('name = "demo"', 'name = "bench"') + FINAL)
    lines = (folder / "variants.csv").read_text().splitlines()
    rows = [lines[1 + i % (len(lines) - 1)].split(",", 1)[1] for i in range(variants)]
    (folder / "variants.csv").write_text("\n".join([lines[0], *(f"v{i:03d},{r}" for i, r in enumerate(rows))]) + "\n")
    return folder


def _record(book: Ledger, run: str, task: Task, out: Path, media: dict[str, Path]) -> None:
    """One finished task with the files a real run records (all pointing at a few small real files)."""
    media = media or {kind: out / "bench" / name for kind, name in MEDIA}
    task_in = TaskIn(id=task.id, campaign=task.campaign, variant_id=task.variant_id, seed=task.seed, prompt=task.prompt,
                     negative_prompt=task.negative_prompt, settings_json=task.settings_json(), engine=task.engine,
                     checkpoint=task.checkpoint_id)  # fmt: skip
    outputs = [OutputIn(task_id=task.id, platform="", kind="audio", path=str(media["audio"]), sha256="0" * 64,
                        bytes=media["audio"].stat().st_size, probe_json="{}", spec_ok=True, spec_problems="")]  # fmt: skip
    for platform in task.platforms:
        for kind in ("video", "cover", "preview"):
            path = media[kind]
            probe = json.dumps({"duration_s": 3.04, "width": 1080, "height": 1920, "fps": "24"})
            outputs.append(OutputIn(task_id=task.id, platform=platform, kind=kind, path=str(path), sha256="0" * 64,
                                    bytes=path.stat().st_size, probe_json=probe, spec_ok=platform != "reels",
                                    spec_problems="" if platform != "reels" else "duration 3.0 s"))  # fmt: skip
    cost = [CostItem("device", "cpu time", "actual", 0.01, "hour", 0.5, 0.005)]
    book.record_task(run, task_in, outputs, cost, Usage("cpu", 20.0, 1))


def synthetic_ledger(folder: Path, book: Ledger, out: Path) -> list[Task]:
    """Record the campaign's drafts (and some finals, edits and decisions) without generating anything."""
    plan = plan_campaign(folder)
    final = plan_campaign(plan.campaign.final_campaign())
    media_dir = out / "bench"
    media_dir.mkdir(parents=True)
    media = {kind: media_dir / name for kind, name in MEDIA}
    for kind, path in media.items():
        path.write_bytes(bytes(range(256)) * (2000 if kind == "video" else 40))
    run = book.start_run("bench", "run", len(plan.tasks))
    for i, task in enumerate(plan.tasks):
        if i % 10 == 0:  # an earlier edit of the row: history has two generations
            _record(book, run, replace(task, prompt=task.prompt + " (earlier edit)"), out, media)
        _record(book, run, task, out, media)
        if i % 10 == 0:
            _record(book, run, final.tasks[i], out, media)
        if i % 3 == 0:
            action = ("winner", "approve", "reject")[i % 9 // 3]
            book.record_decision(DecisionIn(task_id=task.id, action=action, reviewer="bench", note=f"take {i}"))
    book.finish_run(run, "finished")
    return list(plan.tasks)


def final_task(folder: Path, index: int) -> Task:
    """The final of the index-th draft (not recorded by synthetic_ledger when index % 10 != 0)."""
    plan = plan_campaign(folder)
    return plan_campaign(plan.campaign.final_campaign()).tasks[index]


def timed(conn: http.client.HTTPConnection, method: str, path: str, repeats: int, body: bytes | None = None,
          headers: dict[str, str] | None = None, warm_up: bool = True) -> tuple[list[float], int, int]:  # fmt: skip
    """Milliseconds per request (after one warm-up request unless told not to), the status and the body size."""
    samples, status, size = [], 0, 0
    for i in range(repeats + 1 if warm_up else max(1, repeats)):
        start = time.perf_counter()
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        elapsed = (time.perf_counter() - start) * 1000
        status, size = response.status, len(data)
        if i or not warm_up:
            samples.append(elapsed)
    return samples, status, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = make_campaign(root, args.variants)
        out = root / "out"
        with Ledger.open(root / "ledger.db") as book:
            start = time.perf_counter()
            tasks = synthetic_ledger(folder, book, out)
            print(f"synthetic ledger: {len(tasks)} drafts, {len(book.outputs('bench'))} outputs, "
                  f"{len(book.decisions('bench'))} decisions in {time.perf_counter() - start:.1f} s")  # fmt: skip
            server = build_server(open_sources([folder], book, out), book, out, port=0, reviewer="bench")
            start = time.perf_counter()
            server.app.warm()  # as `ltxflow review` does before it prints its URL
            print(f"warm-up before serving (plan, ledger read, every card rendered): {time.perf_counter() - start:.2f} s")
            server.start()
            port = server.sock.getsockname()[1]
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            host = {"Host": f"127.0.0.1:{port}"}
            video = next(o.output_id for o in book.outputs("bench") if o.kind == "video")
            decision = json.dumps({"task_id": tasks[1].id, "action": "rate", "rating": 4}).encode()
            urls = [
                ("GET", "/", None), ("GET", "/c/bench", None), ("GET", "/api/campaigns/bench", None),
                ("GET", f"/c/bench/compare?task={tasks[0].id}&task={tasks[1].id}&task={tasks[2].id}", None),
                ("GET", "/c/bench/variants/v000", None), ("GET", "/api/campaigns/bench/variants/v000/history", None),
                ("GET", "/api/campaigns/bench/decisions", None), ("GET", f"/files/{video}", None),
                ("POST", "/api/campaigns/bench/decisions", decision),
            ]  # fmt: skip
            try:
                for path in ("/c/bench", "/api/campaigns/bench"):  # the first requests after the warm-up
                    first, status, size = timed(conn, "GET", path, 0, headers=host, warm_up=False)
                    print(f"first GET {path}: {status}, {size} bytes in {first[0]:.1f} ms")
                print(f"{'request':<64} {'status':>6} {'bytes':>9} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
                for method, path, body in urls:
                    headers = dict(host, **({"Content-Type": "application/json"} if body else {}))
                    samples, status, size = timed(conn, method, path, args.repeats, body, headers)
                    p95 = statistics.quantiles(samples, n=20)[-1] if len(samples) >= 2 else samples[0]
                    label = f"{method} {path}"[:64]
                    print(f"{label:<64} {status:>6} {size:>9} {statistics.median(samples):>10.1f} {p95:>8.1f} "
                          f"{max(samples):>8.1f}")  # fmt: skip
                after = []  # what a reviewer waits for: a decision, then the grid again (one card re-rendered)
                for i in range(args.repeats):
                    body = json.dumps({"task_id": tasks[i % len(tasks)].id, "action": "rate", "rating": 1 + i % 5})
                    timed(conn, "POST", "/api/campaigns/bench/decisions", 0, body.encode(),
                          dict(host, **{"Content-Type": "application/json"}), warm_up=False)  # fmt: skip
                    after += timed(conn, "GET", "/c/bench", 0, headers=host, warm_up=False)[0]
                p95 = statistics.quantiles(after, n=20)[-1]
                print(f"{'GET /c/bench right after a decision':<64} {'':>6} {'':>9} {statistics.median(after):>10.1f} "
                      f"{p95:>8.1f} {max(after):>8.1f}")  # fmt: skip
                run = book.start_run("bench", "run", 1)  # a run records a task while the app serves: all re-read
                _record(book, run, final_task(folder, 5), out, {})
                rebuilt, _, _ = timed(conn, "GET", "/c/bench", 0, headers=host, warm_up=False)
                print(f"GET /c/bench after a run recorded a task (ledger re-read, 2 cards re-rendered): {rebuilt[0]:.1f} ms")
            finally:
                conn.close()
                server.stop()


if __name__ == "__main__":
    main()
