"""One target's action: the reconcile table (see `publisher.plan`), by what its
record says, and a file's state from its targets' actions. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from publisher.plan.values import SENDS, Action, TargetPlan
from publisher.post import RETRYABLE_CODES, Post, ResolvedTarget
from publisher.record import Status, TargetRecord

__all__ = [
    "KEY_WINDOW",
    "SENT_TO_PDS",
    "UNSTORED_CODES",
    "file_state",
    "never_went_out",
    "older_than",
    "plan_first",
    "unpublish_target",
]


@dataclass(frozen=True)
class _Ask:
    """One target's question to the reconcile table: the target, its record (not
    None), and how the run was asked to treat edits and failures."""

    t: ResolvedTarget
    rec: TargetRecord
    post: Post
    now: dt.datetime
    repost: bool
    retry_failed: bool

    def plan(self, action: Action, reason: str) -> TargetPlan:
        return TargetPlan(self.t.label, self.t.platform, action, reason, self.t)

    @property
    def same(self) -> bool:
        return self.rec.hash == self.t.hash

    @property
    def released(self) -> bool:
        """A person checked the platform and wrote `release: {label: attempt}` in the
        file: that blocked attempt may be sent again (a later block needs its own)."""
        return self.post.release.get(self.t.label) == int(self.rec.attempt)

    @property
    def release_hint(self) -> str:
        return (
            f"add `release: {{{self.t.label}: {int(self.rec.attempt)}}}` to the frontmatter "
            "(the Action honours it), or run with --retry-failed, to post it"
        )


def plan_first(
    t: ResolvedTarget,
    rec: TargetRecord | None,
    post: Post,
    now: dt.datetime,
    repost: bool,
    retry_failed: bool,
) -> TargetPlan:
    """A target's action (part 1 of a thread): the reconcile table, by recorded status."""
    if rec is None:
        action, reason = Action.PUBLISH, "scheduled" if post.scheduled_at else "new"
        return TargetPlan(t.label, t.platform, action, reason, t)
    ask = _Ask(t, rec, post, now, repost, retry_failed)
    handler = _BY_STATUS.get(str(rec.status), _failed)
    return handler(ask)


def _pending(a: _Ask) -> TargetPlan:
    if not a.t.direct and older_than(a.rec.at, KEY_WINDOW, a.now):
        if a.retry_failed or a.released:
            why = "--retry-failed" if a.retry_failed else "released in the file"
            return a.plan(Action.RETRY, f"its answer was lost over a day ago; {why}")
        return a.plan(
            Action.BLOCKED,
            f"a request sent at {a.rec.at} got no answer, and the server forgets keys after "
            f"24 h: it may be published already. Check the platform, then {a.release_hint}",
        )
    return a.plan(Action.RESUME, "a request was started but its result was not recorded")


def _published(a: _Ask) -> TargetPlan:
    if a.same:
        return a.plan(Action.NONE, "published")
    if a.repost:
        return a.plan(Action.REPOST, "edited after publishing; --repost posts it again")
    if a.post.on_edit == "repost":
        return a.plan(Action.REPOST, "edited after publishing; onEdit: repost posts it again")
    if a.post.edit_acknowledged:  # `onEdit: keep` in the file: known, no notice
        return a.plan(Action.NONE, "published; edited since, kept (onEdit: keep)")
    return a.plan(
        Action.KEEP,
        "edited after publishing: not reposted (platforms cannot edit a post; the edit "
        "stays in git). Set `onEdit: repost` in the file to post it again, or "
        "`onEdit: keep` to keep it without this notice",
    )


def _queued(a: _Ask) -> TargetPlan:
    if not a.same:
        return a.plan(Action.UPDATE, "edited while queued")
    due = a.post.scheduled_at is not None and a.post.scheduled_at <= a.now
    return (
        a.plan(Action.SYNC, "scheduled time has passed") if due else a.plan(Action.NONE, "queued")
    )


def _canceled(a: _Ask) -> TargetPlan:
    return a.plan(Action.PUBLISH, "canceled earlier")


# -- Bluesky extras: unpublish (the file says `unpublish: true` no longer)
def _unpublishing(a: _Ask) -> TargetPlan:
    return a.plan(Action.UNPUBLISH, "an unpublish was started: its deletes are finished")


def _unpublished(a: _Ask) -> TargetPlan:
    if a.repost or a.post.on_edit == "repost":
        return a.plan(Action.PUBLISH, "unpublished earlier; posted again")
    return a.plan(
        Action.KEEP,
        "unpublished earlier: not posted again (add `unpublish: true` back, or run with "
        "--repost to post it again)",
    )


