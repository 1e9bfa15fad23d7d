"""Media: its type from a file's first bytes or its name, and the media rules (counts,
mixing, alt text, types, sizes) against the platform registry's limits."""

from __future__ import annotations

from publisher.rules import platforms as _platforms
from publisher.rules.limits.text import NAMES, graphemes, plural
from publisher.rules.limits.values import Finding, Media

__all__ = ["check_media", "kind_of_mime", "media_limits", "mime_from_extension", "sniff_mime"]

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
MEDIA = _platforms.MEDIA


def media_limits(platform: str) -> _MediaSpec:
    """The media rules of `platform` (counts, alt-text length, types and sizes): the
    direct Bluesky backend checks its own uploads against Bluesky's."""
    return MEDIA[platform]


_URL_CONSUMERS = frozenset({"threads", "facebook", "instagram", "pinterest"})


def _fmt_bytes(n: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{n / scale:.1f}".rstrip("0").rstrip(".") + " " + unit
    return f"{n} B"


def check_media(platform: str, media: tuple[Media, ...], out: list[Finding]) -> None:
    if not media:
        return  # no count, mix, alt text, type or size to check (required media: elsewhere)
    _media_counts(platform, media, out)  # cheap: counts, mixing, alt text
    _alt_texts(platform, media, out)
    for i, m in enumerate(media):  # deep: inline bytes, media type, byte size
        _media_file(platform, m, f"media[{i}]", out)


def _media_counts(platform: str, media: tuple[Media, ...], out: list[Finding]) -> None:
    spec = MEDIA[platform]
    name = NAMES[platform]
    images = sum(1 for m in media if m.kind == "image")
    videos = sum(1 for m in media if m.kind == "video")
    count_rule = f"{platform}.media.count_max"
    if spec.exclusive and images and videos:
        out.append(
            Finding(
                f"{platform}.media.image_video_exclusive",
                f"{plural(images, 'image')} and {plural(videos, 'video')} attached; "
                f"{name} takes images or one video, not both in one post",
                "media",
            )
        )
    if spec.max_images is not None and images > spec.max_images:
        out.append(
            Finding(
                count_rule,
                f"{plural(images, 'image')} attached; {name} allows at most "
                f"{spec.max_images} per post",
                "media",
            )
        )
    if spec.max_videos is not None and videos > spec.max_videos:
        out.append(
            Finding(
                count_rule,
                f"{plural(videos, 'video')} attached; {name} allows at most "
                f"{spec.max_videos} per post",
                "media",
            )
        )
    if spec.max_items is not None and len(media) > spec.max_items:
        out.append(
            Finding(
                count_rule,
                f"{plural(len(media), 'media item')} attached; {name} allows at most "
                f"{spec.max_items} per post",
                "media",
            )
        )


def _alt_texts(platform: str, media: tuple[Media, ...], out: list[Finding]) -> None:
    spec = MEDIA[platform]
    name = NAMES[platform]
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
    spec = MEDIA[platform]
    name = NAMES[platform]
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
