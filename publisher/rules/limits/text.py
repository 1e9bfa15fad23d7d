"""Text measured each platform's way (graphemes, X's weighting, UTF-16 units, UTF-8
bytes, emptiness as the server's ``trim()`` sees it), and the text rules built on them."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from publisher.rules import platforms as _platforms
from publisher.rules.limits.values import Content, Finding, Length

if TYPE_CHECKING:
    import regex

__all__ = [
    "BLUESKY_MAX_BYTES",
    "NAMES",
    "TEXT_LIMITS",
    "fits",
    "graphemes",
    "is_blank",
    "length_message",
    "letmepost_x_length",
    "measure",
    "patterns",
    "plural",
    "text_limit",
    "text_max",
    "text_non_empty",
    "text_required_without_media",
    "utf8_length",
    "utf16_length",
    "x_weighted_length",
]

# JavaScript's String.prototype.trim() whitespace (WhiteSpace + LineTerminator):
# the server decides "empty" with text.trim(), so we use exactly that set.
_JS_WS = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


class _Patterns(NamedTuple):
    grapheme: regex.Pattern[str]
    x_heavy: regex.Pattern[str]
    x_url: regex.Pattern[str]
    hashtag: regex.Pattern[str]
    http_url: regex.Pattern[str]
    has_scheme: regex.Pattern[str]


@functools.cache
def patterns() -> _Patterns:
    """The `regex` patterns, compiled on first use: checking ASCII text needs none of
    them (and `validate` of one file then skips importing `regex`)."""
    import regex

    return _Patterns(
        grapheme=regex.compile(r"\X"),
        # letmepost's X weighting (letmepost-api.md section 6): a grapheme cluster with
        # a code point outside these ranges weighs 2.
        x_heavy=regex.compile(r"[^\u0000-\u10ff\u2000-\u200d\u2010-\u201f\u2032-\u2037]"),
        x_url=regex.compile("https?://[^" + regex.escape(_JS_WS) + "]+", regex.IGNORECASE),
        hashtag=regex.compile(r"#[\p{L}\p{N}_]+"),
        http_url=regex.compile(r"https?://[^\s/?#]+\S*", regex.IGNORECASE),
        has_scheme=regex.compile(r"[a-z][a-z0-9+.\-]*:\S", regex.IGNORECASE),
    )


_X_URL_WEIGHT = 23
# Every link twitter-text finds has a dot followed by its top-level domain's first letter
# (ASCII only, so `re` reads it as `regex` does).
_X_MAYBE_LINK = re.compile(r"\.[A-Za-z]")


def is_blank(text: str | None) -> bool:
    """True for None, "" and whitespace-only text (the server's ``text.trim() === ""``)."""
    return text is None or not text.strip(_JS_WS)


def graphemes(text: str) -> int:
    """Extended grapheme clusters (what people call characters; ``Intl.Segmenter``)."""
    if text.isascii():
        return len(text) - text.count("\r\n")
    return len(patterns().grapheme.findall(text))


def utf16_length(text: str) -> int:
    """UTF-16 code units (JavaScript's ``string.length``): astral characters count 2."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def utf8_length(text: str) -> int:
    """UTF-8 bytes (what the PDS's lexicon ``maxLength`` counts)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _x_units(text: str) -> int:
    if text.isascii():  # every ASCII code point lies in U+0000-10FF: weighs 1
        return graphemes(text)
    rx = patterns()
    if not rx.x_heavy.search(text):
        return graphemes(text)
    return sum(2 if rx.x_heavy.search(c) else 1 for c in rx.grapheme.findall(text))


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
    if "://" not in text:  # no link to count 23
        return total
    for url in patterns().x_url.findall(text):
        total += _X_URL_WEIGHT - _x_units(url)
    return total


@dataclass(frozen=True, slots=True)
class _TextLimit:
    limit: int
    unit: str


TEXT_LIMITS: dict[str, _TextLimit] = {
    p.name: _TextLimit(p.text_max, p.text_unit) for p in _platforms.REGISTRY.values()
}

_COUNTERS = {"graphemes": graphemes, "weighted": x_weighted_length, "utf16": utf16_length}

NAMES = {p.name: p.title for p in _platforms.REGISTRY.values()}

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
        spec = TEXT_LIMITS[platform]
    except KeyError:
        raise ValueError(f"unknown platform {platform!r}") from None
    return Length(_COUNTERS[spec.unit](text), spec.limit, spec.unit)


BLUESKY_MAX_BYTES = _platforms.REGISTRY["bluesky"].text_max_bytes or 0


def fits(platform: str, text: str) -> bool:
    """Whether ``text`` fits ``platform``'s text limits: its length in the platform's
    unit, and also letmepost's X count on X and the PDS's byte limit on Bluesky."""
    if measure(platform, text).over:
        return False
    if platform == "twitter":
        return letmepost_x_length(text) <= TEXT_LIMITS[platform].limit
    if platform == "bluesky":
        return utf8_length(text) <= BLUESKY_MAX_BYTES
    return True


def length_message(what: str, platform: str, length: Length) -> str:
    word = _UNIT_WORDS[length.unit]
    return (
        f"{what} is {length.used:,} {word}; {NAMES[platform]} allows {length.limit:,}"
        f"{_UNIT_NOTES[length.unit]}"
    )


def text_limit(platform: str) -> int:
    return TEXT_LIMITS[platform].limit


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def text_max(
    platform: str,
    text: str,
    rule: str,
    out: list[Finding],
    *,
    severity: str = "error",
    api: bool = True,
) -> None:
    length = measure(platform, text)
    if length.over:
        out.append(
            Finding(
                rule, length_message("text", platform, length), "text", severity=severity, api=api
            )
        )


def text_non_empty(platform: str, text: str, rule: str, out: list[Finding]) -> None:
    if is_blank(text):
        out.append(Finding(rule, f"text is empty; {NAMES[platform]} needs some text", "text"))


def text_required_without_media(
    platform: str, content: Content, text: str, out: list[Finding]
) -> None:
    if not content.media and is_blank(text):
        out.append(
            Finding(
                f"{platform}.text.required",
                f"text is empty and there is no media; a {NAMES[platform]} post "
                "needs one or the other",
                "text",
            )
        )
