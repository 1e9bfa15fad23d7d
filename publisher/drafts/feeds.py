"""What a feed says: its entries, each with an id, a link, a title, a plain-text
summary and a date. RSS and Atom are read with ``feedparser`` (imported only here);
JSON Feed (1.0 and 1.1), which the released feedparser does not read, is a small
typed reader of its own. A body that is no feed at all is a ``FeedError``; an entry
with neither id nor link is skipped (nothing could tell it apart next time).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin

__all__ = ["Entry", "Feed", "FeedError", "html_to_text", "parse_feed"]

_BLOCKS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"}
    | {"tr", "table", "section", "article", "header", "footer", "figure", "hr"}
)
_SKIP = frozenset({"script", "style", "head", "template", "svg", "noscript"})
# Controls other than tab and newline (C0, DEL, C1), and the thread separator line.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


class FeedError(Exception):
    """The body is not a feed publisher can read (a sentence for the user)."""


MAX_TITLE = 500  # characters kept of a title
MAX_SUMMARY = 20_000  # characters kept of a summary (it is fitted to the targets later)


@dataclass(frozen=True)
class Entry:
    id: str
    url: str | None
    title: str
    summary: str  # plain text, paragraphs separated by blank lines
    published: dt.datetime | None  # aware, UTC
    author: str = ""


@dataclass(frozen=True)
class Feed:
    title: str
    link: str | None
    entries: tuple[Entry, ...]
    kind: str  # rss | atom | json


# --------------------------------------------------------------------------- text


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
        elif tag in _BLOCKS:
            self.out.append("\n\n" if tag != "br" else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP and self._skip:
            self._skip -= 1
        elif tag in _BLOCKS:
            self.out.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.out.append(data)


def clean_text(text: str) -> str:
    """Paragraphs with their whitespace collapsed, separated by one blank line; no
    control characters, no paragraph that is only dashes (it would split a thread)."""
    text = _CONTROLS.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        line = " ".join(block.split())
        if line and not re.fullmatch(r"[-\s]*", line):
            paragraphs.append(line)
    return "\n\n".join(paragraphs)


def html_to_text(html: str) -> str:
    """The readable text of an HTML fragment (tags dropped, entities decoded)."""
    parser = _Text()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # HTMLParser is lenient; never fail a feed on its summary
        return clean_text(re.sub(r"<[^>]*>", " ", html))
    return clean_text("".join(parser.out))


def one_line(text: str) -> str:
    return " ".join(_CONTROLS.sub(" ", text).split())


def _http_url(value: object) -> str | None:
    if isinstance(value, str) and re.match(r"^https?://\S+$", value.strip(), re.IGNORECASE):
        return value.strip()
    return None


# --------------------------------------------------------------------------- parsing


def parse_feed(body: bytes, content_type: str = "", url: str = "") -> Feed:
    """The feed in ``body``: JSON Feed when it looks like JSON, else RSS or Atom."""
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head in (b"{", b"[") or "json" in content_type:
        return _json_feed(body)
    return _xml_feed(body, content_type, url)


def _xml_feed(body: bytes, content_type: str, url: str) -> Feed:
    import feedparser  # type: ignore[import-untyped]

    # No base URL is given: feedparser would resolve a relative id against it, and an
    # id is compared as written. Relative links are resolved here instead.
    headers = {"content-type": content_type} if content_type else {}
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False)
    version = str(parsed.get("version") or "")
    if not version:
        why = parsed.get("bozo_exception")
        detail = f": {str(why)[:120]}" if why else ""
        raise FeedError(f"not an RSS, Atom or JSON feed{detail}")
    kind = "atom" if version.startswith("atom") else "rss"
    entries = [e for e in (_xml_entry(item, url) for item in parsed.entries) if e is not None]
    feed = parsed.get("feed", {})
    return Feed(
        one_line(str(feed.get("title") or "")), _http_url(feed.get("link")), tuple(entries), kind
    )


def _xml_entry(item: Mapping[str, object], url: str) -> Entry | None:
    """One RSS item or Atom entry as feedparser read it; None when it has neither an
    id, a link, a title nor a text."""
    raw_link = item.get("link")
    if isinstance(raw_link, str) and raw_link.strip() and url:
        raw_link = urljoin(url, raw_link.strip())
    link = _http_url(raw_link)
    title = one_line(str(item.get("title") or ""))
    raw_id = str(item.get("id") or "").strip() or link
    summary_html = _xml_summary(item)
    if not raw_id:
        if not (title or summary_html):
            return None
        raw_id = "sha256:" + hashlib.sha256((title + summary_html).encode()).hexdigest()[:32]
    moment = item.get("published_parsed") or item.get("updated_parsed")
    published = None
    if isinstance(moment, tuple):  # a time.struct_time, in UTC
        year, month, day, hour, minute, second = moment[:6]
        published = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
    return Entry(
        id=raw_id[:1000],
        url=link,
        title=title[:MAX_TITLE],
        summary=html_to_text(summary_html[: MAX_SUMMARY * 4])[:MAX_SUMMARY],
        published=published,
        author=one_line(str(item.get("author") or "")),
    )


def _xml_summary(item: Mapping[str, object]) -> str:
    """The item's summary, else its first content, as HTML."""
    if item.get("summary"):
        return str(item["summary"])
    content = item.get("content")
    if isinstance(content, list) and content and isinstance(content[0], Mapping):
        return str(content[0].get("value") or "")
    return ""


def _json_feed(body: bytes) -> Feed:
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FeedError(f"not a JSON feed: {str(exc)[:120]}") from None
    if not (
        isinstance(data, dict)
        and isinstance(data.get("version"), str)
        and data["version"].startswith("https://jsonfeed.org/version/")
        and isinstance(data.get("items"), list)
    ):
        raise FeedError("not a JSON feed (no jsonfeed.org version and items list)")
    entries = [e for e in (_json_entry(item) for item in data["items"]) if e is not None]
    return Feed(
        one_line(_str(data.get("title"))),
        _http_url(data.get("home_page_url")),
        tuple(entries),
        "json",
    )


def _json_entry(item: object) -> Entry | None:
    """One item of a JSON Feed; None when it is no object or has neither id nor link."""
    if not isinstance(item, dict):
        return None
    link = _http_url(item.get("url")) or _http_url(item.get("external_url"))
    raw = item.get("id")
    raw_id = str(raw).strip() if isinstance(raw, str | int) and str(raw).strip() else link
    if not raw_id:
        return None
    summary = _str(item.get("summary"))
    if summary:
        summary = clean_text(summary)
    elif item.get("content_html"):
        summary = html_to_text(_str(item.get("content_html"))[: MAX_SUMMARY * 4])
    else:
        summary = clean_text(_str(item.get("content_text")))
    author = item.get("authors") or ([item["author"]] if item.get("author") else [])
    names = [one_line(_str(a.get("name"))) for a in author if isinstance(a, dict)]
    return Entry(
        id=raw_id[:1000],
        url=link,
        title=one_line(_str(item.get("title")))[:MAX_TITLE],
        summary=summary[:MAX_SUMMARY],
        published=_moment(item.get("date_published") or item.get("date_modified")),
        author=", ".join(n for n in names if n),
    )


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _moment(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
