"""The letmepost HTTP client: auth, bounded retries, pacing, the error envelope.

Retried (bounded attempts, exponential backoff with full jitter): network errors and
timeouts, 5xx, 409 ``idempotency_key.in_progress`` and 429 ``rate_limited`` (after its
``Retry-After``). Not retried: every other 4xx, because the server stores and replays
4xx answers for 24 h under the same Idempotency-Key (a retry would only get the same
answer back); ``quota_exceeded`` raises `QuotaExceeded` so the run can stop.

A connection that cannot be made (the name does not resolve, the connection is refused
or times out) fails before a byte of the request leaves: it raises `NotSent` (nothing
was sent, so nothing was stored under the key), a name that does not resolve at once,
a refused connection after `CONNECT_ATTEMPTS`. Only when no attempt got further: once
one may have reached the server, it is a `NetworkError` (the outcome is unknown).

Requests are paced with the ``RateLimit-Remaining`` / ``RateLimit-Reset`` headers, so
a large batch waits for the window instead of running into 429s. A 429's
``Retry-After`` is the server's last word: every thread waits that long (not for a
window reset announced alongside it), and no longer.

The API key is only ever put in the Authorization header: never in a message, a log
line, or an exception (`redact` guards everything that prints).
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from publisher.errors import PublisherError

__all__ = [
    "CONNECT_ATTEMPTS",
    "MAX_ANSWER_BYTES",
    "USER_AGENT",
    "AnswerError",
    "ApiError",
    "LetmepostClient",
    "NetworkError",
    "NotSent",
    "Pacer",
    "QuotaExceeded",
    "Response",
    "RetryPolicy",
    "redact",
]

USER_AGENT = "publisher (+https://github.com/publisher-dev/publisher)"
#: The most of an answer that is read (every answer letmepost gives is far smaller).
MAX_ANSWER_BYTES = 8 * 1024 * 1024


class ApiError(PublisherError):
    """An answer from the API that is an error (the envelope's code, rule, message)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        rule: str | None = None,
        request_id: str | None = None,
        platform_response: Any = None,
        replayed: bool = False,
    ) -> None:
        self.status, self.code, self.rule, self.message = status, code, rule, message
        self.request_id, self.platform_response, self.replayed = (
            request_id,
            platform_response,
            replayed,
        )
        rule_text = f" ({rule})" if rule else ""
        super().__init__(f"HTTP {status} {code}{rule_text}: {message}")

    @property
    def retryable(self) -> bool:
        return (
            self.status >= 500
            or (self.code == "idempotency_conflict" and self.rule == "idempotency_key.in_progress")
            or (self.status == 429 and self.code == "rate_limited")
        )

    def as_record(self) -> dict[str, Any]:
        return {"code": self.code, "rule": self.rule, "message": self.message}


class QuotaExceeded(ApiError):
    """The monthly quota is used up: stop the run."""


class NetworkError(PublisherError):
    """No answer (connection refused/dropped, timeout) after every retry."""


class AnswerError(NetworkError):
    """An answer publisher cannot read (not JSON, a field of the wrong type, a status
    outside the API's enum, a result missing). Like no answer at all: a request that
    may have created something keeps its key, and the next run resends it."""


class NotSent(NetworkError):
    """Every attempt failed before a byte of the request left (the API's name does not
    resolve, the connection was refused or timed out): nothing was sent, so nothing can
    have been stored under the request's key."""


#: Attempts at connecting when the connection is refused or times out (a name that does
#: not resolve is not retried: offline, the answer will not change in seconds).
CONNECT_ATTEMPTS = 3


def _unresolved(exc: BaseException) -> bool:
    """Whether a connect error is a name that did not resolve (socket.gaierror)."""
    import socket

    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        if isinstance(seen, socket.gaierror):
            return True
        seen = seen.__cause__ or seen.__context__
    text = str(exc).lower()
    return any(
        s in text for s in ("name or service not known", "nodename nor servname", "name resolution")
    )


@dataclass
class Response:
    status: int
    data: Any
    headers: Mapping[str, str]
    replayed: bool = False
    body: bytes = b""


@dataclass
class RetryPolicy:
    attempts: int = 6
    base: float = 0.5
    cap: float = 20.0
    max_retry_after: float = 120.0

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
        return rng() * min(self.cap, self.base * (2**attempt))


