"""`publisher draft`: feeds and releases become draft post files.

``draft_feeds`` reads each feed once (conditionally, with the ETag and Last-Modified
kept in ``.publisher/feeds.json``), and writes one draft per entry that was never
drafted here (``seen.known_sources``); a feed that cannot be read is one line in the
results and the others go on. ``draft_release`` does the same for one release. The
caller holds the run lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Required, TypedDict

from publisher.config import Config, FeedConfig
from publisher.drafts.compose import DEFAULT_TEMPLATE, Draft, fit_text, platforms_of, slugify
from publisher.drafts.compose import write_draft as _write
from publisher.drafts.release import Release
from publisher.drafts.seen import Known, known_sources

if TYPE_CHECKING:
    from publisher.drafts.feeds import Entry, Feed
    from publisher.drafts.fetch import FeedAnswer

__all__ = [
    "DEFAULT_LIMIT",
    "DraftResult",
    "DraftSource",
    "FeedState",
    "ResultDict",
    "State",
    "WrittenDict",
    "draft_feeds",
    "draft_release",
    "sources_from_config",
]

STATE_FILE = Path(".publisher") / "feeds.json"
MAX_REMEMBERED = 2000  # drafted ids kept per feed in the state file
DEFAULT_LIMIT = 20  # drafts per run when --limit is not given: a backlog comes in steps


@dataclass(frozen=True)
class DraftSource:
    """A feed to draft from, with what its drafts get."""

    url: str
    template: str = DEFAULT_TEMPLATE
    targets: tuple[str, ...] = ()
    folder: str | None = None  # relative to the repository root; None: the posts folder


class WrittenDict(TypedDict):
    """A draft as `--json` and the Action's outputs list it."""

    file: str  # relative to the repository root when inside it
    title: str
    source: dict[str, str]
    targets: list[str]
    text: str
    written: bool  # False with --dry-run


class ResultDict(TypedDict):
    source: str
    status: str
    error: str | None
    drafts: list[WrittenDict]
    known: int
    older: int
    left: int


class FeedState(TypedDict, total=False):
    """What `.publisher/feeds.json` keeps of one feed."""

    drafted: list[str]  # ids drafted from it (the last MAX_REMEMBERED)
    checked: str  # when it was last read
    etag: str | None  # for the next conditional request
    lastModified: str | None


class State(TypedDict, total=False):
    """`.publisher/feeds.json`: a cache (the posts and git say what was drafted too)."""

    feeds: Required[dict[str, FeedState]]  # by feed URL
    releases: list[str]  # ids of releases drafted


@dataclass
class Written:
    draft: Draft
    path: Path | None  # None with --dry-run
    entry_url: str | None
    published: dt.datetime | None

    def as_dict(self, root: Path) -> WrittenDict:
        where = self.path if self.path is not None else self.draft.folder / f"{self.draft.stem}.md"
        try:
            shown = where.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            shown = str(where)
        return {
            "file": shown,
            "title": self.draft.title,
            "source": dict(self.draft.source),
            "targets": list(self.draft.targets),
            "text": self.draft.text,
            "written": self.path is not None,
        }


@dataclass
class DraftResult:
    """What one feed (or release) gave."""

    source: str  # the feed URL as it may be shown, or "release <tag>"
    status: str = "ok"  # ok | not_modified | failed | skipped
    error: str | None = None
    drafts: list[Written] = field(default_factory=list)
    known: int = 0  # entries drafted before
    older: int = 0  # entries before --since
    left: int = 0  # entries over --limit, left for a later run

    def as_dict(self, root: Path) -> ResultDict:
        return {
            "source": self.source,
            "status": self.status,
            "error": self.error,
            "drafts": [w.as_dict(root) for w in self.drafts],
            "known": self.known,
            "older": self.older,
            "left": self.left,
        }


def sources_from_config(config: Config) -> list[DraftSource]:
    return [_source(f) for f in config.feeds]


def _source(feed: FeedConfig) -> DraftSource:
    return DraftSource(feed.url, feed.template or DEFAULT_TEMPLATE, feed.targets, feed.folder)


# --------------------------------------------------------------------------- state


def _state_path(config: Config) -> Path:
    return config.root / STATE_FILE


def load_state(config: Config) -> State:
    """The feeds' state; an unreadable file is started afresh (it is only a cache:
    what was drafted is also found in the posts and in git), and what is not of the
    expected shape is left out."""
    try:
        data: object = json.loads(_state_path(config).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"feeds": {}}
    if not isinstance(data, dict) or not isinstance(data.get("feeds"), dict):
        return {"feeds": {}}
    state: State = {
        "feeds": {url: _feed_state(v) for url, v in data["feeds"].items() if isinstance(url, str)}
    }
    releases = data.get("releases")
    if isinstance(releases, list):
        state["releases"] = [i for i in releases if isinstance(i, str)]
    return state


