"""The sandbox's HTTP application (starlette): its route table, its scheduler thread.

``/v1`` routes go through the pipeline (``pipeline.py``) to their handlers
(``v1_posts.py``, ``v1_media.py``); ``/health``, ``getRecord`` and ``/_sandbox`` are
served directly (``control.py``). The state they share is a ``state.Sandbox``.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from . import control, v1_media, v1_posts
from .config import SandboxConfig
from .pipeline import V1Route, endpoint, log
from .state import Sandbox

__all__ = ["CONTROL_ROUTES", "V1_ROUTES", "SandboxApp"]

#: The letmepost API, in the order starlette matches it.
V1_ROUTES = (
    V1Route("POST", "/v1/posts", v1_posts.create_post, "posts:write", idempotent=True),
    V1Route("GET", "/v1/posts", v1_posts.list_posts, "posts:read"),
    V1Route("GET", "/v1/posts/{id}", v1_posts.get_post, "posts:read"),
    V1Route("PATCH", "/v1/posts/{id}", v1_posts.patch_post, "posts:write"),
    V1Route("DELETE", "/v1/posts/{id}", v1_posts.delete_post, "posts:write"),
    V1Route("POST", "/v1/posts/{id}/retry", v1_posts.retry_post, "posts:write", in_fork=False),
    V1Route("GET", "/v1/accounts", v1_media.list_accounts, "posts:read"),
    V1Route("GET", "/v1/accounts/{id}", v1_media.get_account, "posts:read"),
    V1Route("POST", "/v1/media", v1_media.upload_media, "posts:write"),
    V1Route("GET", "/v1/media", v1_media.list_media, "posts:read"),
)

_Control = Callable[[Sandbox, Request], Awaitable[Response]]
#: Everything else: (path, handler, methods).
CONTROL_ROUTES: tuple[tuple[str, _Control, tuple[str, ...]], ...] = (
    ("/health", control.health, ("GET",)),
    ("/xrpc/com.atproto.repo.getRecord", control.xrpc_get_record, ("GET",)),
    ("/_sandbox/info", control.sb_info, ("GET",)),
    ("/_sandbox/posts", control.sb_posts, ("GET",)),
    ("/_sandbox/idempotency", control.sb_idempotency, ("GET",)),
    ("/_sandbox/reset", control.sb_reset, ("POST",)),
    ("/_sandbox/faults", control.sb_faults, ("GET", "POST", "DELETE")),
    ("/_sandbox/clock", control.sb_clock, ("GET", "POST")),
    ("/_sandbox/config", control.sb_config, ("GET", "POST")),
    ("/_sandbox/media/{id}", control.sb_media, ("GET",)),
)


def _bound(sb: Sandbox, handler: _Control) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        return await handler(sb, request)

    return serve


async def _plain_404(request: Request, exc: Exception) -> Response:
    # Unmatched routes get the framework's plain-text 404, not the JSON envelope.
    return PlainTextResponse(
        "404 Not Found",
        status_code=404,
        headers={"X-Request-Id": str(uuid.uuid4()), "X-RateLimit-Limit": "5000"},
    )


class SandboxApp:
    """One sandbox: its state (``sandbox``), the starlette application (``app``) and the
    scheduler thread that publishes due posts while the application runs."""

    def __init__(self, db_path: Path, config: SandboxConfig) -> None:
        self.sandbox = Sandbox(db_path, config)
        self.test_key = self.sandbox.test_key
        self.live_key = self.sandbox.live_key
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self.app = self._build()

    @property
    def accounts(self) -> list[dict[str, object]]:
        return self.sandbox.accounts

    def close(self) -> None:
        self.sandbox.close()

    def _build(self) -> Starlette:
        sb = self.sandbox
        routes = [
            Route(r.path, endpoint(sb, r), methods=[r.method])
            for r in V1_ROUTES
            if r.in_fork or not sb.fork
        ]
        routes += [
            Route(path, _bound(sb, handler), methods=list(methods))
            for path, handler, methods in CONTROL_ROUTES
        ]
        return Starlette(
            routes=routes,
            lifespan=self._lifespan,
            exception_handlers={404: _plain_404, 405: _plain_404},
        )

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        self._stop.clear()
        self._worker = threading.Thread(target=self._work, name="sandbox-scheduler", daemon=True)
        self._worker.start()
        try:
            yield
        finally:
            self._stop.set()
            self._worker.join(5)

    def _work(self) -> None:
        while not self._stop.wait(self.sandbox.config.worker_interval):
            try:
                self.sandbox.engine.run_due()
            except Exception:
                log.exception("scheduler pass failed")
