"""What a direct Bluesky post carries, worked out before anything is written: the
local checks (text, images, first comment), its link card (read from the page, a
note when there is none), the images' bytes, and the post it answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from publisher.clients.atproto import BlueskyAccount, External
    from publisher.post import ResolvedTarget

__all__ = ["direct_problems", "images", "link_card", "reply_refs", "reply_to_option"]


def direct_problems(t: ResolvedTarget) -> list[str]:
    """What keeps a direct Bluesky target from being published, found without any
    request (empty when it can go). Reads the target's image files."""
    from publisher.clients.atproto import BlueskyError, check_post

    # Schedules and URL/video media are refused earlier, by validation (post.py).
    if t.repost:
        return []  # a repost has nothing of its own to check
    problems = []
    try:
        check_post(t.text, images(t), list(t.extras.langs) or None, labels=t.extras.labels)
        if t.first_comment is not None:
            check_post(t.first_comment)
    except BlueskyError as exc:
        problems.append(f"{t.label}: {exc}")
    except OSError as exc:
        problems.append(f"{t.label}: cannot read media: {exc}")
    return problems


def link_card(t: ResolvedTarget, notes: list[str]) -> External | None:
    """The link card of a post with a link and no media (``External``), or None. What
    keeps a card from being made is a note for the outcome, never a failure."""
    if t.media or t.extras.card is False:
        return None
    from publisher.clients.atproto import BlueskyError, check_post
    from publisher.clients.linkcard import fetch_card, pick_link

    try:
        link = pick_link(t.text, card=t.extras.card, has_media=False)
    except ValueError as exc:  # checked at validation already
        notes.append(f"no link card: {exc}")
        return None
    if link is None:
        return None
    card, warnings = fetch_card(link)
    notes.extend(f"no link card: {w}" if card is None else w for w in warnings)
    if card is None:
        return None
    external = card.external()
    try:
        check_post("", external=external)
    except BlueskyError as exc:
        notes.append(f"no link card: {exc}")
        return None
    return external


def reply_refs(account: BlueskyAccount, url: str) -> tuple[str, str, str, str]:
    """(parent uri, cid, root uri, cid) of a reply to the post at `url`: the root is the
    parent's own root when the parent is itself a reply."""
    from publisher.clients.atproto import parse_post_uri

    uri, cid = account.resolve_post(url)
    did, rkey = parse_post_uri(uri)
    found = account.get_record("app.bsky.feed.post", rkey, repo=did)
    root = ((found or {}).get("value") or {}).get("reply", {}).get("root") or {}
    return uri, cid, str(root.get("uri") or uri), str(root.get("cid") or cid)


def images(t: ResolvedTarget) -> list[tuple[bytes, str, str]]:
    from publisher.files import read_media

    return [
        (read_media(m.path, m.size or 0), m.mime or "", m.alt or "")
        for m in t.media
        if m.path is not None
    ]


def reply_to_option(t: ResolvedTarget) -> tuple[str, str, str, str] | None:
    """``(parent uri, parent cid, root uri, root cid)`` from the target's reply options."""
    opts = t.options or {}
    parent_uri, parent_cid = opts.get("replyToUri"), opts.get("replyToCid")
    if not (parent_uri and parent_cid):
        return None
    root_uri = opts.get("replyRootUri") or parent_uri
    root_cid = opts.get("replyRootCid") or parent_cid
    return str(parent_uri), str(parent_cid), str(root_uri), str(root_cid)
