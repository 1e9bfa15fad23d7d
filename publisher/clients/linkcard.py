"""Link cards for direct Bluesky posts: which link a post's card shows, and the card
itself (title, description, thumbnail) read from the page.

A card is a nicety: nothing here may fail a post. ``fetch_card`` never raises for
anything the page or the network does; it returns ``CardResult(card, warnings)``,
where ``card`` is None when there is no card to show and ``warnings`` say why (or
why the card has no image).

Every fetch goes through `publisher.clients.fetch` and is bounded: one deadline for the
whole card (``timeout`` seconds, waited for in a helper thread so that not even a
hanging DNS lookup holds the caller longer), a byte cap on what is read (the HTML
prefix up to the cap is used; an image over its cap is dropped), a cap on redirects,
``http``/``https`` only (for every redirect too), no loopback, private, link-local or
multicast address (the page, every redirect and the image; ``PUBLISHER_FETCH_ALLOW``
and ``fetch_allow`` list exceptions), and only HTML pages and image responses are read. A thumbnail larger
than Bluesky's blob limit (1,000,000 bytes) or of a type Bluesky does not take is
re-encoded as JPEG (quality steps, then smaller sizes) until it fits.

``httpx``, ``PIL`` and ``regex`` are imported inside functions.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import TYPE_CHECKING, NamedTuple

from publisher.errors import PublisherError

if TYPE_CHECKING:
    from publisher.clients.atproto import External
    from publisher.clients.atproto.facets import Facet

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_HTML_BYTES",
    "MAX_IMAGE_FETCH_BYTES",
    "MAX_REDIRECTS",
    "MAX_THUMB_BYTES",
    "Card",
    "CardResult",
    "fetch_card",
    "fit_image",
    "pick_link",
]

DEFAULT_TIMEOUT = 5.0
MAX_HTML_BYTES = 512_000
MAX_IMAGE_FETCH_BYTES = 10_000_000
MAX_REDIRECTS = 5
MAX_THUMB_BYTES = 1_000_000  # Bluesky's limit for an image blob
MAX_THUMB_SIDE = 2000  # a re-encoded thumbnail is scaled to at most this many pixels a side
MAX_PIXELS = 50_000_000  # images with more pixels are not decoded (decompression bombs)
MAX_TITLE = 300  # graphemes
MAX_DESCRIPTION = 1000
USER_AGENT = "Mozilla/5.0 (compatible; publisher link cards)"

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_JPEG_QUALITIES = (85, 75, 65, 50, 40)
_PIL_MIMES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}


class CardError(PublisherError):
    """Why a page or its image gave no card (the text is a warning for the user)."""


@dataclass(frozen=True)
class Card:
    """A link card. ``url`` is the link as the post has it (the card's target);
    ``final_url`` where the redirects ended. ``image`` fits in a Bluesky blob."""

    url: str
    final_url: str
    title: str
    description: str
    image: bytes | None = None
    image_mime: str | None = None
    image_url: str | None = None

    def external(self) -> External:
        """The card as ``bluesky.External``, for ``BlueskyAccount.create_post(external=)``."""
        from publisher.clients.atproto import External

        return External(self.url, self.title, self.description, self.image, self.image_mime)


class CardResult(NamedTuple):
    """``card`` (None when there is none to show) and the warnings for the user."""

    card: Card | None
    warnings: tuple[str, ...] = ()


# --------------------------------------------------------------------------- which link


def pick_link(
    text: str,
    facets: Sequence[Facet] | None = None,
    *,
    card: bool | str | None = None,
    has_media: bool = False,
) -> str | None:
    """The URL a post's link card shows, or None for no card.

    ``card`` is the post's ``card`` setting: None (not set) or True means the first
    http(s) link of ``text`` (as ``facets`` from ``bluesky.build_facets`` find it; they
    are computed when not given), but no card when the post has media; False means
    none; a string is an explicit URL. ValueError for an explicit URL that is not
    http(s) with a host, or together with media (Bluesky shows one or the other).
    """
    from urllib.parse import urlsplit

    if card is False:
        return None
    if isinstance(card, str):
        parts = urlsplit(card.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(f"card: {card!r} is not an http(s) URL")
        if has_media:
            raise ValueError("card: a post with images or video cannot show a link card too")
        return card.strip()
    if has_media:
        return None
    if facets is None:
        from publisher.clients.atproto import build_facets

        facets = build_facets(text, lambda _handle: None)
    for facet in facets:
        for feature in facet.get("features", ()):
            uri = feature.get("uri")
            if (
                feature.get("$type") == "app.bsky.richtext.facet#link"
                and isinstance(uri, str)
                and urlsplit(uri).scheme.lower() in ("http", "https")
            ):
                return uri
    return None


# --------------------------------------------------------------------------- the card


def fetch_card(
    url: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_html_bytes: int = MAX_HTML_BYTES,
    max_image_bytes: int = MAX_IMAGE_FETCH_BYTES,
    max_redirects: int = MAX_REDIRECTS,
    with_image: bool = True,
) -> CardResult:
    """Read the page at ``url`` and make its card: ``og:title``, ``og:description`` and
    ``og:image`` (else ``twitter:*``, ``<title>``, ``<meta name=description>``; a
    relative image URL is resolved against the page's final URL).

    The page and its image share one deadline of ``timeout`` seconds. Never raises
    for what the network or the page does: a page that gives no card is
    ``CardResult(None, (reason,))``; an image that cannot be used leaves a card
    without image, with a warning.
    """
    from urllib.parse import urljoin

    deadline = time.monotonic() + timeout
    label = f"link card for {url}"
    try:
        _check_scheme(url)
        page = _get(url, deadline, max_html_bytes, max_redirects, _is_html, partial=True)
        meta = _parse_html(page.body, page.charset)
    except CardError as exc:
        return CardResult(None, (f"{label}: {exc}",))
    except Exception as exc:  # never fail a post because of a card
        return CardResult(None, (f"{label}: {type(exc).__name__}: {exc}",))

    title = _clean(meta.first("og:title", "twitter:title") or meta.title, MAX_TITLE)
    description = _clean(
        meta.first("og:description", "twitter:description", "description"), MAX_DESCRIPTION
    )
    if not title:
        return CardResult(None, (f"{label}: the page has no title (og:title or <title>)",))
    card = Card(url=url, final_url=page.url, title=title, description=description)
    image_ref = meta.first(
        "og:image", "og:image:url", "og:image:secure_url", "twitter:image", "twitter:image:src"
    )
    if not (with_image and image_ref):
        return CardResult(card)
    image_url = urljoin(urljoin(page.url, meta.base or ""), image_ref.strip())
    try:
        _check_scheme(image_url)
        got = _get(image_url, deadline, max_image_bytes, max_redirects, _is_image)
        image, image_mime = fit_image(got.body, got.mime)
    except CardError as exc:
        return CardResult(card, (f"{label}: no image: {image_url}: {exc}",))
    except Exception as exc:
        return CardResult(card, (f"{label}: no image: {image_url}: {type(exc).__name__}: {exc}",))
    card = Card(url, page.url, title, description, image, image_mime, got.url)
    return CardResult(card)


def fit_image(
    data: bytes, mime: str | None = None, *, limit: int = MAX_THUMB_BYTES
) -> tuple[bytes, str]:
    """``(bytes, mime)`` of an image Bluesky takes as a blob: ``data`` itself when it is
    a JPEG, PNG, GIF or WebP of at most ``limit`` bytes that decodes, else a JPEG
    re-encoded at decreasing quality and size until it fits. ``mime`` (what the server
    said) is only a hint: the bytes decide. CardError when it cannot be decoded or
    made to fit."""
    import io
    import warnings

    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img: Image.Image = Image.open(io.BytesIO(data))
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise CardError(f"{width}x{height} pixels is too many to decode")
            img.load()
    except CardError:
        raise
    except Exception as exc:
        raise CardError(f"the image cannot be decoded ({mime or 'no type'})") from exc
    actual = _PIL_MIMES.get(img.format or "")
    if actual is not None and len(data) <= limit:
        return data, actual

    img = ImageOps.exif_transpose(img)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        img = flat
    else:
        img = img.convert("RGB")
    img.thumbnail((MAX_THUMB_SIDE, MAX_THUMB_SIDE), Image.Resampling.LANCZOS)
    while True:
        for quality in _JPEG_QUALITIES:
            out = io.BytesIO()
            img.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
            if out.tell() <= limit:
                return out.getvalue(), "image/jpeg"
        w, h = img.size
        if min(w, h) < 64:
            raise CardError(f"cannot be made smaller than {limit:,} bytes")
        img = img.resize((max(1, w * 3 // 4), max(1, h * 3 // 4)), Image.Resampling.LANCZOS)


# --------------------------------------------------------------------------- fetching


def _check_scheme(url: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise CardError(f"{url[:200]!r} is not an http(s) URL")


def _is_html(mime: str) -> bool:
    return mime in _HTML_TYPES


def _is_image(mime: str) -> bool:
    return mime.startswith("image/")


class _Fetched(NamedTuple):
    url: str  # after redirects
    body: bytes
    mime: str
    charset: str


def _get(
    url: str,
    deadline: float,
    max_bytes: int,
    max_redirects: int,
    accept: Callable[[str], bool],
    *,
    partial: bool = False,
) -> _Fetched:
    """GET ``url`` through `publisher.clients.fetch` (no internal addresses, every redirect
    checked), accepting only a 200 whose media type passes ``accept``."""
    from publisher.clients.fetch import FetchError, fetch

    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise CardError("timed out")
    try:
        got = fetch(
            url,
            max_bytes,
            remaining,
            accept,
            partial=partial,
            max_redirects=max_redirects,
            headers={"User-Agent": USER_AGENT},
        )
    except FetchError as exc:
        raise CardError(str(exc)) from None
    return _Fetched(got.final_url, got.body, got.mime, got.charset)


# --------------------------------------------------------------------------- parsing


class _Meta(HTMLParser):
    """The first value of each ``<meta property|name=...>``, the first ``<title>``
    (outside ``<svg>``) and ``<base href>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title: str = ""
        self.base: str | None = None
        self._in_title = False
        self._title_done = False
        self._svg = 0

    def first(self, *keys: str) -> str:
        for key in keys:
            value = self.meta.get(key, "").strip()
            if value:
                return value
        return ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): v or "" for k, v in attrs}
        if tag == "meta":
            key = (a.get("property") or a.get("name") or "").strip().lower()
            if key and "content" in a:
                self.meta.setdefault(key, a["content"])
        elif tag == "title" and not self._svg and not self._title_done:
            self._in_title = True
        elif tag == "base" and self.base is None and a.get("href"):
            self.base = a["href"].strip()
        elif tag == "svg":
            self._svg += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title = False
            self._title_done = True
        elif tag == "svg" and self._svg:
            self._svg -= 1

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)


def _parse_html(body: bytes, charset: str) -> _Meta:
    import codecs

    if body.startswith(codecs.BOM_UTF8):
        charset = "utf-8-sig"
    if not charset:
        m = _META_CHARSET.search(body[:4096])
        charset = m.group(1).decode("ascii") if m else "utf-8"
    try:
        text = body.decode(charset, errors="replace")
    except LookupError:
        text = body.decode("utf-8", errors="replace")
    parser = _Meta()
    parser.feed(text)
    parser.close()
    return parser


def _clean(value: str, max_graphemes: int) -> str:
    """Whitespace collapsed, cut to ``max_graphemes`` (with an ellipsis)."""
    import regex

    value = " ".join(value.split())
    clusters = regex.findall(r"\X", value)
    if len(clusters) <= max_graphemes:
        return value
    return "".join(clusters[: max_graphemes - 1]).rstrip() + "…"
