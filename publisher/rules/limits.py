"""Every per-platform rule of the letmepost API, reported with the API's own rule ids.

The source is letmepost-api.md section 6 (local preflight limits) plus the option
shapes and scheduling rules of section 1; where that document gives no rule id,
the ids below were read in the server's preflight code (fork Verkan39/letmepost.dev,
``platforms/*/preflight.ts``), and the few ids marked ``# local id`` are ours and
follow the same ``<platform>.<surface>.<check>`` pattern.

A library, shared by the CLI (validate / plan / watch previews) and the local
sandbox server: pure, no I/O. Each :class:`Finding` carries a ``stage``:

* ``"cheap"``: the server checks it atomically before storing anything; any failure
  rejects the whole batch with HTTP 400 (``preflight_failed`` or ``validation_failed``).
* ``"deep"``: the server checks it per target while publishing (mime, byte sizes,
  board, ...); a failure rejects that target inside the 200 envelope.

Findings with ``api=False`` are publisher's own advice: the server does not report
them (it silently drops the field, or the limit is the platform's, not letmepost's).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import regex

from publisher.rules import platforms as _platforms

__all__ = [
    "MAX_TARGETS",
    "PLATFORMS",
    "RULES",
    "SCHEMA_RULES",
    "Content",
    "Finding",
    "Length",
    "Media",
    "check",
    "check_target_count",
    "fits",
    "graphemes",
    "is_blank",
    "kind_of_mime",
    "letmepost_x_length",
    "measure",
    "media_limits",
    "mime_from_extension",
    "sniff_mime",
    "text_limit",
    "utf8_length",
    "utf16_length",
    "x_weighted_length",
]

PLATFORMS = _platforms.PLATFORMS
MAX_TARGETS = 25

#: Every rule id :func:`check` and :func:`check_target_count` can report.
RULES: frozenset[str] = frozenset(
    {
        # request shape (section 1)
        "targets.required",
        "targets.max",
        "targets.text.required",
        "targets.options.platform_mismatch",
        "targets.options.platform_required",  # local id (zod: discriminator missing)
        "targets.options.unknown_key",  # local id (zod strips unknown keys silently)
        "targets.options.invalid",  # local id (zod: wrong type / empty string)
        "scheduledAt.no_first_comment",
        "scheduledAt.no_bluesky_reply",
        "first_comment.ignored",  # local id, warning
        "media.bytes_inline_unsupported",
        # bluesky
        "bluesky.text.non_empty",
        "bluesky.text.max_graphemes",
        "bluesky.text.max_bytes",  # local id (the PDS's lexicon: 3000 UTF-8 bytes)
        "bluesky.media.count_max",
        "bluesky.media.image_video_exclusive",
        "bluesky.media.alt_text_max_graphemes",
        "bluesky.media.mime_allowed",
        "bluesky.media.image_size_max",
        "bluesky.media.video_size_max",
        "bluesky.first_comment.non_empty",
        "bluesky.first_comment.max_graphemes",
        "bluesky.first_comment.max_bytes",  # local id (the PDS's lexicon)
        "bluesky.options.reply_pair",  # local id (zod refinement)
        "bluesky.options.root_needs_parent",  # local id (zod refinement)
        # twitter
        "twitter.text.non_empty",
        "twitter.text.max_graphemes",
        "twitter.text.max_weighted",  # local id (X's own count, twitter-text v3)
        "twitter.text.invalid_characters",  # local id (twitter-text: U+FFFE, U+FEFF, U+FFFF)
        "twitter.media.count_max",
        "twitter.media.image_video_exclusive",
        "twitter.media.alt_text_max_graphemes",
        "twitter.media.mime_allowed",
        "twitter.media.image_size_max",
        "twitter.media.gif_size_max",
        "twitter.media.video_size_max",
        "twitter.options.reply_quote_exclusive",  # local id (zod refinement)
        # threads
        "threads.text.required",
        "threads.text.max_graphemes",
        "threads.media.count_max",
        "threads.media.alt_text_max_graphemes",
        "threads.media.mime_allowed",
        "threads.media.image_size_max",
        "threads.media.video_size_max",
        # linkedin
        "linkedin.text.non_empty",
        "linkedin.text.max_graphemes",
        "linkedin.media.ignored",  # local id, warning
        # facebook
        "facebook.text.required",
        "facebook.text.max_graphemes",
        "facebook.media.count_max",
        "facebook.media.image_video_exclusive",
        "facebook.media.mime_allowed",
        "facebook.media.image_size_max",
        "facebook.media.video_size_max",
        # instagram
        "instagram.media.required",
        "instagram.text.max_graphemes",
        "instagram.media.count_max",
        "instagram.media.alt_text_max_graphemes",
        "instagram.media.mime_allowed",
        "instagram.media.image_size_max",
        "instagram.media.video_size_max",
        # pinterest
        "pinterest.text.max_graphemes",  # local id, warning (Pinterest's own limit)
        "pinterest.media.required",
        "pinterest.media.single_only",
        "pinterest.board.required",
        "pinterest.video.cover_required",
        "pinterest.destination_url.http",
        "pinterest.cover_image_url.http",
        "pinterest.image.mime_allowed",
        "pinterest.image.size_max",
        "pinterest.video.mime_allowed",
        "pinterest.video.size_max",
        # tiktok
        "tiktok.text.max_chars",
        "tiktok.text.hashtag_max",
        "tiktok.media.required",
        "tiktok.media.single_only",
        "tiktok.media.video_required",
        "tiktok.branded_content.mutual_exclusive",
        "tiktok.options.privacy_enum",  # local id (zod enum)
        "tiktok.audit.self_only",
        "tiktok.file_format.invalid",
        "tiktok.video.size_max",
    }
)


#: Rules the server reports as 400 ``validation_failed`` (request schema, or the route's
#: checks before or after preflight) rather than as ``preflight_failed``.
SCHEMA_RULES: frozenset[str] = frozenset(
    {
        "targets.required",
        "targets.max",
        "targets.text.required",
        "targets.options.platform_mismatch",
        "targets.options.platform_required",
        "targets.options.unknown_key",
        "targets.options.invalid",
        "scheduledAt.no_first_comment",
        "scheduledAt.no_bluesky_reply",
        "bluesky.options.reply_pair",
        "bluesky.options.root_needs_parent",
        "twitter.options.reply_quote_exclusive",
        "tiktok.options.privacy_enum",
    }
)


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class Media:
    """One media item of a target, as far as it is known locally."""

    kind: str  # "image" | "video"
    alt: str | None = None
    mime: str | None = None  # known for local files and uploaded media; None for a URL
    size: int | None = None  # bytes; None when unknown
    source: str = "path"  # "path" | "url" | "mediaId" | "bytes"


@dataclass(frozen=True, slots=True)
class Content:
    """What ONE target will publish, after per-target overrides replaced defaults."""

    platform: str
    text: str | None
    media: tuple[Media, ...] = ()
    first_comment: str | None = None
    options: Mapping[str, Any] | None = None  # the target's `options` (with "platform")
    scheduled: bool = False
    account: Mapping[str, Any] | None = None  # e.g. {"pinterest": {"defaultBoardId": ...}}


@dataclass(frozen=True, slots=True)
class Finding:
    """One broken (or advisory) rule for one target."""

    rule: str  # API rule id, e.g. "bluesky.text.max_graphemes"
    message: str  # for people: the number, the limit and the unit
    field: str  # "text", "media", "media[2].alt", "media[0]", "firstComment", "options.boardId"
    severity: str = "error"  # "error" | "warning"
    stage: str = "cheap"  # "cheap" (atomic 400) | "deep" (per target inside the 200)
    api: bool = True  # False: publisher's own advice, the letmepost server never reports it


@dataclass(frozen=True, slots=True)
class Length:
    """A text's length against one platform's limit, in that platform's unit."""

    used: int
    limit: int
    unit: str  # "graphemes" | "weighted" | "utf16"

    @property
    def over(self) -> bool:
        return self.used > self.limit


