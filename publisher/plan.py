"""Posts + their recorded state -> a `Plan`: what publishing would do, per file and
target. Pure: no network, no writes. `plan` prints it, `publish` carries it out.

The reconcile table (SPEC section 5), per target:

| recorded                              | action    |
|---------------------------------------|-----------|
| nothing (or only a sandbox record, on a live run) | publish |
| published, same content               | none      |
| published, content edited             | refuse (or repost with --repost) |
| failed with a retryable error         | retry     |
| failed/rejected, content since fixed  | publish   |
| failed/rejected otherwise             | blocked (or retry with --retry-failed) |
| queued, same content, time passed     | sync      |
| queued, same content                  | none (waiting) |
| queued, content or time edited        | update    |
| queued, target removed / file drafted | cancel    |
| pending (direct Bluesky, crash between choosing the key and recording the result) | resume |
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from publisher.post import RETRYABLE_CODES, Post, ResolvedTarget
from publisher.run import Env, Run

# What a target's action means for the run.
SENDS = frozenset({"publish", "retry", "repost", "update", "cancel", "resume", "sync"})


@dataclass(frozen=True, slots=True)
class TargetPlan:
    label: str
    platform: str | None
    action: (
        str  # publish | retry | repost | update | cancel | resume | sync | none | refuse | blocked
    )
    reason: str
    target: ResolvedTarget | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.label,
            "platform": self.platform,
            "action": self.action,
            "reason": self.reason,
        }


@dataclass
class FilePlan:
    post: Post
    state: str
    targets: list[TargetPlan] = field(default_factory=list)
    duplicate_of: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.post.rel

    @property
    def sends(self) -> bool:
        return any(t.action in SENDS for t in self.targets)

    def by_action(self, *actions: str) -> list[TargetPlan]:
        return [t for t in self.targets if t.action in actions]

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "state": self.state,
            "hash": self.post.hash,
            "scheduledAt": self.post.scheduled_iso,
            "targets": [t.as_dict() for t in self.targets],
            "problems": [p.as_dict() for p in self.post.problems],
            "duplicateOf": self.duplicate_of,
        }


@dataclass
class Plan:
    run: Run
    files: list[FilePlan]
    duplicates: list[list[str]] = field(default_factory=list)

    @property
    def env(self) -> Env:
        return self.run.env

    @property
    def invalid(self) -> list[FilePlan]:
        return [f for f in self.files if f.state == "invalid"]

    @property
    def work(self) -> list[FilePlan]:
        return [f for f in self.files if f.sends]

    @property
    def needs_letmepost(self) -> bool:
        """Whether carrying it out sends anything through the letmepost API (direct
        Bluesky targets need only their app password)."""
        return any(
            tp.action in SENDS and not (tp.target is not None and tp.target.direct)
            for f in self.work
            for tp in f.targets
        )

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for f in self.files:
            out[f.state] += 1
        return dict(out)

    def as_dict(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "files": [f.as_dict() for f in self.files],
            "duplicates": self.duplicates,
            "counts": self.counts(),
        }


def make_plan(
    posts: Iterable[Post],
    run: Run | None = None,
    *,
    now: dt.datetime | None = None,
    repost: bool = False,
    retry_failed: bool = False,
) -> Plan:
    """Decide, for every post and target, what publishing would do in `run` (only
    records that count for it are taken into account). Without a run: a live run
    for which records of any server count."""
    run = run or Run()
    now = now or dt.datetime.now(dt.UTC)
    files = [_plan_file(p, run, now, repost, retry_failed) for p in posts]
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
                _block_duplicate(f)
    return Plan(run=run, files=files, duplicates=duplicates)


def _block_duplicate(f: FilePlan) -> None:
    """Files with identical content share one Idempotency-Key: publishing them would post
    once and record that post in both, and drafting one would cancel the other's. New
    targets of such files wait until the files differ."""
    others = ", ".join(f.duplicate_of)
    blocked = [
        TargetPlan(
            t.label,
            t.platform,
            "blocked",
            f"same content as {others}: delete one, or make them differ",
            t.target,
        )
        if t.action == "publish"
        else t
        for t in f.targets
    ]
    if blocked != f.targets:
        f.targets = blocked
        f.state = _file_state(blocked, f.post.record is not None)


def recorded_targets(post: Post, run: Run) -> dict[str, Any]:
    """The target records that count for `run`."""
    record = post.record
    if record is None or not run.counts(record.env, record.api):
        return {}
    return dict(record.targets)


def _plan_file(
    post: Post, run: Run, now: dt.datetime, repost: bool, retry_failed: bool
) -> FilePlan:
    if not post.valid:
        return FilePlan(post, "invalid")
    records = recorded_targets(post, run)
    if run.sandbox and post.record is not None and post.record.env == "live":
        plans = [TargetPlan(t.label, t.platform, "none", "published live") for t in post.targets]
        return FilePlan(post, "up to date", plans)
    if post.draft:
        plans = [
            TargetPlan(label, rec.platform, "cancel", "queued, and the file is now a draft")
            for label, rec in records.items()
            if rec.status == "queued"
        ]
        return FilePlan(post, "cancel" if plans else "draft", plans)

    plans = [
        _plan_target(t, records.get(t.label), post, now, repost, retry_failed) for t in post.targets
    ]
    current = {t.label for t in post.targets}
    former = {label: rec for label, rec in records.items() if label not in current}
    if former and not repost:
        plans = [_renamed(p, former) if p.action == "publish" else p for p in plans]
    for label, rec in records.items():
        if label not in current and rec.status == "queued":
            plans.append(
                TargetPlan(label, rec.platform, "cancel", "removed from targets while queued")
            )
    return FilePlan(post, _file_state(plans, bool(records)), plans)


def _renamed(p: TargetPlan, former: dict[str, Any]) -> TargetPlan:
    """A new target that names an account a removed target already went out to (a
    renamed alias, a platform name swapped for its UUID) is refused, not posted again."""
    t = p.target
    for label, rec in former.items():
        if rec.status not in ("published", "publishing", "queued", "pending"):
            continue
        same_account = t is not None and t.account_id is not None and rec.account == t.account_id
        same_platform = t is not None and t.account_id is None and rec.platform == t.platform
        if same_account or same_platform:
            return TargetPlan(
                p.label,
                p.platform,
                "refuse",
                f"already sent to this account as {label!r} (was the target renamed?); "
                "rename it back, or run with --repost to post again",
                t,
            )
    return p


def _plan_target(
    t: ResolvedTarget, rec: Any, post: Post, now: dt.datetime, repost: bool, retry_failed: bool
) -> TargetPlan:
    def plan(action: str, reason: str) -> TargetPlan:
        return TargetPlan(t.label, t.platform, action, reason, t)

    if rec is None:
        return plan("publish", "scheduled" if post.scheduled_at else "new")
    same = rec.hash == t.hash
    status = rec.status
    if status == "pending":
        if not t.direct and _older_than(rec.at, KEY_WINDOW, now):
            if retry_failed:
                return plan("retry", "its answer was lost over a day ago; --retry-failed")
            return plan(
                "blocked",
                f"a request sent at {rec.at} got no answer, and the server forgets keys after "
                "24 h: it may be published already. Check the platform, then run with "
                "--retry-failed to post it",
            )
        return plan("resume", "a request was started but its result was not recorded")
    if status in ("published", "publishing"):
        if same:
            return plan("none", "published")
        if repost:
            return plan("repost", "edited after publishing; --repost posts it again")
        return plan(
            "refuse",
            "edited after publishing: platforms cannot edit a post. Revert the edit, or "
            "run with --repost to post it again",
        )
    if status == "queued":
        due = post.scheduled_at is not None and post.scheduled_at <= now
        if same:
            return plan("sync", "scheduled time has passed") if due else plan("none", "queued")
        return plan("update", "edited while queued")
    if status == "canceled":
        return plan("publish", "canceled earlier")
    # failed / rejected
    code = rec.error.code if rec.error else "unknown"
    if code == "outcome_unknown" and not (retry_failed or repost):
        return plan(
            "blocked",
            "an earlier request may have published it (its answer was lost, and the post "
            "changed since): check the platform, then run with --retry-failed to post it",
        )
    if not same:
        return plan("publish", f"failed with {code}; the post has changed since")
    if code in RETRYABLE_CODES or retry_failed:
        return plan("retry", f"failed with {code}")
    rule = f" ({rec.error.rule})" if rec.error and rec.error.rule else ""
    return plan(
        "blocked",
        f"{status} with {code}{rule}: fix the post (a new attempt needs a change), "
        "or run with --retry-failed",
    )


KEY_WINDOW = dt.timedelta(hours=23)  # the server keeps Idempotency-Keys 24 h; keep a margin


def _older_than(moment: str | None, age: dt.timedelta, now: dt.datetime) -> bool:
    if not moment:
        return False
    try:
        when = dt.datetime.fromisoformat(moment)
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return now - when > age


def _file_state(plans: list[TargetPlan], has_record: bool) -> str:
    actions = {p.action for p in plans}
    if "refuse" in actions:
        return "edited"
    if "resume" in actions:
        return "resume"
    if "update" in actions:
        return "queued, edited"
    if "cancel" in actions and actions <= {"cancel", "none"}:
        return "cancel"
    if "publish" in actions or "repost" in actions:
        if not has_record:
            return "new"
        return "new targets" if any(p.reason in ("new", "scheduled") for p in plans) else "retry"
    if "retry" in actions:
        return "retry"
    if "sync" in actions:
        return "due"
    if "blocked" in actions:
        return "blocked"
    if any(p.reason == "queued" for p in plans):
        return "queued"
    return "up to date"
