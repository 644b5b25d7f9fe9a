"""/files/<id>: only files the ledger recorded for a reviewed campaign, under its output folder, with byte ranges."""

from __future__ import annotations

import os
from pathlib import Path

from ltxflow.costs import Usage
from ltxflow.ledger import OutputIn, TaskIn


def _videos(live) -> list:
    return [o for o in live.ledger.outputs("spring") if o.kind == "video"]


def test_a_recorded_video_is_served_whole_and_by_byte_range(live):
    video = _videos(live)[0]
    data = Path(video.path).read_bytes()
    status, headers, body = live.request("GET", f"/files/{video.output_id}")
    assert (status, headers["content-type"], body) == (200, "video/mp4", data)
    assert headers["accept-ranges"] == "bytes"
    status, headers, body = live.request("GET", f"/files/{video.output_id}", headers={"Range": "bytes=100-1099"})
    assert status == 206 and body == data[100:1100]
    assert headers["content-range"] == f"bytes 100-1099/{len(data)}" and headers["content-length"] == "1000"
    status, _, body = live.request("GET", f"/files/{video.output_id}", headers={"Range": "bytes=-64"})
    assert status == 206 and body == data[-64:]  # the moov/tail fetch a browser makes before seeking
    status, headers, _ = live.request("GET", f"/files/{video.output_id}", headers={"Range": f"bytes={len(data)}-"})
    assert status == 416 and headers["content-range"] == f"bytes */{len(data)}"


HOSTILE_PATHS = [
    "/files/../../etc/passwd",
    "/files/..%2f..%2fetc%2fpasswd",
    "/files/%2e%2e/%2e%2e/etc/passwd",
    "/files//etc/passwd",
    "/files/%2Fetc%2Fpasswd",
    "/files/999999",
    "/files/-1",
    "/files/1.mp4",
    "/static/../app.py",
    "/static/%2e%2e%2fapp.py",
    "/static/review.js/../../model.py",
    "/c/spring/../../etc/passwd",
]


def test_paths_from_a_request_never_reach_the_file_system(live):
    for path in HOSTILE_PATHS:
        status, _, body = live.request("GET", path)
        assert status == 404, (path, body[:200])
        assert b"root:" not in body


def _record(live, path: Path, campaign: str = "spring", size: int | None = None) -> int:
    """A ledger row claiming `path` as a reels video of a task of `campaign`; returns its output id."""
    run = live.ledger.start_run(campaign, "run", 1)
    task = TaskIn(id=f"hostile-{campaign}-{path.name}", campaign=campaign, variant_id="alpha", seed=99, prompt="p",
                  negative_prompt="", settings_json="{}", engine="fake", checkpoint="tiny")  # fmt: skip
    out = OutputIn(task_id=task.id, platform="reels", kind="video", path=str(path), sha256="0" * 64,
                   bytes=path.stat().st_size if size is None else size, probe_json="{}", spec_ok=True,
                   spec_problems="")  # fmt: skip
    live.ledger.record_task(run, task, [out], [], Usage("cpu", 0.0))
    return next(o.output_id for o in live.ledger.outputs(campaign) if o.task_id == task.id)


def test_a_ledger_row_outside_the_campaign_folder_is_not_served(live, finished, tmp_path):
    outside = tmp_path / "secret.mp4"
    outside.write_bytes(b"not yours")
    assert live.request("GET", f"/files/{_record(live, outside)}")[0] == 404
    assert live.request("GET", f"/files/{_record(live, Path('/etc/passwd'))}")[0] == 404
    link = finished.out / "spring" / "link.mp4"  # inside the folder by name, outside by where it leads
    os.symlink(outside, link)
    assert live.request("GET", f"/files/{_record(live, link)}")[0] == 404
    other = finished.out / "spring" / "other.mp4"  # under the folder, but recorded for a campaign not reviewed
    other.write_bytes(b"x" * 10)
    assert live.request("GET", f"/files/{_record(live, other, campaign='autumn')}")[0] == 404
    inside = finished.out / "spring" / "inside.mp4"  # the control: a recorded file inside is served
    inside.write_bytes(b"y" * 10)
    assert live.request("GET", f"/files/{_record(live, inside)}")[:3:2] == (200, b"y" * 10)


def test_a_file_replaced_since_it_was_recorded_is_not_served(live):
    video = _videos(live)[0]
    Path(video.path).write_bytes(b"rewritten by someone else")
    assert live.request("GET", f"/files/{video.output_id}")[0] == 404