# ------------------------------------------------------------------ text measures

# JavaScript's String.prototype.trim() whitespace (WhiteSpace + LineTerminator):
# the server decides "empty" with text.trim(), so we use exactly that set.
_JS_WS = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_GRAPHEME = regex.compile(r"\X")
# letmepost's X weighting (letmepost-api.md section 6): a grapheme cluster with a code
# point outside these ranges weighs 2.
_X_HEAVY = regex.compile(r"[^\u0000-\u10ff\u2000-\u200d\u2010-\u201f\u2032-\u2037]")
_X_URL = regex.compile("https?://[^" + regex.escape(_JS_WS) + "]+", regex.IGNORECASE)
_HASHTAG = regex.compile(r"#[\p{L}\p{N}_]+")
_X_URL_WEIGHT = 23
# Characters X refuses in a post (twitter-text's invalidChars).
_X_INVALID = frozenset("\ufffe\ufeff\uffff")
# Every link twitter-text finds has a dot followed by its top-level domain's first letter.
_X_MAYBE_LINK = regex.compile(r"\.[A-Za-z]")


def is_blank(text: str | None) -> bool:
    """True for None, "" and whitespace-only text (the server's ``text.trim() === ""``)."""
    return text is None or not text.strip(_JS_WS)


def graphemes(text: str) -> int:
    """Extended grapheme clusters (what people call characters; ``Intl.Segmenter``)."""
    if text.isascii():
        return len(text) - text.count("\r\n")
    return len(_GRAPHEME.findall(text))


