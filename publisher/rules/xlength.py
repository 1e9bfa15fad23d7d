"""X's weighted length, as twitter-text v3 (X's own counter) computes it.

URL and emoji detection come from ``twitter-text-parser``, the Python port of
twitter/twitter-text; the weighing loop is twitter-text's ``parseTweet`` (JavaScript,
v3.1.0), which differs from the port's own ``parse_tweet`` in two places:

* line endings are kept as they are (the port turns ``\\r\\n`` into one ``\\n``; the
  official library counts both code points);
* an emoji is weighed as one unit only when it is a sequence of several code points
  (twemoji-parser does not match a bare ``©`` or ``®``, so those weigh 1 as any code
  point below U+1100; every other single code point emoji weighs 2 either way).

Where the two disagree for other reasons, this follows the port: its emoji list is
Unicode's Emoji 12.0, newer than the official library's twemoji-parser 11, so a
sequence new in Emoji 12 (🤏🏻, 🧑‍🦰) counts 2 here and its parts there; and a link
glued to an emoji or to non-Latin letters is sometimes found by one and not the other.
Checked against the official library (twitter-text 3.1.0 on node) on 10,000 generated
texts: links with and without a scheme, invalid domains, emoji sequences, directional
and combining marks, CJK, Indic scripts, CR LF: the same count on every text of the
first 3,084 (everything but Emoji 12 sequences), and on the conformance suite
(tests/rules/test_limits_conformance.py).

The port reads its emoji list with ``pkg_resources``, which setuptools no longer ships
(81 and later): while the port is imported, a stand-in that reads the file beside the
module is put in its place (the real one, when already imported, is left alone).
Importing this module costs about 0.2 s (the port compiles its emoji and URL regular
expressions), so ``limits.x_weighted_length`` imports it only for a text that is not
plain ASCII without a dot before a letter. The port's expressions are slow on long
texts, so links are searched only in the runs of text around a dot before a letter,
and emoji only where one can start.
"""

from __future__ import annotations

import functools
import re
import sys
import types
import unicodedata
from pathlib import Path
from typing import TypedDict


def _resource_string(module: str, name: str) -> bytes:
    """``pkg_resources.resource_string``: the bytes of the file ``name`` beside ``module``."""
    return Path(sys.modules[module].__file__ or "").with_name(name).read_bytes()


def _import_port() -> None:
    if "pkg_resources" in sys.modules:
        import twitter_text

        return
    stand_in = types.ModuleType("pkg_resources")
    stand_in.resource_string = _resource_string  # type: ignore[attr-defined]
    sys.modules["pkg_resources"] = stand_in
    try:
        import twitter_text  # noqa: F401
    finally:
        if sys.modules.get("pkg_resources") is stand_in:
            del sys.modules["pkg_resources"]


_import_port()

from twitter_text.config import config as _configs  # noqa: E402
from twitter_text.extract_urls import extract_urls_with_indices  # noqa: E402
from twitter_text.regexp.emoji import emoji as _EMOJI  # noqa: E402
from twitter_text.regexp.emoji import emoji_list as _EMOJI_LIST  # noqa: E402

__all__ = ["V2", "V3", "WeightConfig", "weighted_length"]

# A link has a dot followed by the first letter of its top-level domain (any script),
# and never holds a space, a tab or a line break: each run of other characters with
# such a dot is searched for links on its own (the port's URL expression is slow on
# long texts; a space before a link is as good as the start of the text to it).
_MAYBE_LINK = re.compile(r"[^ \t\r\n]*\.[^\W\d_][^ \t\r\n]*")
# The first code point of every emoji the port knows: its regular expression (a long
# alternation, slow when tried at every position) is tried only where one of them is.
_EMOJI_FIRST = frozenset(chr(int(e.codepoint.split()[0], 16)) for e in _EMOJI_LIST)


class WeightConfig(TypedDict):
    """One version of twitter-text's configuration, as `weighted_length` reads it."""

    scale: int
    default_weight: int
    ranges: list[dict[str, int]]
    transformed_url_length: int


V2: WeightConfig = _configs["version2"]
V3: WeightConfig = _configs["version3"]


def _plain_weight(text: str, ranges: list[dict[str, int]], default: int) -> int:
    """The summed weight of code points outside links and emoji (``getCharacterWeight``)."""
    key = tuple((r["start"], r["end"], r["weight"]) for r in ranges)
    light, weight = _light(key)
    if light is None:  # ranges of several weights: one code point at a time
        return sum(_weight(ord(c), key, default) for c in text)
    n_light = len(light.findall(text))
    return n_light * weight + (len(text) - n_light) * default


def _weight(cp: int, ranges: tuple[tuple[int, int, int], ...], default: int) -> int:
    for start, end, weight in ranges:
        if start <= cp <= end:
            return weight
    return default


@functools.cache
def _light(ranges: tuple[tuple[int, int, int], ...]) -> tuple[re.Pattern[str] | None, int]:
    """A pattern for the code points of ``ranges`` when they all weigh the same."""
    weights = {w for _, _, w in ranges}
    if len(weights) != 1:
        return None, 0
    chars = "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b, _ in ranges)
    return re.compile(f"[{chars}]"), weights.pop()


def weighted_length(text: str, options: WeightConfig | None = None) -> int:
    """``text``'s weighted length (``parseTweet(text).weightedLength``), v3 by default."""
    opts = V3 if options is None else options
    scale = opts["scale"]
    default = opts["default_weight"]
    ranges = opts["ranges"]
    url_weight = opts["transformed_url_length"] * scale
    s = unicodedata.normalize("NFC", text)
    # {start: (length, weight)} of what weighs as one unit: links, then emoji sequences
    entities = {at: (length, url_weight) for at, length in _links(s).items()}
    if opts.get("emoji_parsing_enabled"):
        for at, length in _emoji_sequences(s).items():
            entities.setdefault(at, (length, default))
    total = 0
    i = 0
    for at in sorted(entities):
        if at < i:
            continue  # inside a link (an emoji in a link's path is part of it)
        length, weight = entities[at]
        total += _plain_weight(s[i:at], ranges, default) + weight
        i = at + length
    total += _plain_weight(s[i:], ranges, default)
    return total // scale


def _emoji_sequences(s: str) -> dict[int, int]:
    """{start: length} of each emoji of several code points, as the port's
    ``extract_emojis_with_indices`` finds them (leftmost, longest first)."""
    out: dict[int, int] = {}
    i, n = 0, len(s)
    while i < n:
        if s[i] in _EMOJI_FIRST and (m := _EMOJI.match(s, i)):
            end = m.end()
            if end - i > 1:
                out[i] = end - i
            i = end
        else:
            i += 1
    return out


def _links(s: str) -> dict[int, int]:
    """{start: length} of each link twitter-text finds in ``s``."""
    out: dict[int, int] = {}
    for run in _MAYBE_LINK.finditer(s):
        start = max(0, run.start() - 1)  # with the characters around it
        for at, length in _links_in(s[start : run.end() + 1]):
            out[start + at] = length
    return out


@functools.lru_cache(maxsize=4096)
def _links_in(run: str) -> tuple[tuple[int, int], ...]:
    """(start, length) of the links in one run (cached: a thread split measures the
    same words again and again)."""
    return tuple((u["indices"][0], len(u["url"])) for u in extract_urls_with_indices(run))
