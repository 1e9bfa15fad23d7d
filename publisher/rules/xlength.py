"""X's weighted length, as twitter-text v3 (X's own counter) computes it.

URL and emoji detection come from ``twitter-text-parser``, the Python port of
twitter/twitter-text; the weighing loop is twitter-text's ``parseTweet`` (JavaScript,
v3.1.0), which differs from the port's own ``parse_tweet`` in two places:

* line endings are kept as they are (the port turns ``\\r\\n`` into one ``\\n``; the
  official library counts both code points);
* an emoji is weighed as one unit only when it is a sequence of several code points
  (twemoji-parser does not match a bare ``©`` or ``®``, so those weigh 1 as any code
  point below U+1100; every other single code point emoji weighs 2 either way).

The port reads its emoji list with ``pkg_resources``, which setuptools no longer ships
(81 and later): while the port is imported, a stand-in that reads the file beside the
module is put in its place (the real one, when already imported, is left alone).
Importing this module costs about 0.15 s (the port compiles its emoji and URL regular
expressions), so ``limits`` imports it only for a text that can hold a URL or an emoji. Checked against the official library on 3,000+ generated
texts (links with and without a scheme, invalid domains, emoji sequences, directional
and combining marks, CJK, Indic scripts, CR LF) and by the conformance suite
(tests/test_limits_conformance.py).
"""

from __future__ import annotations

import sys
import types
import unicodedata
from pathlib import Path


def _resource_string(module: str, name: str) -> bytes:
    """``pkg_resources.resource_string``: the bytes of the file ``name`` beside ``module``."""
    return Path(sys.modules[module].__file__ or "").with_name(name).read_bytes()


def _import_port() -> None:
    if "pkg_resources" in sys.modules:
        import twitter_text  # type: ignore[import-untyped]

        return
    stand_in = types.ModuleType("pkg_resources")
    stand_in.resource_string = _resource_string  # type: ignore[attr-defined]
    sys.modules["pkg_resources"] = stand_in
    try:
        import twitter_text  # type: ignore[import-untyped]  # noqa: F401
    finally:
        if sys.modules.get("pkg_resources") is stand_in:
            del sys.modules["pkg_resources"]


_import_port()

from twitter_text.config import config as _configs  # type: ignore[import-untyped]  # noqa: E402
from twitter_text.extract_emojis import extract_emojis_with_indices  # type: ignore[import-untyped]  # noqa: E402
from twitter_text.extract_urls import extract_urls_with_indices  # type: ignore[import-untyped]  # noqa: E402

__all__ = ["V2", "V3", "weighted_length"]

V2 = _configs["version2"]
V3 = _configs["version3"]


def _weight(cp: int, ranges: list[dict[str, int]], default: int) -> int:
    for r in ranges:
        if r["start"] <= cp <= r["end"]:
            return r["weight"]
    return default


def weighted_length(text: str, options: dict | None = None) -> int:
    """``text``'s weighted length (``parseTweet(text).weightedLength``), v3 by default."""
    opts = V3 if options is None else options
    scale: int = opts["scale"]
    default: int = opts["default_weight"]
    ranges: list[dict[str, int]] = opts["ranges"]
    url_weight: int = opts["transformed_url_length"] * scale
    s = unicodedata.normalize("NFC", text)
    urls = {u["indices"][0]: len(u["url"]) for u in extract_urls_with_indices(s)}
    emojis: dict[int, int] = {}
    if opts.get("emoji_parsing_enabled"):
        for e in extract_emojis_with_indices(s):
            if len(e["emoji"]) > 1:
                emojis[e["indices"][0]] = len(e["emoji"])
    total = 0
    i, n = 0, len(s)
    while i < n:
        if i in urls:
            total += url_weight
            i += urls[i]
        elif i in emojis:
            total += default
            i += emojis[i]
        else:
            total += _weight(ord(s[i]), ranges, default)
            i += 1
    return total // scale
