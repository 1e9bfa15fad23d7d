"""Every per-platform rule of the letmepost API, reported with the API's own rule ids.

The source is letmepost-api.md section 6 (local preflight limits) plus the option
shapes and scheduling rules of section 1; where that document gives no rule id,
the ids below were read in the server's preflight code (fork Verkan39/letmepost.dev,
``platforms/*/preflight.ts``), and the few ids marked ``# local id`` are ours and
follow the same ``<platform>.<surface>.<check>`` pattern.

A library, shared by the CLI (validate / plan / watch previews) and the local
sandbox server: pure, no I/O. Each :class:`Finding` carries a ``stage``:

* ``"cheap"``: the server checks it atomically before storing anything; any failure
  rejects the whole batch with HTTP 400 (``preflight_failed`` or ``validation_failed``).
* ``"deep"``: the server checks it per target while publishing (mime, byte sizes,
  board, ...); a failure rejects that target inside the 200 envelope.

Findings with ``api=False`` are publisher's own advice: the server does not report
them (it silently drops the field, or the limit is the platform's, not letmepost's).

The rules live in one module per concern: `rule_ids` (every id), `values` (`Content`,
`Media`, `Finding`, `Length`), `text` (the measures and text rules), `media` (types
and media rules), `options`, and one module per platform family (`bluesky`, `x`,
`meta`, `linkedin`, `pinterest`, `tiktok`); this package re-exports them.
"""

from __future__ import annotations

from publisher.rules.limits.bluesky import check_bluesky
from publisher.rules.limits.linkedin import check_linkedin
from publisher.rules.limits.media import kind_of_mime, media_limits, mime_from_extension, sniff_mime
from publisher.rules.limits.meta import check_facebook, check_instagram, check_threads
from publisher.rules.limits.options import check_options
from publisher.rules.limits.pinterest import check_pinterest
from publisher.rules.limits.rule_ids import MAX_TARGETS, PLATFORMS, RULES, SCHEMA_RULES
from publisher.rules.limits.text import (
    NAMES,
    fits,
    graphemes,
    is_blank,
    letmepost_x_length,
    measure,
    text_limit,
    utf8_length,
    utf16_length,
    x_weighted_length,
)
from publisher.rules.limits.tiktok import check_tiktok
from publisher.rules.limits.values import Content, Finding, Length, Media
from publisher.rules.limits.x import check_twitter

__all__ = [
    "MAX_TARGETS",
    "PLATFORMS",
    "RULES",
    "SCHEMA_RULES",
    "Content",
    "Finding",
    "Length",
    "Media",
    "check",
    "check_target_count",
    "fits",
    "graphemes",
    "is_blank",
    "kind_of_mime",
    "letmepost_x_length",
    "measure",
    "media_limits",
    "mime_from_extension",
    "sniff_mime",
    "text_limit",
    "utf8_length",
    "utf16_length",
    "x_weighted_length",
]

_PLATFORM_CHECKS = {
    "bluesky": check_bluesky,
    "twitter": check_twitter,
    "threads": check_threads,
    "linkedin": check_linkedin,
    "facebook": check_facebook,
    "instagram": check_instagram,
    "pinterest": check_pinterest,
    "tiktok": check_tiktok,
}


def _check_first_comment(content: Content, out: list[Finding]) -> None:
    if content.first_comment is None:
        return
    if content.scheduled:
        # The server refuses firstComment on every scheduled target, whatever the platform.
        out.append(
            Finding(
                "scheduledAt.no_first_comment",
                "a scheduled post cannot carry firstComment; publish it now or drop firstComment",
                "firstComment",
            )
        )
    elif content.platform != "bluesky":
        out.append(
            Finding(
                "first_comment.ignored",
                f"firstComment is posted on Bluesky only; the API drops it silently "
                f"for {NAMES[content.platform]}",
                "firstComment",
                severity="warning",
                api=False,
            )
        )


def check(content: Content, *, stage: str | None = None) -> list[Finding]:
    """Every rule ``content`` breaks on its platform (only one stage when ``stage`` is given).

    Raises ValueError for an unknown platform or stage.
    """
    if stage not in (None, "cheap", "deep"):
        raise ValueError(f"unknown stage {stage!r}")
    try:
        platform_check = _PLATFORM_CHECKS[content.platform]
    except KeyError:
        raise ValueError(f"unknown platform {content.platform!r}") from None
    out: list[Finding] = []
    check_options(content, out)
    found: list[Finding] = []
    platform_check(content, content.text or "", found)
    if not content.text:
        # The server refuses a target without text before any preflight (a missing
        # field; an empty string fails the request schema instead: also a 400).
        out.append(
            Finding("targets.text.required", "no text; the API needs text on every target", "text")
        )
        found = [f for f in found if f.field != "text"]
    out.extend(found)
    _check_first_comment(content, out)
    if stage is not None:
        return [f for f in out if f.stage == stage]
    return out


def check_target_count(count: int) -> list[Finding]:
    """The request's target count against the API's 1..25."""
    if count < 1:
        return [Finding("targets.required", "no targets; a post needs at least one", "targets")]
    if count > MAX_TARGETS:
        return [
            Finding(
                "targets.max",
                f"{count} targets; the API takes at most {MAX_TARGETS} per request",
                "targets",
            )
        ]
    return []
