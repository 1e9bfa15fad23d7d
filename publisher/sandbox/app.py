"""The sandbox's HTTP layer: routes, auth, rate limit, idempotency, faults (starlette)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import re
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from publisher.rules import limits

from . import ids, schema
from .clock import SandboxClock, iso, parse_iso_any, parse_iso_z
from .config import (
    DEFAULT_PROFILE_ID,
    ORG_ID,
    PLATFORMS,
    SandboxConfig,
    default_accounts,
    normalize_accounts,
    parse_rate_limit,
)
from .errors import ApiError, not_found, validation
from .faults import FaultError, Faults
from .publishing import Engine, post_view
from .store import Store, decode_cursor, key_hash

__all__ = ["MULTIPART_OVERHEAD", "Handler", "RateLimiter", "SandboxApp", "log"]

log = logging.getLogger("publisher.sandbox")

_REQUEST_ID = re.compile(r"^[\w-]{1,255}$", re.ASCII)
_POST_STATUSES = (
    "queued",
    "validated",
    "publishing",
    "published",
    "failed",
    "rejected",
    "canceled",
)
Handler = Callable[[Request, dict[str, Any]], Awaitable[tuple[int, Any]]]
#: Room for the multipart framing around an upload of ``media_max_bytes``.
MULTIPART_OVERHEAD = 64 * 1024
#: Bodies larger than this are parsed off the event loop.
_PARSE_IN_THREAD = 1024 * 1024


class _BodyTooLarge(Exception):
    """Raised from ``receive`` once a request body passes its route's limit."""


def _capped(request: Request, limit: int) -> Request:
    """``request`` whose body reads raise `_BodyTooLarge` past ``limit`` bytes (chunked
    bodies carry no Content-Length to check up front)."""
    receive = request.receive
    seen = 0

    async def capped_receive() -> Any:
        nonlocal seen
        message = await receive()
        if message.get("type") == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _BodyTooLarge
        return message

    return Request(request.scope, capped_receive)


async def _parse_json(raw: bytes) -> Any:
    if len(raw) > _PARSE_IN_THREAD:
        return await asyncio.to_thread(schema.load_json, raw)
    return schema.load_json(raw)


