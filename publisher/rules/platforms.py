"""The platforms letmepost publishes to: one registry that the frontmatter model, the
rules (`limits/`), the config, the previews and the sandbox all read.

Light on purpose (no imports beyond the standard library): the CLI's start-up path
and the sandbox's config read it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["MEDIA", "PLATFORMS", "REGISTRY", "MediaLimits", "Platform", "platform_title"]


@dataclass(frozen=True, slots=True)
class Platform:
    """One platform as the API names it, and what publisher needs to know of it."""

    name: str  # the API's name (`targets[].platform`)
    title: str  # for people
    text_max: int  # the text limit letmepost's preflight checks (advisory for Pinterest)
    text_unit: str  # "graphemes" | "weighted" (X) | "utf16" (TikTok)
    replies: bool  # a post can answer another (threads, `replyTo`)
    first_comment: bool = False  # the API posts `firstComment` (a reply) here
    text_max_bytes: int | None = None  # the platform's own byte limit (Bluesky's lexicon)

    @property
    def media(self) -> MediaLimits:
        return MEDIA[self.name]


REGISTRY: dict[str, Platform] = {
    p.name: p
    for p in (
        Platform(
            "bluesky",
            "Bluesky",
            300,
            "graphemes",
            replies=True,
            first_comment=True,
            text_max_bytes=3000,  # app.bsky.feed.post#text maxLength (UTF-8 bytes)
        ),
        Platform("twitter", "X", 280, "weighted", replies=True),
        Platform("threads", "Threads", 500, "graphemes", replies=True),
        Platform("linkedin", "LinkedIn", 3000, "graphemes", replies=False),
        Platform("facebook", "Facebook", 63_206, "graphemes", replies=False),
        Platform("instagram", "Instagram", 2200, "graphemes", replies=False),
        # Not checked by letmepost: Pinterest's own pin description limit.
        Platform("pinterest", "Pinterest", 500, "graphemes", replies=False),
        Platform("tiktok", "TikTok", 2200, "utf16", replies=False),
    )
}

#: The API's platform names, in the order publisher lists them.
PLATFORMS: tuple[str, ...] = tuple(REGISTRY)


def platform_title(name: str | None) -> str:
    """``X`` for ``twitter``; an unknown name as it is."""
    known = REGISTRY.get(name or "")
    return known.title if known else (name or "?")


# ------------------------------------------------------------------ media limits
# letmepost-api.md section 6 (the rules in limits/ check against these).


@dataclass(frozen=True, slots=True)
class MediaLimits:
    """One platform's media limits; None means "no such limit"."""

    max_images: int | None = None
    max_videos: int | None = None
    max_items: int | None = None
    exclusive: bool = False
    alt_max: int | None = None
    image_mimes: frozenset[str] | None = None  # None: images are not checked here
    video_mimes: frozenset[str] | None = None
    image_max: int | None = None
    gif_max: int | None = None
    video_max: int | None = None
    mime_rule_image: str = ""
    mime_rule_video: str = ""
    size_rule_image: str = ""
    size_rule_video: str = ""


def _spec(platform: str, limits: MediaLimits) -> MediaLimits:
    """``limits`` with the rule ids it does not name set to ``<platform>.media.*``."""
    return replace(
        limits,
        mime_rule_image=limits.mime_rule_image or f"{platform}.media.mime_allowed",
        mime_rule_video=limits.mime_rule_video or f"{platform}.media.mime_allowed",
        size_rule_image=limits.size_rule_image or f"{platform}.media.image_size_max",
        size_rule_video=limits.size_rule_video or f"{platform}.media.video_size_max",
    )


_JPEG, _PNG, _GIF, _WEBP = "image/jpeg", "image/png", "image/gif", "image/webp"
_MP4, _MOV = "video/mp4", "video/quicktime"

MEDIA: dict[str, MediaLimits] = {
    "bluesky": _spec(
        "bluesky",
        MediaLimits(
            max_images=4,
            max_videos=1,
            exclusive=True,
            alt_max=2000,
            image_mimes=frozenset({_JPEG, _PNG, _WEBP, _GIF}),
            video_mimes=frozenset({_MP4}),
            image_max=1_000_000,
            video_max=100_000_000,
        ),
    ),
    "twitter": _spec(
        "twitter",
        MediaLimits(
            max_images=4,
            max_videos=1,
            exclusive=True,
            alt_max=1000,
            image_mimes=frozenset({_JPEG, _PNG, _WEBP, _GIF}),
            video_mimes=frozenset({_MP4}),
            image_max=5_000_000,
            gif_max=15_000_000,
            video_max=512_000_000,
        ),
    ),
    "threads": _spec(
        "threads",
        MediaLimits(
            max_items=20,
            alt_max=1000,
            image_mimes=frozenset({_JPEG, _PNG, _WEBP}),
            video_mimes=frozenset({_MP4, _MOV}),
            image_max=8_000_000,
            video_max=1_000_000_000,
        ),
    ),
    "facebook": _spec(
        "facebook",
        MediaLimits(
            max_videos=1,
            exclusive=True,
            image_mimes=frozenset({_JPEG, _PNG, _GIF, _WEBP}),
            video_mimes=frozenset({_MP4, _MOV}),
            image_max=4_000_000,
            video_max=4_000_000_000,
        ),
    ),
    "instagram": _spec(
        "instagram",
        MediaLimits(
            max_items=10,
            alt_max=2200,
            image_mimes=frozenset({_JPEG}),
            video_mimes=frozenset({_MP4, _MOV}),
            image_max=8_000_000,
            video_max=1_000_000_000,
        ),
    ),
    # The item count (exactly one) is checked by _check_pinterest.
    "pinterest": _spec(
        "pinterest",
        MediaLimits(
            image_mimes=frozenset({_JPEG, _PNG, _WEBP}),
            video_mimes=frozenset({_MP4, _MOV, "video/m4v"}),
            image_max=20_000_000,
            video_max=2_000_000_000,
            mime_rule_image="pinterest.image.mime_allowed",
            mime_rule_video="pinterest.video.mime_allowed",
            size_rule_image="pinterest.image.size_max",
            size_rule_video="pinterest.video.size_max",
        ),
    ),
    # Images are refused by tiktok.media.video_required, so only videos are typed.
    "tiktok": _spec(
        "tiktok",
        MediaLimits(
            video_mimes=frozenset(
                {_MP4, _MOV, "video/mpeg", "video/x-msvideo", "video/x-flv", "video/webm"}
            ),
            video_max=4 * 1024**3,
            mime_rule_video="tiktok.file_format.invalid",
            size_rule_video="tiktok.video.size_max",
        ),
    ),
}


# Platforms whose server resolves media to a URL and refuses inline bytes.
