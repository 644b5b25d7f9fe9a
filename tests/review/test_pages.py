"""The pages and the JSON API: the grid's test contract, escaping of CSV text, side by side, history."""

from __future__ import annotations

import json

from .conftest import ATTRIBUTE_BREAK, HOSTILE, cards_of

from ltxflow.campaign import load_campaign
from ltxflow.plan import plan_campaign
from ltxflow.runner import run_campaign

PLATFORMS = ["reels", "shorts", "tiktok"]


def test_grid_lists_every_variant_with_a_video_per_platform(live):
    status, headers, html = live.request("GET", "/c/spring")
    assert status == 200 and headers["content-type"].startswith("text/html")
    page = cards_of(html)
    assert sorted(page.cards) == ["alpha", "beta", "gamma"]
    recorded = {(o.variant_id, o.platform): o.output_id for o in live.ledger.outputs("spring") if o.kind == "video"}
    for variant_id, videos in page.cards.items():
        drafts = [v for v in videos if v["data-stage"] == "draft"]
        assert [v["data-platform"] for v in drafts] == PLATFORMS
        for v in drafts:  # each plays the file the ledger recorded for that variant and platform
            assert v["src"] == f"/files/{recorded[(variant_id, v['data-platform'])]}"
        assert {"approve", "reject", "winner"} <= set(page.actions[variant_id])
    assert headers["content-security-policy"].startswith("default-src 'none'; script-src 'self'")


def test_csv_text_renders_as_text_on_every_page(live):
    beta = next(t for t in live.ledger.tasks("spring") if t.variant_id == "beta")
    gamma = next(t for t in live.ledger.tasks("spring") if t.variant_id == "gamma")
    pages = ["/c/spring", "/c/spring/variants/beta", "/c/spring/variants/gamma",
             f"/c/spring/compare?task={beta.id}&task={gamma.id}"]  # fmt: skip
    for path in pages:
        status, _, raw = live.request("GET", path)
        html = raw.decode()
        assert status == 200, path
        assert HOSTILE not in html and "<img src=x" not in html and 'onmouseover="alert' not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html or "gamma" in path, path
        assert "&lt;img src=x onerror=alert(3)&gt;" in html or "beta" in path, path
    data = live.json("/api/campaigns/spring")  # JSON carries the text as it is; the page's script inserts it as text
    headlines = {s["variant_id"]: s["values"]["headline"] for s in data["slots"]}
    assert headlines["beta"] == HOSTILE and headlines["gamma"] == ATTRIBUTE_BREAK


def test_api_describes_variants_outputs_and_settings(live, finished):
    listing = live.json("/api/campaigns")["campaigns"]
    assert [(c["name"], c["has_final"], c["platforms"]) for c in listing] == [("spring", True, PLATFORMS)]
    data = live.json("/api/campaigns/spring")
    assert data["counts"] == {"slots": 3, "winner": 0, "approved": 0, "rejected": 0, "undecided": 3, "finals": 0}
    reels = next(p for p in data["platforms"] if p["platform"] == "reels")
    assert (reels["width"], reels["height"]) == (72, 128)  # the campaign's override of the preset
    left, top, width, height = reels["safe_box_pct"]  # Reels' (65, 270, 1015, 1250) box scaled to 72x128
    assert round(left, 1) == round(100 * round(65 * 72 / 1080) / 72, 1) and round(top + height) <= 100
    alpha = next(s for s in data["slots"] if s["variant_id"] == "alpha")
    draft, final = alpha["draft"], alpha["final"]
    campaign = load_campaign(finished.folder)
    planned = next(t for t in plan_campaign(campaign).tasks if t.variant_id == "alpha")
    final_task = next(t for t in plan_campaign(campaign.final_campaign()).tasks if t.variant_id == "alpha")
    assert (draft["task_id"], final["task_id"]) == (planned.id, final_task.id)
    assert (draft["status"], draft["seed"], draft["settings"]["steps"]) == ("finished", 3, 2)
    assert (final["status"], final["settings"]["steps"]) == ("pending", 4)
    assert final["settings"]["width"] * final["settings"]["height"] > draft["settings"]["width"] * draft["settings"]["height"]
    assert final["prompt"] == draft["prompt"] == "a sunny kitchen for Acme: Wake up brighter. Sound: a kettle whistle."
    assert [d["platform"] for d in draft["deliverables"]] == PLATFORMS
    video = draft["deliverables"][0]["video"]
    assert video["spec_ok"] is False and "under the 3 s minimum of reels" in video["spec_problems"]
    assert draft["deliverables"][1]["video"]["spec_ok"] is True
    assert alpha["values"] == {"variant_id": "alpha", "scene": "a sunny kitchen", "headline": "Wake up brighter",
                               "sound": "a kettle whistle"}  # fmt: skip
    status, _, body = live.request("GET", "/api/campaigns/nope")
    assert status == 404 and json.loads(body) == {"error": "no such campaign"}


def test_compare_takes_two_to_four_current_renders(live):
    ids = [t.id for t in live.ledger.tasks("spring")]
    status, _, html = live.request("GET", f"/c/spring/compare?task={ids[0]}&task={ids[2]}&platform=tiktok")
    page = cards_of(html)
    assert status == 200 and len(page.cards) == 2
    assert all(v["data-platform"] == "tiktok" for videos in page.cards.values() for v in videos)
    assert sum(len(v) for v in page.cards.values()) == 2
    for query in (f"task={ids[0]}", "&".join(f"task={i}" for i in ids * 2), f"task={ids[0]}&task=0000000000000000",
                  f"task={ids[0]}&task={ids[1]}&platform=snapchat"):  # fmt: skip
        assert live.request("GET", f"/c/spring/compare?{query}")[0] == 404, query


def test_history_keeps_every_generation_of_an_edited_row(live, finished):
    csv_path = finished.folder / "variants.csv"
    csv_path.write_text(csv_path.read_text().replace("Wake up brighter", "Mornings upgraded"), encoding="utf-8")
    run_campaign(finished.folder, ledger=live.ledger, out_dir=finished.out, progress=False)
    data = live.json("/api/campaigns/spring/variants/alpha/history")["generations"]
    assert [g["stage"] for g in data] == ["draft", "earlier"]  # newest first: the edit is the current draft
    assert "Mornings upgraded" in data[0]["prompt"] and "Wake up brighter" in data[1]["prompt"]
    grid = live.json("/api/campaigns/spring")
    alpha = next(s for s in grid["slots"] if s["variant_id"] == "alpha")
    assert alpha["draft"]["task_id"] == data[0]["task_id"]  # the grid shows the current row only
    status, _, html = live.request("GET", "/c/spring/variants/alpha")
    assert status == 200 and html.count(b'class="generation') == 2
    assert live.request("GET", "/c/spring/variants/nobody")[0] == 404


def test_cached_pages_follow_decisions_made_elsewhere(live):
    from ltxflow.ledger import DecisionIn

    section = b'data-stage="draft" data-task-id="%s" data-status="finished" data-decision="%s"'
    alpha = next(t.id for t in live.ledger.tasks("spring") if t.variant_id == "alpha")
    assert section % (alpha.encode(), b"undecided") in live.request("GET", "/c/spring")[2]
    live.ledger.record_decision(DecisionIn(task_id=alpha, action="winner", reviewer="cli"))  # not through the app
    assert section % (alpha.encode(), b"winner") in live.request("GET", "/c/spring")[2]
    slots = live.json("/api/campaigns/spring")["slots"]
    assert next(s for s in slots if s["variant_id"] == "alpha")["draft"]["review"]["reviewer"] == "cli"
