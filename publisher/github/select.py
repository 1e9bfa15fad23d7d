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
- ``validate`` and other events consider every post.

Cost: what it reads grows with the change, not with the repository. Finding the posts
with no record is the one part that looks at every post file, and it does so without
parsing YAML: `record_counts` reads the head of each file and recognises the
`published` block exactly as publisher writes it (``published:``, then ``env:`` and
``api:`` as plain scalars). Only when that is certain is a file passed over; anything
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

import re
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

_DELIMS = (b"---", b"...")
_CHILD = re.compile(rb"^( +)([A-Za-z]+):(?: (.*))?$")
_PLAIN = re.compile(rb"^[A-Za-z0-9._:/+-]+$")


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
    from publisher.github.git import GitError, changed_posts

    everything = find_posts([config.posts_dir]) if config.posts_dir.is_dir() else []
    if mode == "validate" or repo_root is None:
        return Selection(everything, "every post")
    before: str | None
    if actions.push is not None:
        before, after, forced = actions.push.before, actions.push.after, actions.push.forced
        after = after if after and after != "0" * 40 else (actions.sha or "HEAD")
    elif actions.pull_request is not None:
        before, after, forced = actions.pull_request.base_sha, "HEAD", False
    else:
        return Selection(everything, f"{actions.event_name or 'no event'}: every post")

    posts_rel = _inside(config.posts_dir, repo_root)
    try:
        change = changed_posts(repo_root, before, after, posts_rel, forced=forced)
    except GitError as exc:
        return Selection(_unrecorded(everything, run), f"{exc}; every post without a record")
    if change.full_scan:
        files = _unrecorded(everything, run)
        return Selection(files, f"{change.reason}; every post without a record")
    changed = {(repo_root / p).resolve() for p in change.changed}
    touched = {p for p in everything if p.resolve() in changed}
    unrecorded = set(_unrecorded([p for p in everything if p not in touched], run))
    files = [p for p in everything if p in touched or p in unrecorded]
    reason = f"{change.reason}: {len(change.changed)} changed, {len(change.deleted)} deleted"
    deleted = _deleted_with_queue(repo_root, before or "", change.deleted, everything, run)
    return Selection(files, reason, deleted)


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
    lines = raw.split(b"\n")
    if not lines or lines[0].removeprefix(b"\xef\xbb\xbf").rstrip(b" \t\r") != b"---":
        return None
    front: list[bytes] = []
    for line in lines[1:]:
        text = line.rstrip(b"\r")
        if text.rstrip(b" \t") in _DELIMS:
            break
        front.append(text)
    else:
        return None  # not closed within the bytes read
    starts = [i for i, line in enumerate(front) if line.startswith(b"published")]
    if not starts:
        return False if not any(b"published" in line for line in front) else None
    if len(starts) > 1 or front[starts[0]].rstrip(b" \t") != b"published:":
        return None
    values: dict[bytes, bytes] = {}
    indent: bytes | None = None
    for line in front[starts[0] + 1 :]:
        if not line.strip() or line.lstrip().startswith(b"#"):
            continue
        if not line.startswith(b" "):
            break  # the next top-level key
        m = _CHILD.match(line)
        if indent is None:
            if m is None:
                return None
            indent = m.group(1)
        if m is None or len(m.group(1)) != len(indent):
            if not line.startswith(indent + b" "):
                return None  # a child at a shallower or odd indent
            continue  # inside a nested value (targets, media)
        if m.group(2) in (b"env", b"api"):
            if m.group(2) in values or m.group(3) is None or not _PLAIN.match(m.group(3)):
                return None
            values[m.group(2)] = m.group(3)
    if b"env" not in values:
        return None
    api = values.get(b"api")
    return run.counts(values[b"env"].decode(), api.decode() if api is not None else None)


def _head(path: Path) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read(HEAD_BYTES)
    except OSError:
        return None


def _unrecorded(paths: Iterable[Path], run: Run) -> list[Path]:
    """The files among ``paths`` with no record counting for ``run``: the byte check
    first, YAML only when it is unsure."""
    from publisher.document import DocumentError, load_document

    found = []
    for path in paths:
        head = _head(path)
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
    from publisher.document import DocumentError, load_document, parse_document
    from publisher.github.git import file_at

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
        try:
            raw = post_file.read_bytes()
        except OSError:
            continue
        if not any(i in raw for i in ids):
            continue
        try:
            block = record.block_of(load_document(post_file).data)
        except (DocumentError, OSError):
            continue
        for rec in (block or {}).get("targets", {}).values():
            if isinstance(rec, dict) and rec.get("postId"):
                kept.add(str(rec["postId"]))
    for item in found:
        item.queued = [q for q in item.queued if q[2] not in kept]
    return [item for item in found if item.queued]
