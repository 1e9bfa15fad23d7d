"""Which post files a run of the Action considers, and why.

A push diffs ``before..after``, a pull request ``base..HEAD`` (`git.changed_posts`).
What the selection guarantees:

- every post the change added, modified or renamed is planned;
- every post with no record for this run is planned too, on every event (a post
  pushed while the key was missing, a run whose results never reached the branch,
  records of another environment): nothing waits for its file to be touched again;
- a first push, a force push or a ``before`` missing from the clone (or git failing)
  gives a full scan: every post without a record for this run;
- a deleted file whose record (read at ``before``) still has queued targets is
  returned in `Selection.deleted`, to cancel them, unless a current file records the
  same postId (a post moved with large edits, seen by git as delete + add);
- ``validate`` and other events consider every post;
- `Selection.changed` says which files the event changed, so a block (a target that
  waits for a person) is reported as news only by the run of the change that made it.

Cost: what it reads grows with the change, not with the repository. Finding the posts
with no record is the one part that looks at every post file, and it does so without
parsing YAML: `record_counts` reads the head of each file and recognises the
`published` block exactly as publisher writes it (``published:``, then ``env:`` and
``api:`` as plain scalars), and a draft by its one plain ``draft: true`` line (a draft
has nothing to send; one with a record is passed over by its record). Only when that
is certain is a file passed over; anything
else (no block, another environment, a hand-written or unusual block, a frontmatter
it cannot delimit) is selected or parsed properly. Passing over a file wrongly would
skip a post, selecting one wrongly costs only its planning (the plan sees the record
and does nothing), so every doubt selects. In a repository of 3,000 recorded posts a
one-post push parses one document (``bench/ci_select.py`` has the figures).

One consequence, on purpose: an unchanged post whose frontmatter no longer parses
but carries a record for this run is not re-reported by every later push (it was
reported when it was pushed, and is on a full scan).
"""

from __future__ import annotations

import functools
import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from publisher import record
from publisher.errors import UsageError

if TYPE_CHECKING:
    from publisher.config import Config
    from publisher.github.actions import ActionsEnv
    from publisher.run import Run

__all__ = ["Deleted", "Selection", "record_counts", "select_posts"]

HEAD_BYTES = 64 * 1024
"""How much of a file `record_counts` reads: a frontmatter longer than this is parsed."""

_OPEN = re.compile(rb"\A(?:\xef\xbb\xbf)?---[ \t]*\r?\n")
_CLOSE = re.compile(rb"^(?:---|\.\.\.)[ \t]*\r?$", re.M)
_TOP = re.compile(rb"^published", re.M)
_BLOCK = re.compile(rb"^published:[ \t]*\r?\n((?:[ \t][^\n]*\n|\r?\n)*)", re.M)
_FIRST_CHILD = re.compile(rb"^( +)[^ \t\r\n#]", re.M)
_PLAIN = re.compile(rb"^[A-Za-z0-9._:/+-]+$")
# `draft: true` as a top-level line (publisher new writes it so), and any other top-level
# `draft` line: with exactly one and it plain `true`, the file is a draft.
_DRAFT = re.compile(rb"^draft:[ \t]*true[ \t]*(?:#[^\r\n]*)?\r?$", re.M)
_DRAFT_KEY = re.compile(rb"^draft\b", re.M)


@dataclass
class Deleted:
    """A post file deleted by the change, with the queued targets it leaves behind."""

    path: str  # relative to the repository root
    queued: list[tuple[str, str | None, str]]  # (target label, platform, postId)


@dataclass
class Selection:
    """The posts a run considers, and why."""

    files: list[Path]
    reason: str
    deleted: list[Deleted] = field(default_factory=list)
    #: the files the event changed; None when every file counts as changed (a full
    #: scan, a changed publisher.toml, validate). A block in a file the event did not
    #: change is one an earlier run already reported: it waits, and fails no run.
    changed: frozenset[Path] | None = None

    def changed_by_event(self, path: Path) -> bool:
        return self.changed is None or path in self.changed


