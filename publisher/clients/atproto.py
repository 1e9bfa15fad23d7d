"""Direct Bluesky (atproto) backend: facets, TIDs, image blobs and post records on any PDS.

This module is a library; the publish pipeline decides *when* to call it. What it
guarantees:

* ``create_post`` writes ``app.bsky.feed.post`` with the record key the caller chose
  (``com.atproto.repo.createRecord`` with ``rkey``), so a caller can record the key
  *before* creating the record and later adopt it with ``get_post`` after a crash.
  Creating the same key twice fails with ``BlueskyError(code="record_exists")``.
  The same holds for every record this module creates (threadgates, postgates,
  reposts): each takes its record key from the caller, and ``get_record`` reads any
  of them back.
* Everything that can be checked locally (text length, images, record key) is checked
  before any request is made.
* One login per (PDS, handle) per process; the session lives in memory only.
* The app password is never logged, never part of an exception or ``repr``.

``atproto`` (and ``regex``) are imported inside functions: importing this module
costs a few milliseconds.
"""

from __future__ import annotations

import functools
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar

from publisher.errors import PublisherError
from publisher.rules import platforms as _platforms
from publisher.rules.bluesky import MAX_LANGS, SELF_LABELS, is_lang

if TYPE_CHECKING:
    from atproto_client import Client

__all__ = [
    "DEFAULT_PDS",
    "IMAGE_MIMES",
    "MAX_GRAPHEMES",
    "MAX_IMAGES",
    "MAX_IMAGE_BYTES",
    "POSTGATE_COLLECTION",
    "POST_COLLECTION",
    "REPOST_COLLECTION",
    "SELF_LABELS",
    "THREADGATE_COLLECTION",
    "BlueskyAccount",
    "BlueskyError",
    "External",
    "ReplyRule",
    "build_facets",
    "check_post",
    "clear_sessions",
    "is_lang",
    "is_tid",
    "new_tid",
    "parse_post_ref",
    "parse_post_uri",
    "read_handle",
    "read_post",
    "resolve_pds",
    "web_url",
]

DEFAULT_PDS = "https://bsky.social"
POST_COLLECTION = "app.bsky.feed.post"
THREADGATE_COLLECTION = "app.bsky.feed.threadgate"
POSTGATE_COLLECTION = "app.bsky.feed.postgate"
REPOST_COLLECTION = "app.bsky.feed.repost"
# Bluesky's limits are the registry's (which the rules in limits.py check), so a direct
# account and letmepost agree.
_MEDIA_LIMITS = _platforms.MEDIA["bluesky"]
MAX_GRAPHEMES = _platforms.REGISTRY["bluesky"].text_max
MAX_TEXT_BYTES = 3000  # the lexicon's maxLength of app.bsky.feed.post#text (bytes)

_T = TypeVar("_T")


def _known(value: _T | None, name: str) -> _T:
    if value is None:  # pragma: no cover - the registry's Bluesky row sets every limit
        raise RuntimeError(f"the platform registry has no Bluesky {name}")
    return value


MAX_IMAGES = _known(_MEDIA_LIMITS.max_images, "max_images")
MAX_IMAGE_BYTES = _known(_MEDIA_LIMITS.image_max, "image_max")
MAX_ALT_GRAPHEMES = _known(_MEDIA_LIMITS.alt_max, "alt_max")
IMAGE_MIMES = _known(_MEDIA_LIMITS.image_mimes, "image_mimes")
MAX_CARD_TITLE = 300
MAX_CARD_DESCRIPTION = 1000
# Who may reply (app.bsky.feed.threadgate): "everyone" means no gate, "nobody" an
# empty allow list; the others are rules and can be combined.
ReplyRule = Literal["everyone", "nobody", "following", "followers", "mentioned"]
_REPLY_RULES = {
    "following": "app.bsky.feed.threadgate#followingRule",
    "followers": "app.bsky.feed.threadgate#followerRule",
    "mentioned": "app.bsky.feed.threadgate#mentionRule",
}

FACET_LINK = "app.bsky.richtext.facet#link"
FACET_MENTION = "app.bsky.richtext.facet#mention"
FACET_TAG = "app.bsky.richtext.facet#tag"