def utf16_length(text: str) -> int:
    """UTF-16 code units (JavaScript's ``string.length``): astral characters count 2."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def utf8_length(text: str) -> int:
    """UTF-8 bytes (what the PDS's lexicon ``maxLength`` counts)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _x_units(text: str) -> int:
    if not _X_HEAVY.search(text):
        return graphemes(text)
    return sum(2 if _X_HEAVY.search(c) else 1 for c in _GRAPHEME.findall(text))


def x_weighted_length(text: str) -> int:
    """X's weighted length, as X counts it: twitter-text v3 (``parseTweet``).

    Every link X autolinks counts 23, with or without a scheme (``example.org``), and a
    link with an invalid domain counts as text; an emoji sequence counts 2; any other
    code point 1 in U+0000-10FF, U+2000-200D, U+2010-201F, U+2032-2037, else 2 (CJK,
    directional marks); the text is NFC-normalized first. See
    :mod:`publisher.rules.xlength`.
    """
    if text.isascii() and not _X_MAYBE_LINK.search(text):
        return len(text)  # no link, no emoji: every ASCII code point weighs 1
    from publisher.rules import xlength  # the port's regular expressions: ~0.2 s

    return xlength.weighted_length(text)


def letmepost_x_length(text: str) -> int:
    """X's weighted length as the letmepost server's preflight computes it (S8).

    Each grapheme cluster weighs 1 when all its code points lie in U+0000-10FF,
    U+2000-200D, U+2010-201F or U+2032-2037, else 2 (emoji, CJK); every
    ``https?://\\S+`` counts 23 instead of its own weight; a link without a scheme is
    text. X's own count (:func:`x_weighted_length`) can be lower or higher.
    """
    total = _x_units(text)
    for url in _X_URL.findall(text):
        total += _X_URL_WEIGHT - _x_units(url)
    return total


@dataclass(frozen=True, slots=True)
class _TextLimit:
    limit: int
    unit: str


_TEXT_LIMITS: dict[str, _TextLimit] = {
    p.name: _TextLimit(p.text_max, p.text_unit) for p in _platforms.REGISTRY.values()
}

_COUNTERS = {"graphemes": graphemes, "weighted": x_weighted_length, "utf16": utf16_length}

_NAMES = {p.name: p.title for p in _platforms.REGISTRY.values()}

_UNIT_WORDS = {
    "graphemes": "graphemes",
    "weighted": "weighted characters",
    "utf16": "UTF-16 units",
}

_UNIT_NOTES = {
    "graphemes": "",
    "weighted": " (every link counts 23, with or without https://; emoji and CJK count 2)",
    "utf16": " (emoji count 2)",
}


def measure(platform: str, text: str) -> Length:
    """``text``'s length against ``platform``'s text limit, in that platform's unit."""
    try:
        spec = _TEXT_LIMITS[platform]
    except KeyError:
        raise ValueError(f"unknown platform {platform!r}") from None
    return Length(_COUNTERS[spec.unit](text), spec.limit, spec.unit)


_BLUESKY_MAX_BYTES = _platforms.REGISTRY["bluesky"].text_max_bytes or 0


def fits(platform: str, text: str) -> bool:
    """Whether ``text`` fits ``platform``'s text limits: its length in the platform's
    unit, and also letmepost's X count on X and the PDS's byte limit on Bluesky."""
    if measure(platform, text).over:
        return False
    if platform == "twitter":
        return letmepost_x_length(text) <= _TEXT_LIMITS[platform].limit
    if platform == "bluesky":
        return utf8_length(text) <= _BLUESKY_MAX_BYTES
    return True


def _length_message(what: str, platform: str, length: Length) -> str:
    word = _UNIT_WORDS[length.unit]
    return (
        f"{what} is {length.used:,} {word}; {_NAMES[platform]} allows {length.limit:,}"
        f"{_UNIT_NOTES[length.unit]}"
    )


# ------------------------------------------------------------------- media types

_EXT_MIME = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "jpe": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "heic": "image/heic",
    "heif": "image/heif",
    "avif": "image/avif",
    "mp4": "video/mp4",
    "m4v": "video/mp4",
    "mov": "video/quicktime",
    "qt": "video/quicktime",
    "webm": "video/webm",
}

