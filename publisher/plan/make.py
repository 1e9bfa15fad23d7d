"""Posts + their recorded state -> a `Plan` (`make_plan`): every file's plan
(`file.plan_file`), then what concerns several files at once (copies, a shared
`id:`), the accounts list, `sync`'s queued-only view, and deleted files. Pure."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from publisher.plan.file import Options, plan_file, recorded_targets
from publisher.plan.restore import Block
from publisher.plan.steps import Stepper
from publisher.plan.target import file_state
from publisher.plan.threads import plan_parts
from publisher.plan.values import CREATES, Action, FilePlan, Plan, TargetPlan
from publisher.post import Post
from publisher.run import Run

__all__ = ["Accounts", "make_plan"]

#: The API's accounts list (`GET /v1/accounts`, `Connection.accounts`), as answered.
Accounts = Sequence[Mapping[str, object]]


def make_plan(
    posts: Iterable[Post],
    run: Run | None = None,
    *,
    now: dt.datetime | None = None,
    repost: bool = False,
    retry_failed: bool = False,
    queued_only: bool = False,
    deleted: Iterable[tuple[str, Iterable[tuple[str, str | None, str]]]] = (),
    accounts: Accounts | None = None,
    history: Mapping[str, Sequence[Block]] | None = None,
) -> Plan:
    """Decide, for every post and target, what publishing would do in `run` (only
    records that count for it are taken into account). Without a run: a live run
    for which records of any server count.

    `queued_only` (``publisher sync``) keeps only what concerns queued posts: every
    queued target is refreshed, updated or cancelled, nothing new is sent.
    `deleted` is (path, queued targets as (label, platform, postId)) of post files
    that are gone (`record.queued_targets` of their last committed block): those are
    cancelled.

    `accounts` is the run's `GET /v1/accounts` (read once: `Connection.accounts`): a
    target named by a bare platform that cannot resolve (no account there, or several)
    is blocked at its line, and the post's other targets go out.

    `history` is, per post path, the `published` blocks its committed versions held
    (newest first; `record.committed_blocks`): a target about to be sent as new whose
    record a committed version holds (a block lost in a bad merge) is restored from it
    instead, never posted again."""
    run = run or Run()
    opts = Options(now or dt.datetime.now(dt.UTC), repost, retry_failed)
    history = history or {}
    files = [plan_file(p, run, opts, history.get(p.rel, ())) for p in posts]
    if accounts is not None:
        for f in files:
            f.targets = [_resolvable(tp, f.post, accounts) for tp in f.targets]
            f.state = file_state(f.targets, f.post.record is not None) if f.targets else f.state
    if queued_only:
        files = [f for f in (_queued_only(f, run, opts.now) for f in files) if f.targets]
    duplicates = _block_duplicates(files)
    _block_shared_ids(files)
    stepper = Stepper(run)
    for f in files:
        f.run, f.stepper = run, stepper
    gone = [stepper.deleted(path, queued) for path, queued in deleted]
    return Plan(run=run, files=files, duplicates=duplicates, deleted=[d for d in gone if d.steps])


def _block_duplicates(files: list[FilePlan]) -> list[list[str]]:
    """Files with identical content are most likely one post copied: new targets of
    such files wait until the files differ (a thread's later parts count: two threads
    that open alike are two posts). Returns the groups of paths."""
    by_hash: dict[str, list[FilePlan]] = defaultdict(list)
    for f in files:
        if f.post.hash and f.state != "draft":
            by_hash[f.post.hash].append(f)
    duplicates = []
    for group in by_hash.values():
        if len(group) > 1:
            paths = sorted(f.path for f in group)
            duplicates.append(paths)
            for f in group:
                f.duplicate_of = [p for p in paths if p != f.path]
                why = (
                    f"same content as {', '.join(f.duplicate_of)}: delete one, or make them differ"
                )
                _block_new(f, why)
    return duplicates


def _block_shared_ids(files: list[FilePlan]) -> None:
    """Two files with one `id:` would share record keys: their new targets wait."""
    by_identity: dict[str, list[FilePlan]] = defaultdict(list)
    for f in files:
        if f.post.identity.startswith("id:"):
            by_identity[f.post.identity].append(f)
    for group in by_identity.values():
        if len(group) > 1:
            for f in group:
                others = ", ".join(sorted(g.path for g in group if g is not f))
                _block_new(f, f"the same `id:` as {others}: give each file its own")


def _resolvable(tp: TargetPlan, post: Post, accounts: Accounts) -> TargetPlan:
    """A new target the API resolves, named by its platform alone resolves to the one account
    connected there; otherwise the API would refuse the whole request (every target
    of the post with it): it is blocked here, and the others go out."""
    t = tp.target
    if tp.action not in CREATES or t is None or t.account_id or t.direct or not t.platform:
        return tp
    found = [
        a
        for a in accounts
        if a.get("platform") == t.platform
        and (post.profile_id is None or a.get("profileId") in (None, post.profile_id))
    ]
    if len(found) == 1:
        return tp
    if not found:
        why = (
            f"no {t.platform} account is connected to {t.backend}: connect one, or remove the "
            "target"
        )
    else:
        names = ", ".join(str(a.get("displayName") or a.get("id")) for a in found)
        why = (
            f"{len(found)} {t.platform} accounts are connected ({names}): name one with an "
            "alias from `publisher accounts` or its accountId"
        )
    return TargetPlan(tp.label, tp.platform, Action.BLOCKED, why, t)


def _queued_only(f: FilePlan, run: Run, now: dt.datetime) -> FilePlan:
    records = recorded_targets(f.post, run)

    def refreshed(t: TargetPlan) -> TargetPlan:
        tp = TargetPlan(t.label, t.platform, Action.SYNC, "queued", t.target)
        if t.target is not None and t.target.parts:  # a scheduled thread: the rest after it
            tp = plan_parts(tp, t.target, records.get(t.label), f.post, repost=False, now=now)
        return tp

    targets = [
        refreshed(t) if t.action == Action.NONE and t.reason == "queued" else t
        for t in f.targets
        if t.action in (Action.SYNC, Action.UPDATE, Action.CANCEL, Action.CONTINUE)
        or (t.action == Action.NONE and t.reason == "queued")
    ]
    return FilePlan(f.post, f.state, targets, f.duplicate_of, f.run)


def _block_new(f: FilePlan, why: str) -> None:
    """The file's new targets wait, blocked for `why`."""
    blocked = [
        TargetPlan(t.label, t.platform, Action.BLOCKED, why, t.target)
        if t.action == "publish"
        else t
        for t in f.targets
    ]
    if blocked != f.targets:
        f.targets = blocked
        f.state = file_state(blocked, f.post.record is not None)
