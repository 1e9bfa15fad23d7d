"""What Bluesky would refuse, refused before any request: text length, images (count,
type by their bytes, size, alt text), languages, self-labels, the link card and the
references to other posts. The numbers are the platform registry's, so a direct
account and letmepost agree."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, TypeVar

from publisher.clients.atproto.errors import BlueskyError
from publisher.clients.atproto.ids import is_tid, parse_post_uri
from publisher.rules import platforms as _platforms
from publisher.rules.bluesky import MAX_LANGS, SELF_LABELS, is_lang

__all__ = [
    "IMAGE_MIMES",
    "MAX_ALT_GRAPHEMES",
    "MAX_CARD_DESCRIPTION",
    "MAX_CARD_TITLE",
    "MAX_GRAPHEMES",
    "MAX_IMAGES",
    "MAX_IMAGE_BYTES",
    "MAX_TEXT_BYTES",
    "External",
    "check_image",
    "check_post",
    "check_rkey",
    "check_strong_ref",
]

# Bluesky's limits are the registry's (which the rules in rules/limits/ check), so a direct
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


class External(NamedTuple):
    """A link card (``app.bsky.embed.external``): the page's URL, title, description and,
    optionally, a thumbnail image (bytes and their media type, at most 1,000,000 bytes)."""

    uri: str
    title: str
    description: str = ""
    thumb: bytes | None = None
    thumb_mime: str | None = None


def check_image(data: bytes, mime: str, label: str) -> None:
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


def check_rkey(rkey: str) -> None:
    if not is_tid(rkey):
        raise BlueskyError("invalid_rkey", f"record key {rkey!r} is not a TID")


def check_strong_ref(uri: str, cid: str, what: str) -> None:
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
        check_image(data, mime, f"image {i}")
        if graphemes(alt) > MAX_ALT_GRAPHEMES:
            raise BlueskyError(
                "alt_too_long",
                f"image {i}: alt text is {graphemes(alt)} graphemes; at most {MAX_ALT_GRAPHEMES}",
            )
    if langs is not None:
        _check_langs(langs)
    for label in labels or ():
        if label not in SELF_LABELS:
            allowed = ", ".join(sorted(SELF_LABELS))
            raise BlueskyError("invalid_label", f"label {label!r} is not one of {allowed}")
    if external is not None:
        if images:
            raise BlueskyError(
                "invalid_embed", "a post with images cannot have a link card as well"
            )
        _check_card(external)
    if quote is not None:
        check_strong_ref(quote[0], quote[1], "quote")


def _check_langs(langs: Sequence[str]) -> None:
    if len(langs) > MAX_LANGS:
        raise BlueskyError("invalid_langs", f"{len(langs)} languages; at most {MAX_LANGS}")
    for lang in langs:
        if not is_lang(lang):
            raise BlueskyError(
                "invalid_langs", f"{lang!r} is not a language tag (BCP 47, like en or pt-BR)"
            )


def _check_card(external: External) -> None:
    from urllib.parse import urlsplit

    from publisher.rules.limits import graphemes

    if urlsplit(external.uri).scheme not in ("http", "https"):
        raise BlueskyError("invalid_embed", f"link card: {external.uri!r} is not an http(s) URL")
    if graphemes(external.title) > MAX_CARD_TITLE:
        raise BlueskyError("invalid_embed", f"link card: title longer than {MAX_CARD_TITLE}")
    if graphemes(external.description) > MAX_CARD_DESCRIPTION:
        raise BlueskyError(
            "invalid_embed", f"link card: description longer than {MAX_CARD_DESCRIPTION}"
        )
    if external.thumb is not None:
        check_image(external.thumb, external.thumb_mime or "", "link card image")
