"""A target's ``options``: the discriminated union of letmepost-api.md section 1
(platform, known keys, value types), and the refinements (X's reply or quote, Bluesky's
reply pairs)."""

from __future__ import annotations

from collections.abc import Mapping

from publisher.rules.limits.text import NAMES, patterns
from publisher.rules.limits.values import Content, Finding

__all__ = ["check_options"]

_STR, _BOOL, _URL = "a non-empty string", "true or false", "an http(s) URL"
_TIKTOK_PRIVACY = ("public_to_everyone", "mutual_follow_friend", "self_only")
_BLUESKY_REPLY_KEYS = ("replyToUri", "replyToCid", "replyRootUri", "replyRootCid")

# The discriminated union of letmepost-api.md section 1 (besides "platform").
_OPTION_KEYS: dict[str, dict[str, str]] = {
    "twitter": {"replyToTweetId": _STR, "quoteTweetId": _STR},
    "pinterest": {"boardId": _STR, "destinationUrl": _URL, "title": _STR, "coverImageUrl": _URL},
    "threads": {"replyToId": _STR},
    "tiktok": {
        "privacy": _STR,
        "disableComment": _BOOL,
        "disableDuet": _BOOL,
        "disableStitch": _BOOL,
        "brandContentToggle": _BOOL,
        "brandOrganicToggle": _BOOL,
    },
    "bluesky": dict.fromkeys(_BLUESKY_REPLY_KEYS, _STR),
    "facebook": {},
    "instagram": {},
    "linkedin": {},
}
_URL_RULES = {
    "destinationUrl": "pinterest.destination_url.http",
    "coverImageUrl": "pinterest.cover_image_url.http",
}


def _check_option_value(key: str, value: object, want: str, out: list[Finding]) -> None:
    field = f"options.{key}"
    ok = isinstance(value, bool) if want == _BOOL else isinstance(value, str) and value != ""
    if not ok:
        out.append(Finding("targets.options.invalid", f"{field} must be {want}", field))
        return
    if want == _URL and isinstance(value, str) and not patterns().http_url.fullmatch(value):
        # A non-URL fails the request schema (400); another scheme fails in the publisher.
        stage = "deep" if patterns().has_scheme.match(value) else "cheap"
        out.append(Finding(_URL_RULES[key], f"{field} must be an http(s) URL", field, stage=stage))


def check_options(content: Content, out: list[Finding]) -> None:
    opts = content.options
    if opts is None:
        return
    platform = content.platform
    name = NAMES[platform]
    given = opts.get("platform")
    if given is None:
        out.append(
            Finding(
                "targets.options.platform_required",
                f'options needs platform: "{platform}"',
                "options.platform",
            )
        )
        return
    if given != platform:
        out.append(
            Finding(
                "targets.options.platform_mismatch",
                f"options are for {given!r} but this target publishes to {name}",
                "options.platform",
            )
        )
        return
    allowed = _OPTION_KEYS[platform]
    for key, value in opts.items():
        if key == "platform":
            continue
        if key not in allowed:
            import difflib

            hint = difflib.get_close_matches(str(key), allowed, n=1)
            known = ", ".join(allowed) if allowed else "none besides platform"
            tip = f"did you mean {hint[0]}?" if hint else f"{name} takes: {known}"
            out.append(
                Finding(
                    "targets.options.unknown_key",
                    f"unknown option {key!r} for {name}; {tip}",
                    f"options.{key}",
                    api=False,  # the server's schema drops unknown keys silently
                )
            )
            continue
        if key == "privacy" and value not in _TIKTOK_PRIVACY:
            out.append(
                Finding(
                    "tiktok.options.privacy_enum",
                    f"options.privacy is {value!r}; use one of " + ", ".join(_TIKTOK_PRIVACY),
                    "options.privacy",
                )
            )
            continue
        _check_option_value(key, value, allowed[key], out)

    if platform == "twitter" and opts.get("replyToTweetId") and opts.get("quoteTweetId"):
        out.append(
            Finding(
                "twitter.options.reply_quote_exclusive",
                "replyToTweetId and quoteTweetId are both set; X takes a reply or a "
                "quote, not both",
                "options.quoteTweetId",
            )
        )
    if platform == "bluesky":
        _check_bluesky_reply(opts, content.scheduled, out)


def _check_bluesky_reply(opts: Mapping[str, object], scheduled: bool, out: list[Finding]) -> None:
    present = {k for k in _BLUESKY_REPLY_KEYS if opts.get(k)}
    if not present:
        return
    for uri, cid in (("replyToUri", "replyToCid"), ("replyRootUri", "replyRootCid")):
        if (uri in present) != (cid in present):
            missing = cid if uri in present else uri
            out.append(
                Finding(
                    "bluesky.options.reply_pair",
                    f"{uri} and {cid} go together; {missing} is missing",
                    f"options.{missing}",
                )
            )
    if present & {"replyRootUri", "replyRootCid"} and not present & {"replyToUri", "replyToCid"}:
        out.append(
            Finding(
                "bluesky.options.root_needs_parent",
                "a reply root needs the parent too: set replyToUri and replyToCid",
                "options.replyToUri",
            )
        )
    if scheduled:
        out.append(
            Finding(
                "scheduledAt.no_bluesky_reply",
                "a scheduled post cannot be a Bluesky reply; publish it now or drop the "
                "reply options",
                "options",
            )
        )
