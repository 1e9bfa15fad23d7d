"""The Bluesky extras of a target (langs, self-labels, who may reply and quote, the
link card), each value checked at its line; on a letmepost target a warning, since the
API has no field for them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from publisher.document import Loc
from publisher.hints import did_you_mean
from publisher.post import NO_EXTRAS, REPLY_CHOICES, REPLY_RULES, BlueskyExtras
from publisher.rules.bluesky import MAX_LANGS, SELF_LABELS, is_lang

if TYPE_CHECKING:
    from publisher.validate.base import Checker

__all__ = ["EXTRA_KEYS", "bluesky_extras"]

EXTRA_KEYS = ("langs", "labels", "replies", "quotes", "card")


def bluesky_extras(
    c: Checker, fm: Any, over: Any, loc: Loc, label: str, direct: bool, has_media: bool
) -> BlueskyExtras:
    """A target's Bluesky extras (per target, else the post's; `langs` else the
    config's), each value checked at its line. On a letmepost target, what is set
    is a warning there: the API has no field for it, so it is not sent."""
    keys = EXTRA_KEYS
    if c.fm_extras is None:  # once per post
        c.fm_extras = any(getattr(fm, k) is not None for k in keys)
    if (
        not c.fm_extras
        and not (direct and c.config.langs)
        and (over is None or all(getattr(over, k) is None for k in keys))
    ):
        return NO_EXTRAS  # the common case: nothing set
    values: dict[str, Any] = {}
    for key in keys:
        value = getattr(fm, key)
        where: tuple[str | int, ...] = (key,)
        if over is not None and getattr(over, key) is not None:
            value, where = getattr(over, key), (*loc, key)
        if value is None:
            continue
        checked = _extra(c, key, value, where, direct and has_media)
        if checked is None:
            continue
        if not direct:
            c.problem(
                where,
                f"{key}.letmepost",
                f"{label}: `{key}` is set on direct Bluesky posts only (an account in "
                "publisher.toml with `bluesky = ...`); the letmepost API has no field for "
                "it, so it is not sent",
                "warning",
            )
            continue
        values[key] = checked
    if direct and "langs" not in values and c.config.langs:
        values["langs"] = c.config.langs
    return BlueskyExtras(**values) if values else NO_EXTRAS


def _extra(c: Checker, key: str, value: Any, where: Loc, with_media: bool) -> Any:
    """One extra's value as `BlueskyExtras` holds it; None (and an error at its
    line) when it is not usable."""
    if key == "langs":
        for j, lang in enumerate(value):
            if not is_lang(lang):
                c.problem(
                    (*where, j),
                    "langs.invalid",
                    f"{lang!r} is not a language tag (BCP 47, like en, de or pt-BR)",
                )
                return None
        if len(value) > MAX_LANGS:
            c.problem(where, "langs.too_many", f"{len(value)} languages; Bluesky takes at most 3")
            return None
        return tuple(dict.fromkeys(value))
    if key == "labels":
        for j, name in enumerate(value):
            if name not in SELF_LABELS:
                c.problem(
                    (*where, j),
                    "labels.unknown",
                    f"unknown label {name!r}{did_you_mean(name, SELF_LABELS)}; self-labels "
                    f"are {', '.join(SELF_LABELS)}",
                )
                return None
        return tuple(dict.fromkeys(value))
    if key == "replies":
        rules = [value] if isinstance(value, str) else value
        ok = isinstance(rules, list) and bool(rules) and all(isinstance(r, str) for r in rules)
        if ok and len(rules) == 1:
            ok = rules[0] in REPLY_CHOICES
        elif ok:
            ok = all(r in REPLY_RULES for r in rules) and len(set(rules)) == len(rules)
        if not ok:
            c.problem(
                where,
                "replies.invalid",
                f"replies: {value!r} is not one of {', '.join(REPLY_CHOICES)}, nor a list "
                f"of {', '.join(REPLY_RULES)}",
            )
            return None
        return tuple(rules)
    if key == "quotes":
        return value
    # card: false, true, or the URL the card shows
    if isinstance(value, bool):
        return value
    if not isinstance(value, str):
        c.problem(
            where,
            "card.invalid",
            f"card: {value!r} should be false (no card) or the http(s) URL the card shows",
        )
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        c.problem(where, "card.invalid", f"card: {value!r} is not an http(s) URL")
        return None
    if with_media:
        c.problem(
            where,
            "card.media",
            "card: a post with images cannot show a link card too (Bluesky shows one or "
            "the other): remove `card` or the media",
        )
        return None
    return value.strip()
