"""Bluesky's rules: text (graphemes, and the PDS's 3000 UTF-8 bytes), media, the
first comment."""

from __future__ import annotations

from publisher.rules.limits.media import check_media
from publisher.rules.limits.text import (
    BLUESKY_MAX_BYTES,
    is_blank,
    length_message,
    measure,
    text_max,
    text_non_empty,
    utf8_length,
)
from publisher.rules.limits.values import Content, Finding

__all__ = ["check_bluesky"]


def check_bluesky(content: Content, text: str, out: list[Finding]) -> None:
    text_non_empty("bluesky", text, "bluesky.text.non_empty", out)
    text_max("bluesky", text, "bluesky.text.max_graphemes", out)
    _bluesky_bytes(text, "text", "bluesky.text.max_bytes", out)
    check_media("bluesky", content.media, out)
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
                    length_message("firstComment", "bluesky", length),
                    "firstComment",
                    stage="deep",
                )
            )
        _bluesky_bytes(comment, "firstComment", "bluesky.first_comment.max_bytes", out)


def _bluesky_bytes(text: str, field: str, rule: str, out: list[Finding]) -> None:
    """The PDS refuses a post whose text is over 3000 UTF-8 bytes (the lexicon's
    ``maxLength``), even within 300 graphemes; letmepost does not check it first."""
    if len(text) * 4 <= BLUESKY_MAX_BYTES:  # a code point is at most 4 bytes in UTF-8
        return
    size = utf8_length(text)
    if size > BLUESKY_MAX_BYTES:
        out.append(
            Finding(
                rule,
                f"{field} is {size:,} bytes in UTF-8; Bluesky allows {BLUESKY_MAX_BYTES:,} "
                "(emoji sequences and combining marks take many bytes per grapheme)",
                field,
                stage="deep",
                api=False,
            )
        )
