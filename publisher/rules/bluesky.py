"""Bluesky's rules for a post record that the checks (`validate/`), the configuration
and the AT Protocol client all read: language tags and self-labels."""

from __future__ import annotations

import re

__all__ = ["MAX_LANGS", "SELF_LABELS", "is_lang"]

MAX_LANGS = 3  # app.bsky.feed.post#langs maxLength
# The self-labels Bluesky's app offers (com.atproto.label.defs#selfLabels values).
SELF_LABELS = ("graphic-media", "nudity", "porn", "sexual")
_LANG_RE = re.compile(r"(?a:[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*|[ix]-[A-Za-z0-9-]+)")


def is_lang(value: str) -> bool:
    """Whether ``value`` is a language tag as Bluesky takes them (BCP-47-ish)."""
    return isinstance(value, str) and _LANG_RE.fullmatch(value) is not None
