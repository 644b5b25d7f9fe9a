"""Review fixtures: a finished campaign (the workflow tests' fake engine, small exports), its ledger, a live server."""

from __future__ import annotations

import csv
import http.client
import io
from html.parser import HTMLParser
import importlib.util
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ltxflow import plugins
from ltxflow.errors import LtxflowError
from ltxflow.hookspecs import hookimpl
from ltxflow.ledger.store import Ledger

_WORKFLOW = Path(__file__).resolve().parents[1] / "workflow" / "conftest.py"
_spec = importlib.util.spec_from_file_location("ltxflow_tests_workflow_fixtures", _WORKFLOW)
workflow = importlib.util.module_from_spec(_spec)
sys.modules.setdefault(_spec.name, workflow)
_spec.loader.exec_module(workflow)  # the fake engine and campaign writer, shared with the workflow tests

HOSTILE = "<script>alert(1)</script>"
TEMPLATE = """{{ scene }} for {{ brand }}: {{ headline }}. Sound: {{ sound }}."""
ATTRIBUTE_BREAK = '" onmouseover="alert(2)"><img src=x onerror=alert(3)>'
ROWS = [
    ("variant_id", "scene", "headline", "sound"),
    ("alpha", "a sunny kitchen", "Wake up brighter", "a kettle whistle"),
    ("beta", "a rainy window", HOSTILE, "rain on glass"),
    ("gamma", "a night desk", ATTRIBUTE_BREAK, "a soft click"),
]
_buffer = io.StringIO()
csv.writer(_buffer, lineterminator="\n").writerows(ROWS)
CSV = _buffer.getvalue()
EXPORT = "".join(f"""
[export.{name}]
width = 72
height = 128
x264_preset = "ultrafast"
""" for name in ("reels", "shorts", "tiktok"))
TOML = f"""name = "spring"
brand = "Acme"
template = "prompt.j2"
variants = "variants.csv"
platforms = ["reels", "shorts", "tiktok"]
seeds = [3]
allow_spec_failures = true  # tiny clips, shorter than Reels' 3 s: the app shows their spec status

[generation]
engine = "fake"
pin_size = true  # one master of exactly this size, as the assertions on sizes expect
width = 64
height = 96
frames = 25
steps = 2

[final]
width = 128
height = 192
steps = 4
{EXPORT}"""


@dataclass
class Finished:
    """A campaign run to the end: its folder, output folder and ledger file."""

    folder: Path
    out: Path
    ledger_path: Path
    control: Any  # the fake engine's control panel

    def ledger(self) -> Ledger:
        return Ledger.open(self.ledger_path)


@pytest.fixture
def fake_engine():
    """Engine `fake` (the workflow tests' double), registered for the test only."""
    pm = plugins.get_plugin_manager()
    control = workflow.FakeEngineControl()

    def factory(settings):
        if control.load_error:
            raise LtxflowError(control.load_error)
        control.built += 1
        return workflow.FakeEngine(control)

    class Plugin:
        @hookimpl
        def register_engines(self, register):
            register("fake", factory)

    plugin = Plugin()
    pm.register(plugin, name="test-review-fake-engine")
    yield control
    pm.unregister(plugin)


@pytest.fixture
def finished(tmp_path, fake_engine) -> Finished:
    """The spring campaign (3 variants, seed 3, reels/shorts/tiktok at 72x128) generated and recorded."""
    from ltxflow.runner import run_campaign

    fake_engine.silent = True  # no audio: the loudness pass is most of an export's time, and nothing here needs it
    folder = workflow.write_campaign(tmp_path, TOML, CSV, TEMPLATE)
    out, ledger_path = tmp_path / "out", tmp_path / "ledger.db"
    with Ledger.open(ledger_path) as book:
        result = run_campaign(folder, ledger=book, out_dir=out, progress=False)
    assert result.exit_code == 0, result.failed
    return Finished(folder, out, ledger_path, fake_engine)


@dataclass
class Live:
    """A review server answering on 127.0.0.1."""

    server: Any
    port: int
    ledger: Ledger
    app: Any

    @property
    def url(self) -> str:
        return self.server.url

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                raw_body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
        """One request exactly as given (the path is not normalised); returns status, headers, body."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()

    def json(self, path: str, body: Any = None, method: str | None = None) -> Any:
        status, _, data = self.request(method or ("POST" if body is not None else "GET"), path, body)
        assert status in (200, 202), (status, data)
        return json.loads(data)


@contextmanager
def serving(finished: Finished, **options: Any) -> Iterator[Live]:
    """A review server of the finished campaign on a free loopback port (`options` go to build_server)."""
    from ltxflow.review.server import build_server, open_sources

    ledger = finished.ledger()
    sources = open_sources([finished.folder], ledger, finished.out)
    server = build_server(sources, ledger, finished.out, port=0, reviewer="tester", **options).start()
    try:
        yield Live(server, server.sock.getsockname()[1], ledger, server.app)
    finally:
        server.stop()
        ledger.close()


@pytest.fixture
def live(finished) -> Iterator[Live]:
    """A review server of the finished campaign on a free loopback port, stopped after the test."""
    with serving(finished) as server:
        yield server


class _Cards(HTMLParser):
    """Cards (`data-variant-id`) of a page with the `<video data-platform>` elements inside each."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: dict[str, list[dict[str, str]]] = {}
        self.actions: dict[str, list[str]] = {}
        self._depth = 0
        self._card: str | None = None
        self._card_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag not in _VOID:
            self._depth += 1
        if "data-variant-id" in a and tag in ("article", "section"):
            self._card, self._card_depth = a["data-variant-id"], self._depth
            self.cards.setdefault(self._card, [])
            self.actions.setdefault(self._card, [])
        if self._card is not None and tag == "video":
            self.cards[self._card].append(a)
        if self._card is not None and "data-action" in a:
            self.actions[self._card].append(a["data-action"])

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if self._card is not None and self._depth == self._card_depth:
            self._card = None
        self._depth -= 1


_VOID = {"input", "img", "br", "meta", "link", "source", "hr", "col", "wbr"}


def cards_of(html: bytes) -> _Cards:
    parser = _Cards()
    parser.feed(html.decode())
    return parser
