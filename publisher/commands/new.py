"""`publisher new "Title"`: start a post as a draft, ready to edit.

Writes `<posts>/YYYY-MM-DD-<slug>.md` (the day it goes out with `--at`, else today;
`-2`, `-3`, ... when the name is taken: nothing is ever overwritten) with the
configuration's default targets and `draft: true`, and prints its path. The file
validates as it is.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.commands.common import UsageError, config_from, create_new

if TYPE_CHECKING:
    from publisher.config import Config

__all__ = [
    "THREAD_PART",
    "Options",
    "main",
    "parse_at",
    "parse_targets",
    "post_text",
    "slugify",
]

_SIMPLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
THREAD_PART = "---"


@dataclass(frozen=True)
class Options:
    title: str
    config: Path | None = None
    at: str | None = None  # scheduledAt, ISO-8601 with an offset
    thread: bool = False  # start a thread (parts between ---)
    targets: str | None = None  # comma-separated; None: the targets of publisher.toml


def slugify(title: str, limit: int = 60) -> str:
    """`Hello, World: v2!` -> `hello-world-v2` (ASCII, at most `limit` characters)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug[:limit].rstrip("-") or "post"


def parse_at(value: str) -> dt.datetime:
    """`--at`: an ISO-8601 moment with an offset, in the future. UsageError otherwise."""
    from publisher.post import SCHEDULE_MARGIN

    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(
            f"--at {value!r} is not an ISO-8601 date and time (like 2026-12-01T09:00:00+01:00)"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise UsageError(f"--at {value!r} has no timezone offset: add one, such as Z or +01:00")
    if moment < dt.datetime.now(dt.UTC) + SCHEDULE_MARGIN:
        raise UsageError(f"--at {value!r} is in the past: give a moment in the future")
    return moment


def parse_targets(value: str, config: Config) -> list[str]:
    """`--targets bluesky,x`: aliases of publisher.toml, platform names or account
    UUIDs, each once. UsageError (with a hint) for a name the post would refuse."""
    from publisher.config import _UUID, PLATFORM_NAMES
    from publisher.hints import did_you_mean

    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise UsageError("--targets is empty: give names like bluesky,twitter")
    for name in names:
        if name not in config.accounts and name not in PLATFORM_NAMES and not _UUID.match(name):
            hint = did_you_mean(name, [*config.accounts, *PLATFORM_NAMES])
            raise UsageError(
                f"--targets: unknown target {name!r}{hint}; use an alias of publisher.toml, "
                "a platform name or an account UUID"
            )
    if len(set(names)) != len(names):
        raise UsageError("--targets names the same target twice")
    if len(names) > 25:
        raise UsageError(f"--targets has {len(names)} targets; a post takes at most 25")
    return names


def _yaml_item(name: str) -> str:
    return name if _SIMPLE.match(name) else json.dumps(name, ensure_ascii=False)


def post_text(title: str, targets: list[str], at: dt.datetime | None, thread: bool) -> str:
    listed = ", ".join(_yaml_item(t) for t in targets)
    lines = ["---", f"targets: [{listed}]"]
    if at is not None:
        lines.append(f"scheduledAt: {at.isoformat()}")
    lines += ["draft: true  # remove this line to publish", "meta:"]
    lines.append(f"  title: {json.dumps(title, ensure_ascii=False)}")
    if thread:
        lines.append("  # A thread: parts are separated by lines holding only `---`.")
    lines.append("---")
    if thread:
        lines += [title, "", THREAD_PART, "", "The second part: a reply to the first.", ""]
        lines += [THREAD_PART, "", "The last part."]
    else:
        lines.append(title)
    return "\n".join(lines) + "\n"


def main(options: Options) -> int:
    title = " ".join(options.title.split())
    if not title:
        raise UsageError('the title is empty: publisher new "What the post is about"')
    at = parse_at(options.at) if options.at else None
    config = config_from(options.config)
    targets = list(config.targets) or ["bluesky"]
    if options.targets is not None:
        targets = parse_targets(options.targets, config)
    day = (at.date() if at else dt.date.today()).isoformat()
    stem = f"{day}-{slugify(title)}"
    text = post_text(title, targets, at, options.thread)
    folder = config.posts_dir
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder}: the posts folder is not a folder")
    for n in range(1, 1000):
        path = folder / (f"{stem}.md" if n == 1 else f"{stem}-{n}.md")
        if not path.exists() and create_new(path, text):
            print(_shown(path))
            return 0
    raise UsageError(f"{folder}: too many posts named {stem}-N.md")


def _shown(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)
