"""Lost records come back from git: before a target is sent as new, the committed
versions of its file are asked whether they recorded it (a `published` block lost in
a bad merge, committed, must never post again once the server has forgotten the key).

One `git log` and one `git cat-file --batch` per run, for the files that need it
(those with a target about to be sent as new), never a process per file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from publisher.plan import CREATES, Action, Plan, make_plan
from publisher.post import Post
from publisher.run import Run

__all__ = ["committed_records", "deleted_queued", "plan_with_history"]

#: What a lost record would make a run send again: git history is asked first.
ASKS_HISTORY = CREATES | {Action.CONTINUE}


def committed_records(
    plan: Plan, refs: Sequence[str] = (), born: dict[str, int] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Per post path, the `published` blocks of its committed versions (newest first,
    on every ref of the clone and on `refs`: a push event's ``before``; renames
    followed), for the files of `plan` with a target about to be sent as new (or
    retried, or a thread continued): what `make_plan(history=...)` restores lost
    records from. Empty outside git. `born` gets each file's first commit time."""
    unrecorded = [f.post for f in plan.files if any(tp.action in ASKS_HISTORY for tp in f.targets)]
    if not unrecorded or not _in_git(unrecorded[0].path.parent):
        return {}
    from publisher.git import committed_versions
    from publisher.record import committed_blocks

    times: dict[Any, int] = {}
    versions = committed_versions(
        unrecorded[0].path.parent, [p.path for p in unrecorded], refs=refs, born=times
    )
    by_path = {p.path: p.rel for p in unrecorded}
    if born is not None:
        born.update({by_path[path]: when for path, when in times.items()})
    return committed_blocks({by_path[path]: raws for path, raws in versions.items()})


def plan_with_history(
    posts: Sequence[Post], run: Run, plan: Plan | None = None, **options: Any
) -> Plan:
    """`make_plan(posts, run, **options)`, with the git history of every file that
    has a target about to be sent as new (`plan`, when given, is that plan already
    made without history)."""
    plan = plan if plan is not None else make_plan(posts, run, **options)
    history = committed_records(plan)
    return make_plan(posts, run, **options, history=history) if history else plan


def deleted_queued(root: Any, posts: str, run: Run) -> list[tuple[str, Any]]:
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


def _in_git(folder: Any) -> bool:
    """Whether a `.git` is above `folder` (a few stats; git itself is asked only then)."""
    from pathlib import Path

    here = Path(folder).absolute()
    return any((p / ".git").exists() for p in (here, *here.parents))