@dataclass
class Pacer:
    """Shared by every thread of a run: waits for the rate-limit window instead of
    spending requests on 429s, and holds every thread for a 429's ``Retry-After``.

    Waits are slept in slices of at most ``slice`` seconds, each followed by a fresh
    look at the state: a thread that began waiting for a window reset goes as soon as a
    later 429 says to come back earlier, not when its first wait would have ended.
    """

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    remaining: int | None = None
    reset_at: float = 0.0
    #: Nobody sends before this (clock time): set by a 429's Retry-After.
    hold_until: float = 0.0
    waited: float = 0.0
    slice: float = 0.5
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self.clock()
                if now < self.hold_until:
                    wait = self.hold_until - now
                else:
                    if self.reset_at and now >= self.reset_at:
                        self.remaining, self.reset_at = None, 0.0
                    if self.remaining is None or self.remaining > 0:
                        if self.remaining is not None:
                            self.remaining -= 1
                        return
                    wait = self.reset_at - now + 0.05
                wait = min(wait, self.slice)
                self.waited += wait
            self.sleep(wait)

    def update(self, headers: Mapping[str, str]) -> None:
        remaining, reset = headers.get("ratelimit-remaining"), headers.get("ratelimit-reset")
        if remaining is None or reset is None:
            return
        try:
            left, seconds = int(remaining), float(reset)
        except ValueError:
            return
        if not (seconds >= 0 and seconds != float("inf")):
            return
        with self._lock:
            now = self.clock()
            if now < self.hold_until:
                # A 429's Retry-After is in force: it is the server's latest word on when
                # to come back. The first answer after it re-establishes the window.
                return
            at = now + seconds
            if self.remaining is None or at > self.reset_at + 1:
                self.remaining = left  # a new window
            else:
                self.remaining = min(self.remaining, left)
            self.reset_at = max(self.reset_at, at) if self.remaining == 0 else at

    def hold(self, seconds: float) -> None:
        """A 429 said ``Retry-After: seconds``: every thread waits that long, and the
        window the pacer knew (or that came with the 429) no longer counts."""
        with self._lock:
            self.hold_until = max(self.hold_until, self.clock() + seconds)
            self.remaining, self.reset_at = None, 0.0

    def block_for(self, seconds: float) -> None:
        """Hold every thread for ``seconds`` (alias of `hold`, kept for callers)."""
        self.hold(seconds)


def redact(text: str, secret: str | None) -> str:
    """`text` through the one redaction filter (`publisher.redaction`), with `secret`
    (whole, escaped, or any piece of 8 characters) among the run's secrets."""
    from publisher import redaction

    redaction.add_secret(secret)
    return redaction.redact(text)


