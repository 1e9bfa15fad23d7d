"""Lost records come back from git: before a target is sent as new, the committed
versions of its file are asked whether they recorded it (a `published` block lost in
a bad merge, committed, must never post again once the server has forgotten the key).

One `git log` and one `git cat-file --batch` per run, for the files that need it
(those with a target about to be sent as new), never a process per file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from publisher.plan import CREATES, Action, Plan
from publisher.plan.restore import Block
from publisher.post import Post
from publisher.run import Run

__all__ = ["ASKS_HISTORY", "committed_records", "deleted_queued"]

#: What a lost record would make a run send again: git history is asked first.
ASKS_HISTORY = CREATES | {Action.CONTINUE}


def committed_records(
    plan: Plan, refs: Sequence[str] = (), born: dict[str, int] | None = None
) -> dict[str, list[Block]]:
    """Per post path, the `published` blocks of its committed versions (newest first,
    on every ref of the clone and on `refs`: a push event's ``before``; renames
    followed), for the files of `plan` with a target about to be sent as new (or
    retried, or a thread continued): what `make_plan(history=...)` restores lost
    records from. Empty outside git. `born` gets each file's first commit time (in
    its current life: a path deleted and added again is a new post). Each post gets
    its `former` identities (the paths it was renamed from) and the `foreign` record
    keys of the posts its path held before it was deleted."""
    unrecorded = [f.post for f in plan.files if any(tp.action in ASKS_HISTORY for tp in f.targets)]
    if not unrecorded or not _in_git(unrecorded[0].path.parent):
        return {}
    from publisher.git import committed_versions
    from publisher.record import committed_blocks

    times: dict[Path, int] = {}
    names: dict[Path, list[Path]] = {}
    earlier: dict[Path, list[bytes]] = {}
    versions = committed_versions(
        unrecorded[0].path.parent,
        [p.path for p in unrecorded],
        refs=refs,
        born=times,
        names=names,
        earlier=earlier,
    )
    by_path = {p.path: p.rel for p in unrecorded}
    if born is not None:
        born.update({by_path[path]: when for path, when in times.items()})
    for post in unrecorded:
        _lives(post, names.get(post.path, ()), earlier.get(post.path, ()))
    found = committed_blocks({by_path[path]: raws for path, raws in versions.items()})
    return {path: [*blocks] for path, blocks in found.items()}


def deleted_queued(
    root: Path, posts: str, run: Run
) -> list[tuple[str, list[tuple[str, str | None, str]]]]:
    """(path, queued targets) of post files git says were deleted (in the work tree or
    the history of HEAD): what `make_plan(deleted=...)` cancels."""
    from publisher import record
    from publisher.document import DocumentError, parse_document
    from publisher.git import deleted_posts

    out = []
    for path, raw in deleted_posts(root, posts):
        try:
            block = record.block_of(parse_document(raw, path).data)
        except DocumentError:
            continue
        queued = record.queued_targets(block, run)
        if queued:
            out.append((path, queued))
    return out


def _lives(post: Post, names: Sequence[Path], earlier: Sequence[bytes]) -> None:
    """`post.former`: the identities of its earlier names (relative to the folder of
    publisher.toml, as `Post.rel` is); `post.foreign`: the record keys its path's
    earlier posts recorded."""
    import os

    from publisher.identity import post_identity
    from publisher.record import committed_blocks

    root = Path(post.path).resolve().parents[len(Path(post.rel).parts) - 1]
    former = []
    for name in names:
        rel = Path(os.path.relpath(Path(name).resolve(), root)).as_posix()
        if rel != post.rel and not rel.startswith("../"):
            former.append(post_identity(rel))
    post.former = tuple(dict.fromkeys(former))
    keys: set[str] = set()
    for blocks in committed_blocks({post.rel: list(earlier)}).values():
        for block in blocks:
            _record_keys(block, keys)
    post.foreign = frozenset(keys)


def _record_keys(value: object, keys: set[str]) -> None:
    """Every record key a `published` block names (its `rkey`s and at:// URIs)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "rkey" and isinstance(v, str):
                keys.add(v)
            else:
                _record_keys(v, keys)
    elif isinstance(value, list):
        for v in value:
            _record_keys(v, keys)
    elif isinstance(value, str) and value.startswith("at://"):
        keys.add(value.rstrip("/").rsplit("/", 1)[-1])


def _in_git(folder: Path) -> bool:
    """Whether a `.git` is above `folder` (a few stats; git itself is asked only then)."""
    here = Path(folder).absolute()
    return any((p / ".git").exists() for p in (here, *here.parents))