def select_posts(
    config: Config,
    repo_root: Path | None,
    actions: ActionsEnv,
    mode: str,
    run: Run,
) -> Selection:
    """Which post files to plan: the changed ones plus every one without a record for
    ``run`` (see the module docstring for the guarantees and their cost)."""
    from publisher.files import find_posts
    from publisher.git import GitError, changed_posts

    everything = find_posts([config.posts_dir]) if config.posts_dir.is_dir() else []
    if mode == "validate" or repo_root is None:
        return Selection(everything, "every post")
    before: str | None
    if actions.push is not None:
        before, after, forced = actions.push.before, actions.push.after, actions.push.forced
        after = after if after and after != "0" * 40 else (actions.sha or "HEAD")
    elif actions.pull_request is not None:
        before, after, forced = actions.pull_request.base_sha, "HEAD", False
    else:  # a schedule, a manual run: nothing in the files changed since the last run
        return Selection(
            everything, f"{actions.event_name or 'no event'}: every post", changed=frozenset()
        )

    posts_rel = _inside(config.posts_dir, repo_root)
    try:
        change = changed_posts(repo_root, before, after, posts_rel, forced=forced)
    except GitError as exc:
        return Selection(_unrecorded(everything, run), f"{exc}; every post without a record")
    if change.full_scan:
        files = _unrecorded(everything, run)
        return Selection(files, f"{change.reason}; every post without a record")
    touched = _touched(everything, config.posts_dir, posts_rel, repo_root, change.changed)
    unrecorded = set(_unrecorded([p for p in everything if p not in touched], run))
    files = [p for p in everything if p in touched or p in unrecorded]
    reason = f"{change.reason}: {len(change.changed)} changed, {len(change.deleted)} deleted"
    deleted = _deleted_with_queue(repo_root, before or "", change.deleted, everything, run)
    config_rel = _config_rel(config, repo_root)
    changed = None if config_rel in change.other else frozenset(touched)
    return Selection(files, reason, deleted, changed)


def _config_rel(config: Config, repo_root: Path) -> str | None:
    """publisher.toml's path from the repository root (a change to it may block or
    unblock any post), None when there is none."""
    if config.source is None:
        return None
    try:
        return config.source.resolve().relative_to(repo_root).as_posix()
    except ValueError:
        return None


def _touched(
    posts: Sequence[Path], folder: Path, folder_rel: str, repo_root: Path, changed: Sequence[str]
) -> set[Path]:
    """The files among ``posts`` (found under ``folder``) at the repository paths git
    reported as ``changed``; matched by name, resolving only what is not plainly under
    ``folder`` (one realpath per file would cost more than the rest of the run)."""
    wanted = set(changed)
    prefix = str(folder) + os.sep
    base = f"{folder_rel}/" if folder_rel not in ("", ".") else ""
    found = set()
    for path in posts:
        text = str(path)
        if text.startswith(prefix):
            rel = base + text[len(prefix) :].replace(os.sep, "/")
        else:
            try:
                rel = path.resolve().relative_to(repo_root).as_posix()
            except ValueError:
                continue
        if rel in wanted:
            found.add(path)
    return found


def record_counts(raw: bytes, run: Run) -> bool | None:
    """Whether the head of a post file holds a `published` block that counts for
    ``run``, read without YAML: True or False when the block is written the way
    publisher writes it (or there is none: False), None when unsure (parse it).

    >>> from publisher.run import Run
    >>> record_counts(b"---\\ntargets: [x]\\npublished:\\n  env: live\\n  api: https://a.test\\n---\\nHi\\n", Run())
    True
    >>> record_counts(b"---\\ntargets: [x]\\n---\\nHi\\n", Run())
    False
    """
    opened = _OPEN.match(raw)
    if opened is None:
        return None
    closed = _CLOSE.search(raw, opened.end())
    if closed is None:
        return None  # not closed within the bytes read
    front = raw[opened.end() : closed.start()]
    if b"published" not in front:
        return False
    tops = _TOP.findall(front)
    block = _BLOCK.search(front)
    if len(tops) != 1 or block is None:
        return None  # written some other way (a flow mapping, null, twice, quoted key)
    children = block.group(1)
    first = _FIRST_CHILD.search(children)
    if first is None:
        return None
    keys, stray = _child_patterns(first.group(1))
    if stray.search(children):
        return None  # a line at a shallower or odd indent, or a tab
    values: dict[bytes, bytes] = {}
    for name, value in keys.findall(children):
        if name in values or not _PLAIN.match(value):
            return None
        values[name] = value
    if b"env" not in values:
        return None
    api = values.get(b"api")
    return run.counts(values[b"env"].decode(), api.decode() if api is not None else None)


