"""Starting the review app: campaigns and ledger opened, the socket bound (checked first), uvicorn serving it."""

from __future__ import annotations

import getpass
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ltxflow.errors import LtxflowError
from ltxflow.ledger.store import Ledger
from ltxflow.review.app import AppConfig, ReviewApp, create_app
from ltxflow.review.model import ReviewSource
from ltxflow.review.security import check_bind, is_loopback, loopback_hosts

DEFAULT_PORT = 8765


def reviewer_name(option: str | None) -> str:
    """The --reviewer option, else the OS user."""
    if option and option.strip():
        return option.strip()
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers)
        return "reviewer"


def campaign_folders(targets: Sequence[Path | str]) -> list[Path]:
    """The campaigns named, or every folder of ./campaigns that holds a campaign.toml."""
    if targets:
        return [Path(t) for t in targets]
    found = sorted(p.parent for p in Path("campaigns").glob("*/campaign.toml"))
    if not found:
        raise LtxflowError("review: name a campaign (none found under ./campaigns)")
    return found


def open_sources(targets: Sequence[Path | str], ledger: Ledger, out_dir: Path) -> list[ReviewSource]:
    """A ReviewSource per campaign (each loaded and validated now: a bad one fails before anything listens)."""
    sources = [ReviewSource(folder, ledger, out_dir) for folder in campaign_folders(targets)]
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise LtxflowError(f"review: two campaigns share a name ({', '.join(sorted(names))})")
    return sources


@dataclass
class ReviewServer:
    """A bound socket and the uvicorn server that answers on it."""

    app: ReviewApp
    sock: socket.socket
    url: str  # what a browser opens (with the token when one is set)
    _server: object | None = None
    _thread: threading.Thread | None = None

    def serve(self) -> None:
        """Serve until Ctrl-C (in the calling thread): a normal stop, exit code 0."""
        try:
            self._make().run(sockets=[self.sock])
        except KeyboardInterrupt:  # uvicorn shuts down cleanly, then re-raises the signal it caught
            pass
        finally:
            self.sock.close()

    def start(self, timeout: float = 30.0) -> ReviewServer:
        """Serve from a background thread; returns once the server answers."""
        server = self._make()
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [self.sock]}, daemon=True,
                                        name="ltxflow-review")  # fmt: skip
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:  # type: ignore[attr-defined]
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("review server did not start")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop a server started with `start` and wait for it."""
        if self._server is not None:
            self._server.should_exit = True  # type: ignore[attr-defined]
        if self._thread is not None:
            self._thread.join(timeout)
        self.sock.close()

    def _make(self):  # noqa: ANN202 (uvicorn.Server, imported here)
        import uvicorn

        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=2)  # fmt: skip
        self._server = uvicorn.Server(config)
        return self._server


def build_server(
    sources: list[ReviewSource],
    ledger: Ledger,
    out_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    allow_remote: bool = False,
    token: str | None = None,
    reviewer: str | None = None,
) -> ReviewServer:
    """Check the bind, bind the socket (port 0 = any free port) and build the guarded app on it."""
    check_bind(host, allow_remote, token)
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # asyncio sets TCP_NODELAY only for proto TCP
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise LtxflowError(f"review: cannot listen on {host}:{port} ({exc.strerror}); try --port 0") from None
    sock.listen(128)
    port = sock.getsockname()[1]
    shown = f"[{host.strip('[]')}]" if family == socket.AF_INET6 else host
    hosts = loopback_hosts(port) | {f"{shown.lower()}:{port}"} if is_loopback(host) else None
    app = create_app(sources, ledger, out_dir, AppConfig(reviewer_name(reviewer), token, hosts))
    return ReviewServer(app, sock, f"http://{shown}:{port}/" + (f"?token={token}" if token else ""))


def serve(
    targets: Sequence[Path | str],
    *,
    ledger: Ledger,
    out_dir: Path,
    host: str,
    port: int,
    allow_remote: bool,
    token: str | None,
    reviewer: str | None,
    echo: Callable[[str], None],
) -> None:
    """Open the campaigns, bind, print the one line with the URL, serve until Ctrl-C."""
    check_bind(host, allow_remote, token)  # before reading anything
    sources = open_sources(targets, ledger, out_dir)
    server = build_server(sources, ledger, out_dir, host=host, port=port, allow_remote=allow_remote, token=token,
                          reviewer=reviewer)  # fmt: skip
    server.app.warm()
    echo(f"review: {server.url} ({', '.join(s.name for s in sources)}; Ctrl-C stops)")
    server.serve()