def _failed(a: _Ask) -> TargetPlan:
    """Failed or rejected."""
    rec = a.rec
    code = rec.error.code if rec.error else "unknown"
    if code == "outcome_unknown" and not (a.retry_failed or a.repost or a.released):
        return a.plan(
            Action.BLOCKED,
            "an earlier request may have published it (its answer was lost, and the post "
            f"changed since): check the platform, then {a.release_hint}",
        )
    if not a.same:
        return a.plan(Action.PUBLISH, f"failed with {code}; the post has changed since")
    if code in UNSTORED_CODES and rec.key:
        # Refused before the server's idempotency layer (a wrong or revoked key, a
        # missing scope): nothing was stored under the key, so once the secret is
        # fixed the same request goes again, under the same key.
        if code == "not_sent":
            return a.plan(Action.RESUME, "not sent earlier (the API was unreachable): sent now")
        return a.plan(Action.RESUME, f"refused earlier with {code}: sent again under its key")
    if code in RETRYABLE_CODES or a.retry_failed or a.released:
        return a.plan(Action.RETRY, f"failed with {code}" + ("; released" if a.released else ""))
    rule = f" ({rec.error.rule})" if rec.error and rec.error.rule else ""
    return a.plan(
        Action.BLOCKED,
        f"{rec.status} with {code}{rule}: fix the post (a new attempt needs a change), or "
        + a.release_hint.replace(" to post it", " to send it unchanged"),
    )


_BY_STATUS: dict[str, Callable[[_Ask], TargetPlan]] = {
    Status.PENDING: _pending,
    Status.PUBLISHED: _published,
    Status.PUBLISHING: _published,
    Status.QUEUED: _queued,
    Status.CANCELED: _canceled,
    Status.UNPUBLISHING: _unpublishing,
    Status.UNPUBLISHED: _unpublished,
}


# -- Bluesky extras: unpublish
def unpublish_target(t: ResolvedTarget, rec: TargetRecord | None) -> TargetPlan:
    """`unpublish: true`: what taking one target back means."""

    def plan(action: Action, reason: str) -> TargetPlan:
        return TargetPlan(t.label, t.platform, action, reason, t)

    status = rec.status if rec is not None else None
    if status == "unpublished":
        return plan(Action.NONE, "unpublished")
    if t.direct:
        if rec is not None and rec.rkey and (status in SENT_TO_PDS or rec.uri):
            return plan(Action.UNPUBLISH, "unpublish: delete the post, its comment and gates")
        return plan(Action.NONE, "unpublish: never published")
    if status == "queued":
        return plan(Action.CANCEL, "unpublish: cancel the queued post")
    if status == "pending":
        return plan(
            Action.RESUME, "unpublish: its answer was lost; resent under its key to learn it first"
        )
    if status in ("published", "publishing"):
        from publisher.record import web_url

        link = web_url(rec.uri, t.platform) if rec is not None else None
        return plan(
            Action.UNPUBLISH,
            f"unpublish: published through {t.backend}, which cannot delete it: delete it on "
            "the platform" + (f": {link}" if link else ""),
        )
    return plan(Action.NONE, "unpublish: never published")


#: A direct target's statuses whose record key may name a record on the PDS.
SENT_TO_PDS = frozenset({"pending", "published", "publishing", "failed", "unpublishing"})


#: Error codes the API answers before its idempotency layer: never stored under the
#: key (letmepost-api.md section 2), so the same request can simply be sent again.
UNSTORED_CODES = frozenset({"unauthenticated", "unauthorized", "not_sent"})


def never_went_out(rec: TargetRecord) -> bool:
    """A record of a target that certainly posted nothing (a definite refusal, or a
    cancel): dropping it once the target is removed loses nothing."""
    if rec.status == "canceled":
        return True
    code = rec.error.code if rec.error else None
    return rec.status in ("failed", "rejected") and code != "outcome_unknown"


KEY_WINDOW = dt.timedelta(hours=23)  # the server keeps Idempotency-Keys 24 h; keep a margin


def older_than(moment: str | None, age: dt.timedelta, now: dt.datetime) -> bool:
    if not moment:
        return False
    try:
        when = dt.datetime.fromisoformat(moment)
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return now - when > age


def file_state(plans: list[TargetPlan], has_record: bool) -> str:
    actions = {p.action for p in plans}
    if "restore" in actions and actions <= {"restore", "none"}:
        return "restored"
    if "refuse" in actions or ("keep" in actions and not actions & SENDS):
        return "edited"
    if "resume" in actions:
        return "resume"
    if "unpublish" in actions:  # -- Bluesky extras: unpublish
        return "unpublish"
    if plans and all(p.reason == "unpublished" for p in plans):
        return "unpublished"
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
    if "continue" in actions:
        return "thread continues"
    if "sync" in actions:
        return "due"
    if "blocked" in actions:
        return "blocked"
    if any(p.reason == "queued" for p in plans):
        return "queued"
    return "up to date"
