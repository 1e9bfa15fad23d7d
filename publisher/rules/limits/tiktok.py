"""TikTok's rules: one video, hashtags, branded content, the app's audit."""

from __future__ import annotations

from publisher.rules.limits.media import check_media
from publisher.rules.limits.text import patterns, text_max
from publisher.rules.limits.values import Content, Finding

__all__ = ["check_tiktok"]

_TIKTOK_MAX_HASHTAGS = 100


def check_tiktok(content: Content, text: str, out: list[Finding]) -> None:
    text_max("tiktok", text, "tiktok.text.max_chars", out)
    tags = len(patterns().hashtag.findall(text)) if "#" in text else 0
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
    check_media("tiktok", media, out)
