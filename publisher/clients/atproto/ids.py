"""Names in atproto: record collections, TIDs (the record keys this client makes),
post URIs (``at://``) and the ``bsky.app`` web URLs people paste. Pure: nothing is
resolved or fetched."""

from __future__ import annotations

import random
import re
import threading
import time

__all__ = [
    "DEFAULT_PDS",
    "POSTGATE_COLLECTION",
    "POST_COLLECTION",
    "REPOST_COLLECTION",
    "THREADGATE_COLLECTION",
    "is_tid",
    "new_tid",
    "parse_post_ref",
    "parse_post_uri",
    "web_url",
]

DEFAULT_PDS = "https://bsky.social"
POST_COLLECTION = "app.bsky.feed.post"
THREADGATE_COLLECTION = "app.bsky.feed.threadgate"
POSTGATE_COLLECTION = "app.bsky.feed.postgate"
REPOST_COLLECTION = "app.bsky.feed.repost"


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
