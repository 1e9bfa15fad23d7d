"""What one resolved target says against its platform: limits at the line they concern
(the body, a part of a thread, an item of media, an option), what it answers or quotes,
and what a direct Bluesky account cannot take."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from publisher.document import Loc
from publisher.post import Problem, ResolvedTarget, post_ref
from publisher.rules import limits

if TYPE_CHECKING:
    from publisher.validate.base import Checker

__all__ = ["check_direct", "check_limits", "check_refs", "check_thread"]


def check_direct(c: Checker, target: ResolvedTarget, media_loc: Loc, scheduled: bool) -> None:
    """What a direct Bluesky account cannot take (it is not the letmepost API)."""
    if scheduled:
        c.problem(
            ("scheduledAt",),
            "scheduledAt.direct_bluesky",
            f"{target.label!r} is a direct Bluesky account, which has no scheduled posts: "
            "remove scheduledAt, or schedule through a letmepost account",
        )
    for j, m in enumerate(target.media):
        if m.url is not None or m.kind != "image":
            c.problem(
                (*media_loc, j),
                "bluesky.direct.media",
                f"{target.label}: a direct Bluesky account takes local image files only "
                "(`path:`, up to 4)",
            )


def check_refs(
    c: Checker, fm: Any, platform: str | None, direct: bool, loc: Loc, options: Any
) -> Any:
    """`replyTo` / `quote` for one target: the options letmepost takes (an X reply
    or quote by status id), or what a direct Bluesky account resolves when it posts;
    a target on another platform than the URL's is refused at its line."""
    if fm.replyTo is None and fm.quote is None:
        return options
    merged = dict(options) if options else {}
    for key in ("replyTo", "quote"):
        url = getattr(fm, key)
        if url is None:
            continue
        ref = post_ref(url)
        if ref is None:
            c.problem(
                (key,),
                f"{key}.unsupported",
                f"{key} must be an x.com / twitter.com status URL, a bsky.app post URL or "
                f"an at:// post URI; got {url!r}",
            )
            continue
        where, value = ref
        if platform is not None and platform != where:
            name = "an X" if where == "twitter" else "a Bluesky"
            c.problem(
                loc,
                f"{key}.platform_mismatch",
                f"{key} is {name} post, and this target is on {platform}: give it its "
                f"own `text` (a post of its own), or remove it",
            )
            continue
        if where == "twitter":
            merged["platform"] = "twitter"
            merged["replyToTweetId" if key == "replyTo" else "quoteTweetId"] = value
        elif key == "quote" and not direct:
            c.problem(
                loc,
                "quote.bluesky_letmepost",
                "letmepost cannot quote on Bluesky: quote through a direct Bluesky "
                'account (`[accounts.me] bluesky = "you.bsky.social"`)',
            )
        # A Bluesky reply through letmepost: its uri and cid (and the thread's root) are
        # read when it is published (backends.letmepost.resolve_bluesky_reply); the
        # target carries the reference (validate.targets).
    return merged or options


def bluesky_reply(url: str | None, platform: str | None) -> bool:
    """Whether `replyTo: url` is a Bluesky post that a target on `platform` answers."""
    ref = post_ref(url) if url else None
    return ref is not None and ref[0] == "bluesky" and platform in (None, "bluesky")


def check_thread(c: Checker, target: ResolvedTarget, loc: Loc, over: Any) -> None:
    """A thread: the platform must take replies, and each part its limits, at the
    part's line; a first comment is a part of its own."""
    from publisher.rules.platforms import REGISTRY

    known = REGISTRY.get(target.platform or "")
    if not target.direct and known is not None and not known.replies:
        c.problem(
            loc,
            "thread.no_replies",
            f"{target.label}: {known.title} cannot take replies, so a thread cannot go "
            "there: give this target its own `text` (a single post), or remove it",
        )
        return
    if target.first_comment is not None:
        fc_loc = (*loc, "firstComment") if over and over.firstComment else ("firstComment",)
        c.problem(
            fc_loc,
            "thread.first_comment",
            "a thread has no first comment: write it as the thread's next part "
            "(after a line holding only '---')",
        )
    if not target.platform:
        return
    label = f"{target.label}: " if target.label != target.platform else f"{target.platform}: "
    lines = [line for _, line in c.doc.parts[1:]] or [c.doc.body_line] * len(target.parts)
    for n, (text, line) in enumerate(zip(target.parts, lines, strict=True), start=2):
        content = limits.Content(platform=target.platform, text=text)
        for finding in limits.check(content):
            if finding.field != "text":
                continue
            c.post.problems.append(
                Problem(
                    c.post.rel,
                    line,
                    1,
                    finding.rule,
                    f"{label}part {n}: {finding.message}",
                    finding.severity,
                    target=target.index,
                )
            )


def check_limits(
    c: Checker, target: ResolvedTarget, loc: Loc, over: Any, media_loc: Loc, scheduled: bool
) -> None:
    for finding in limits.check(target.content(scheduled)):
        if finding.rule == "scheduledAt.no_first_comment":
            continue  # reported once per post, above
        field_name = finding.field
        if field_name == "text":
            where = (*loc, "text") if over and over.text else None
        elif field_name.startswith("media"):
            m = re.match(r"media\[(\d+)\](?:\.(\w+))?", field_name)
            where = (
                media_loc
                if not m
                else (*media_loc, int(m.group(1)), *(["alt"] if m.group(2) == "alt" else []))
            )
        elif field_name.startswith("firstComment"):
            where = (*loc, "firstComment") if over and over.firstComment else ("firstComment",)
        elif field_name.startswith("options"):
            where = (*loc, *field_name.split("."))
        else:
            where = loc
        label = f"{target.label}: " if target.label != target.platform else f"{target.platform}: "
        if where is None:  # the body: point at its first line of text
            body = c.doc.body
            blank = len(body) - len(body.lstrip("\n \t"))
            line, col = c.doc.body_line + body.count("\n", 0, blank), 1
            c.post.problems.append(
                Problem(
                    c.post.rel,
                    line,
                    col,
                    finding.rule,
                    label + finding.message,
                    finding.severity,
                )
            )
        else:
            c.problem(where, finding.rule, label + finding.message, finding.severity)
