"""`thread: auto`: a body too long for a platform, split into a thread that fits it.

Split at paragraph breaks first, then between sentences, then between words: always
at whitespace, so never inside a URL, a mention, a hashtag or a grapheme. Each part is
measured the platform's way (`limits.measure`: graphemes on Bluesky, X's weighting with
23 per link, ...). A single word longer than the limit (a very long URL) stays whole in
a part of its own, which the rules then report.
"""

from __future__ import annotations

import re

from publisher.rules import limits

__all__ = ["split_text"]

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def split_text(text: str, platform: str) -> list[str]:
    """`text` as parts that each fit `platform`'s text limit (one part when it fits)."""
    if _fits(platform, text):
        return [text]
    parts: list[str] = []
    for paragraph in (p.strip() for p in re.split(r"\n\s*\n", text.strip())):
        if not paragraph:
            continue
        if parts and _fits(platform, parts[-1] + "\n\n" + paragraph):
            parts[-1] += "\n\n" + paragraph
        elif _fits(platform, paragraph):
            parts.append(paragraph)
        else:
            parts.extend(_split_paragraph(paragraph, platform))
    return parts


def _fits(platform: str, text: str) -> bool:
    return limits.fits(platform, text)


def _split_paragraph(paragraph: str, platform: str) -> list[str]:
    """A paragraph too long for one part: sentences packed greedily, and a sentence
    too long alone, its words."""
    out: list[str] = []
    for sentence in _SENTENCE_END.split(paragraph):
        if out and _fits(platform, out[-1] + " " + sentence):
            out[-1] += " " + sentence
        elif _fits(platform, sentence):
            out.append(sentence)
        else:
            for word in sentence.split():
                if out and _fits(platform, out[-1] + " " + word):
                    out[-1] += " " + word
                else:
                    out.append(word)  # a word too long alone: a part the rules report
    return out
