"""One bounded, polite request per feed, through ``netfetch`` (the one safe fetch):
conditional (the ETag and Last-Modified of the last run), at most ``MAX_FEED_BYTES``
in ``FEED_TIMEOUT`` seconds, and under the same address rules as link cards: a feed
on a loopback, private or link-local address is read only when
``PUBLISHER_FETCH_ALLOW`` or ``fetch_allow`` in publisher.toml allows it.

``fetch_feed(url, etag=, last_modified=)`` returns a ``FeedAnswer`` (a 200 with its
body, or ``not_modified`` for a 304) or raises ``FeedFetchError`` (a sentence for the
user, without the feed's URL, which the caller shows once).
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

from publisher.clients.fetch import FetchError

__all__ = [
    "FEED_TIMEOUT",
    "MAX_FEED_BYTES",
    "FeedAnswer",
    "FeedFetchError",
    "check_feed_url",
    "fetch_feed",
    "shown_url",
]

MAX_FEED_BYTES = 5_000_000
FEED_TIMEOUT = 15.0
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/json;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
)
FeedFetchError = FetchError


class FeedAnswer(NamedTuple):
    final_url: str
    not_modified: bool
    body: bytes
    content_type: str
    etag: str | None
    last_modified: str | None


def shown_url(url: str) -> str:
    """``url`` as it may be printed or written: no user info, no query (a private
    feed's token), no fragment, at most 200 characters."""
    try:
        p = urlsplit(url)
        port = f":{p.port}" if p.port else ""
        shown = urlunsplit((p.scheme, (p.hostname or "") + port, p.path, "", ""))
    except ValueError:
        shown = "(an invalid URL)"
    return shown if len(shown) <= 200 else shown[:199] + "…"


def check_feed_url(url: str) -> str | None:
    """Why ``url`` cannot be a feed's address, or None."""
    try:
        p = urlsplit(url)
        p.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return f"{shown_url(url)} is not a valid URL"
    if p.scheme.lower() not in ("http", "https") or not p.hostname:
        return f"{shown_url(url)!r} is not an http(s) URL"
    if p.username is not None or p.password is not None:
        return f"{shown_url(url)}: a URL with a user name or password is not read"
    return None


def fetch_feed(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int = MAX_FEED_BYTES,
    timeout: float = FEED_TIMEOUT,
) -> FeedAnswer:
    """GET ``url`` once, conditionally when ``etag`` or ``last_modified`` is known."""
    from publisher.clients.fetch import NotModified, fetch

    headers = {"Accept": ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    why = check_feed_url(url)
    if why:
        raise FeedFetchError(why)
    try:
        got = fetch(url, max_bytes, timeout, headers=headers)
    except NotModified as exc:
        etag = exc.headers.get("etag") or etag
        modified = exc.headers.get("last-modified") or last_modified
        return FeedAnswer(url, True, b"", "", etag, modified)
    except FetchError as exc:
        text, shown = str(exc), shown_url(url)
        if text.startswith(shown + " "):  # the caller names the feed once
            text = text[len(shown) + 1 :]
        raise FeedFetchError(text) from None
    ctype = got.headers.get("content-type", "").split(";")[0].strip().lower()
    return FeedAnswer(
        got.final_url,
        False,
        got.body,
        ctype,
        got.headers.get("etag") or None,
        got.headers.get("last-modified") or None,
    )