_MP4_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1"}
    | {b"M4V ", b"M4VH", b"M4VP", b"dash", b"mmp4", b"MSNV", b"f4v "}
)
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
# QuickTime files written without an ftyp box start with one of these atoms.
_QT_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"pnot"})


def sniff_mime(head: bytes) -> str | None:
    """The media type from a file's first bytes (16 are enough), or None if unknown."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    box = head[4:8]
    if box == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return "video/quicktime"
        if brand in _MP4_BRANDS:
            return "video/mp4"
        if brand in _HEIC_BRANDS:
            return "image/heic"
        if brand in _AVIF_BRANDS:
            return "image/avif"
        return None
    if box in _QT_ATOMS:
        return "video/quicktime"
    return None


def kind_of_mime(mime: str) -> str | None:
    """``"image"`` or ``"video"`` for a media type, None for anything else."""
    top = mime.split("/", 1)[0].strip().lower()
    return top if top in ("image", "video") else None


def mime_from_extension(name: str) -> str | None:
    """The media type for a file name, path or URL by its extension, or None."""
    base = name.split("?", 1)[0].split("#", 1)[0].rsplit("/", 1)[-1]
    if "." not in base:
        return None
    return _EXT_MIME.get(base.rsplit(".", 1)[1].lower())


def _norm_mime(mime: str) -> str:
    return mime.split(";", 1)[0].strip().lower()


# ---------------------------------------------------------------- media rules


_GIF = "image/gif"
_MediaSpec = _platforms.MediaLimits
_MEDIA = _platforms.MEDIA


def media_limits(platform: str) -> _MediaSpec:
    """The media rules of `platform` (counts, alt-text length, types and sizes): the
    direct Bluesky backend checks its own uploads against Bluesky's."""
    return _MEDIA[platform]


def text_limit(platform: str) -> int:
    return _TEXT_LIMITS[platform].limit


