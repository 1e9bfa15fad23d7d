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
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from publisher.clients import pacing
from publisher.clients.pacing import Pacer, RetryPolicy
from publisher.errors import PublisherError

if TYPE_CHECKING:
    import httpx
    from pydantic import BaseModel

    from publisher.clients.letmepost_answers import PostView

    _M = TypeVar("_M", bound=BaseModel)

#: Query parameters and multipart files as httpx takes them (files: name, bytes, type).
_Params = Mapping[str, str | int]
_Files = Mapping[str, tuple[str, bytes, str]]

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
        platform_response: object = None,
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

    def as_record(self) -> dict[str, str | None]:
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
        transport: httpx.BaseTransport | None = None,
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
            # a plain-HTTP server (self-hosted, the sandbox) never makes a TLS connection
            # (redirects are not followed): skip loading the CA bundle (~46 ms of CPU).
            verify=not self.base_url.startswith("http://"),
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
        params: _Params | None = None,
        files: _Files | None = None,
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
        params: _Params | None,
        files: _Files | None,
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
                pacing.retry_after(resp.headers, self.retry.max_retry_after)
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
        params: _Params | None,
        files: _Files | None,
    ) -> httpx.Response:
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

    def _error(self, resp: httpx.Response, replayed: bool) -> ApiError:
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

    def _read(self, model: type[_M], resp: Response, method: str, path: str) -> _M:
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

    def get_post(self, post_id: str) -> PostView:
        from publisher.clients.letmepost_answers import PostAnswer

        path = f"/v1/posts/{post_id}"
        return self._read(PostAnswer, self.request("GET", path), "GET", path).as_view()

    def list_posts(self, **params: str | int) -> dict[str, Any]:
        resp = self.request("GET", "/v1/posts", params=params)
        if not isinstance(resp.data, dict):
            raise AnswerError(f"{self.base_url} (GET /v1/posts) did not answer a JSON object")
        return resp.data

    def patch_post(self, post_id: str, body: bytes) -> dict[str, object]:
        path = f"/v1/posts/{post_id}"
        resp = self.request("PATCH", path, body=body)
        return resp.data if isinstance(resp.data, dict) else {}

    def delete_post(self, post_id: str) -> dict[str, object]:
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


def _json(resp: httpx.Response) -> object:
    try:
        return resp.json()
    except ValueError:
        return None
