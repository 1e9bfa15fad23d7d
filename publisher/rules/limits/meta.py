"""Meta's platforms: Threads and Facebook (text or media), Instagram (media first)."""

from __future__ import annotations

from publisher.rules.limits.media import check_media
from publisher.rules.limits.text import is_blank, text_max, text_required_without_media
from publisher.rules.limits.values import Content, Finding

__all__ = ["check_facebook", "check_instagram", "check_threads"]


def check_threads(content: Content, text: str, out: list[Finding]) -> None:
    text_required_without_media("threads", content, text, out)
    text_max("threads", text, "threads.text.max_graphemes", out)
    check_media("threads", content.media, out)


def check_facebook(content: Content, text: str, out: list[Finding]) -> None:
    text_required_without_media("facebook", content, text, out)
    text_max("facebook", text, "facebook.text.max_graphemes", out)
    check_media("facebook", content.media, out)


def check_instagram(content: Content, text: str, out: list[Finding]) -> None:
    if not content.media:
        out.append(
            Finding(
                "instagram.media.required",
                "no media attached; Instagram has no text-only posts: attach an image or a video",
                "media",
            )
        )
    if not is_blank(text):
        text_max("instagram", text, "instagram.text.max_graphemes", out)
    check_media("instagram", content.media, out)
