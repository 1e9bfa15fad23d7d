"""Logging in to a PDS and calling it: one session per (PDS, handle) per process, kept
in memory only; every SDK and transport exception turned into a `BlueskyError`. The
app password is never logged, never part of an exception or ``repr``, and forgotten
once the session exists (it refreshes itself)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, NamedTuple

from publisher.clients.atproto.errors import BlueskyError, xrpc_error
from publisher.clients.atproto.ids import DEFAULT_PDS

if TYPE_CHECKING:
    from atproto_client import Client

__all__ = ["AccountSession", "clear_sessions", "now_iso"]


class _Session(NamedTuple):
    client: Client
    did: str
    handle: str


_sessions: dict[tuple[str, str], _Session] = {}
_sessions_lock = threading.Lock()


def clear_sessions() -> None:
    """Forget (and close) every cached login of this process (for tests).

    Accounts that logged in before must not be used afterwards: make new ones.
    """
    with _sessions_lock:
        for session in _sessions.values():
            session.client.request.close()
        _sessions.clear()


def now_iso() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AccountSession:
    """The plumbing of `BlueskyAccount`: its login and the one way it calls the PDS."""

    def __init__(
        self,
        handle: str,
        pds_url: str = DEFAULT_PDS,
        password: str | None = None,
        *,
        password_env: str = "BLUESKY_APP_PASSWORD",
        timeout: float = 30.0,
    ) -> None:
        from publisher.redaction import add_secret

        add_secret(password)  # never printed, written or raised, whole or in part
        self._handle = handle.removeprefix("@").lower()
        self._pds_url = pds_url.rstrip("/")
        self.__password = password
        self._password_env = password_env
        self._timeout = timeout
        self._session: _Session | None = None
        self._resolved: dict[str, str | None] = {}

    @property
    def pds_url(self) -> str:
        return self._pds_url

    @property
    def handle(self) -> str:
        """The account's handle (as the PDS reports it once logged in)."""
        return self._session.handle if self._session else self._handle

    @property
    def did(self) -> str:
        """The account's DID (logs in if needed)."""
        return self._login().did

    # ---------------------------------------------------------------- plumbing

    @contextmanager
    def _calling(self, what: str) -> Iterator[None]:
        """Translate SDK and transport exceptions into ``BlueskyError``."""
        import httpx
        from atproto_client import exceptions as ax

        try:
            yield
        except ax.RequestErrorBase as exc:
            status, name, message = xrpc_error(exc)
            if status is None:
                cause = exc.__cause__ or exc
                raise BlueskyError(
                    "network",
                    f"{what}: cannot reach {self._pds_url} ({type(cause).__name__}: {cause})",
                    retryable=True,
                ) from exc
            detail = f"{what}: {self._pds_url} answered {status}" + (
                f" {name}: {message}" if name or message else ""
            )
            if status == 429:
                raise BlueskyError("rate_limited", detail, retryable=True, status=status) from exc
            if status >= 500:
                raise BlueskyError("server_error", detail, retryable=True, status=status) from exc
            if status in (401, 403):
                raise BlueskyError("unauthorized", detail, status=status) from exc
            raise BlueskyError("rejected", detail, status=status) from exc
        except httpx.TransportError as exc:
            raise BlueskyError(
                "network",
                f"{what}: cannot reach {self._pds_url} ({type(exc).__name__}: {exc})",
                retryable=True,
            ) from exc
        except (ax.AtProtocolError, ValueError) as exc:  # an answer the SDK cannot parse
            raise BlueskyError(
                "bad_answer",
                f"{what}: {self._pds_url} answered with something publisher cannot read "
                f"({type(exc).__name__})",
                retryable=True,
            ) from None

    def _login(self) -> _Session:
        if self._session is None:
            key = (self._pds_url, self._handle)
            with _sessions_lock:
                session = _sessions.get(key) or self._create_session()
                _sessions[key] = session
            self._session = session
        return self._session

    def login(self) -> None:
        """Log in now (a no-op when this process already has a session for the account)."""
        self._login()

    def _create_session(self) -> _Session:
        from atproto_client import Client
        from atproto_client import exceptions as ax
        from atproto_client.request import Request

        hint = f"check the app password in ${self._password_env}"
        if not self.__password:
            raise BlueskyError("login_failed", f"login failed for {self._handle}: {hint} (empty)")
        client = Client(base_url=self._pds_url, request=Request(timeout=self._timeout))
        try:
            with self._calling(f"login as {self._handle}"):
                client.login(self._handle, self.__password, fetch_bsky_profile=False)
        except BlueskyError as exc:
            client.request.close()
            if exc.status in (400, 401) and isinstance(exc.__cause__, ax.RequestErrorBase):
                _, name, _ = xrpc_error(exc.__cause__)
                if name in ("AuthenticationRequired", "InvalidRequest"):
                    raise BlueskyError(
                        "login_failed",
                        f"login failed for {self._handle}: {hint}",
                        status=exc.status,
                    ) from None
            raise
        self.__password = None  # the session refreshes itself: the password is not needed again
        raw = client._session
        assert raw is not None  # set by a successful login
        return _Session(client=client, did=raw.did, handle=raw.handle)

    def _query(self, nsid: str, params: Mapping[str, str | int], what: str) -> dict[str, object]:
        from atproto_client.models.dot_dict import DotDict

        client = self._login().client
        with self._calling(what):
            content = client.invoke_query(nsid, params=DotDict(params)).content
        return content if isinstance(content, dict) else {}

    def _procedure(
        self,
        nsid: str,
        what: str,
        *,
        body: Mapping[str, object] | None = None,
        content: bytes | None = None,
        input_encoding: str | None = None,
    ) -> dict[str, object]:
        import json

        client = self._login().client
        if body is not None:
            content = json.dumps(body, ensure_ascii=False).encode("utf-8")
            input_encoding = "application/json"
        sent: dict[str, bytes | str] = {}
        if content is not None:
            sent["content"] = content
        if input_encoding is not None:
            sent["input_encoding"] = input_encoding
        with self._calling(what):
            answer = client.invoke_procedure(nsid, **sent).content
        return answer if isinstance(answer, dict) else {}
