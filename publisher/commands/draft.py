"""`publisher draft`: feed entries and releases become draft posts.

`publisher draft` reads the `[[feeds]]` of publisher.toml (or `--feed URL`), and
`--release` / `--tag` drafts a release. Each draft is printed (or listed with
`--json`); a feed that failed is one line on stderr and the others go on. Exit 0,
1 when a feed failed, 2 for usage or configuration.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.commands.common import UsageError, config_from

if TYPE_CHECKING:
    from publisher.config import Config
    from publisher.drafts.runner import DraftResult

__all__ = ["Options", "main", "parse_since", "report"]


@dataclass(frozen=True)
class Options:
    config: Path | None = None
    feeds: tuple[str, ...] = ()  # --feed URL (repeatable); none: the [[feeds]] of the config
    release: bool = False  # draft the release of a GitHub release event
    event: Path | None = None  # the release event's JSON
    tag: str | None = None  # draft this tag's release from the release notes file
    notes: Path | None = None
    since: str | None = None  # only entries since (a date, a moment, or a span: 7d)
    limit: int | None = None  # at most N drafts, the newest
    dry_run: bool = False
    as_json: bool = False


def parse_since(value: str, now: dt.datetime | None = None) -> dt.datetime:
    """`--since`: a date (2026-11-01), a moment with an offset, or a span back from
    now (`12h`, `7d`, `2w`)."""
    now = now or dt.datetime.now(dt.UTC)
    text = value.strip()
    m = re.fullmatch(r"(\d{1,5})\s*([hdw])", text)
    if m:
        hours = int(m.group(1)) * {"h": 1, "d": 24, "w": 24 * 7}[m.group(2)]
        return now - dt.timedelta(hours=hours)
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--since {value[:60]!r}: give a date (2026-11-01), a moment with an offset, "
            "or a span such as 7d or 12h"
        ) from None
    if moment.tzinfo is None:
        raise UsageError(f"--since {value[:60]!r} has no timezone offset: add Z or +01:00")
    return moment.astimezone(dt.UTC)


def main(options: Options) -> int:
    from publisher.lock import run_lock

    config = config_from(options.config)
    release_mode, since = _check(options)
    with run_lock(config.root):
        if release_mode:
            release = _release(options, config)
            if release is None:
                if options.as_json:
                    from publisher.report import dump_json

                    dump_json({"dryRun": options.dry_run, "drafted": 0, "failed": 0, "results": []})
                return 0
            results = [release]
        else:
            results = _feeds(options, config, since)
    return report(results, config.root, as_json=options.as_json, dry_run=options.dry_run)


def _check(options: Options) -> tuple[bool, dt.datetime | None]:
    """Whether this run drafts a release (else feeds), and `--since` read; refuses
    options that do not fit together."""
    if options.limit is not None and options.limit < 1:
        raise UsageError("--limit must be 1 or more")
    since = parse_since(options.since) if options.since else None
    release_mode = bool(options.release or options.tag or options.event)
    if release_mode and options.feeds:
        raise UsageError("give --feed or --release/--tag, not both")
    if (options.since or options.limit) and release_mode:
        raise UsageError("--since and --limit are for feeds")
    return release_mode, since


def _feeds(options: Options, config: Config, since: dt.datetime | None) -> list[DraftResult]:
    from publisher.drafts.fetch import check_feed_url
    from publisher.drafts.runner import (
        DEFAULT_LIMIT,
        DraftSource,
        draft_feeds,
        sources_from_config,
    )

    configured = sources_from_config(config)
    if options.feeds:
        by_url = {s.url: s for s in configured}
        feeds = []
        for url in dict.fromkeys(u.strip() for u in options.feeds):
            why = check_feed_url(url)
            if why:
                raise UsageError(f"--feed: {why}")
            feeds.append(by_url.get(url) or DraftSource(url))
    else:
        feeds = configured
    if not feeds:
        where = config.source or config.root / "publisher.toml"
        raise UsageError(
            f"no feed to read: add a [[feeds]] table with a url to {where}, or give --feed URL "
            "(or --release for a release)"
        )
    limit = options.limit if options.limit is not None else DEFAULT_LIMIT
    return draft_feeds(config, feeds, since=since, limit=limit, dry_run=options.dry_run)


def _release(options: Options, config: Config) -> DraftResult | None:
    from publisher.drafts.release import NotARelease, release_from_event, release_from_tag
    from publisher.drafts.runner import draft_release

    try:
        if options.tag:
            notes = options.notes
            if notes is None and config.release and config.release.notes:
                notes = config.root / config.release.notes
            release = release_from_tag(config.root, options.tag.strip(), notes)
        else:
            event = options.event or (
                Path(os.environ["GITHUB_EVENT_PATH"])
                if os.environ.get("GITHUB_EVENT_PATH")
                else None
            )
            if event is None:
                raise UsageError(
                    "--release reads a GitHub release event: give --event FILE (or run in "
                    "the Action, which sets GITHUB_EVENT_PATH), or --tag TAG"
                )
            release = release_from_event(event)
    except NotARelease as exc:
        print(f"publisher: nothing to draft: {exc}", file=sys.stderr)
        return None
    return draft_release(config, release, dry_run=options.dry_run)


def report(results: Sequence[DraftResult], root: Path, *, as_json: bool, dry_run: bool) -> int:
    failed = [r for r in results if r.status == "failed"]
    drafted = sum(len(r.drafts) for r in results)
    if as_json:
        from publisher.report import dump_json

        dump_json(
            {
                "dryRun": dry_run,
                "drafted": drafted,
                "failed": len(failed),
                "results": [r.as_dict(root) for r in results],
            }
        )
    else:
        for r in results:
            for w in r.drafts:
                d = w.as_dict(root)
                verb = "would draft" if dry_run else "drafted"
                print(f"{d['file']}  {verb} from {r.source}: {d['title']}")
        for r in results:
            if r.status == "failed":
                print(f"publisher: {r.source}: failed: {r.error}", file=sys.stderr)
            else:
                print(f"publisher: {r.source}: {_counts(r, dry_run)}", file=sys.stderr)
    return 1 if failed else 0


def _counts(r: DraftResult, dry_run: bool) -> str:
    if r.status == "not_modified":
        return "unchanged since the last run (304): nothing new"
    parts = [f"{len(r.drafts)} new {'draft' if len(r.drafts) == 1 else 'drafts'}"]
    if dry_run and r.drafts:
        parts[0] += " (dry run: nothing written)"
    if r.known:
        parts.append(f"{r.known} drafted before")
    if r.older:
        parts.append(f"{r.older} before --since")
    if r.left:
        parts.append(f"{r.left} left for a later run (--limit)")
    return ", ".join(parts)