def _json(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _static_rate_header(method: str, path: str) -> str:
    """The static ``X-RateLimit-Limit`` quirk: it does not match the real limit."""
    if method == "POST" and path == "/v1/posts":
        return "1000"
    if method == "POST" and path == "/v1/media":
        return "500"
    return "5000"


class RateLimiter:
    """Fixed window per API key, started by the first point (like rate-limiter-flexible)."""

    def __init__(self, limit: tuple[int, float] | None) -> None:
        self.limit = limit
        self._buckets: dict[str, tuple[float, int]] = {}

    def reset(self, limit: tuple[int, float] | None) -> None:
        self.limit = limit
        self._buckets.clear()

    def consume(self, key_id: str, now: float) -> tuple[bool, dict[str, str]]:
        if self.limit is None:
            return True, {}
        points, duration = self.limit
        start, used = self._buckets.get(key_id, (now, 0))
        if now >= start + duration:
            start, used = now, 0
        used += 1
        self._buckets[key_id] = (start, used)
        reset = max(1, math.ceil(start + duration - now))
        headers = {
            "RateLimit-Limit": str(points),
            "RateLimit-Remaining": str(max(0, points - used)),
            "RateLimit-Reset": str(reset),
        }
        if used > points:
            headers["Retry-After"] = str(reset)
            return False, headers
        return True, headers


class _DropConnection(Response):
    """Closes the TCP connection without sending anything (the ``drop_after_store`` fault)."""

    def __init__(self) -> None:
        super().__init__(status_code=599)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        transport = getattr(getattr(receive, "__self__", None), "transport", None)
        if transport is None:  # not uvicorn: fall back to an error the client cannot parse
            raise RuntimeError("drop_after_store needs uvicorn")
        transport.abort()
        # uvicorn reports the disconnect through receive(); afterwards it sends nothing.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(receive(), 2)


class SandboxApp:
    """One sandbox: its store, clock, config, faults and the starlette application."""

    def __init__(self, db_path: Path, config: SandboxConfig) -> None:
        self.store = Store(db_path)
        self.base_config = config
        self.config = dataclasses.replace(config)
        self.clock = SandboxClock(float(self.store.meta("clock_offset") or 0.0))
        self.faults = Faults(config.initial_faults())
        now = self.clock.now()
        keys = self.store.ensure_keys(now)
        self.test_key: str = keys["test"]["secret"]
        self.live_key: str = keys["live"]["secret"]
        self._keys = {k["hash"]: k for k in keys.values()}
        if config.accounts is not None:
            self.store.sync_accounts(normalize_accounts(config.accounts), now)
        elif not self.store.has_accounts():
            self.store.sync_accounts(normalize_accounts(default_accounts()), now)
        self.engine = Engine(self.store, self.clock, self.config, self.faults)
        self.rate = RateLimiter(self.config.rate_limit)
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self.app = self._build()

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def accounts(self) -> list[dict[str, Any]]:
        return [_account_view(a) for a in self.engine.accounts.values()]

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
        while not self._stop.wait(self.config.worker_interval):
            try:
                self.engine.run_due()
            except Exception:
                log.exception("scheduler pass failed")

    def close(self) -> None:
        self.store.close()

    def _build(self) -> Starlette:
        def v1(
            handler: Handler, scope: str, *, idempotent: bool = False
        ) -> Callable[[Request], Awaitable[Response]]:
            async def endpoint(request: Request) -> Response:
                return await self._v1(request, handler, scope, idempotent=idempotent)

            return endpoint

        routes = [
            Route(
                "/v1/posts", v1(self.create_post, "posts:write", idempotent=True), methods=["POST"]
            ),
            Route("/v1/posts", v1(self.list_posts, "posts:read"), methods=["GET"]),
            Route("/v1/posts/{id}", v1(self.get_post, "posts:read"), methods=["GET"]),
            Route("/v1/posts/{id}", v1(self.patch_post, "posts:write"), methods=["PATCH"]),
            Route("/v1/posts/{id}", v1(self.delete_post, "posts:write"), methods=["DELETE"]),
            *(
                []
                if self.fork
                else [
                    Route(
                        "/v1/posts/{id}/retry", v1(self.retry_post, "posts:write"), methods=["POST"]
                    )
                ]
            ),
            Route("/v1/accounts", v1(self.list_accounts, "posts:read"), methods=["GET"]),
            Route("/v1/accounts/{id}", v1(self.get_account, "posts:read"), methods=["GET"]),
            Route("/v1/media", v1(self.upload_media, "posts:write"), methods=["POST"]),
            Route("/v1/media", v1(self.list_media, "posts:read"), methods=["GET"]),
            Route("/health", self.health, methods=["GET"]),
            Route("/xrpc/com.atproto.repo.getRecord", self.xrpc_get_record, methods=["GET"]),
            Route("/_sandbox/info", self.sb_info, methods=["GET"]),
            Route("/_sandbox/posts", self.sb_posts, methods=["GET"]),
            Route("/_sandbox/idempotency", self.sb_idempotency, methods=["GET"]),
            Route("/_sandbox/reset", self.sb_reset, methods=["POST"]),
            Route("/_sandbox/faults", self.sb_faults, methods=["GET", "POST", "DELETE"]),
            Route("/_sandbox/clock", self.sb_clock, methods=["GET", "POST"]),
            Route("/_sandbox/config", self.sb_config, methods=["GET", "POST"]),
            Route("/_sandbox/media/{id}", self.sb_media, methods=["GET"]),
        ]

        async def plain_404(request: Request, exc: Exception) -> Response:
            # Unmatched routes get the framework's plain-text 404, not the JSON envelope.
            return PlainTextResponse(
                "404 Not Found",
                status_code=404,
                headers={"X-Request-Id": str(uuid.uuid4()), "X-RateLimit-Limit": "5000"},
            )

        return Starlette(
            routes=routes,
            lifespan=self._lifespan,
            exception_handlers={404: plain_404, 405: plain_404},
        )

    # -- the /v1 pipeline -----------------------------------------------------------------

    def _auth(self, request: Request) -> dict[str, Any]:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token.startswith(("lmp_live_", "lmp_test_")):
            raise ApiError(
                401,
                "unauthenticated",
                "Authentication required.",
                remediation="Send `Authorization: Bearer lmp_live_…` (programmatic) or sign in "
                "to the dashboard (cookie-based session).",
            )
        key = self._keys.get(key_hash(token))
        if key is None:
            raise ApiError(401, "unauthenticated", "API key is invalid or revoked.")
        return key

    async def _v1(
        self, request: Request, handler: Handler, scope: str, *, idempotent: bool
    ) -> Response:
        incoming = request.headers.get("x-request-id", "")
        rid = incoming if _REQUEST_ID.match(incoming) else str(uuid.uuid4())
        method, path = request.method, request.url.path
        headers = {"X-Request-Id": rid, "X-RateLimit-Limit": _static_rate_header(method, path)}
        claimed: str | None = None
        ran = False
        if path == "/v1/media":
            body_limit = self.config.media_max_bytes + MULTIPART_OVERHEAD
            too_large = validation(
                "media.size_max",
                f"Media is larger than {self.config.media_max_bytes} bytes",
                413,
            )
        else:
            body_limit = self.config.body_max_bytes
            too_large = validation(
                "body.size_max",
                f"Request body is larger than {body_limit} bytes",
                413,
                remediation="Upload media with POST /v1/media and send its mediaId.",
            )
        request = _capped(request, body_limit)
        try:
            key = self._auth(request)
            if not self.fork and scope not in key["scopes"].split(","):  # fork: never checked
                raise ApiError(
                    403, "unauthorized", f"API key lacks scope {scope}", rule="api_key.scope"
                )
            # The fork limits POSTs only (GET, PATCH and DELETE have no limiter there).
            limited = not self.fork or method == "POST" or path.startswith("/v1/accounts")
            allowed, rl_headers = (
                self.rate.consume(key["id"], self.clock.now()) if limited else (True, {})
            )
            headers.update(rl_headers)
            if not allowed:
                raise ApiError(
                    429,
                    "rate_limited",
                    "Rate limit exceeded.",
                    remediation="Back off until the RateLimit-Reset window elapses, then retry.",
                )
            retry_after = self.faults.take_burst()
            if retry_after is not None:
                headers["Retry-After"] = str(retry_after)
                raise ApiError(429, "rate_limited", "Too many requests (injected burst)")
            length = request.headers.get("content-length", "")
            if length.isdigit() and int(length) > body_limit:
                raise too_large
            idem_key = request.headers.get("idempotency-key") if idempotent else None
            if idem_key is not None:
                # [?] the server's code lets an empty key through as "no key" (nothing is
                # deduplicated, silently); the contract says keys are 1..255 characters,
                # and the sandbox takes the stricter reading so such a client bug shows.
                if not idem_key or len(idem_key) > 255:
                    raise validation(
                        "idempotency_key.length",
                        "Idempotency-Key must be 255 characters or fewer."
                        if idem_key
                        else "Idempotency-Key must not be empty.",
                    )
                raw = await request.body()
                outcome, stored = self.store.idem_begin(
                    ORG_ID, idem_key, hashlib.sha256(raw).hexdigest(), self.clock.now()
                )
                if outcome != "mismatch":  # the server does not echo a key it refuses
                    headers["Idempotency-Key"] = idem_key
                if outcome == "replay":
                    headers["Idempotency-Replayed"] = "true"
                    replayed = _jsonb_order(stored[1]) if self.fork else stored[1]
                    return Response(replayed, stored[0], headers, media_type="application/json")
                if outcome == "in_progress" and self.fork:
                    # The fork has no in-progress claim: the second request runs too.
                    outcome = "expired"
                if outcome == "mismatch":
                    raise ApiError(
                        409,
                        "idempotency_conflict",
                        "Idempotency-Key reused with a different request body.",
                        rule="idempotency_key.body_mismatch",
                        remediation="Use a new Idempotency-Key for a different request.",
                    )
                if outcome == "in_progress":
                    raise ApiError(
                        409,
                        "idempotency_conflict",
                        "A request with this Idempotency-Key is still in progress",
                        rule="idempotency_key.in_progress",
                        remediation="Retry after the first request finished.",
                    )
                # "expired" (older than 24 h): the request runs but is not recorded [I].
                claimed = idem_key if outcome == "claimed" else None
            delay = self.faults.take_latency()
            if delay:
                await asyncio.sleep(delay)
            failure = self.faults.take_5xx(method, path)
            if failure is not None:
                raise ApiError(failure, "internal_error", "Injected server error")
            ran = True
            status, payload = await handler(request, key)
        except ApiError as exc:
            status, payload = exc.status, exc.envelope(rid)
            headers.update(exc.headers)
        except _BodyTooLarge:
            status, payload = too_large.status, too_large.envelope(rid)
        except Exception:
            log.exception("unhandled error on %s %s", method, path)
            status = 500
            payload = ApiError(500, "internal_error", "Internal server error").envelope(rid)
        body = _json(payload)
        if claimed is not None:
            if status < 500:
                self.store.idem_complete(ORG_ID, claimed, status, body)
            else:
                self.store.idem_release(ORG_ID, claimed)
        if ran and method == "POST" and path == "/v1/posts" and self.faults.take_drop():
            return _DropConnection()
        return Response(body, status, headers, media_type="application/json")

    def _sandbox_key(self, key: dict[str, Any]) -> bool:
        # The fork has no sandbox mode: an lmp_test_ key publishes like a live key.
        return key["env"] == "test" and not self.fork

    @property
    def fork(self) -> bool:
        return self.config.server_version == "fork-d28bf71"

    async def xrpc_get_record(self, request: Request) -> Response:
        """The emulated Bluesky posts of live keys (and their first comments) as a PDS or
        an AppView shows them (``com.atproto.repo.getRecord``, no login), so what reads
        Bluesky (``verify``, a reply's parent and root) can be pointed at the sandbox
        (``PUBLISHER_APPVIEW_URL``). Not part of the letmepost API."""
        qp = request.query_params
        uri = f"at://{qp.get('repo', '')}/{qp.get('collection', '')}/{qp.get('rkey', '')}"
        rows = self.store.query(
            "SELECT * FROM posts WHERE platform = 'bluesky' AND sandbox = 0 "
            "AND status IN ('published', 'publishing') AND (uri = ? OR first_comment_uri = ?)",
            (uri, uri),
        )
        if not rows:
            message = f"Could not locate record: {uri}"
            return _plain_json({"error": "RecordNotFound", "message": message}, 400)
        row = dict(rows[0])
        created = row["created_at"]
        if row["uri"] == uri:
            value: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": row["text"]}
            opts = json.loads(row["options"]) if row["options"] else {}
            if opts.get("replyToUri"):
                parent = {"uri": opts["replyToUri"], "cid": opts.get("replyToCid")}
                root = {"uri": opts.get("replyRootUri"), "cid": opts.get("replyRootCid")}
                value["reply"] = {"parent": parent, "root": root if root["uri"] else parent}
            cid = row["cid"]
        else:  # the first comment: a reply to the post
            comment = json.loads(row["first_comment"]) if row["first_comment"] else {}
            parent = {"uri": row["uri"], "cid": row["cid"]}
            value = {
                "$type": "app.bsky.feed.post",
                "text": comment.get("text"),
                "reply": {"parent": parent, "root": parent},
            }
            cid = row["first_comment_cid"]
        value["createdAt"] = created
        return _plain_json({"uri": uri, "cid": cid, "value": value})

    async def health(self, request: Request) -> Response:
        return Response(
            _json({"status": "ok"}),
            200,
            {"X-Request-Id": str(uuid.uuid4()), "X-RateLimit-Limit": "5000"},
            media_type="application/json",
        )

    def _visible_post(self, post_id: str, key: dict[str, Any]) -> dict[str, Any]:
        row = self.store.post(post_id)
        if row is None:
            raise not_found(f"Post {post_id} not found")
        # [C] a sandbox key may not touch live posts; [?] the reverse and reads: the
        # stricter choice, each environment sees only its own posts.
        if bool(row["sandbox"]) != self._sandbox_key(key):
            raise not_found(f"Post {post_id} not found", "api_key.environment_scope")
        return row

    # -- /v1/posts ------------------------------------------------------------------------

    async def create_post(self, request: Request, key: dict[str, Any]) -> tuple[int, Any]:
        body = schema.parse_post_body(await _parse_json(await request.body()))
        return self.engine.create(
            body, sandbox=self._sandbox_key(key), idem_key=request.headers.get("idempotency-key")
        )

    async def list_posts(self, request: Request, key: dict[str, Any]) -> tuple[int, Any]:
        qp = request.query_params

        def multi(name: str) -> list[str]:
            return [v for raw in qp.getlist(name) for v in raw.split(",") if v]

        try:
            limit = int(qp.get("limit", "50"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 200:
            raise validation("limit", "limit must be an integer from 1 to 200")
        q = qp.get("q")
        if q is not None and len(q) > 200:
            raise validation("q", "q must be at most 200 characters")
        bounds: dict[str, str | None] = {}
        for name in ("after", "before"):
            value = qp.get(name)
            bounds[name] = None
            if value is not None:
                ts = parse_iso_any(value)
                if ts is None:
                    raise validation(name, f"{name} must be an ISO-8601 date-time")
                bounds[name] = iso(ts)
        cursor = None
        if qp.get("cursor"):
            cursor = decode_cursor(qp["cursor"])
            if cursor is None:
                raise validation("cursor", "Invalid cursor")
        statuses = multi("status")
        if any(s not in _POST_STATUSES for s in statuses):
            raise validation("status", "Unknown status")
        platforms = multi("platform")
        if any(p not in PLATFORMS for p in platforms):
            raise validation("platform", "Unknown platform")
        rows, next_cursor = self.store.list_posts(
            sandbox=self._sandbox_key(key),
            filters={
                "profile_id": multi("profileId"),
                "platform": platforms,
                "status": statuses,
                "error_code": multi("errorCode"),
            },
            q=q,
            after=bounds["after"],
            before=bounds["before"],
            cursor=cursor,
            limit=limit,
        )
        accounts = self.engine.accounts
        return 200, {
            "data": [
                self._view(post_view(r, accounts.get(r["account_id"])), "attempts") for r in rows
            ],
            "nextCursor": next_cursor,
        }

    async def get_post(self, request: Request, key: dict[str, Any]) -> tuple[int, Any]:
        row = self._visible_post(request.path_params["id"], key)
        return 200, self._view(post_view(row, self.engine.accounts.get(row["account_id"])))

    def _view(self, view: dict[str, Any], *drop: str) -> dict[str, Any]:
        """A post as this server version shows it (the fork has no `sandbox` flag)."""
        if self.fork:
            for name in ("sandbox", *drop):
                view.pop(name, None)
        return view

    def _editable(self, row: dict[str, Any], action: str) -> None:
        if row["status"] != "queued":
            raise validation(
                "post.status",
                f'Cannot modify a post in status "{row["status"]}". Only queued scheduled '
                "posts can be rescheduled or canceled.",
                409,
            )
        due = parse_iso_z(row["scheduled_at"]) if row["scheduled_at"] else None
        if due is None or due <= self.clock.now():
            raise validation(
                "post.scheduledAt.window",
                "This post is already firing or has no scheduledAt. The window for changes "
                "has closed.",
                409,
            )

    async def _json_body(self, request: Request, *, optional: bool = False) -> Any:
        raw = await request.body()
        if optional and not raw.strip():
            return None
        return await _parse_json(raw)

    async def patch_post(self, request: Request, key: dict[str, Any]) -> tuple[int, Any]:
        changes = schema.parse_patch_body(
            await self._json_body(request), self.config.server_version
        )
        row = self._visible_post(request.path_params["id"], key)
        self._editable(row, "edited")
        now = self.clock.now()
        fields: dict[str, Any] = {"updated_at": iso(now)}
        if changes.get("scheduledAt") is not None:
            if changes["scheduledAt"] < now + 1:
                raise validation(
                    "scheduledAt.future", "scheduledAt must be at least 1 s in the future"
                )
            fields["scheduled_at"] = iso(changes["scheduledAt"])
        if "text" in changes:
            fields["text"] = changes["text"]
        if "media" in changes:
            fields["media"] = json.dumps(changes["media"]) if changes["media"] else None
        candidate = {**row, **fields}
        account = self.engine.accounts.get(row["account_id"])
        if account is not None and ("text" in changes or "media" in changes):
            for stage in ("cheap", "deep"):
                errors, _, missing = self.engine.preflight(candidate, account, stage)
                if missing:
                    raise missing
                if errors:
                    raise ApiError(
                        400,
                        "preflight_failed",
                        errors[0].message,
                        rule=errors[0].rule,
                        platform=row["platform"],
                    )
        if not self.store.update_post(row["id"], fields, status_in=("queued",)):
            raise validation("post.status", "The post is no longer queued", 409)
        return 200, self._view(
            post_view(self.store.post(row["id"]) or candidate, account), "attempts"
        )

    async def delete_post(self, request: Request, key: dict[str, Any]) -> tuple[int, Any]:
        row = self._visible_post(request.path_params["id"], key)
        self._editable(row, "canceled")
        # [?] whether canceling refunds the quota slot: the stricter choice, it does not.
        if not self.store.update_post(
            row["id"],
            {"status": "canceled", "updated_at": iso(self.clock.now())},
            status_in=("queued",),
        ):
            raise validation("post.status", "The post is no longer queued", 409)
        return 200, {"id": row["id"], "status": "canceled"}

    async def retry_post(self, request: Request, key: dict[str, Any]) -> tuple[int, Any]:
        when = schema.parse_retry_body(await self._json_body(request, optional=True))
        row = self._visible_post(request.path_params["id"], key)
        if row["status"] not in ("failed", "rejected", "canceled"):
            raise validation(
                "post.retry.status",
                f"Only failed, rejected or canceled posts can be retried (this one is {row['status']})",
                409,
            )
        now = self.clock.now()
        if when is not None and when < now + 1:
            raise validation("scheduledAt.future", "scheduledAt must be at least 1 s in the future")
        period = None if row["sandbox"] else self.engine.charge(1, now)
        scheduled = iso(when if when is not None else now)
        fields = {
            "status": "queued",
            "scheduled_at": scheduled,
            "uri": None,
            "cid": None,
            "error": None,
            "error_code": None,
            "warnings": None,
            "quota_period": period,
            "updated_at": iso(now),
        }
        if not self.store.update_post(
            row["id"], fields, status_in=("failed", "rejected", "canceled")
        ):
            raise validation("post.retry.status", "The post changed meanwhile", 409)
        return 200, {"id": row["id"], "status": "queued", "scheduledAt": scheduled}

    # -- /v1/accounts, /v1/media ----------------------------------------------------------

    async def list_accounts(self, request: Request, key: dict[str, Any]) -> tuple[int, Any]:
        profile = request.query_params.get("profileId")
        data = [a for a in self.accounts if profile is None or a["profileId"] == profile]
        return 200, {"data": data}

    async def get_account(self, request: Request, key: dict[str, Any]) -> tuple[int, Any]:
        account = self.engine.accounts.get(request.path_params["id"])
        if account is None:
            raise not_found(f"Account {request.path_params['id']} not found")
        return 200, _account_view(account)

    async def upload_media(self, request: Request, key: dict[str, Any]) -> tuple[int, Any]:
        max_bytes = self.config.media_max_bytes
        too_big = ApiError(
            413,
            "validation_failed",
            f"Media is larger than {max_bytes} bytes",
            rule="media.size_max",
        )
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise validation(
                "media.content_type", "Send multipart/form-data with one part named 'file'"
            )
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > max_bytes + 64 * 1024:
            raise too_big
        try:
            form = await request.form(max_files=16, max_fields=16)
        except _BodyTooLarge:
            raise
        except Exception:
            raise validation(
                "media.parse_failed", "The multipart body could not be parsed"
            ) from None
        try:
            items = form.multi_items()
            upload = next((v for k, v in items if k == "file" and isinstance(v, UploadFile)), None)
            if upload is None:
                raise validation("media.missing_file", "No part named 'file'")
            if len(items) > 1:
                raise validation("media.single_file", "Send exactly one part, named 'file'")
            data = await upload.read()
        finally:
            await form.close()
        if len(data) > max_bytes:
            raise too_big
        mime = limits.sniff_mime(data)
        if mime is None:
            raise validation(
                "media.content_type", "Unsupported media type (not an image or video we know)"
            )
        profile = request.query_params.get("profileId") or DEFAULT_PROFILE_ID
        now = iso(self.clock.now())
        media_id = ids.media_id()
        self.store.insert_media(
            {
                "id": media_id,
                "profile_id": profile,
                "content_type": mime,
                "size_bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "data": data,
                "created_at": now,
            }
        )
        return 201, self._media_view(request, self.store.media(media_id) or {})

    def _media_view(self, request: Request, row: dict[str, Any]) -> dict[str, Any]:
        base = str(request.base_url).rstrip("/")
        return {
            "id": row["id"],
            "url": f"{base}/_sandbox/media/{row['id']}",
            "contentType": row["content_type"],
            "sizeBytes": row["size_bytes"],
            "sha256": row["sha256"],
            "createdAt": row["created_at"],
        }

    async def list_media(self, request: Request, key: dict[str, Any]) -> tuple[int, Any]:
        try:
            limit = int(request.query_params.get("limit", "50"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 200:
            raise validation("limit", "limit must be an integer from 1 to 200")
        cursor = None
        if request.query_params.get("cursor"):
            cursor = decode_cursor(request.query_params["cursor"])
            if cursor is None:
                raise validation("cursor", "Invalid cursor")
        rows, next_cursor = self.store.list_media(cursor, limit)
        return 200, {
            "data": [self._media_view(request, r) for r in rows],
            "nextCursor": next_cursor,
        }

    # -- /_sandbox ------------------------------------------------------------------------

    async def sb_info(self, request: Request) -> Response:
        return _plain_json(
            {
                "accounts": self.accounts,
                "config": _config_view(self.config),
                "faults": self.faults.snapshot(),
                "now": iso(self.clock.now()),
            }
        )

    async def sb_posts(self, request: Request) -> Response:
        data = [
            {
                "id": r["id"],
                "accountId": r["account_id"],
                "platform": r["platform"],
                "status": r["status"],
                "text": r["text"],
                "options": json.loads(r["options"]) if r["options"] else None,
                "idempotencyKey": r["idempotency_key"],
                "sandbox": bool(r["sandbox"]),
                "scheduledAt": r["scheduled_at"],
                "uri": r["uri"],
                "cid": r["cid"],
                "media": json.loads(r["media"]) if r["media"] else [],
                "firstComment": (json.loads(r["first_comment"]) or {}).get("text")
                if r["first_comment"]
                else None,
                "firstCommentUri": r["first_comment_uri"],
                "errorCode": r["error_code"],
                "createdAt": r["created_at"],
            }
            for r in self.store.all_posts()
        ]
        return _plain_json({"data": data})

    async def sb_idempotency(self, request: Request) -> Response:
        data = [
            {
                "key": r["key"],
                "state": "completed" if r["state"] else "pending",
                "statusCode": r["status_code"],
                "createdAt": iso(r["created_at"]),
            }
            for r in self.store.idem_records()
        ]
        return _plain_json({"data": data})

    async def sb_reset(self, request: Request) -> Response:
        """Wipe posts, idempotency, media, quota use and rate-limit state; clear faults,
        put the clock back to real time and restore the start-up config."""
        self.store.reset()
        self.faults.clear()
        self.clock.reset()
        self.store.set_meta("clock_offset", "0")
        for f in dataclasses.fields(self.config):
            setattr(self.config, f.name, getattr(self.base_config, f.name))
        self.rate.reset(self.config.rate_limit)
        return _plain_json({"ok": True})

    async def sb_faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.faults.clear()
        elif request.method == "POST":
            try:
                spec = await _control_json(request)
                replace = isinstance(spec, dict) and bool(spec.pop("replace", False))
                (self.faults.replace if replace else self.faults.merge)(spec)
            except (ValueError, FaultError) as exc:
                return _plain_json(
                    {"error": {"code": "validation_failed", "message": str(exc)}}, 400
                )
        return _plain_json(self.faults.snapshot())

    async def sb_clock(self, request: Request) -> Response:
        ran = 0
        if request.method == "POST":
            try:
                spec = await _control_json(request)
                if "advance" in spec:
                    self.clock.advance(float(spec["advance"]))
                elif "set" in spec:
                    when = parse_iso_any(str(spec["set"]))
                    if when is None:
                        raise ValueError("set must be an ISO-8601 date-time")
                    self.clock.set(when)
                elif spec.get("reset"):
                    self.clock.reset()
                else:
                    raise ValueError('give {"advance": seconds}, {"set": iso} or {"reset": true}')
            except (ValueError, TypeError, AttributeError) as exc:
                return _plain_json(
                    {"error": {"code": "validation_failed", "message": str(exc)}}, 400
                )
            self.store.set_meta("clock_offset", repr(self.clock.offset))
            ran = await asyncio.to_thread(self.engine.run_due)
        return _plain_json(
            {"now": iso(self.clock.now()), "offsetSeconds": self.clock.offset, "ran": ran}
        )

    async def sb_config(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                spec = await _control_json(request)
                if "rateLimit" in spec:
                    rl = spec["rateLimit"]
                    self.config.rate_limit = None if rl is None else parse_rate_limit(str(rl))
                    self.rate.reset(self.config.rate_limit)
                if "quota" in spec:
                    q = spec["quota"]
                    if q is not None and (not isinstance(q, int) or q < 0):
                        raise ValueError("quota must be a non-negative integer or null")
                    self.config.quota = q
                if "scheduler" in spec:
                    self.config.scheduler = bool(spec["scheduler"])
                if "bodyMaxBytes" in spec:
                    b = spec["bodyMaxBytes"]
                    if isinstance(b, bool) or not isinstance(b, int) or b < 1:
                        raise ValueError("bodyMaxBytes must be a positive integer")
                    self.config.body_max_bytes = b
                if "mediaMaxBytes" in spec:
                    m = spec["mediaMaxBytes"]
                    if not isinstance(m, int) or m < 1:
                        raise ValueError("mediaMaxBytes must be a positive integer")
                    self.config.media_max_bytes = m
            except (ValueError, TypeError, AttributeError) as exc:
                return _plain_json(
                    {"error": {"code": "validation_failed", "message": str(exc)}}, 400
                )
        return _plain_json(_config_view(self.config))

    async def sb_media(self, request: Request) -> Response:
        found = self.store.media_bytes(request.path_params["id"])
        if found is None:
            raise HTTPException(404)
        return Response(found[1], 200, media_type=found[0])


def _jsonb_order(body: bytes) -> bytes:
    """A stored answer as Postgres's jsonb gives it back: object keys shorter first, then
    in byte order (the fork stores replays as jsonb)."""

    def order(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: order(value[k]) for k in sorted(value, key=lambda k: (len(k), k))}
        if isinstance(value, list):
            return [order(v) for v in value]
        return value

    try:
        return _json(order(json.loads(body)))
    except ValueError:
        return body


async def _control_json(request: Request) -> Any:
    """The JSON body of a ``/_sandbox`` request (empty: ``{}``); ValueError if it is not JSON."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return schema.load_json(raw)
    except ApiError as exc:
        raise ValueError(exc.message) from None


def _plain_json(payload: Any, status: int = 200) -> Response:
    return Response(_json(payload), status, media_type="application/json")


def _config_view(config: SandboxConfig) -> dict[str, Any]:
    rl = config.rate_limit
    return {
        "rateLimit": f"{rl[0]}/{rl[1]:g}" if rl else "off",
        "quota": config.quota,
        "mediaMaxBytes": config.media_max_bytes,
        "bodyMaxBytes": config.body_max_bytes,
        "headerTimeout": config.header_timeout,
        "scheduler": config.scheduler,
    }


def _account_view(account: dict[str, Any]) -> dict[str, Any]:
    out = {
        k: account.get(k)
        for k in (
            "id",
            "profileId",
            "platform",
            "platformAccountId",
            "displayName",
            "tokenExpiresAt",
            "createdAt",
        )
    }
    out["updatedAt"] = account.get("createdAt")
    for extra in ("pinterest", "instagram"):
        if extra in account:
            out[extra] = account[extra]
    return out
