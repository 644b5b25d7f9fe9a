"""The review app: Starlette routes over ReviewSource, Jinja pages (autoescaped) and the JSON API.

Pages: `/` (campaigns), `/c/<campaign>` (grid), `/c/<campaign>/compare?task=..` (2-4 side by side),
`/c/<campaign>/variants/<variant>` (history). Files: `/files/<output id>` only. API: `/api/...` (docs/review.md).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ltxflow.errors import LtxflowError
from ltxflow.ledger.models import DecisionIn
from ltxflow.ledger.store import Ledger
from ltxflow.review import api
from ltxflow.review.jobs import PromoteJobs
from ltxflow.review.model import CampaignView, Render, ReviewSource, Slot
from ltxflow.review.security import ASGIApp, Guard

STATIC = {"review.js": "text/javascript; charset=utf-8", "review.css": "text/css; charset=utf-8"}
COMPARE_MAX = 4
_NO_STORE = {"cache-control": "no-store"}


@dataclass(frozen=True)
class AppConfig:
    """How the app was started."""

    reviewer: str  # default reviewer of decisions (--reviewer or the OS user)
    token: str | None  # required on every request when set
    hosts: frozenset[str] | None  # Host headers answered; None = any (remote bind with a token)


def create_app(sources: list[ReviewSource], ledger: Ledger, out_dir: Path, config: AppConfig) -> ReviewApp:
    """The ASGI app serving `sources` (campaigns), guarded (see security.py)."""
    by_name = {s.name: s for s in sources}
    jobs = PromoteJobs(ledger, out_dir)
    fragments = _Fragments()
    env = Environment(loader=PackageLoader("ltxflow.review", "templates"), autoescape=True, undefined=StrictUndefined)
    env.filters["money"] = lambda usd: f"${usd:,.4f}" if usd < 1 else f"${usd:,.2f}"
    env.filters["when"] = lambda utc: utc[:19].replace("T", " ") + " UTC"  # ISO 8601 UTC from the ledger
    static = {name: (resources.files("ltxflow.review").joinpath("static", name).read_bytes(), media)
              for name, media in STATIC.items()}  # fmt: skip

    def source(request: Request) -> ReviewSource:
        found = by_name.get(request.path_params["campaign"])
        if found is None:
            raise HTTPException(404, "no such campaign")
        return found

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(name).render(reviewer=config.reviewer, **context)
        return HTMLResponse(html, status, headers=_NO_STORE)

    # ── pages ───────────────────────────────────────────────────────────────────────────────────

    def index(request: Request) -> Response:
        return page("index.html", campaigns=[api.campaign_json(s) for s in sources])

    card_macro = env.get_template("_card.html").module.card  # type: ignore[attr-defined]

    def grid_html(src: ReviewSource) -> str:
        view = src.view()
        zones = {z.platform: z for z in view.platforms}
        cards = [fragments.get(("card", view.name, *_slot_key(view, slot)), lambda s=slot: card_macro(s, zones, view.name))
                 for slot in view.slots]  # fmt: skip
        return env.get_template("grid.html").render(reviewer=config.reviewer, view=view, cards=cards,
                                                    counts=view.counts(), job=jobs.state(view.name))  # fmt: skip

    def campaign_body(src: ReviewSource) -> str:
        view = src.view()
        slots = [fragments.get(("json", view.name, *_slot_key(view, slot)), lambda s=slot: json.dumps(api.slot_json(s)))
                 for slot in view.slots]  # fmt: skip
        head = json.dumps(api.view_json(view, slots=False))
        return f'{head[:-1]}, "slots": [{", ".join(slots)}]}}'

    def grid(request: Request) -> Response:
        return HTMLResponse(grid_html(source(request)), headers=_NO_STORE)

    def compare(request: Request) -> Response:
        view = source(request).view()
        ids = request.query_params.getlist("task")
        renders = [view.render(i) for i in ids]
        if not 2 <= len(ids) <= COMPARE_MAX or any(r is None for r in renders):
            raise HTTPException(404, f"compare takes 2-{COMPARE_MAX} current task ids of this campaign")
        platforms = [p for p in renders[0].task.platforms if all(p in r.task.platforms for r in renders)]  # type: ignore[union-attr]
        platform = request.query_params.get("platform") or (platforms[0] if platforms else "")
        if platform not in platforms:
            raise HTTPException(404, "no such platform in every compared task")
        slots = {r.task_id: s for s in view.slots for r in (s.draft, s.final) if r is not None}
        return page("compare.html", view=view, renders=renders, slots=slots, platform=platform, platforms=platforms,
                    zones={z.platform: z for z in view.platforms}, ids=ids)  # fmt: skip

    def history(request: Request) -> Response:
        src = source(request)
        entries = src.history(request.path_params["variant_id"])
        if entries is None:
            raise HTTPException(404, "the ledger has no generation of this variant")
        zones = {z.platform: z for z in src.view().platforms}
        return page("history.html", campaign=src.campaign, variant_id=request.path_params["variant_id"],
                    entries=entries, zones=zones)  # fmt: skip

    def file(request: Request) -> Response:
        output_id = request.path_params["output_id"]
        for src in sources:
            found = src.file(output_id)
            if found is not None:
                # no-cache: SQLite may give a rerun's new file the id of a deleted row, so an id is not forever
                return FileResponse(found[0], media_type=found[1], headers={"cache-control": "no-cache"})
        raise HTTPException(404, "no such file")

    def asset(request: Request) -> Response:
        found = static.get(request.path_params["name"])
        if found is None:
            raise HTTPException(404, "no such asset")
        return Response(found[0], media_type=found[1], headers={"cache-control": "no-cache"})

    # ── JSON API ────────────────────────────────────────────────────────────────────────────────

    def api_campaigns(request: Request) -> Response:
        return JSONResponse({"campaigns": [api.campaign_json(s) for s in sources]}, headers=_NO_STORE)

    def api_campaign(request: Request) -> Response:
        return Response(campaign_body(source(request)), media_type="application/json", headers=_NO_STORE)

    def api_history(request: Request) -> Response:
        entries = source(request).history(request.path_params["variant_id"])
        if entries is None:
            raise HTTPException(404, "the ledger has no generation of this variant")
        return JSONResponse({"variant_id": request.path_params["variant_id"], "generations": api.history_json(entries)},
                            headers=_NO_STORE)  # fmt: skip

    async def api_decisions(request: Request) -> Response:
        src = source(request)
        if request.method == "GET":
            records = await run_in_threadpool(src.ledger.decisions, src.name)
            return JSONResponse({"decisions": [api.decision_json(d) for d in records]}, headers=_NO_STORE)
        body = await _json_object(request)
        return JSONResponse(await run_in_threadpool(_decide, src, body, config.reviewer), headers=_NO_STORE)

    async def api_promote(request: Request) -> Response:
        src = source(request)
        if request.method == "GET":
            return JSONResponse(jobs.state(src.name).json(), headers=_NO_STORE)
        await _json_object(request)
        if src.campaign.final is None:
            raise HTTPException(409, f"{src.name}: no [final] profile in its campaign.toml")
        started = jobs.start(src.name, src.folder)
        if started is None:
            raise HTTPException(409, "a promote of this campaign is already running")
        return JSONResponse(started.json(), status_code=202, headers=_NO_STORE)

    routes = [
        Route("/", index),
        Route("/c/{campaign}", grid),
        Route("/c/{campaign}/compare", compare),
        Route("/c/{campaign}/variants/{variant_id}", history),
        Route("/files/{output_id:int}", file, methods=["GET", "HEAD"]),
        Route("/static/{name}", asset),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Route("/api/campaigns", api_campaigns),
        Route("/api/campaigns/{campaign}", api_campaign),
        Route("/api/campaigns/{campaign}/variants/{variant_id}/history", api_history),
        Route("/api/campaigns/{campaign}/decisions", api_decisions, methods=["GET", "POST"]),
        Route("/api/campaigns/{campaign}/promote", api_promote, methods=["GET", "POST"]),
    ]
    handlers = {HTTPException: _http_error, LtxflowError: _bad_campaign}
    app = Starlette(routes=routes, exception_handlers=handlers)  # type: ignore[arg-type]

    def warm() -> None:
        """Read the plans and the ledger and render every page piece once, so the first request is like the rest."""
        for src in sources:
            grid_html(src)
            campaign_body(src)

    return ReviewApp(Guard(app, token=config.token, hosts=config.hosts), jobs, warm)


@dataclass(frozen=True)
class ReviewApp:
    """The guarded ASGI app, its promote jobs and a warm-up of its caches."""

    asgi: ASGIApp
    jobs: PromoteJobs
    warm: Callable[[], None]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.asgi(scope, receive, send)


class _Fragments:
    """Rendered pieces (a card's HTML, a slot's JSON) by what they show: a page joins them, and only the pieces
    whose slot changed (a decision, a new file) are rendered again."""

    def __init__(self, limit: int = 20_000) -> None:
        self._items: dict[tuple[object, ...], Any] = {}
        self._lock = threading.Lock()
        self.limit = limit

    def get(self, key: tuple[object, ...], make: Callable[[], Any]) -> Any:
        with self._lock:
            found = self._items.get(key)
        if found is None:
            found = make()
            with self._lock:
                if len(self._items) >= self.limit:
                    self._items.clear()
                self._items[key] = found
        return found


def _slot_key(view: CampaignView, slot: Slot) -> tuple[object, ...]:
    """Everything a slot's card shows depends on: the plan (its values, the platforms' zones) and, per render,
    what the ledger recorded and the review state."""
    return (view.version[0], _render_key(slot.draft), _render_key(slot.final) if slot.final else None)


def _render_key(r: Render) -> tuple[object, ...]:
    files = tuple((f.output_id, f.bytes) for d in r.deliverables for f in (d.video, d.cover, d.preview) if f)
    return (r.task_id, r.status, r.error, files, r.audio.output_id if r.audio else None, r.device_seconds, r.money,
            r.state)  # fmt: skip


def _decide(src: ReviewSource, body: dict[str, Any], default_reviewer: str) -> dict[str, Any]:
    """Validate and record one decision on a task of this campaign; return it and the task's new state."""
    task_id = body.get("task_id")
    if not isinstance(task_id, str) or task_id not in src.task_ids():
        raise HTTPException(404, "task_id: not a recorded task of this campaign")
    reviewer = body.get("reviewer") or default_reviewer
    fields = {"task_id": task_id, "action": body.get("action"), "rating": body.get("rating"),
              "note": body.get("note") or "", "reviewer": reviewer}  # fmt: skip
    try:
        decision = DecisionIn.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "decision"
        raise HTTPException(400, f"{where}: {first['msg']}") from None
    record = src.ledger.record_decision(decision)
    state = src.snapshot().states[task_id]
    return {"decision": api.decision_json(record), "review": api.state_json(state)}


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise HTTPException(400, "body: not JSON") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "body: expected a JSON object")
    return body


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    return PlainTextResponse(f"{exc.status_code}: {exc.detail}\n", status_code=exc.status_code)


async def _bad_campaign(request: Request, exc: Exception) -> Response:
    """A campaign edited into an invalid state while the app runs: the one-line error, not a traceback."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": str(exc)}, status_code=500)
    return PlainTextResponse(f"500: {exc}\n", status_code=500)
