"""LinkedIn's rules: text only (the API drops media silently)."""

from __future__ import annotations

from publisher.rules.limits.text import plural, text_max, text_non_empty
from publisher.rules.limits.values import Content, Finding

__all__ = ["check_linkedin"]


def check_linkedin(content: Content, text: str, out: list[Finding]) -> None:
    text_non_empty("linkedin", text, "linkedin.text.non_empty", out)
    text_max("linkedin", text, "linkedin.text.max_graphemes", out)
    if content.media:
        out.append(
            Finding(
                "linkedin.media.ignored",
                f"{plural(len(content.media), 'media item')} attached; the API posts "
                "text only to LinkedIn and drops media silently",
                "media",
                severity="warning",
                api=False,
            )
        )