def _feed_state(value: object) -> FeedState:
    """One feed's saved state, narrowed field by field."""
    out: FeedState = {}
    if not isinstance(value, dict):
        return out
    drafted = value.get("drafted")
    if isinstance(drafted, list):
        out["drafted"] = [i for i in drafted if isinstance(i, str)]
    checked, etag, modified = value.get("checked"), value.get("etag"), value.get("lastModified")
    if isinstance(checked, str):
        out["checked"] = checked
    if etag is None or isinstance(etag, str):
        out["etag"] = etag
    if modified is None or isinstance(modified, str):
        out["lastModified"] = modified
    return out


def save_state(config: Config, state: State) -> None:
    """Write the state atomically; a place that cannot be written keeps no state (the
    next run reads the feeds in full: the posts and git still say what was drafted)."""
    path = _state_path(config)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "x", encoding="utf-8") as handle:
            json.dump(state, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError:
        return
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _remembered(state: State) -> set[str]:
    ids: set[str] = set()
    for feed in state["feeds"].values():
        ids.update(feed.get("drafted", []))
    ids.update(state.get("releases", []))
    return ids


# --------------------------------------------------------------------------- drafting


def _folder(config: Config, folder: str | None) -> Path:
    return config.root / folder if folder else config.posts_dir


def _targets(config: Config, targets: Iterable[str]) -> tuple[str, ...]:
    return tuple(targets) or config.targets or ("bluesky",)


def _card(config: Config, targets: Iterable[str], link: str | None) -> str | None:
    """The card's link, written only when a target is a direct Bluesky account (the
    only kind that reads ``card:``; elsewhere it would be a warning)."""
    if not link:
        return None
    direct = any((a := config.accounts.get(t)) is not None and a.direct for t in targets)
    return link if direct else None


def _draft(
    config: Config,
    *,
    folder: str | None,
    targets: Iterable[str],
    template: str,
    values: Mapping[str, str],
    source: Mapping[str, str],
    title: str,
    link: str | None,
    day: dt.date,
) -> Draft:
    targets = _targets(config, targets)
    text = fit_text(template, values, platforms_of(targets, config))
    return Draft(
        folder=_folder(config, folder),
        stem=f"{day.isoformat()}-{slugify(title)}",
        targets=targets,
        text=text,
        source=source,
        title=title,
        card=_card(config, targets, link),
        date=day,
    )


def draft_feeds(
    config: Config,
    feeds: list[DraftSource],
    *,
    since: dt.datetime | None = None,
    limit: int | None = DEFAULT_LIMIT,
    dry_run: bool = False,
    today: dt.date | None = None,
    remember: bool = True,
) -> list[DraftResult]:
    """Read each feed once and draft its new entries (see the module's docstring).
    ``remember=False`` (the Action, whose workspace is gone after the run) leaves
    ``.publisher/`` alone: the posts and git history are what counts there."""
    from publisher.drafts.fetch import shown_url

    state = load_state(config)
    folders = [config.posts_dir, *(_folder(config, f.folder) for f in feeds)]
    known = known_sources(config.root, folders, _remembered(state))
    today = today or dt.date.today()
    results: list[DraftResult] = []
    left = limit  # drafts still allowed this run (--limit counts over every feed)
    for feed in feeds:
        result = DraftResult(shown_url(feed.url))
        results.append(result)
        saved = state["feeds"].get(feed.url, {})
        read = _read(feed, saved, result)
        if read is None:
            continue
        answer, parsed = read
        fresh = _fresh(parsed.entries, known, since, result)
        if left is not None:  # with --limit, the newest are drafted
            cut = max(0, len(fresh) - left)
            result.left, fresh = cut, fresh[cut:]
            left -= len(fresh)
        drafted = _write_entries(config, feed, parsed.title, fresh, today, dry_run, result, known)
        if remember and not dry_run:
            state["feeds"][feed.url] = _next_state(saved, drafted, answer, result)
    if remember and not dry_run:
        save_state(config, state)
    return results


def _read(
    feed: DraftSource, saved: FeedState, result: DraftResult
) -> tuple[FeedAnswer, Feed] | None:
    """The feed's answer and what it holds, asked conditionally; None when it failed
    (the result says why) or has not changed since the last run (304)."""
    from publisher.drafts.feeds import FeedError, parse_feed
    from publisher.drafts.fetch import FeedFetchError, fetch_feed

    try:
        answer = fetch_feed(
            feed.url,
            etag=saved.get("etag") or None,
            last_modified=saved.get("lastModified") or None,
        )
    except FeedFetchError as exc:
        result.status, result.error = "failed", str(exc)
        return None
    if answer.not_modified:
        result.status = "not_modified"
        return None
    try:
        parsed = parse_feed(answer.body, answer.content_type, answer.final_url)
    except FeedError as exc:
        result.status, result.error = "failed", str(exc)
        return None
    return answer, parsed


def _fresh(
    entries: Iterable[Entry], known: Known, since: dt.datetime | None, result: DraftResult
) -> list[Entry]:
    """The entries to draft, oldest first (so the drafts read in order): not drafted
    before, not before `since`, with something to announce. The result counts the
    others."""
    fresh = []
    for entry in entries:
        if not (entry.title or entry.url or entry.summary):
            continue  # nothing to announce
        if (entry.id, entry.url) in known:
            result.known += 1
        elif since is not None and entry.published is not None and entry.published < since:
            result.older += 1
        else:
            fresh.append(entry)
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    fresh.sort(key=lambda e: e.published or far)
    return fresh


def _write_entries(
    config: Config,
    feed: DraftSource,
    feed_title: str,
    entries: Sequence[Entry],
    today: dt.date,
    dry_run: bool,
    result: DraftResult,
    known: Known,
) -> list[str]:
    """Write a draft per entry (none with `dry_run`); the ids drafted. A draft that
    cannot be written fails the feed and stops it."""
    drafted: list[str] = []
    for entry in entries:
        draft = _entry_draft(config, feed, feed_title, entry, today)
        try:
            path = None if dry_run else _write(draft)
        except OSError as exc:
            result.status = "failed"
            result.error = f"cannot write {draft.folder / draft.stem}.md: {_why(exc)}"
            break
        result.drafts.append(Written(draft, path, entry.url, entry.published))
        known.add({"id": entry.id, "url": entry.url})
        drafted.append(entry.id)
    return drafted


def _entry_draft(
    config: Config, feed: DraftSource, feed_title: str, entry: Entry, today: dt.date
) -> Draft:
    from publisher.drafts.fetch import shown_url

    title = entry.title or (entry.summary.split("\n")[0][:80] if entry.summary else "")
    day = (entry.published.date() if entry.published else None) or today
    return _draft(
        config,
        folder=feed.folder,
        targets=feed.targets,
        template=feed.template,
        values={
            "title": entry.title,
            "link": entry.url or "",
            "summary": entry.summary,
            "author": entry.author,
            "date": day.isoformat(),
            "feed": feed_title,
        },
        source={
            "id": entry.id,
            **({"url": entry.url} if entry.url else {}),
            "feed": shown_url(feed.url),  # no query: a private feed's token stays out
        },
        title=title or "post",
        link=entry.url,
        day=day,
    )


def _next_state(
    saved: FeedState, drafted: list[str], answer: FeedAnswer, result: DraftResult
) -> FeedState:
    """The feed's state after this run: the ids drafted added; the validators of the
    answer kept only when the whole feed was read (else it is read in full next time)."""
    state = saved.copy()
    state["drafted"] = (saved.get("drafted", []) + drafted)[-MAX_REMEMBERED:]
    state["checked"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if result.left == 0 and result.status == "ok":
        state["etag"] = answer.etag
        state["lastModified"] = answer.last_modified
    return state


def draft_release(
    config: Config,
    release: Release,
    *,
    dry_run: bool = False,
    today: dt.date | None = None,
    remember: bool = True,
) -> DraftResult:
    """One draft announcing ``release``, unless it was drafted before."""
    result = DraftResult(f"release {release.tag}")
    rel = config.release
    state = load_state(config)
    folder = rel.folder if rel else None
    known: Known = known_sources(
        config.root, [config.posts_dir, _folder(config, folder)], _remembered(state)
    )
    if (release.id, release.url) in known:
        result.known = 1
        return result
    day = release.published.date() if release.published else (today or dt.date.today())
    draft = _draft(
        config,
        folder=folder,
        targets=rel.targets if rel else (),
        template=(rel.template if rel and rel.template else DEFAULT_TEMPLATE),
        values={
            "title": release.title,
            "link": release.url or "",
            "summary": release.notes,
            "date": day.isoformat(),
            "tag": release.tag,
            "repo": release.repo,
        },
        source={
            "id": release.id,
            **({"url": release.url} if release.url else {}),
            "feed": "release",
        },
        title=release.title,
        link=release.url,
        day=day,
    )
    try:
        path = None if dry_run else _write(draft)
    except OSError as exc:
        result.status = "failed"
        result.error = f"cannot write {draft.folder / draft.stem}.md: {_why(exc)}"
        return result
    result.drafts.append(Written(draft, path, release.url, release.published))
    if remember and not dry_run:
        state["releases"] = [*state.get("releases", []), release.id][-MAX_REMEMBERED:]
        save_state(config, state)
    return result


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)