class LetmepostClient:
    """A thread-safe client. ``transport`` lets tests hand in an httpx transport."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        pacer: Pacer | None = None,
        transport: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        log: Callable[[str], None] | None = None,
    ) -> None:
        import httpx

        from publisher.redaction import add_secret

        add_secret(api_key)  # every message of this process is redacted from now on
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        self.retry = retry or RetryPolicy()
        self.pacer = pacer or Pacer(sleep=sleep)
        self._sleep = sleep
        self._log = log
        self.stats: dict[str, int] = {"requests": 0, "retries": 0, "429": 0}
        self._in_flight: threading.BoundedSemaphore | None = None
        self._keys_in_flight: set[str] = set()
        self._keys_lock = threading.Lock()
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT},
            transport=transport,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
        )

    def __repr__(self) -> str:
        return f"LetmepostClient({self.base_url!r})"

    def limit_in_flight(self, requests: int | None) -> None:
        """Have at most `requests` requests on the wire at once, whatever the number of
        threads using this client (None: no limit). Waits for retries are not counted."""
        self._in_flight = threading.BoundedSemaphore(requests) if requests else None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LetmepostClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the one place requests are made ------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        idempotency_key: str | None = None,
        params: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
    ) -> Response:

        headers = {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if idempotency_key:  # never two requests in flight under one key
            with self._keys_lock:
                if idempotency_key in self._keys_in_flight:
                    raise RuntimeError("a request under this Idempotency-Key is in flight")
                self._keys_in_flight.add(idempotency_key)
            try:
                return self._request(method, path, body, headers, params, files, idempotency_key)
            finally:
                with self._keys_lock:
                    self._keys_in_flight.discard(idempotency_key)
        return self._request(method, path, body, headers, params, files, None)

    def _request(
        self,
        method: str,
        path: str,
        body: bytes | None,
        headers: dict[str, str],
        params: Mapping[str, Any] | None,
        files: Mapping[str, Any] | None,
        idempotency_key: str | None,
    ) -> Response:
        import httpx

        last: Exception | None = None
        maybe_sent = False  # an attempt got past connecting: the server may have it
        refused = 0
        for attempt in range(self.retry.attempts):
            if attempt:
                self.stats["retries"] += 1
            self.pacer.acquire()
            self.stats["requests"] += 1
            try:
                with self._in_flight or contextlib.nullcontext():
                    resp = self._send(method, path, body, headers, params, files)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # before a byte of the request left: nothing was sent
                host = self._http.base_url.host
                if _unresolved(exc):
                    why = f"the name {host} does not resolve (offline?)"
                else:
                    why = f"cannot connect to {host} ({type(exc).__name__}: {exc})"
                last = (NetworkError if maybe_sent else NotSent)(
                    redact(f"{method} {path}: {why}; nothing was sent", self._key)
                )
                self._note(f"{method} {path} -> not connected ({type(exc).__name__})")
                refused += 1
                if _unresolved(exc) or refused >= CONNECT_ATTEMPTS:
                    break
                self._sleep(self.retry.backoff(attempt))
                continue
            except httpx.HTTPError as exc:  # timeouts, dropped connections: maybe sent
                maybe_sent = True
                last = NetworkError(
                    redact(f"{method} {path}: {type(exc).__name__}: {exc}", self._key)
                )
                if (
                    idempotency_key
                    and isinstance(exc, httpx.TimeoutException)
                    and not (isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout))
                ):
                    # The request may still be running on the server, and a server
                    # without an in-progress claim (the open-source one at d28bf71) would
                    # run a second request under this key beside it: the key stays
                    # recorded as pending and the next run resends it.
                    raise last from None
                self._note(
                    f"{method} {path} -> network error ({type(exc).__name__}), attempt {attempt + 1}"
                )
                self._sleep(self.retry.backoff(attempt))
                continue
            retry_after = (
                _retry_after(resp.headers, self.retry.max_retry_after)
                if resp.status_code == 429
                else None
            )
            maybe_sent = True
            if retry_after is None:
                self.pacer.update(resp.headers)
            replayed = resp.headers.get("idempotency-replayed", "").lower() == "true"
            self._note(f"{method} {path} -> {resp.status_code}{' (replayed)' if replayed else ''}")
            if resp.status_code < 400:
                return Response(resp.status_code, _json(resp), resp.headers, replayed, resp.content)
            error = self._error(resp, replayed)
            if isinstance(error, QuotaExceeded) or not error.retryable:
                raise error
            last = error
            if resp.status_code == 429:
                self.stats["429"] += 1
                if retry_after is not None:
                    self.pacer.hold(retry_after)  # every thread waits exactly that long
                    continue  # the pacer sleeps until then
                # No Retry-After: the window from the headers (if any) paces, plus backoff.
                self._sleep(self.retry.backoff(attempt))
                continue
            self._sleep(self.retry.backoff(attempt))
        assert last is not None
        if isinstance(last, NotSent) and maybe_sent:  # an earlier attempt may have landed
            raise NetworkError(str(last))
        raise last

    def _send(
        self,
        method: str,
        path: str,
        body: bytes | None,
        headers: Mapping[str, str],
        params: Mapping[str, Any] | None,
        files: Mapping[str, Any] | None,
    ) -> Any:
        """One request; its answer read as a stream and capped at `MAX_ANSWER_BYTES`
        (decoded: a compressed bomb stays small). A 2xx answer over the cap is an
        `AnswerError`; an error answer is kept up to the cap."""
        import httpx

        request = self._http.build_request(
            method, path, content=body, headers=headers, params=params, files=files
        )
        resp = self._http.send(request, stream=True)
        try:
            length = resp.headers.get("content-length", "")
            over = length.isdigit() and int(length) > MAX_ANSWER_BYTES
            data = bytearray()
            if not over:
                for chunk in resp.iter_bytes():
                    data += chunk
                    if len(data) > MAX_ANSWER_BYTES:
                        over = True
                        break
        finally:
            resp.close()
        if over and resp.status_code < 400:
            raise AnswerError(
                f"{self.base_url} ({method} {path}) answered {resp.status_code} with more than "
                f"{MAX_ANSWER_BYTES:,} bytes: not read"
            )
        kept = [
            (k, v)
            for k, v in resp.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]  # the bytes are decoded already
        return httpx.Response(
            resp.status_code,
            headers=kept,
            content=bytes(data[:MAX_ANSWER_BYTES]),
            request=request,
            extensions={"reason_phrase": resp.reason_phrase.encode("ascii", "replace")},
        )

    def _note(self, line: str) -> None:
        if self._log:
            self._log(redact(line, self._key))

    def _error(self, resp: Any, replayed: bool) -> ApiError:
        """The error envelope, read strictly (`letmepost_answers.ErrorEnvelope`); any
        other body is ``http_error`` with its start, redacted before it is cut."""
        from publisher.clients.letmepost_answers import BadAnswer, ErrorEnvelope, parse, snippet

        try:
            err = parse(ErrorEnvelope, resp.content, "").error
        except BadAnswer:
            text = snippet(resp.content) if resp.content else resp.reason_phrase
            return ApiError(resp.status_code, "http_error", text or "error", replayed=replayed)
        data = _json(resp)
        raw = data.get("error") if isinstance(data, dict) else {}
        request_id = raw.get("requestId") if isinstance(raw, dict) else None
        platform_response = raw.get("platformResponse") if isinstance(raw, dict) else None
        cls = QuotaExceeded if err.code == "quota_exceeded" else ApiError
        from publisher.redaction import redact_any

        return cls(
            resp.status_code,
            err.code,
            err.message,
            rule=err.rule,
            request_id=request_id if isinstance(request_id, str) else None,
            platform_response=redact_any(platform_response),
            replayed=replayed,
        )

    def _read(self, model: Any, resp: Response, method: str, path: str) -> Any:
        from publisher.clients.letmepost_answers import BadAnswer, parse

        try:
            return parse(model, resp.body, f"{self.base_url} ({method} {path})")
        except BadAnswer as exc:
            raise AnswerError(str(exc)) from None

    # -- endpoints ------------------------------------------------------------------------

    # Every answer is read by a model of `letmepost_answers` before it is handed on:
    # what the backends see has the right shape and the server's words redacted.

    def create_post(self, body: bytes, key: str) -> Response:
        """``POST /v1/posts``; ``data`` is the `CreateAnswer` as a dict, with one result
        per target of ``body``. An answer that cannot be read is `AnswerError`: the
        post may be out, so the key stays and the next run resends it."""
        from publisher.clients.letmepost_answers import CreateAnswer

        resp = self.request("POST", "/v1/posts", body=body, idempotency_key=key)
        answer = self._read(CreateAnswer, resp, "POST", "/v1/posts")
        try:
            targets = json.loads(body).get("targets")
        except (ValueError, AttributeError):
            targets = None
        sent = len(targets) if isinstance(targets, list) else len(answer.results)
        if len(answer.results) != sent:
            raise AnswerError(
                f"{self.base_url} (POST /v1/posts) answered {resp.status} with "
                f"{len(answer.results)} results for {sent} targets: the outcome is unknown"
            )
        resp.data = answer.model_dump()
        return resp

    def get_post(self, post_id: str) -> dict[str, Any]:
        from publisher.clients.letmepost_answers import PostAnswer

        path = f"/v1/posts/{post_id}"
        data: dict[str, Any] = self._read(
            PostAnswer, self.request("GET", path), "GET", path
        ).model_dump()
        return data

    def list_posts(self, **params: Any) -> dict[str, Any]:
        resp = self.request("GET", "/v1/posts", params=params)
        if not isinstance(resp.data, dict):
            raise AnswerError(f"{self.base_url} (GET /v1/posts) did not answer a JSON object")
        return resp.data

    def patch_post(self, post_id: str, body: bytes) -> dict[str, Any]:
        path = f"/v1/posts/{post_id}"
        resp = self.request("PATCH", path, body=body)
        return resp.data if isinstance(resp.data, dict) else {}

    def delete_post(self, post_id: str) -> dict[str, Any]:
        path = f"/v1/posts/{post_id}"
        resp = self.request("DELETE", path)
        return resp.data if isinstance(resp.data, dict) else {}

    def accounts(self) -> list[dict[str, Any]]:
        from publisher.clients.letmepost_answers import AccountsAnswer

        answer = self._read(
            AccountsAnswer, self.request("GET", "/v1/accounts"), "GET", "/v1/accounts"
        )
        return [a.model_dump() for a in answer.data]

    def upload_media(self, filename: str, data: bytes, mime: str) -> dict[str, Any]:
        from publisher.clients.letmepost_answers import MediaAnswer

        resp = self.request("POST", "/v1/media", files={"file": (filename, data, mime)})
        answer = self._read(MediaAnswer, resp, "POST", "/v1/media")
        out = resp.data if isinstance(resp.data, dict) else {}
        return {**out, "id": answer.id}


def _json(resp: Any) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def _retry_after(
    headers: Mapping[str, str], cap: float, wall: Callable[[], float] = time.time
) -> float | None:
    """Seconds from ``Retry-After`` (delta-seconds or an HTTP date), within [0, cap]."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - wall()
    if seconds != seconds:  # NaN
        return None
    return min(cap, max(0.0, seconds))
