"""The ``/v1`` pipeline every API request goes through, in the server's order: request
id, body cap, auth, scope, rate limit, injected 429s, Idempotency-Key (claim, replay,
conflict), injected latency and 5xx, the route's handler, the error envelope, the
idempotency record, an injected dropped connection."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from . import schema
from .config import ORG_ID
from .errors import ApiError, validation
from .shapes import ApiKeyRow
from .state import Sandbox
from .views import dumps, jsonb_order

__all__ = [
    "MULTIPART_OVERHEAD",
    "BodyTooLarge",
    "Handler",
    "V1Route",
    "endpoint",
    "json_body",
    "log",
    "parse_json",
]

log = logging.getLogger("publisher.sandbox")

#: A ``/v1`` handler: (status, JSON payload) for a request by an authenticated key.
Handler = Callable[[Sandbox, Request, ApiKeyRow], Awaitable[tuple[int, object]]]
#: Room for the multipart framing around an upload of ``media_max_bytes``.
MULTIPART_OVERHEAD = 64 * 1024
#: Bodies larger than this are parsed off the event loop.
_PARSE_IN_THREAD = 1024 * 1024
_REQUEST_ID = re.compile(r"^[\w-]{1,255}$", re.ASCII)


class BodyTooLarge(Exception):
    """Raised from ``receive`` once a request body passes its route's limit."""


@dataclass(frozen=True)
class V1Route:
    """One route of the API: its handler, the key scope it needs, whether it honours
    Idempotency-Key, whether the fork at d28bf71 has it."""

    method: str
    path: str
    handler: Handler
    scope: str
    idempotent: bool = False
    in_fork: bool = True


@dataclass
class _Exchange:
    """One request on its way through the pipeline and what its answer will carry."""

    rid: str
    method: str
    path: str
    headers: dict[str, str]
    body_limit: int
    too_large: ApiError
    claimed: str | None = None  # the Idempotency-Key to record the answer under
    ran: bool = False  # whether the handler was called


def endpoint(sb: Sandbox, route: V1Route) -> Callable[[Request], Awaitable[Response]]:
    """The starlette endpoint of ``route``."""

    async def answer(request: Request) -> Response:
        return await _answer(sb, route, request)

    return answer


async def parse_json(raw: bytes) -> object:
    if len(raw) > _PARSE_IN_THREAD:
        return await asyncio.to_thread(schema.load_json, raw)
    return schema.load_json(raw)


async def json_body(request: Request, *, optional: bool = False) -> object:
    """The request's JSON body (``optional``: an empty body is None)."""
    raw = await request.body()
    if optional and not raw.strip():
        return None
    return await parse_json(raw)


async def _answer(sb: Sandbox, route: V1Route, request: Request) -> Response:
    ex = _exchange(sb, request)
    request = _capped(request, ex.body_limit)
    try:
        key = _admit(sb, route, request, ex)
        replayed = await _claim_key(sb, route, request, ex)
        if replayed is not None:
            return replayed
        await _injected_faults(sb, ex)
        ex.ran = True
        status, payload = await route.handler(sb, request, key)
    except ApiError as exc:
        status, payload = exc.status, exc.envelope(ex.rid)
        ex.headers.update(exc.headers)
    except BodyTooLarge:
        status, payload = ex.too_large.status, ex.too_large.envelope(ex.rid)
    except Exception:
        log.exception("unhandled error on %s %s", ex.method, ex.path)
        status = 500
        payload = ApiError(500, "internal_error", "Internal server error").envelope(ex.rid)
    return _finish(sb, ex, status, payload)


def _exchange(sb: Sandbox, request: Request) -> _Exchange:
    """The request id (the client's, if well-formed), the first headers, the body cap."""
    incoming = request.headers.get("x-request-id", "")
    rid = incoming if _REQUEST_ID.match(incoming) else str(uuid.uuid4())
    method, path = request.method, request.url.path
    headers = {"X-Request-Id": rid, "X-RateLimit-Limit": _static_rate_header(method, path)}
    if path == "/v1/media":
        body_limit = sb.config.media_max_bytes + MULTIPART_OVERHEAD
        too_large = validation(
            "media.size_max",
            f"Media is larger than {sb.config.media_max_bytes} bytes",
            413,
        )
    else:
        body_limit = sb.config.body_max_bytes
        too_large = validation(
            "body.size_max",
            f"Request body is larger than {body_limit} bytes",
            413,
            remediation="Upload media with POST /v1/media and send its mediaId.",
        )
    return _Exchange(rid, method, path, headers, body_limit, too_large)


def _static_rate_header(method: str, path: str) -> str:
    """The static ``X-RateLimit-Limit`` quirk: it does not match the real limit."""
    if method == "POST" and path == "/v1/posts":
        return "1000"
    if method == "POST" and path == "/v1/media":
        return "500"
    return "5000"


