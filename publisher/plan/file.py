"""One file's plan: each target's action (`target.plan_first`, `threads.plan_parts`),
records restored from history, targets removed from the file (cancelled, forgotten,
or waited for), and the file's state. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from publisher.plan.restore import Block, Restored, from_history, restored
from publisher.plan.target import file_state, never_went_out, plan_first, unpublish_target
from publisher.plan.threads import plan_parts
from publisher.plan.values import Action, FilePlan, TargetPlan
from publisher.post import Post, ResolvedTarget
from publisher.record import TargetRecord
from publisher.run import Run

__all__ = ["Options", "plan_file", "recorded_targets"]


@dataclass(frozen=True)
class Options:
    """How this run treats what is recorded (`make_plan`'s arguments)."""

    now: dt.datetime
    repost: bool = False
    retry_failed: bool = False


def recorded_targets(post: Post, run: Run) -> dict[str, TargetRecord]:
    """The target records that count for `run`. A direct record (one naming its
    account's repository, `did`) counts in every run: it depends on no API server
    or environment."""
    record = post.record
    if record is None:
        return {}
    if not run.counts(record.env, record.api):
        return {label: rec for label, rec in record.targets.items() if rec.did}
    return dict(record.targets)


def plan_file(post: Post, run: Run, opts: Options, history: Sequence[Block] = ()) -> FilePlan:
    """What publishing would do with one file in `run`."""
    if not post.valid:
        return FilePlan(post, "invalid")
    records = recorded_targets(post, run)
    found = from_history(post, run, records, history)
    records = {**records, **{label: rec for label, (rec, _) in found.items()}}
    if run.sandbox and post.record is not None and post.record.env == "live":
        plans = [
            TargetPlan(t.label, t.platform, Action.NONE, "published live") for t in post.targets
        ]
        return FilePlan(post, "up to date", plans)
    if post.draft:
        plans = [
            _cancel(label, rec, "queued, and the file is now a draft")
            for label, rec in records.items()
            if rec.status == "queued"
        ]
        return FilePlan(post, "cancel" if plans else "draft", plans)
    if post.unpublish:  # -- Bluesky extras: unpublish
        plans = [unpublish_target(t, records.get(t.label)) for t in post.targets]
        return FilePlan(post, file_state(plans, bool(records)), plans)
    plans = _plan_targets(post, records, found, opts)
    fp = FilePlan(post, file_state(plans, bool(records)), plans)
    for label, (_, raw) in found.items():
        fp.restored_from[label] = str(raw.get("_from", "git history"))
        fp.restored[label] = {k: v for k, v in raw.items() if k != "_from"}
    return fp


def _plan_targets(
    post: Post, records: Mapping[str, TargetRecord], found: Restored, opts: Options
) -> list[TargetPlan]:
    """The file's targets, then the recorded targets no longer in it."""
    plans = [_plan_target(t, records.get(t.label), post, opts) for t in post.targets]
    if found:
        plans = [restored(p, found) for p in plans]
    current = {t.label for t in post.targets}
    former = {label: rec for label, rec in records.items() if label not in current}
    if former and not opts.repost:
        plans = [_renamed(p, former) if p.action == "publish" else p for p in plans]
    unanswered = {label: rec for label, rec in former.items() if rec.status == "pending"}
    if unanswered:
        plans = _removed_while_pending(plans, records, unanswered)
    for label, rec in former.items():
        if label in unanswered:
            continue
        if rec.status == "queued":
            plans.append(_cancel(label, rec, "removed from targets while queued"))
        elif never_went_out(rec):
            why = f"removed from targets; its {rec.status} record is dropped"
            plans.append(TargetPlan(label, rec.platform, Action.FORGET, why))
    return plans


def _cancel(label: str, rec: TargetRecord, why: str) -> TargetPlan:
    """A queued post of a target no longer in the file (or of a drafted file)."""
    from publisher.backends import record_backend

    return TargetPlan(label, rec.platform, Action.CANCEL, why, via=record_backend(rec))


def _plan_target(
    t: ResolvedTarget, rec: TargetRecord | None, post: Post, opts: Options
) -> TargetPlan:
    """A target's action (`plan_first`), and for a thread, which parts go."""
    tp = plan_first(t, rec, post, opts.now, opts.repost, opts.retry_failed)
    if not t.parts and not (rec is not None and rec.parts):
        return tp
    return plan_parts(tp, t, rec, post, opts.repost, now=opts.now, retry_failed=opts.retry_failed)


def _removed_while_pending(
    plans: list[TargetPlan],
    records: Mapping[str, TargetRecord],
    unanswered: Mapping[str, TargetRecord],
) -> list[TargetPlan]:
    """Targets removed from the file while a request for them got no answer. What
    became of that request is learnt only by sending it again exactly as it went
    (same key, same bytes), which needs the removed target: the request's targets
    still in the file wait with it (resent without it, the server would refuse the
    changed body and the answer stay unknown), and nothing is posted again."""
    names = ", ".join(f"`{label}`" for label in unanswered)
    back = (
        f"put {names} back in `targets` as it was and run `publisher publish`: the request "
        "is sent again under its key and every answer recorded (remove it afterwards: a "
        "target that went out stays recorded)"
    )
    keys = {rec.key for rec in unanswered.values() if rec.key}

    def held(tp: TargetPlan) -> TargetPlan:
        rec = records.get(tp.label)
        if tp.action != Action.RESUME or rec is None or rec.key not in keys:
            return tp
        return replace(
            tp,
            action=Action.BLOCKED,
            reason=f"its request also went to {names}, removed from targets since, and got "
            f"no answer: {back}",
            parts=(),
        )

    removed = [
        TargetPlan(
            label,
            rec.platform,
            Action.BLOCKED,
            f"removed from targets while its request (sent at {rec.at}) had no answer: {back}",
        )
        for label, rec in unanswered.items()
    ]
    return [held(tp) for tp in plans] + removed


def _renamed(p: TargetPlan, former: Mapping[str, TargetRecord]) -> TargetPlan:
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
                Action.REFUSE,
                f"already sent to this account as {label!r} (was the target renamed?); "
                "rename it back, or run with --repost to post again",
                t,
            )
    return p
