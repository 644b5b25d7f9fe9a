"""Who may reach the review app: loopback binds by default, a token for anything else, and a guard on every request.

The guard is plain ASGI (no framework), in front of the whole app:
- Host: on a loopback bind only the loopback names with the bound port are answered, so a page on another site
  cannot reach the app through DNS rebinding;
- token: when one is set, every request carries it (an `Authorization: Bearer` header, the cookie the app sets,
  or `?token=` once, which sets the cookie and redirects to the same URL without it);
- writes (POST) must be JSON from the app's own origin, so another site's form or script cannot decide for you;
- every response says: no framing, no sniffing, no referrer, scripts and media from the app only.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ltxflow.errors import LtxflowError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "ltxflow_review_token"
MIN_TOKEN = 16  # characters: a token is the only lock on a remote bind
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~-]+")
_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
     b"media-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
]  # fmt: skip


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the app on this machine ("localhost", 127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # any other name may resolve to a public address


def check_bind(host: str, allow_remote: bool, token: str | None) -> None:
    """Refuse a non-loopback bind unless asked for with --allow-remote and a --token; refuse weak tokens."""
    if token is not None and not _TOKEN_CHARS.fullmatch(token):
        raise LtxflowError("--token: use only letters, digits and . _ ~ - (it travels in a URL and a cookie)")
    if token is not None and len(token) < MIN_TOKEN:
        raise LtxflowError(f"--token: use at least {MIN_TOKEN} characters (e.g. python -c 'import secrets; "
                           "print(secrets.token_urlsafe())')")  # fmt: skip
    if is_loopback(host):
        return
    if not allow_remote:
        raise LtxflowError(f"--host {host}: not a loopback address; the review app serves this machine only "
                           "unless you pass --allow-remote and --token")  # fmt: skip
    if token is None:
        raise LtxflowError(f"--host {host} --allow-remote: also pass --token (every request must carry it)")


def loopback_hosts(port: int) -> frozenset[str]:
    """The Host header values a browser sends to a loopback bind on `port`."""
    return frozenset(f"{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]"))


class Guard:
    """ASGI middleware: Host, token and same-origin JSON checks, and security headers on every response."""

    def __init__(self, app: ASGIApp, *, token: str | None, hosts: frozenset[str] | None) -> None:
        self.app, self.token, self.hosts = app, token, hosts  # hosts None: any Host (remote bind, token required)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # no websockets
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if self.hosts is not None and host.lower() not in self.hosts:
            await _plain(send, 421, "unknown Host: open the URL ltxflow review printed")
            return
        if self.token is not None:
            query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            given = dict(query).get("token")
            if given is not None and self._valid(given) and scope["method"] == "GET":
                rest = urlencode([(k, v) for k, v in query if k != "token"])
                await _redirect(send, scope["path"] + (f"?{rest}" if rest else ""), self.token)
                return
            if not self._valid(_bearer(headers) or _cookie(headers) or ""):
                await _plain(send, 401, "token required: open the URL ltxflow review printed")
                return
        if scope["method"] not in ("GET", "HEAD"):
            origin = headers.get("origin")
            if origin is not None and origin != f"http://{host}" and origin != f"https://{host}":
                await _plain(send, 403, "cross-origin request refused")
                return
            if headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
                await _plain(send, 415, "send JSON (Content-Type: application/json)")
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _valid(self, given: str) -> bool:
        assert self.token is not None
        return hmac.compare_digest(given.encode(), self.token.encode())


def _bearer(headers: dict[str, str]) -> str | None:
    value = headers.get("authorization", "")
    return value[7:].strip() if value[:7].lower() == "bearer " else None


def _cookie(headers: dict[str, str]) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return None


async def _plain(send: Send, status: int, text: str) -> None:
    body = f"{status}: {text}\n".encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()), *_HEADERS]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


async def _redirect(send: Send, location: str, token: str) -> None:
    cookie = f"{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/".encode("latin-1")
    await send({"type": "http.response.start", "status": 303, "headers": [
        (b"location", location.encode("latin-1")), (b"set-cookie", cookie), (b"content-length", b"0"), *_HEADERS]})  # fmt: skip
    await send({"type": "http.response.body", "body": b""})