_URL_CONSUMERS = frozenset({"threads", "facebook", "instagram", "pinterest"})


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _fmt_bytes(n: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{n / scale:.1f}".rstrip("0").rstrip(".") + " " + unit
    return f"{n} B"


def _check_media(platform: str, media: tuple[Media, ...], out: list[Finding]) -> None:
    if not media:
        return  # no count, mix, alt text, type or size to check (required media: elsewhere)
    _media_counts(platform, media, out)  # cheap: counts, mixing, alt text
    _alt_texts(platform, media, out)
    for i, m in enumerate(media):  # deep: inline bytes, media type, byte size
        _media_file(platform, m, f"media[{i}]", out)


def _media_counts(platform: str, media: tuple[Media, ...], out: list[Finding]) -> None:
    spec = _MEDIA[platform]
    name = _NAMES[platform]
    images = sum(1 for m in media if m.kind == "image")
    videos = sum(1 for m in media if m.kind == "video")
    count_rule = f"{platform}.media.count_max"
    if spec.exclusive and images and videos:
        out.append(
            Finding(
                f"{platform}.media.image_video_exclusive",
                f"{_plural(images, 'image')} and {_plural(videos, 'video')} attached; "
                f"{name} takes images or one video, not both in one post",
                "media",
            )
        )
    if spec.max_images is not None and images > spec.max_images:
        out.append(
            Finding(
                count_rule,
                f"{_plural(images, 'image')} attached; {name} allows at most "
                f"{spec.max_images} per post",
                "media",
            )
        )
    if spec.max_videos is not None and videos > spec.max_videos:
        out.append(
            Finding(
                count_rule,
                f"{_plural(videos, 'video')} attached; {name} allows at most "
                f"{spec.max_videos} per post",
                "media",
            )
        )
    if spec.max_items is not None and len(media) > spec.max_items:
        out.append(
            Finding(
                count_rule,
                f"{_plural(len(media), 'media item')} attached; {name} allows at most "
                f"{spec.max_items} per post",
                "media",
            )
        )


def _alt_texts(platform: str, media: tuple[Media, ...], out: list[Finding]) -> None:
    spec = _MEDIA[platform]
    name = _NAMES[platform]
    if spec.alt_max is None:
        return
    for i, m in enumerate(media):
        if m.alt is None:
            continue
        n = graphemes(m.alt)
        if n > spec.alt_max:
            out.append(
                Finding(
                    f"{platform}.media.alt_text_max_graphemes",
                    f"alt text is {n:,} graphemes; {name} allows {spec.alt_max:,}",
                    f"media[{i}].alt",
                )
            )


def _media_file(platform: str, m: Media, where: str, out: list[Finding]) -> None:
    """One item's inline bytes, type and size (skipped where unknown: the server checks)."""
    spec = _MEDIA[platform]
    name = _NAMES[platform]
    if m.source == "bytes" and platform in _URL_CONSUMERS:
        out.append(
            Finding(
                "media.bytes_inline_unsupported",
                f"{name} fetches media by URL and refuses inline bytes; "
                "upload the file first (POST /v1/media) and send its mediaId",
                where,
                stage="deep",
            )
        )
    is_image = m.kind == "image"
    allowed = spec.image_mimes if is_image else spec.video_mimes
    if allowed is None:
        return
    mime = _norm_mime(m.mime) if m.mime else None
    if mime is not None and mime not in allowed:
        out.append(
            Finding(
                spec.mime_rule_image if is_image else spec.mime_rule_video,
                f"{m.kind} type {mime} is not accepted by {name}; use "
                + ", ".join(sorted(allowed)),
                where,
                stage="deep",
            )
        )
        return
    if m.size is None:
        return
    if not is_image:
        limit, rule = spec.video_max, spec.size_rule_video
    elif spec.gif_max is not None and mime == _GIF:
        limit, rule = spec.gif_max, f"{platform}.media.gif_size_max"
    elif spec.gif_max is not None and mime is None:
        # Type unknown (X takes GIFs up to 15 MB): only the kinder limit is certain.
        limit, rule = spec.gif_max, spec.size_rule_image
    else:
        limit, rule = spec.image_max, spec.size_rule_image
    if limit is not None and m.size > limit:
        what = "GIF" if rule.endswith(".gif_size_max") else m.kind
        out.append(
            Finding(
                rule,
                f"{what} is {m.size:,} bytes ({_fmt_bytes(m.size)}); {name} allows "
                f"{limit:,} bytes ({_fmt_bytes(limit)})",
                where,
                stage="deep",
            )
        )


# ---------------------------------------------------------------- text rules


def _text_max(platform: str, text: str, rule: str, out: list[Finding], **kw: Any) -> None:
    length = measure(platform, text)
    if length.over:
        out.append(Finding(rule, _length_message("text", platform, length), "text", **kw))


def _text_non_empty(platform: str, text: str, rule: str, out: list[Finding]) -> None:
    if is_blank(text):
        out.append(Finding(rule, f"text is empty; {_NAMES[platform]} needs some text", "text"))


def _text_required_without_media(
    platform: str, content: Content, text: str, out: list[Finding]
) -> None:
    if not content.media and is_blank(text):
        out.append(
            Finding(
                f"{platform}.text.required",
                f"text is empty and there is no media; a {_NAMES[platform]} post "
                "needs one or the other",
                "text",
            )
        )


# ----------------------------------------------------------- platform checks


def _check_bluesky(content: Content, text: str, out: list[Finding]) -> None:
    _text_non_empty("bluesky", text, "bluesky.text.non_empty", out)
    _text_max("bluesky", text, "bluesky.text.max_graphemes", out)
    _bluesky_bytes(text, "text", "bluesky.text.max_bytes", out)
    _check_media("bluesky", content.media, out)
    comment = content.first_comment
    if comment is not None and not content.scheduled:
        if is_blank(comment):
            out.append(
                Finding(
                    "bluesky.first_comment.non_empty",
                    "firstComment is empty; give it some text or drop it",
                    "firstComment",
                    stage="deep",
                )
            )
        length = measure("bluesky", comment)
        if length.over:
            out.append(
                Finding(
                    "bluesky.first_comment.max_graphemes",
                    _length_message("firstComment", "bluesky", length),
                    "firstComment",
                    stage="deep",
                )
            )
        _bluesky_bytes(comment, "firstComment", "bluesky.first_comment.max_bytes", out)


def _bluesky_bytes(text: str, field: str, rule: str, out: list[Finding]) -> None:
    """The PDS refuses a post whose text is over 3000 UTF-8 bytes (the lexicon's
    ``maxLength``), even within 300 graphemes; letmepost does not check it first."""
    if len(text) * 4 <= _BLUESKY_MAX_BYTES:  # a code point is at most 4 bytes in UTF-8
        return
    size = utf8_length(text)
    if size > _BLUESKY_MAX_BYTES:
        out.append(
            Finding(
                rule,
                f"{field} is {size:,} bytes in UTF-8; Bluesky allows {_BLUESKY_MAX_BYTES:,} "
                "(emoji sequences and combining marks take many bytes per grapheme)",
                field,
                stage="deep",
                api=False,
            )
        )


def _check_twitter(content: Content, text: str, out: list[Finding]) -> None:
    _text_non_empty("twitter", text, "twitter.text.non_empty", out)
    _x_text_max(text, out)
    if not _X_INVALID.isdisjoint(text):
        bad = sorted(f"U+{ord(c):04X}" for c in _X_INVALID.intersection(text))
        out.append(
            Finding(
                "twitter.text.invalid_characters",
                f"text holds {', '.join(bad)}, which X refuses in a post (twitter-text's "
                "invalid characters); delete it (an editor may have put it there)",
                "text",
                stage="deep",
                api=False,
            )
        )
    _check_media("twitter", content.media, out)


def _x_text_max(text: str, out: list[Finding]) -> None:
    """X's own count (what X refuses) and letmepost's (what its preflight refuses) can
    differ: a bare domain is 23 on X and its length for letmepost, an emoji sequence 2
    on X and 2 per grapheme for letmepost. Both are checked; the meter shows X's."""
    length = measure("twitter", text)
    limit = length.limit
    theirs = letmepost_x_length(text)
    if theirs > limit:
        message = _length_message("text", "twitter", length)
        if theirs != length.used:
            message = (
                f"text is {theirs:,} weighted characters as letmepost's preflight counts "
                f"them (a link without http(s):// counts its characters), {length.used:,} as "
                f"X counts them; both allow {limit:,}"
            )
        out.append(Finding("twitter.text.max_graphemes", message, "text"))
    elif length.over:
        out.append(
            Finding(
                "twitter.text.max_weighted",
                _length_message("text", "twitter", length)
                + f"; letmepost's preflight counts {theirs:,} and lets it through, X refuses it",
                "text",
                stage="deep",
                api=False,
            )
        )


def _check_threads(content: Content, text: str, out: list[Finding]) -> None:
    _text_required_without_media("threads", content, text, out)
    _text_max("threads", text, "threads.text.max_graphemes", out)
    _check_media("threads", content.media, out)


def _check_linkedin(content: Content, text: str, out: list[Finding]) -> None:
    _text_non_empty("linkedin", text, "linkedin.text.non_empty", out)
    _text_max("linkedin", text, "linkedin.text.max_graphemes", out)
    if content.media:
        out.append(
            Finding(
                "linkedin.media.ignored",
                f"{_plural(len(content.media), 'media item')} attached; the API posts "
                "text only to LinkedIn and drops media silently",
                "media",
                severity="warning",
                api=False,
            )
        )


def _check_facebook(content: Content, text: str, out: list[Finding]) -> None:
    _text_required_without_media("facebook", content, text, out)
    _text_max("facebook", text, "facebook.text.max_graphemes", out)
    _check_media("facebook", content.media, out)


def _check_instagram(content: Content, text: str, out: list[Finding]) -> None:
    if not content.media:
        out.append(
            Finding(
                "instagram.media.required",
                "no media attached; Instagram has no text-only posts: attach an image or a video",
                "media",
            )
        )
    if not is_blank(text):
        _text_max("instagram", text, "instagram.text.max_graphemes", out)
    _check_media("instagram", content.media, out)


def _check_pinterest(content: Content, text: str, out: list[Finding]) -> None:
    _text_max("pinterest", text, "pinterest.text.max_graphemes", out, severity="warning", api=False)
    media = content.media
    if not media:
        out.append(
            Finding(
                "pinterest.media.required",
                "no media attached; a Pinterest pin needs exactly one image or video",
                "media",
            )
        )
    elif len(media) > 1:
        out.append(
            Finding(
                "pinterest.media.single_only",
                f"{len(media)} media items attached; a Pinterest pin takes exactly one",
                "media",
                stage="deep",
            )
        )
    opts = content.options or {}
    if not opts.get("boardId"):
        # Only the server knows the account's default board unless metadata was given.
        account = content.account
        if account is not None:
            meta = account.get("pinterest")
            if not (isinstance(meta, Mapping) and meta.get("defaultBoardId")):
                out.append(
                    Finding(
                        "pinterest.board.required",
                        "no board: set options.boardId, or a default board on the "
                        "Pinterest account",
                        "options.boardId",
                        stage="deep",
                    )
                )
    if media and media[0].kind == "video" and not opts.get("coverImageUrl"):
        out.append(
            Finding(
                "pinterest.video.cover_required",
                "a Pinterest video pin needs a cover image: set options.coverImageUrl "
                "to a public image URL",
                "options.coverImageUrl",
                stage="deep",
            )
        )
    _check_media("pinterest", media, out)


_TIKTOK_MAX_HASHTAGS = 100


def _check_tiktok(content: Content, text: str, out: list[Finding]) -> None:
    _text_max("tiktok", text, "tiktok.text.max_chars", out)
    tags = len(_HASHTAG.findall(text)) if "#" in text else 0
    if tags > _TIKTOK_MAX_HASHTAGS:
        out.append(
            Finding(
                "tiktok.text.hashtag_max",
                f"text has {tags} hashtags; TikTok allows {_TIKTOK_MAX_HASHTAGS}",
                "text",
            )
        )
    media = content.media
    if not media:
        out.append(
            Finding(
                "tiktok.media.required", "no media attached; a TikTok post is one video", "media"
            )
        )
    elif len(media) > 1:
        out.append(
            Finding(
                "tiktok.media.single_only",
                f"{len(media)} media items attached; a TikTok post is exactly one video",
                "media",
            )
        )
    elif media[0].kind != "video":
        out.append(
            Finding(
                "tiktok.media.video_required",
                f"media[0] is an {media[0].kind}; a TikTok post is one video",
                "media[0]",
            )
        )
    opts = content.options or {}
    if opts.get("brandContentToggle") is True and opts.get("brandOrganicToggle") is True:
        out.append(
            Finding(
                "tiktok.branded_content.mutual_exclusive",
                "brandContentToggle (paid partnership) and brandOrganicToggle (your own "
                "brand) are both on; TikTok takes one of them",
                "options.brandOrganicToggle",
            )
        )
    if opts.get("privacy") in ("public_to_everyone", "mutual_follow_friend"):
        out.append(
            Finding(
                "tiktok.audit.self_only",
                f"privacy {opts['privacy']} will be published as self_only: the letmepost "
                "TikTok app is still in audit",
                "options.privacy",
                severity="warning",
                stage="deep",
            )
        )
    _check_media("tiktok", media, out)


_PLATFORM_CHECKS = {
    "bluesky": _check_bluesky,
    "twitter": _check_twitter,
    "threads": _check_threads,
    "linkedin": _check_linkedin,
    "facebook": _check_facebook,
    "instagram": _check_instagram,
    "pinterest": _check_pinterest,
    "tiktok": _check_tiktok,
}


# -------------------------------------------------------------------- options

_STR, _BOOL, _URL = "a non-empty string", "true or false", "an http(s) URL"
_TIKTOK_PRIVACY = ("public_to_everyone", "mutual_follow_friend", "self_only")
_BLUESKY_REPLY_KEYS = ("replyToUri", "replyToCid", "replyRootUri", "replyRootCid")

# The discriminated union of letmepost-api.md section 1 (besides "platform").
_OPTION_KEYS: dict[str, dict[str, str]] = {
    "twitter": {"replyToTweetId": _STR, "quoteTweetId": _STR},
    "pinterest": {"boardId": _STR, "destinationUrl": _URL, "title": _STR, "coverImageUrl": _URL},
    "threads": {"replyToId": _STR},
    "tiktok": {
        "privacy": _STR,
        "disableComment": _BOOL,
        "disableDuet": _BOOL,
        "disableStitch": _BOOL,
        "brandContentToggle": _BOOL,
        "brandOrganicToggle": _BOOL,
    },
    "bluesky": dict.fromkeys(_BLUESKY_REPLY_KEYS, _STR),
    "facebook": {},
    "instagram": {},
    "linkedin": {},
}
_HTTP_URL = regex.compile(r"https?://[^\s/?#]+\S*", regex.IGNORECASE)
_HAS_SCHEME = regex.compile(r"[a-z][a-z0-9+.\-]*:\S", regex.IGNORECASE)
_URL_RULES = {
    "destinationUrl": "pinterest.destination_url.http",
    "coverImageUrl": "pinterest.cover_image_url.http",
}


def _check_option_value(key: str, value: Any, want: str, out: list[Finding]) -> None:
    field = f"options.{key}"
    ok = isinstance(value, bool) if want == _BOOL else isinstance(value, str) and value != ""
    if not ok:
        out.append(Finding("targets.options.invalid", f"{field} must be {want}", field))
        return
    if want == _URL and not _HTTP_URL.fullmatch(value):
        # A non-URL fails the request schema (400); another scheme fails in the publisher.
        stage = "deep" if _HAS_SCHEME.match(value) else "cheap"
        out.append(Finding(_URL_RULES[key], f"{field} must be an http(s) URL", field, stage=stage))


def _check_options(content: Content, out: list[Finding]) -> None:
    opts = content.options
    if opts is None:
        return
    platform = content.platform
    name = _NAMES[platform]
    given = opts.get("platform")
    if given is None:
        out.append(
            Finding(
                "targets.options.platform_required",
                f'options needs platform: "{platform}"',
                "options.platform",
            )
        )
        return
    if given != platform:
        out.append(
            Finding(
                "targets.options.platform_mismatch",
                f"options are for {given!r} but this target publishes to {name}",
                "options.platform",
            )
        )
        return
    allowed = _OPTION_KEYS[platform]
    for key, value in opts.items():
        if key == "platform":
            continue
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            known = ", ".join(allowed) if allowed else "none besides platform"
            tip = f"did you mean {hint[0]}?" if hint else f"{name} takes: {known}"
            out.append(
                Finding(
                    "targets.options.unknown_key",
                    f"unknown option {key!r} for {name}; {tip}",
                    f"options.{key}",
                    api=False,  # the server's schema drops unknown keys silently
                )
            )
            continue
        if key == "privacy" and value not in _TIKTOK_PRIVACY:
            out.append(
                Finding(
                    "tiktok.options.privacy_enum",
                    f"options.privacy is {value!r}; use one of " + ", ".join(_TIKTOK_PRIVACY),
                    "options.privacy",
                )
            )
            continue
        _check_option_value(key, value, allowed[key], out)

    if platform == "twitter" and opts.get("replyToTweetId") and opts.get("quoteTweetId"):
        out.append(
            Finding(
                "twitter.options.reply_quote_exclusive",
                "replyToTweetId and quoteTweetId are both set; X takes a reply or a "
                "quote, not both",
                "options.quoteTweetId",
            )
        )
    if platform == "bluesky":
        _check_bluesky_reply(opts, content.scheduled, out)


def _check_bluesky_reply(opts: Mapping[str, Any], scheduled: bool, out: list[Finding]) -> None:
    present = {k for k in _BLUESKY_REPLY_KEYS if opts.get(k)}
    if not present:
        return
    for uri, cid in (("replyToUri", "replyToCid"), ("replyRootUri", "replyRootCid")):
        if (uri in present) != (cid in present):
            missing = cid if uri in present else uri
            out.append(
                Finding(
                    "bluesky.options.reply_pair",
                    f"{uri} and {cid} go together; {missing} is missing",
                    f"options.{missing}",
                )
            )
    if present & {"replyRootUri", "replyRootCid"} and not present & {"replyToUri", "replyToCid"}:
        out.append(
            Finding(
                "bluesky.options.root_needs_parent",
                "a reply root needs the parent too: set replyToUri and replyToCid",
                "options.replyToUri",
            )
        )
    if scheduled:
        out.append(
            Finding(
                "scheduledAt.no_bluesky_reply",
                "a scheduled post cannot be a Bluesky reply; publish it now or drop the "
                "reply options",
                "options",
            )
        )


# ----------------------------------------------------------------------- entry


def _check_first_comment(content: Content, out: list[Finding]) -> None:
    if content.first_comment is None:
        return
    if content.scheduled:
        # The server refuses firstComment on every scheduled target, whatever the platform.
        out.append(
            Finding(
                "scheduledAt.no_first_comment",
                "a scheduled post cannot carry firstComment; publish it now or drop firstComment",
                "firstComment",
            )
        )
    elif content.platform != "bluesky":
        out.append(
            Finding(
                "first_comment.ignored",
                f"firstComment is posted on Bluesky only; the API drops it silently "
                f"for {_NAMES[content.platform]}",
                "firstComment",
                severity="warning",
                api=False,
            )
        )


def check(content: Content, *, stage: str | None = None) -> list[Finding]:
    """Every rule ``content`` breaks on its platform (only one stage when ``stage`` is given).

    Raises ValueError for an unknown platform or stage.
    """
    if stage not in (None, "cheap", "deep"):
        raise ValueError(f"unknown stage {stage!r}")
    try:
        platform_check = _PLATFORM_CHECKS[content.platform]
    except KeyError:
        raise ValueError(f"unknown platform {content.platform!r}") from None
    out: list[Finding] = []
    _check_options(content, out)
    found: list[Finding] = []
    platform_check(content, content.text or "", found)
    if not content.text:
        # The server refuses a target without text before any preflight (a missing
        # field; an empty string fails the request schema instead: also a 400).
        out.append(
            Finding("targets.text.required", "no text; the API needs text on every target", "text")
        )
        found = [f for f in found if f.field != "text"]
    out.extend(found)
    _check_first_comment(content, out)
    if stage is not None:
        return [f for f in out if f.stage == stage]
    return out


def check_target_count(count: int) -> list[Finding]:
    """The request's target count against the API's 1..25."""
    if count < 1:
        return [Finding("targets.required", "no targets; a post needs at least one", "targets")]
    if count > MAX_TARGETS:
        return [
            Finding(
                "targets.max",
                f"{count} targets; the API takes at most {MAX_TARGETS} per request",
                "targets",
            )
        ]
    return []
