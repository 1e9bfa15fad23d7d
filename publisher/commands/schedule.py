"""`publisher schedule`: the calendar of what goes out next, by day and target
(`publisher.scheduled` works it out; this prints it, in local time)."""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from publisher.commands.common import config_from, load_posts
from publisher.scheduled import Entry, calendar, parse_moment

__all__ = ["Entry", "Options", "calendar", "main", "render"]


@dataclass(frozen=True)
class Options:
    paths: tuple[Path, ...] = ()
    config: Path | None = None
    as_json: bool = False


def render(entries: list[Entry]) -> str:
    """A table per day (local time), one row per target."""
    if not entries:
        return "Nothing scheduled."
    from publisher.report import table

    out: list[str] = []
    day = None
    rows: list[list[str]] = []
    for entry in entries:
        moment = parse_moment(entry.at)
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


def main(options: Options) -> int:
    from publisher.report import dump_json

    config = config_from(options.config, options.paths)
    posts = load_posts(options.paths, config)
    entries = calendar(posts)
    invalid = [p for p in posts if not p.valid]
    if options.as_json:
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
