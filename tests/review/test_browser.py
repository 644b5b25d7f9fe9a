"""The review loop in a real headless Chromium (Debian's, driven by Playwright): look, seek, decide, promote, compare."""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator

import pytest

from .conftest import HOSTILE

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
WAIT_MS = 30_000  # a 2-core machine shared with other test processes decodes slowly


@pytest.fixture
def browser(tmp_path) -> Iterator:
    """A fresh Chromium profile (its own --user-data-dir) with a page that records errors and dialogs."""
    missing = [what for what, ok in (("playwright", importlib.util.find_spec("playwright") is not None),
                                     ("chromium", os.path.exists(CHROMIUM))) if not ok]  # fmt: skip
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{', '.join(missing)} missing: .ci/run installs them")
        pytest.skip(f"{', '.join(missing)} not installed (bash .ci/run installs them)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=FLAGS,
            viewport={"width": 1400, "height": 1000}, ignore_default_args=["--enable-automation"],
        )  # fmt: skip
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.problems = []  # type: ignore[attr-defined]
        page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
        page.on("dialog", lambda dialog: (page.problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
        try:
            yield page
        finally:
            context.close()


def _card(variant: str) -> str:
    return f'article.card[data-variant-id="{variant}"]'


def _ready(page, selector: str) -> None:
    """Hover a video (muted autoplay) and wait until it has decoded frames to show."""
    page.locator(selector).hover()
    page.wait_for_function("s => document.querySelector(s).readyState >= 2", arg=selector)


def test_review_loop_in_a_browser(live, browser):
    page = browser
    page.goto(live.url + "c/spring")

    # every variant × platform is on the page, each a playable <video>
    for variant in ("alpha", "beta", "gamma"):
        for platform in ("reels", "shorts", "tiktok"):
            assert page.locator(f'{_card(variant)} video[data-platform="{platform}"][data-stage="draft"]').count() == 1

    # a clip plays on hover and seeks (the server answers byte ranges, so the whole clip is seekable)
    video = f'{_card("alpha")} video[data-platform="reels"]'
    _ready(page, video)
    assert page.eval_on_selector(video, "v => !v.paused && v.muted")
    page.mouse.move(0, 0)  # leaving pauses it
    page.wait_for_function("s => document.querySelector(s).paused", arg=video)
    seekable = page.eval_on_selector(video, "v => [v.seekable.length, v.seekable.end(0), v.duration]")
    assert seekable[0] == 1 and seekable[1] == pytest.approx(seekable[2], abs=0.05)
    page.eval_on_selector(video, "v => { v.currentTime = 0.6; }")
    page.wait_for_function("s => { const v = document.querySelector(s); return !v.seeking && v.readyState >= 2 "
                           "&& Math.abs(v.currentTime - 0.6) < 0.05; }", arg=video)  # fmt: skip

    # CSV text is text: the headline shows literally and no script or element came from it
    assert HOSTILE in page.locator(f"{_card('beta')} .prompt").inner_text()
    assert page.evaluate("document.scripts.length") == 1  # review.js only
    assert page.locator("img").count() == 0 and page.locator("[onmouseover]").count() == 0

    # the safe-zone overlay toggles
    zone = f'{_card("alpha")} figure[data-platform="reels"] rect.safe'
    assert page.eval_on_selector(zone, "r => getComputedStyle(r).visibility") == "hidden"
    page.check("[data-toggle=safe-zones]")
    assert page.eval_on_selector(zone, "r => getComputedStyle(r).visibility") == "visible"

    # decisions: a winner and a rejection, recorded in the ledger with the reviewer
    draft = '[data-stage="draft"]'
    page.click(f'{_card("alpha")} section{draft} [data-action="winner"]')
    page.click(f'{_card("beta")} section{draft} [data-action="reject"]')
    page.wait_for_function(f"""() => document.querySelector('{_card("alpha")} section{draft}').dataset.decision === 'winner'
        && document.querySelector('{_card("beta")} section{draft}').dataset.decision === 'rejected'""")  # fmt: skip
    states = live.ledger.review_states("spring")
    by_variant = {t.variant_id: states[t.id] for t in live.ledger.tasks("spring") if t.id in states}
    assert {v: s.decision for v, s in by_variant.items()} == {"alpha": "winner", "beta": "rejected"}
    assert {s.reviewer for s in by_variant.values()} == {"tester"}
    page.reload()  # what the page shows after a reload comes from the ledger
    assert page.locator(f"{_card('alpha')} section{draft} [data-badge]").inner_text() == "winner"

    # promote: the winner's final renders and the grid shows it beside the draft
    page.click("[data-promote]")
    final = f'{_card("alpha")} video[data-stage="final"][data-platform="reels"]'
    page.wait_for_selector(final, timeout=120_000)  # the page reloads when the promote finishes
    _ready(page, final)
    assert page.locator('video[data-stage="final"]').count() == 3  # alpha's three platforms only
    assert page.locator(f'{_card("beta")} video[data-stage="final"]').count() == 0
    finals = [t for t in live.ledger.tasks("spring") if t.variant_id == "alpha" and t.status == "finished"]
    assert len(finals) == 2  # the draft stayed

    # side by side: two picks open the compare page, and its videos keep one clock
    page.check(f'{_card("alpha")} section{draft} [data-compare]')
    page.check(f'{_card("gamma")} section{draft} [data-compare]')
    page.click("[data-compare-link]")
    page.wait_for_selector("[data-sync-group] video[data-platform]")
    videos = page.locator("[data-sync-group] video")
    assert videos.count() == 2
    page.click("[data-sync=play]")
    page.wait_for_function("() => [...document.querySelectorAll('[data-sync-group] video')].every(v => !v.paused)")
    page.click("[data-sync=pause]")
    page.eval_on_selector("[data-sync-group] video", "v => { v.currentTime = 0.5; }")
    page.wait_for_function("() => [...document.querySelectorAll('[data-sync-group] video')]"
                           ".every(v => Math.abs(v.currentTime - 0.5) < 0.1 && !v.seeking)")  # fmt: skip
    assert page.problems == []  # type: ignore[attr-defined]
