"""The calendar of scheduled posts, from the files alone (no network): what
`publisher schedule` prints and the live page's calendar section shows.

Two sources:

* planned: valid posts that are not drafts, with a `scheduledAt`, for each target
  not yet recorded in their `published` block (the next `publish` queues them);
* queued: targets whose `published.targets.<label>.status` is `queued` (the API holds
  them and sends them at their `scheduledAt`), whatever the file says now.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from publisher.post import Post

__all__ = ["Entry", "calendar", "parse_moment"]


@dataclass(frozen=True)
class Entry:
    at: str  # UTC, ISO-8601 with Z
    target: str
    platform: str | None
    file: str
    status: str  # "planned" | "queued"
    env: str  # "live" | "sandbox"
    note: str = ""


def parse_moment(moment: str | None) -> dt.datetime | None:
    if not moment:
        return None
    try:
        parsed = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def calendar(posts: Iterable[Post], now: dt.datetime | None = None) -> list[Entry]:
    """Every planned and queued target of `posts`, soonest first."""
    from publisher.post import iso_z

    now = now or dt.datetime.now(dt.UTC)
    found: list[tuple[dt.datetime, Entry]] = []
    for post in posts:
        record = post.record
        recorded = record.targets if record is not None else {}
        env = record.env if record is not None else "live"
        for label, target in recorded.items():
            if target.status != "queued":
                continue
            moment = parse_moment(target.scheduledAt) or post.scheduled_at
            if moment is None:
                continue
            note = ""
            if moment <= now:
                note = "due: `publisher sync` records it"
            elif post.draft:
                note = "the file is a draft now: `publisher sync` cancels it"
            entry = Entry(iso_z(moment), label, target.platform, post.rel, "queued", env, note)
            found.append((moment, entry))
        if not post.valid or post.draft or post.scheduled_at is None:
            continue
        for target in post.targets:
            if target.label in recorded:
                continue
            entry = Entry(
                iso_z(post.scheduled_at), target.label, target.platform, post.rel, "planned", "live"
            )
            found.append((post.scheduled_at, entry))
    found.sort(key=lambda item: (item[0], item[1].target, item[1].file))
    return [entry for _, entry in found]
