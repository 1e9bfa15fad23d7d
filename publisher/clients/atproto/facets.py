"""Rich-text facets (``app.bsky.richtext.facet``): the links, mentions and hashtags of a
post's text, found as Bluesky's own client finds them, with UTF-8 byte offsets."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple, Required, TypedDict

if TYPE_CHECKING:
    import regex

__all__ = ["FACET_LINK", "FACET_MENTION", "FACET_TAG", "Facet", "Feature", "build_facets"]

FACET_LINK = "app.bsky.richtext.facet#link"
FACET_MENTION = "app.bsky.richtext.facet#mention"
FACET_TAG = "app.bsky.richtext.facet#tag"
_TAG_MAX_UTF16 = 64

# "$type" is not a Python name: these are written in the functional form.
Feature = TypedDict(
    "Feature", {"$type": Required[str], "uri": str, "did": str, "tag": str}, total=False
)
"""One feature of a facet: a link (``uri``), a mention (``did``) or a tag (``tag``)."""


class ByteSlice(TypedDict):
    byteStart: int
    byteEnd: int


Facet = TypedDict("Facet", {"$type": str, "index": ByteSlice, "features": list[Feature]})


class _Patterns(NamedTuple):
    mention: re.Pattern[str]
    url: re.Pattern[str]
    handle: re.Pattern[str]
    tag: regex.Pattern[str]
    trailing: regex.Pattern[str]


@functools.cache
def _patterns() -> _Patterns:
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
    return _Patterns(mention, url, handle, tag, trailing)


def _utf16_len(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def build_facets(text: str, resolve_handle: Callable[[str], str | None]) -> list[Facet]:
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
    spans: list[tuple[int, int, Feature]] = []

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

    for found in tag_re.finditer(text):
        tag = found.group(2)
        if not tag:
            continue
        tag = trailing_re.sub("", tag.strip())
        if not tag or _utf16_len(tag) > _TAG_MAX_UTF16:
            continue
        start = found.start(0) + len(found.group(1))
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