def plain_draft(raw: bytes) -> bool:
    """Whether the head of a post file plainly says `draft: true` at the top level, once,
    with no `published` block: such a file has nothing to send or take back, so the
    Action need not load it. False when unsure (the file is loaded and planned).

    >>> plain_draft(b"---\\ntargets: [x]\\ndraft: true\\n---\\nHi\\n")
    True
    >>> plain_draft(b"---\\ntargets: [x]\\ndraft: false\\n---\\nHi\\n")
    False
    """
    opened = _OPEN.match(raw)
    closed = _CLOSE.search(raw, opened.end()) if opened is not None else None
    if opened is None or closed is None:
        return False
    front = raw[opened.end() : closed.start()]
    return (
        b"published" not in front
        and len(_DRAFT_KEY.findall(front)) == 1
        and _DRAFT.search(front) is not None
    )


@functools.lru_cache(maxsize=8)
def _child_patterns(indent: bytes) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """For children at ``indent``: their ``env`` / ``api`` lines, and any line that is
    neither blank, a comment, nor indented at least as deep."""
    keys = re.compile(rb"^" + indent + rb"(env|api):[ ]?([^\r\n]*?)\r?$", re.M)
    stray = re.compile(rb"^(?!" + indent + rb"|[ ]*(?:#[^\n]*)?\r?$)", re.M)
    return keys, stray


def _head(path: Path, limit: int = HEAD_BYTES) -> bytes | None:
    """Up to ``limit`` bytes of a regular file; None for anything else (a FIFO named
    like a post must not hang the run: opened non-blocking, like `load_document`)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            return handle.read(limit)
    except OSError:
        return None


def _unrecorded(paths: Iterable[Path], run: Run) -> list[Path]:
    """The files among ``paths`` with no record counting for ``run``: the byte check
    first, YAML only when it is unsure."""
    from publisher.document import DocumentError, load_document

    found = []
    for path in paths:
        head = _head(path)
        if head is not None and plain_draft(head):
            continue  # a draft: nothing to send, and nothing recorded to take back
        known = record_counts(head, run) if head is not None else None
        if known is None:
            try:
                known = record.counts(record.block_of(load_document(path).data), run)
            except (DocumentError, OSError):
                known = False
        if not known:
            found.append(path)
    return found


def _inside(folder: Path, root: Path) -> str:
    try:
        return folder.resolve().relative_to(root).as_posix()
    except ValueError:
        raise UsageError(f"the posts folder {folder} is outside the repository {root}") from None


def _deleted_with_queue(
    repo_root: Path, before: str, deleted: Sequence[str], current: Iterable[Path], run: Run
) -> list[Deleted]:
    """Deleted posts whose record (read at ``before``) still has queued targets.

    A postId that a current file still records (a post moved with large edits, seen by
    git as delete + add) is not canceled. Only the current files whose bytes hold one
    of those postIds are parsed to check.
    """
    from publisher.document import MAX_BYTES, DocumentError, load_document, parse_document
    from publisher.git import file_at

    found: list[Deleted] = []
    for path in deleted:
        raw = file_at(repo_root, before, path)
        if raw is None:
            continue
        try:
            block = record.block_of(parse_document(raw, path).data)
        except DocumentError:
            continue
        queued = record.queued_targets(block, run)
        if queued:
            found.append(Deleted(path, queued))
    if not found:
        return found
    ids = {q[2].encode() for item in found for q in item.queued}
    kept: set[str] = set()
    for post_file in current:
        raw = _head(post_file, MAX_BYTES + 1)
        if raw is None or not any(i in raw for i in ids):
            continue
        try:
            block = record.block_of(load_document(post_file).data)
        except (DocumentError, OSError):
            continue
        for rec in record.targets_of(block or {}).values():
            if isinstance(rec, dict) and rec.get("postId"):
                kept.add(str(rec["postId"]))
    for item in found:
        item.queued = [q for q in item.queued if q[2] not in kept]
    return [item for item in found if item.queued]