def _capped(request: Request, limit: int) -> Request:
    """``request`` whose body reads raise `BodyTooLarge` past ``limit`` bytes (chunked
    bodies carry no Content-Length to check up front)."""
    receive = request.receive
    seen = 0

    async def capped_receive() -> Message:
        nonlocal seen
        message = await receive()
        if message.get("type") == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge
        return message

    return Request(request.scope, capped_receive)


def _admit(sb: Sandbox, route: V1Route, request: Request, ex: _Exchange) -> ApiKeyRow:
    """The request's key, once it may ask this: scope, rate limit, injected 429s and
    the declared body size checked."""
    key = _auth(sb, request)
    if not sb.fork and route.scope not in key["scopes"].split(","):  # fork: never checked
        raise ApiError(
            403, "unauthorized", f"API key lacks scope {route.scope}", rule="api_key.scope"
        )
    # The fork limits POSTs only (GET, PATCH and DELETE have no limiter there).
    limited = not sb.fork or ex.method == "POST" or ex.path.startswith("/v1/accounts")
    allowed, rl_headers = sb.rate.consume(key["id"], sb.clock.now()) if limited else (True, {})
    ex.headers.update(rl_headers)
    if not allowed:
        raise ApiError(
            429,
            "rate_limited",
            "Rate limit exceeded.",
            remediation="Back off until the RateLimit-Reset window elapses, then retry.",
        )
    retry_after = sb.faults.take_burst()
    if retry_after is not None:
        ex.headers["Retry-After"] = str(retry_after)
        raise ApiError(429, "rate_limited", "Too many requests (injected burst)")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > ex.body_limit:
        raise ex.too_large
    return key


def _auth(sb: Sandbox, request: Request) -> ApiKeyRow:
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
    key = sb.key(token)
    if key is None:
        raise ApiError(401, "unauthenticated", "API key is invalid or revoked.")
    return key


async def _claim_key(
    sb: Sandbox, route: V1Route, request: Request, ex: _Exchange
) -> Response | None:
    """Claim the request's Idempotency-Key: the stored answer of a replay, None when
    the request is to run (``ex.claimed`` says whether its answer is recorded)."""
    idem_key = request.headers.get("idempotency-key") if route.idempotent else None
    if idem_key is None:
        return None
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
    outcome, stored = sb.store.idem_begin(
        ORG_ID, idem_key, hashlib.sha256(raw).hexdigest(), sb.clock.now()
    )
    if outcome != "mismatch":  # the server does not echo a key it refuses
        ex.headers["Idempotency-Key"] = idem_key
    if stored is not None:  # a replay
        ex.headers["Idempotency-Replayed"] = "true"
        status, body = stored
        replayed = jsonb_order(body) if sb.fork else body
        return Response(replayed, status, ex.headers, media_type="application/json")
    if outcome == "in_progress" and sb.fork:
        # The fork has no in-progress claim: the second request runs too.
        outcome = "expired"
    _refuse_claim(outcome)
    # "expired" (older than 24 h): the request runs but is not recorded [I].
    ex.claimed = idem_key if outcome == "claimed" else None
    return None


def _refuse_claim(outcome: str) -> None:
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


async def _injected_faults(sb: Sandbox, ex: _Exchange) -> None:
    delay = sb.faults.take_latency()
    if delay:
        await asyncio.sleep(delay)
    failure = sb.faults.take_5xx(ex.method, ex.path)
    if failure is not None:
        raise ApiError(failure, "internal_error", "Injected server error")


def _finish(sb: Sandbox, ex: _Exchange, status: int, payload: object) -> Response:
    """The answer, recorded under its Idempotency-Key (a 5xx frees the key instead)."""
    body = dumps(payload)
    if ex.claimed is not None:
        if status < 500:
            sb.store.idem_complete(ORG_ID, ex.claimed, status, body)
        else:
            sb.store.idem_release(ORG_ID, ex.claimed)
    if ex.ran and ex.method == "POST" and ex.path == "/v1/posts" and sb.faults.take_drop():
        return _DropConnection()
    return Response(body, status, ex.headers, media_type="application/json")


class _DropConnection(Response):
    """Closes the TCP connection without sending anything (the ``drop_after_store`` fault)."""

    def __init__(self) -> None:
        super().__init__(status_code=599)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = getattr(getattr(receive, "__self__", None), "transport", None)
        abort = getattr(transport, "abort", None)
        if not callable(abort):  # not uvicorn: fall back to an error the client cannot parse
            raise RuntimeError("drop_after_store needs uvicorn")
        abort()
        # uvicorn reports the disconnect through receive(); afterwards it sends nothing.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(receive(), 2)
