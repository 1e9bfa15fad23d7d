"""`publisher schedule`: the calendar of what goes out next, by day and target.

Two sources, both read from the files (no network):

* planned: valid posts that are not drafts, with a `scheduledAt`, for each target
  not yet recorded in their `published` block (the next `publish` queues them);
* queued: targets whose `published.targets.<label>.status` is `queued` (the API holds
  them and sends them at their `scheduledAt`), whatever the file says now.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import asdict, dataclass
from typing import Any

from publisher.commands.common import config_from, load_posts


@dataclass(frozen=True)
class Entry:
    at: str  # UTC, ISO-8601 with Z
    target: str
    platform: str | None
    file: str
    status: str  # "planned" | "queued"
    env: str  # "live" | "sandbox"
    note: str = ""


def _parse(moment: str | None) -> dt.datetime | None:
    if not moment:
        return None
    try:
        parsed = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def calendar(posts: list[Any], now: dt.datetime | None = None) -> list[Entry]:
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
            moment = _parse(target.scheduledAt) or post.scheduled_at
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


def render(entries: list[Entry]) -> str:
    """A table per day (local time), one row per target."""
    if not entries:
        return "Nothing scheduled."
    from publisher.report import table

    out: list[str] = []
    day = None
    rows: list[list[str]] = []
    for entry in entries:
        moment = _parse(entry.at)
        assert moment is not None
        local = moment.astimezone()
        label = local.strftime("%Y-%m-%d %A")
        if label != day:
            if rows:
                out.append(table(rows, ["TIME", "TARGET", "PLATFORM", "STATUS", "FILE"]))
                out.append("")
            out.append(label)
            day, rows = label, []
        status = entry.status + (" (sandbox)" if entry.env == "sandbox" else "")
        file = entry.file + (f"  ({entry.note})" if entry.note else "")
        rows.append([local.strftime("%H:%M %z"), entry.target, entry.platform or "", status, file])
    out.append(table(rows, ["TIME", "TARGET", "PLATFORM", "STATUS", "FILE"]))
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    from publisher.report import dump_json

    config = config_from(args)
    posts = load_posts(args.paths, config)
    entries = calendar(posts)
    invalid = [p for p in posts if not p.valid]
    if args.json:
        dump_json(
            {
                "items": [asdict(e) for e in entries],
                "invalid": [p.rel for p in invalid],
            }
        )
    else:
        print(render(entries))
    if invalid:
        print(
            f"publisher: {len(invalid)} invalid post(s) not in the calendar "
            f"(`publisher validate` says why): {', '.join(p.rel for p in invalid)}",
            file=sys.stderr,
        )
        return 1
    return 0
