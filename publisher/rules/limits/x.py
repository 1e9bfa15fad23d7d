"""X's rules: text as X counts it and as letmepost's preflight counts it, the
characters X refuses, media."""

from __future__ import annotations

from publisher.rules.limits.media import check_media
from publisher.rules.limits.text import (
    length_message,
    letmepost_x_length,
    measure,
    text_non_empty,
)
from publisher.rules.limits.values import Content, Finding

__all__ = ["check_twitter"]

# Characters X refuses in a post (twitter-text's invalidChars).
_X_INVALID = frozenset("\ufffe\ufeff\uffff")


def check_twitter(content: Content, text: str, out: list[Finding]) -> None:
    text_non_empty("twitter", text, "twitter.text.non_empty", out)
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
    check_media("twitter", content.media, out)


def _x_text_max(text: str, out: list[Finding]) -> None:
    """X's own count (what X refuses) and letmepost's (what its preflight refuses) can
    differ: a bare domain is 23 on X and its length for letmepost, an emoji sequence 2
    on X and 2 per grapheme for letmepost. Both are checked; the meter shows X's."""
    length = measure("twitter", text)
    limit = length.limit
    theirs = letmepost_x_length(text)
    if theirs > limit:
        message = length_message("text", "twitter", length)
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
                length_message("text", "twitter", length)
                + f"; letmepost's preflight counts {theirs:,} and lets it through, X refuses it",
                "text",
                stage="deep",
                api=False,
            )
        )