class BlueskyError(PublisherError):
    """Any failure of the Bluesky backend.

    ``code`` is stable and machine-readable (``login_failed``, ``network``,
    ``server_error``, ``rate_limited``, ``record_exists``, ``rejected``,
    ``unauthorized``, ``text_too_long``, ``too_many_images``, ``image_type``,
    ``image_too_large``, ``alt_too_long``, ``invalid_rkey``, ``invalid_langs``,
    ``invalid_label``, ``invalid_embed``, ``invalid_post_ref``, ``unknown_handle``,
    ``post_not_found``, ``invalid_gate``);
    ``retryable`` is true for transport failures, 5xx and 429 (the request may be sent
    again), false for everything the server or this module refused. ``status`` is the HTTP status when
    a response arrived.
    """

    def __init__(
        self, code: str, message: str, *, retryable: bool = False, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.status = status

    def __repr__(self) -> str:
        return f"BlueskyError({self.code!r}, {self.message!r})"


class External(NamedTuple):
    """A link card (``app.bsky.embed.external``): the page's URL, title, description and,
    optionally, a thumbnail image (bytes and their media type, at most 1,000,000 bytes)."""

    uri: str
    title: str
    description: str = ""
    thumb: bytes | None = None
    thumb_mime: str | None = None


# --------------------------------------------------------------------------- facets

_TAG_MAX_UTF16 = 64


@functools.cache
def _patterns() -> tuple[Any, ...]:
    """Mention, URL, handle, hashtag and trailing-punctuation patterns (compiled on first use).

    Bluesky's own detection (bluesky-social/atproto, packages/api/src/rich-text) in
    Python: a mention or link starts the text or follows whitespace or "("; a tag
    starts the text or follows whitespace. JavaScript's ``\\b`` and ``\\d`` are
    ASCII-only: so are ours. ``\\p{P}`` needs the ``regex`` module.
    """
    import regex

    mention = re.compile(r"(^|\s|\()@([a-zA-Z0-9.-]+)(?a:\b)")
    url = re.compile(r"(^|\s|\()(https?://\S+)", re.IGNORECASE)
    handle = re.compile(
        r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$"
    )

    zw = r"\u00AD\u2060\u200A\u200B\u200C\u200D\u20e2"
    tag = regex.compile(
        rf"(^|\s)[#＃]((?!\ufe0f)[^\s{zw}]*[^0-9\s\p{{P}}{zw}]+[^\s{zw}]*)?", regex.V0
    )
    trailing = regex.compile(r"\p{P}+$")
    return mention, url, handle, tag, trailing


def _utf16_len(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def build_facets(text: str, resolve_handle: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """Rich-text facets (``app.bsky.richtext.facet``) for ``text``, sorted by position.

    * links: ``http(s)://`` URLs; one trailing ``. , ; : ! ?`` and an unbalanced
      trailing ``)`` are left out, as Bluesky's client does;
    * mentions: ``@handle.domain`` whose handle ``resolve_handle`` turns into a DID;
      unresolvable mentions stay plain text (the callback is asked once per handle);
    * hashtags: ``#tag`` (or ``＃tag``), not digits only, trailing punctuation
      excluded, at most 64 characters.

    ``byteStart``/``byteEnd`` are UTF-8 byte offsets into ``text``.
    """
    mention_re, url_re, handle_re, tag_re, trailing_re = _patterns()
    spans: list[tuple[int, int, dict[str, Any]]] = []

    resolved: dict[str, str | None] = {}
    for m in mention_re.finditer(text):
        handle = m.group(2)
        if not handle_re.match(handle):
            continue
        key = handle.lower()
        if key not in resolved:
            resolved[key] = resolve_handle(key)
        did = resolved[key]
        if did:
            start = m.start(2) - 1  # include the "@"
            spans.append((start, m.end(2), {"$type": FACET_MENTION, "did": did}))

    for m in url_re.finditer(text):
        uri = m.group(2)
        if uri[-1] in ".,;:!?":
            uri = uri[:-1]
        if uri.endswith(")") and "(" not in uri:
            uri = uri[:-1]
        if uri.split("://", 1)[1] == "":
            continue
        spans.append((m.start(2), m.start(2) + len(uri), {"$type": FACET_LINK, "uri": uri}))

    for m in tag_re.finditer(text):
        tag = m.group(2)
        if not tag:
            continue
        tag = trailing_re.sub("", tag.strip())
        if not tag or _utf16_len(tag) > _TAG_MAX_UTF16:
            continue
        start = m.start(0) + len(m.group(1))
        spans.append((start, start + 1 + len(tag), {"$type": FACET_TAG, "tag": tag}))

    spans.sort(key=lambda s: s[0])
    return [
        {
            "$type": "app.bsky.richtext.facet",
            "index": {
                "byteStart": len(text[:start].encode("utf-8")),
                "byteEnd": len(text[:end].encode("utf-8")),
            },
            "features": [feature],
        }
        for start, end, feature in spans
    ]


# --------------------------------------------------------------------------- TIDs

_B32_SORTABLE = "234567abcdefghijklmnopqrstuvwxyz"
_CLOCK_ID = random.randrange(1024)
_tid_lock = threading.Lock()
_last_tid_us = 0


def new_tid(now_us: int | None = None, clock_id: int | None = None) -> str:
    """A timestamp identifier (atproto TID): 13 base32-sortable characters.

    53 bits of microseconds since the epoch, then a 10-bit clock id (random per
    process unless given). Without ``now_us`` the timestamps handed out by this
    process strictly increase, so two calls never return the same TID.
    """
    global _last_tid_us
    if now_us is None:
        with _tid_lock:
            now_us = max(time.time_ns() // 1000, _last_tid_us + 1)
            _last_tid_us = now_us
    if clock_id is None:
        clock_id = _CLOCK_ID
    if not 0 <= now_us < 1 << 53:
        raise ValueError(f"TID timestamp out of range: {now_us}")
    if not 0 <= clock_id < 1024:
        raise ValueError(f"TID clock id out of range: {clock_id}")
    n = (now_us << 10) | clock_id
    return "".join(_B32_SORTABLE[(n >> shift) & 31] for shift in range(60, -1, -5))


def is_tid(value: str) -> bool:
    """Whether ``value`` is syntactically a TID."""
    return (
        len(value) == 13
        and value[0] in "234567abcdefghij"
        and all(c in _B32_SORTABLE for c in value)
    )


def parse_post_uri(uri: str) -> tuple[str, str]:
    """``at://<did>/app.bsky.feed.post/<rkey>`` -> ``(did, rkey)``; ValueError otherwise."""
    prefix = "at://"
    parts = uri[len(prefix) :].split("/") if uri.startswith(prefix) else []
    if len(parts) != 3 or not parts[0] or parts[1] != POST_COLLECTION or not parts[2]:
        raise ValueError(f"not a Bluesky post URI: {uri!r}")
    return parts[0], parts[2]


_WEB_HOSTS = ("bsky.app", "www.bsky.app", "staging.bsky.app")


def parse_post_ref(ref: str) -> tuple[str, str]:
    """A post as a user writes it -> ``(actor, rkey)``, where actor is a DID or a handle.

    Accepts ``https://bsky.app/profile/<actor>/post/<rkey>`` (a query, fragment or
    trailing slash is ignored) and ``at://<actor>/app.bsky.feed.post/<rkey>``;
    ValueError for anything else. Nothing is resolved or fetched.
    """
    from urllib.parse import unquote, urlsplit

    ref = ref.strip()
    if ref.startswith("at://"):
        actor, rkey = parse_post_uri(ref)
    else:
        parts = urlsplit(ref)
        path = [unquote(p) for p in parts.path.split("/") if p]
        if (
            parts.scheme not in ("http", "https")
            or (parts.hostname or "").lower() not in _WEB_HOSTS
            or len(path) != 4
            or path[0] != "profile"
            or path[2] != "post"
        ):
            raise ValueError(
                f"not a Bluesky post: {ref!r} (expected https://bsky.app/profile/<handle>/post/<id> "
                "or at://<did>/app.bsky.feed.post/<id>)"
            )
        actor, rkey = path[1], path[3]
    actor = actor.removeprefix("@")
    if not actor.startswith("did:"):
        actor = actor.lower()
    if not actor or not re.fullmatch(r"[A-Za-z0-9._:~-]{1,512}", rkey):
        raise ValueError(f"not a Bluesky post: {ref!r}")
    return actor, rkey


def web_url(uri: str, handle_or_did: str) -> str:
    """``at://<did>/app.bsky.feed.post/<rkey>`` -> ``https://bsky.app/profile/<who>/post/<rkey>``."""
    return f"https://bsky.app/profile/{handle_or_did}/post/{parse_post_uri(uri)[1]}"


# --------------------------------------------------------------------------- sessions


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


def _read(model: str, data: Any, what: str, server: str) -> Any:
    """``data`` checked by `bluesky_answers.<model>` (imported on first use)."""
    from publisher.clients import atproto_answers as bluesky_answers

    return bluesky_answers.read(getattr(bluesky_answers, model), data, what, server)


def _xrpc_error(exc: Any) -> tuple[int | None, str, str]:
    """(status, error name, message) of an atproto request exception."""
    response = getattr(exc, "response", None)
    if response is None:
        return None, "", ""
    content = response.content
    name = getattr(content, "error", None) or ""
    message = getattr(content, "message", None) or ""
    if isinstance(content, dict):
        name, message = content.get("error", ""), content.get("message", "")
    return response.status_code, str(name), str(message)


def _now_iso() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class BlueskyAccount:
    """One Bluesky account on one PDS, used with an app password from the environment.

    ``password_env`` only names the variable the password came from, for messages.
    Nothing touches the network until a method needs it; the first such call logs in
    (once per process for this PDS and handle).
    """

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

    def __repr__(self) -> str:
        return f"BlueskyAccount(handle={self._handle!r}, pds_url={self._pds_url!r})"

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
            status, name, message = _xrpc_error(exc)
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
                _, name, _ = _xrpc_error(exc.__cause__)
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

    def _query(self, nsid: str, params: dict[str, Any], what: str) -> dict[str, Any]:
        from atproto_client.models.dot_dict import DotDict

        client = self._login().client
        with self._calling(what):
            content = client.invoke_query(nsid, params=DotDict(params)).content
        return content if isinstance(content, dict) else {}

    def _procedure(
        self, nsid: str, what: str, *, body: dict[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        import json

        client = self._login().client
        if body is not None:
            kwargs["content"] = json.dumps(body, ensure_ascii=False).encode("utf-8")
            kwargs["input_encoding"] = "application/json"
        with self._calling(what):
            content = client.invoke_procedure(nsid, **kwargs).content
        return content if isinstance(content, dict) else {}

    # ---------------------------------------------------------------- API

    def resolve_handle(self, handle: str) -> str | None:
        """The DID of ``handle`` (``com.atproto.identity.resolveHandle``), or None if unknown.

        Network and server failures raise: a mention silently left unlinked could not
        be fixed after publishing.
        """
        handle = handle.removeprefix("@").lower()
        if handle not in self._resolved:
            try:
                out = self._query(
                    "com.atproto.identity.resolveHandle", {"handle": handle}, f"resolve @{handle}"
                )
            except BlueskyError as exc:
                if exc.code != "rejected":
                    raise
                out = {}
            self._resolved[handle] = (
                _read("HandleAnswer", out, f"resolve @{handle}", self._pds_url).did if out else None
            )
        return self._resolved[handle]

    def upload_image(self, data: bytes, mime: str) -> dict[str, Any]:
        """Upload an image blob; returns its blob ref (JSON form, for an embed)."""
        _check_image(data, mime, "image")
        out = self._procedure(
            "com.atproto.repo.uploadBlob",
            f"upload image ({len(data)} bytes)",
            content=data,
            input_encoding=mime,
        )
        _read("BlobAnswer", out, "upload image", self._pds_url)
        blob: dict[str, Any] = out["blob"]
        return blob

    def create_post(
        self,
        text: str,
        *,
        rkey: str,
        images: Sequence[tuple[bytes, str, str]] = (),
        reply_to: tuple[str, str, str, str] | None = None,
        created_at: str | None = None,
        langs: Sequence[str] | None = None,
        labels: Sequence[str] = (),
        external: External | None = None,
        quote: tuple[str, str] | None = None,
    ) -> tuple[str, str]:
        """Create ``app.bsky.feed.post/<rkey>``; returns ``(uri, cid)``.

        ``images`` are ``(bytes, mime, alt)``; ``reply_to`` is ``(parent_uri,
        parent_cid, root_uri, root_cid)``; ``langs`` are BCP-47 tags (at most 3);
        ``labels`` self-labels from ``SELF_LABELS``; ``external`` a link card (its
        thumbnail is uploaded as a blob); ``quote`` the ``(uri, cid)`` of a post to
        quote (``app.bsky.embed.record``, or ``app.bsky.embed.recordWithMedia`` with
        the images or the card). Images and a card exclude each other.

        Everything checkable is checked before the first request. A record that
        already exists under ``rkey`` is never overwritten:
        ``BlueskyError(code="record_exists")``.
        """
        _check_rkey(rkey)
        check_post(text, images, langs, labels=labels, external=external, quote=quote)
        self._login()
        record: dict[str, Any] = {
            "$type": POST_COLLECTION,
            "text": text,
            "createdAt": created_at or _now_iso(),
        }
        facets = build_facets(text, self.resolve_handle)
        if facets:
            record["facets"] = facets
        if langs:
            record["langs"] = list(langs)
        if labels:
            record["labels"] = {
                "$type": "com.atproto.label.defs#selfLabels",
                "values": [{"val": v} for v in dict.fromkeys(labels)],
            }
        if reply_to is not None:
            parent_uri, parent_cid, root_uri, root_cid = reply_to
            record["reply"] = {
                "root": {"uri": root_uri, "cid": root_cid},
                "parent": {"uri": parent_uri, "cid": parent_cid},
            }
        media: dict[str, Any] | None = None
        if images:
            media = {
                "$type": "app.bsky.embed.images",
                "images": [
                    {"alt": alt, "image": self.upload_image(data, mime)}
                    for data, mime, alt in images
                ],
            }
        elif external is not None:
            card: dict[str, Any] = {
                "uri": external.uri,
                "title": external.title,
                "description": external.description,
            }
            if external.thumb is not None:
                card["thumb"] = self.upload_image(external.thumb, external.thumb_mime or "")
            media = {"$type": "app.bsky.embed.external", "external": card}
        if quote is not None:
            quoted = {
                "$type": "app.bsky.embed.record",
                "record": {"uri": quote[0], "cid": quote[1]},
            }
            record["embed"] = (
                {"$type": "app.bsky.embed.recordWithMedia", "record": quoted, "media": media}
                if media
                else quoted
            )
        elif media:
            record["embed"] = media
        return self._create_record(POST_COLLECTION, rkey, record, "post")

    def create_threadgate(
        self, post_uri: str, rkey: str, allow: ReplyRule | Sequence[ReplyRule]
    ) -> tuple[str, str] | None:
        """Say who may reply to this account's post ``post_uri``: an
        ``app.bsky.feed.threadgate`` record whose key is the post's ``rkey`` (Bluesky
        ignores a gate under any other key). Returns ``(uri, cid)``, or None for
        ``"everyone"`` (no gate is the default: nothing is created).

        ``allow``: ``"everyone"``, ``"nobody"`` (an empty allow list), or one or more
        of ``"following"``, ``"followers"``, ``"mentioned"``. A gate holds for the whole
        thread and only on its root post: gate a thread's first post, not its replies.
        """
        rules = [allow] if isinstance(allow, str) else list(allow)
        if not rules or any(r not in (*_REPLY_RULES, "everyone", "nobody") for r in rules):
            choices = ", ".join(("everyone", "nobody", *_REPLY_RULES))
            raise BlueskyError("invalid_gate", f"replies: {allow!r} is not one of {choices}")
        if len(rules) > 1 and ({"everyone", "nobody"} & set(rules)):
            raise BlueskyError(
                "invalid_gate", f"replies: {allow!r}: everyone and nobody combine with nothing"
            )
        self._check_own_post(post_uri, rkey, "threadgate")
        if rules == ["everyone"]:
            return None
        record = {
            "$type": THREADGATE_COLLECTION,
            "post": post_uri,
            "allow": [{"$type": _REPLY_RULES[r]} for r in dict.fromkeys(rules) if r != "nobody"],
            "createdAt": _now_iso(),
        }
        return self._create_record(THREADGATE_COLLECTION, rkey, record, "threadgate")

    def create_postgate(
        self, post_uri: str, rkey: str, quotes: bool = False
    ) -> tuple[str, str] | None:
        """Forbid quoting this account's post ``post_uri``: an ``app.bsky.feed.postgate``
        record (with a ``disableRule``) under the post's ``rkey``. Returns ``(uri,
        cid)``, or None when ``quotes`` is true (allowed is the default: nothing is
        created)."""
        self._check_own_post(post_uri, rkey, "postgate")
        if quotes:
            return None
        record = {
            "$type": POSTGATE_COLLECTION,
            "post": post_uri,
            "embeddingRules": [{"$type": "app.bsky.feed.postgate#disableRule"}],
            "createdAt": _now_iso(),
        }
        return self._create_record(POSTGATE_COLLECTION, rkey, record, "postgate")

    def create_repost(
        self, subject_uri: str, subject_cid: str, rkey: str, *, created_at: str | None = None
    ) -> tuple[str, str]:
        """Repost ``subject_uri`` (``app.bsky.feed.repost/<rkey>``, a TID the caller
        chose); returns ``(uri, cid)``.

        The PDS keeps one repost per subject: creating one *replaces* (deletes) any
        earlier repost of the same post, even under the same key. So that a key is
        never silently reused, a taken ``rkey`` is looked up first and refused with
        ``record_exists``.
        """
        _check_rkey(rkey)
        _check_strong_ref(subject_uri, subject_cid, "repost")
        if self.get_record(REPOST_COLLECTION, rkey) is not None:
            raise BlueskyError(
                "record_exists",
                f"a repost with record key {rkey} already exists in {self.handle}'s "
                "repository: it was not created again",
            )
        record = {
            "$type": REPOST_COLLECTION,
            "subject": {"uri": subject_uri, "cid": subject_cid},
            "createdAt": created_at or _now_iso(),
        }
        return self._create_record(REPOST_COLLECTION, rkey, record, "repost")

    def _check_own_post(self, post_uri: str, rkey: str, what: str) -> None:
        try:
            did, post_rkey = parse_post_uri(post_uri)
        except ValueError as exc:
            raise BlueskyError("invalid_gate", f"{what}: {exc}") from None
        if post_rkey != rkey:
            raise BlueskyError(
                "invalid_gate",
                f"{what}: record key {rkey!r} must be the post's own ({post_rkey!r})",
            )
        if did != self.did:
            raise BlueskyError(
                "invalid_gate", f"{what}: {post_uri} is not a post of {self.handle} ({self.did})"
            )

    def _create_record(
        self, collection: str, rkey: str, record: dict[str, Any], what: str
    ) -> tuple[str, str]:
        """``createRecord`` under ``rkey``; a key that is taken is ``record_exists``."""
        session = self._login()
        body = {"repo": session.did, "collection": collection, "rkey": rkey, "record": record}
        try:
            out = self._procedure(
                "com.atproto.repo.createRecord", f"create {what} {rkey}", body=body
            )
        except BlueskyError as exc:
            # The PDS answers a taken key with a 500 (0.4) or a 400: ask whether it is taken.
            if exc.status is not None and self._exists(collection, rkey):
                raise BlueskyError(
                    "record_exists",
                    f"a {what} with record key {rkey} already exists in {session.handle}'s "
                    "repository: it was not created again",
                    status=exc.status,
                ) from exc
            raise
        ref = _read("StrongRef", out, f"create {what} {rkey}", self._pds_url)
        return ref.uri, ref.cid

    def _exists(self, collection: str, rkey: str) -> bool:
        try:
            return self.get_record(collection, rkey) is not None
        except BlueskyError:
            return False

    def get_record(
        self, collection: str, rkey: str, *, repo: str | None = None
    ) -> dict[str, Any] | None:
        """The record ``{"uri", "cid", "value"}`` at ``collection/rkey`` in this account's
        repository (or ``repo``, a DID), or None if it does not exist.

        Failures to ask (network, 5xx, auth) raise ``BlueskyError``: "absent" is only
        ever the server's own answer.
        """
        params = {"repo": repo or self.did, "collection": collection, "rkey": rkey}
        what = f"read {collection}/{rkey}"
        try:
            out = self._query("com.atproto.repo.getRecord", params, what)
            _read("RecordAnswer", out, what, self._pds_url)
            return out
        except BlueskyError as exc:
            if exc.status == 400 and isinstance(exc.__cause__, Exception):
                _, name, _ = _xrpc_error(exc.__cause__)
                if name == "RecordNotFound":
                    return None
            raise

    def get_post(self, rkey: str, *, repo: str | None = None) -> dict[str, Any] | None:
        """The post ``{"uri", "cid", "value"}`` at ``rkey`` in this account's repository
        (or ``repo``, a DID), or None if it does not exist (``get_record`` of a post)."""
        return self.get_record(POST_COLLECTION, rkey, repo=repo)

    def resolve_post(self, ref: str) -> tuple[str, str]:
        """``(uri, cid)`` of the post ``ref`` names: a ``https://bsky.app/profile/<handle
        or did>/post/<rkey>`` URL or an ``at://`` URI, as for ``replyTo``/``quote``/
        ``repost``. A handle is resolved to its DID and the record read (``getRecord``)
        through this account's PDS.

        ``BlueskyError`` with code ``invalid_post_ref`` (not a post URL),
        ``unknown_handle`` or ``post_not_found``; transport failures as usual.
        """
        try:
            actor, rkey = parse_post_ref(ref)
        except ValueError as exc:
            raise BlueskyError("invalid_post_ref", str(exc)) from None
        did = actor if actor.startswith("did:") else self.resolve_handle(actor)
        if did is None:
            raise BlueskyError("unknown_handle", f"{ref}: no Bluesky account has handle @{actor}")
        try:
            found = self.get_post(rkey, repo=did)
        except BlueskyError as exc:
            if exc.code != "rejected":
                raise
            # A repository this PDS does not host and cannot ask an AppView about
            # ("Could not locate record"), or a DID that does not exist.
            found = None
        if found is None or not found.get("cid"):
            raise BlueskyError("post_not_found", f"{ref}: there is no such post")
        return found["uri"], found["cid"]

    def list_posts(self, limit: int = 100) -> list[dict[str, Any]]:
        """Up to ``limit`` post records of this account, newest first."""
        return self.list_records(POST_COLLECTION, limit)

    def list_records(self, collection: str, limit: int = 100) -> list[dict[str, Any]]:
        """Up to ``limit`` records of ``collection`` in this account's repository."""
        posts: list[dict[str, Any]] = []
        cursor: str | None = None
        while len(posts) < limit:
            params: dict[str, Any] = {
                "repo": self.did,
                "collection": collection,
                "limit": min(100, limit - len(posts)),
            }
            if cursor:
                params["cursor"] = cursor
            out = self._query("com.atproto.repo.listRecords", params, "list posts")
            _read("ListAnswer", out, "list records", self._pds_url)
            posts.extend(out.get("records", []))
            cursor = out.get("cursor")
            if not cursor or not out.get("records"):
                break
        return posts

    def delete_record(self, collection: str, rkey: str) -> None:
        """Delete ``collection/rkey`` from this account's repository (no error when it
        is already gone). A post's gates are records of their own: delete them too."""
        body = {"repo": self.did, "collection": collection, "rkey": rkey}
        self._procedure("com.atproto.repo.deleteRecord", f"delete {collection}/{rkey}", body=body)

    def delete_post(self, rkey: str) -> None:
        """Delete the post at ``rkey`` (no error when it is already gone)."""
        self.delete_record(POST_COLLECTION, rkey)


# --------------------------------------------------------------------------- public reads

DEFAULT_PLC = "https://plc.directory"
MAX_ANSWER_BYTES = 8 * 1024 * 1024  # of a public read (a record, a DID document)


def _get_json(url: str, params: dict[str, str] | None, what: str, timeout: float) -> Any:
    """GET ``url``; the decoded JSON, or None on a 400/404 that means "not found"."""
    import httpx

    try:
        with httpx.stream(
            "GET", url, params=params, timeout=timeout, follow_redirects=True
        ) as streamed:
            data = bytearray()
            for chunk in streamed.iter_bytes():
                data += chunk
                if len(data) > MAX_ANSWER_BYTES:  # sized before it is decoded
                    raise BlueskyError(
                        "bad_answer", f"{what}: {url} answered more than {MAX_ANSWER_BYTES:,} bytes"
                    )
        r = httpx.Response(streamed.status_code, content=bytes(data))
    except httpx.HTTPError as exc:
        raise BlueskyError(
            "network", f"{what}: cannot reach {url} ({type(exc).__name__}: {exc})", retryable=True
        ) from None
    if r.status_code in (400, 404):
        try:
            body = r.json()
        except ValueError:
            body = {}
        name = body.get("error") if isinstance(body, dict) else None
        message = str(body.get("message", "")) if isinstance(body, dict) else ""
        if r.status_code == 404 or name == "RecordNotFound" or "Could not locate" in message:
            return None
    if r.status_code >= 400:
        code = "rate_limited" if r.status_code == 429 else "server_error"
        if r.status_code < 500 and r.status_code != 429:
            code = "rejected"
        raise BlueskyError(
            code,
            f"{what}: {url} answered {r.status_code}",
            retryable=code != "rejected",
            status=r.status_code,
        )
    try:
        return r.json()
    except ValueError:
        raise BlueskyError("server_error", f"{what}: {url} did not answer JSON") from None


def read_post(uri: str, pds_url: str, *, timeout: float = 30.0) -> dict[str, Any] | None:
    """The post record ``{"uri", "cid", "value"}`` at ``uri``, read from ``pds_url`` with no
    login (``getRecord`` is public); None when the PDS says it does not exist.

    ValueError for a URI that is not an ``app.bsky.feed.post`` one; ``BlueskyError``
    when the PDS cannot be asked.
    """
    did, rkey = parse_post_uri(uri)
    params = {"repo": did, "collection": POST_COLLECTION, "rkey": rkey}
    url = f"{pds_url.rstrip('/')}/xrpc/com.atproto.repo.getRecord"
    out = _get_json(url, params, f"read {uri}", timeout)
    if out is None:
        return None
    _read("RecordAnswer", out, f"read {uri}", pds_url)
    record: dict[str, Any] = out
    return record


def read_handle(handle: str, host: str, *, timeout: float = 10.0) -> str | None:
    """The DID of ``handle`` through ``host``'s public ``resolveHandle`` (no login), or
    None when it cannot be found out (unknown, or ``host`` cannot be asked)."""
    url = f"{host.rstrip('/')}/xrpc/com.atproto.identity.resolveHandle"
    try:
        out = _get_json(url, {"handle": handle}, f"resolve @{handle}", timeout)
    except BlueskyError:
        return None
    did = out.get("did") if isinstance(out, dict) else None
    return did if isinstance(did, str) else None


def resolve_pds(did: str, *, plc_url: str = DEFAULT_PLC, timeout: float = 30.0) -> str | None:
    """The PDS that hosts ``did`` (its DID document's ``#atproto_pds`` service), or None
    when the DID is unknown. ``did:plc`` is asked of ``plc_url``, ``did:web`` of its host."""
    if did.startswith("did:plc:"):
        url = f"{plc_url.rstrip('/')}/{did}"
    elif did.startswith("did:web:"):
        url = f"https://{did.removeprefix('did:web:')}/.well-known/did.json"
    else:
        return None
    doc = _get_json(url, None, f"resolve {did}", timeout)
    for service in (doc or {}).get("service", []) if isinstance(doc, dict) else []:
        if isinstance(service, dict) and str(service.get("id", "")).endswith("#atproto_pds"):
            endpoint = service.get("serviceEndpoint")
            if isinstance(endpoint, str):
                return endpoint.rstrip("/")
    return None


# --------------------------------------------------------------------------- local checks


def _check_image(data: bytes, mime: str, label: str) -> None:
    from publisher.rules.limits import sniff_mime

    if mime not in IMAGE_MIMES:
        allowed = ", ".join(sorted(IMAGE_MIMES))
        raise BlueskyError("image_type", f"{label}: {mime} is not accepted (use {allowed})")
    actual = sniff_mime(data[:16])
    if actual != mime:
        raise BlueskyError(
            "image_type", f"{label}: declared {mime} but the bytes are {actual or 'not an image'}"
        )
    if len(data) > MAX_IMAGE_BYTES:
        raise BlueskyError(
            "image_too_large",
            f"{label}: {len(data):,} bytes; Bluesky accepts at most {MAX_IMAGE_BYTES:,}",
        )


def _check_rkey(rkey: str) -> None:
    if not is_tid(rkey):
        raise BlueskyError("invalid_rkey", f"record key {rkey!r} is not a TID")


def _check_strong_ref(uri: str, cid: str, what: str) -> None:
    try:
        parse_post_uri(uri)
    except ValueError as exc:
        raise BlueskyError("invalid_post_ref", f"{what}: {exc}") from None
    if not cid:
        raise BlueskyError("invalid_post_ref", f"{what}: {uri} has no cid")


def check_post(
    text: str,
    images: Sequence[tuple[bytes, str, str]] = (),
    langs: Sequence[str] | None = None,
    *,
    labels: Sequence[str] = (),
    external: External | None = None,
    quote: tuple[str, str] | None = None,
) -> None:
    """Refuse (``BlueskyError``) what Bluesky would refuse, with no request: text length,
    image count, type, size and alt text, languages, self-labels, the link card (its
    thumbnail like an image) and the quoted post's reference. ``images`` are ``(bytes,
    mime, alt)``."""
    from publisher.rules.limits import graphemes

    count = graphemes(text)
    if count > MAX_GRAPHEMES:
        raise BlueskyError(
            "text_too_long",
            f"post text is {count} graphemes; Bluesky allows at most {MAX_GRAPHEMES}",
        )
    size = len(text.encode("utf-8"))
    if size > MAX_TEXT_BYTES:
        raise BlueskyError(
            "text_too_long", f"post text is {size} bytes; Bluesky allows at most {MAX_TEXT_BYTES}"
        )
    if len(images) > MAX_IMAGES:
        raise BlueskyError(
            "too_many_images", f"{len(images)} images; Bluesky allows at most {MAX_IMAGES}"
        )
    for i, (data, mime, alt) in enumerate(images, 1):
        _check_image(data, mime, f"image {i}")
        if graphemes(alt) > MAX_ALT_GRAPHEMES:
            raise BlueskyError(
                "alt_too_long",
                f"image {i}: alt text is {graphemes(alt)} graphemes; at most {MAX_ALT_GRAPHEMES}",
            )
    if langs is not None:
        if len(langs) > MAX_LANGS:
            raise BlueskyError("invalid_langs", f"{len(langs)} languages; at most {MAX_LANGS}")
        for lang in langs:
            if not is_lang(lang):
                raise BlueskyError(
                    "invalid_langs", f"{lang!r} is not a language tag (BCP 47, like en or pt-BR)"
                )
    for label in labels or ():
        if label not in SELF_LABELS:
            allowed = ", ".join(sorted(SELF_LABELS))
            raise BlueskyError("invalid_label", f"label {label!r} is not one of {allowed}")
    if external is not None:
        if images:
            raise BlueskyError(
                "invalid_embed", "a post with images cannot have a link card as well"
            )
        from urllib.parse import urlsplit

        if urlsplit(external.uri).scheme not in ("http", "https"):
            raise BlueskyError(
                "invalid_embed", f"link card: {external.uri!r} is not an http(s) URL"
            )
        if graphemes(external.title) > MAX_CARD_TITLE:
            raise BlueskyError("invalid_embed", f"link card: title longer than {MAX_CARD_TITLE}")
        if graphemes(external.description) > MAX_CARD_DESCRIPTION:
            raise BlueskyError(
                "invalid_embed", f"link card: description longer than {MAX_CARD_DESCRIPTION}"
            )
        if external.thumb is not None:
            _check_image(external.thumb, external.thumb_mime or "", "link card image")
    if quote is not None:
        _check_strong_ref(quote[0], quote[1], "quote")
