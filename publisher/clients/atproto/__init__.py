"""Direct Bluesky (atproto) client: facets, TIDs, image blobs and post records on any PDS.

This package is a library; the publish pipeline decides *when* to call it. What it
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

``atproto`` (and ``regex``) are imported inside functions: importing this package
costs a few milliseconds.

Its modules, each a concern: `errors` (`BlueskyError`), `ids` (collections, TIDs, post
URIs and URLs), `facets` (rich text), `checks` (what Bluesky would refuse, refused
locally), `session` (login and calls), `account` (`BlueskyAccount`: records written and
read), `public` (reads with no login: a post, a handle, a DID's PDS).
"""

from __future__ import annotations

from publisher.clients.atproto.account import BlueskyAccount, ReplyRule
from publisher.clients.atproto.checks import (
    IMAGE_MIMES,
    MAX_ALT_GRAPHEMES,
    MAX_GRAPHEMES,
    MAX_IMAGE_BYTES,
    MAX_IMAGES,
    External,
    check_post,
)
from publisher.clients.atproto.errors import BlueskyError
from publisher.clients.atproto.facets import build_facets
from publisher.clients.atproto.ids import (
    DEFAULT_PDS,
    POST_COLLECTION,
    POSTGATE_COLLECTION,
    REPOST_COLLECTION,
    THREADGATE_COLLECTION,
    is_tid,
    new_tid,
    parse_post_ref,
    parse_post_uri,
    web_url,
)
from publisher.clients.atproto.public import DEFAULT_PLC, read_handle, read_post, resolve_pds
from publisher.clients.atproto.session import clear_sessions
from publisher.rules.bluesky import SELF_LABELS, is_lang

__all__ = [
    "DEFAULT_PDS",
    "DEFAULT_PLC",
    "IMAGE_MIMES",
    "MAX_ALT_GRAPHEMES",
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
