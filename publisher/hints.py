"""'Did you mean' hints for unknown names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["PLATFORM_NICKNAMES", "did_you_mean"]

#: What people call a platform, by the name publisher knows it as.
PLATFORM_NICKNAMES = {
    "x": "twitter",
    "tweet": "twitter",
    "bsky": "bluesky",
    "fb": "facebook",
    "ig": "instagram",
    "insta": "instagram",
    "li": "linkedin",
    "tt": "tiktok",
}


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean "x"?)' for the closest choice, or '' when nothing is close. A
    platform's nickname (`x`) suggests its name (`twitter`) when that is a choice."""
    options = list(choices)
    nick = PLATFORM_NICKNAMES.get(word.lower())
    if nick in options:
        return f' (did you mean "{nick}"?)'
    lowered = {c.lower(): c for c in options}
    if word.lower() in lowered and lowered[word.lower()] != word:
        return f' (did you mean "{lowered[word.lower()]}"?)'
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""
