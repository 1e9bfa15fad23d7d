"""Posts + their recorded state -> a `Plan`: what publishing would do, per file and
target. Pure: no network, no writes. `plan` prints it, `publish` carries it out.

The reconcile table (SPEC section 5), per target:

| recorded                              | action    |
|---------------------------------------|-----------|
| nothing (or only a sandbox record, on a live run) | publish |
| published, same content               | none      |
| published, content edited             | keep (onEdit: keep, the default: a notice) or repost (onEdit: repost, --repost) |
| failed with a retryable error         | retry     |
| failed/rejected, content since fixed  | publish   |
| failed/rejected otherwise             | blocked (or retry with --retry-failed) |
| queued, same content, time passed     | sync      |
| queued, same content                  | none (waiting) |
| queued, content or time edited        | update    |
| queued, target removed / file drafted | cancel    |
| pending (direct Bluesky, crash between choosing the key and recording the result) | resume |
| `unpublish: true`: direct Bluesky post (or `unpublishing`) | unpublish (delete it, its comment, its gates) |
| `unpublish: true`: queued letmepost post | cancel |
| `unpublish: true`: published letmepost post | unpublish (a notice: delete it on the platform) |
| `unpublished`                          | none    |

Each file's target actions become its `steps`: the requests `apply` runs, in order,
each with its backend, key, attempt, body bytes and uploads. `publish --dry-run` and
the previews print these very steps; a deleted file with queued targets becomes a
`DeletedFile` with cancel steps, so cancel-on-delete is planned in one place for
`sync`, `publish` and the Action.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from publisher import identity
from publisher.post import RETRYABLE_CODES, Post, ResolvedTarget
from publisher.record import Status
from publisher.run import Env, Run

__all__ = [
    "CREATES",
    "KEY_WINDOW",
    "SENDS",
    "SENT_TO_PDS",
    "UNSTORED_CODES",
    "WORK",
    "Action",
    "DeletedFile",
    "FilePlan",
    "Plan",
    "Step",
    "StepKind",
    "TargetPlan",
    "make_plan",
    "recorded_targets",
]


class Action(StrEnum):
    """What publishing does with one target."""

    PUBLISH = "publish"  # first request (or a new attempt after a fixed failure)
    RETRY = "retry"  # a retryable failure, again under a new key
    REPOST = "repost"  # edited after publishing, posted once more (--repost)
    UPDATE = "update"  # queued and edited: PATCH, or cancel and re-create
    CANCEL = "cancel"  # queued, and removed / drafted / deleted
    RESUME = "resume"  # sent, answer not recorded: the same request again
    SYNC = "sync"  # queued, time passed: fetch the result
    CONTINUE = "continue"  # part 1 is out: the thread's next parts post as replies
    NONE = "none"
    KEEP = "keep"  # edited after publishing, onEdit: keep: nothing is sent, a notice
    FORGET = "forget"  # removed from targets, never went out: its record is dropped
    RESTORE = "restore"  # its record was lost (a bad merge): restored from git history
    REFUSE = "refuse"  # sent to this account under another name: nothing is sent
    BLOCKED = "blocked"  # needs a person: the reason says what
    UNPUBLISH = "unpublish"  # unpublish: true: delete it (direct Bluesky), else a notice


SENDS = frozenset(
    {
        Action.PUBLISH,
        Action.RETRY,
        Action.REPOST,
        Action.UPDATE,
        Action.CANCEL,
        Action.RESUME,
        Action.SYNC,
        Action.CONTINUE,
        Action.UNPUBLISH,
    }
)
CREATES = frozenset({Action.PUBLISH, Action.RETRY, Action.REPOST})
WORK = SENDS | {Action.FORGET, Action.RESTORE}  # what makes a file part of the run's work


class StepKind(StrEnum):
    """One request (or, for a direct account, one record's protocol) of the plan."""

    CREATE = "create"  # POST /v1/posts under a new key; createRecord under a new rkey
    RESEND = "resend"  # the recorded request again, under its recorded key (adopt)
    UPDATE = "update"  # PATCH /v1/posts/{id} (or DELETE + CREATE when PATCH cannot)
    CANCEL = "cancel"  # DELETE /v1/posts/{id}
    REFRESH = "refresh"  # GET /v1/posts/{id}
    PART = "part"  # a thread's next part, as a reply to the part before it
    FORGET = "forget"  # no request: a stale record dropped from the file
    RESTORE = "restore"  # no request: records found in git history written back
    DELETE = "delete"  # unpublish: deleteRecord of the post, its comment and gates


@dataclass(frozen=True, slots=True)
class TargetPlan:
    label: str
    platform: str | None
    action: Action
    reason: str
    target: ResolvedTarget | None = None
    parts: tuple[int, ...] = ()  # the thread parts (2 = the first reply) this run sends
    #: how the thread's parts differ from what is published, part by part: (part, what)
    changes: tuple[tuple[int, str], ...] = ()
    #: of `parts`, those resent under their recorded key (an answer lost): adopted, or
    #: posted then if the first request never arrived
    resent: tuple[int, ...] = ()

    @property
    def backend(self) -> str:
        return self.target.backend if self.target is not None else "letmepost"

    @property
    def posts(self) -> int:
        """How many posts carrying it out makes (part 1 and the thread's parts)."""
        return (1 if self.action in CREATES else 0) + len(self.parts) - len(self.resent)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "target": self.label,
            "platform": self.platform,
            "action": self.action,
            "reason": self.reason,
        }
        if self.parts:
            out["sendsParts"] = list(self.parts)
        if self.resent:
            out["resendsParts"] = list(self.resent)
        if self.changes:
            out["parts"] = [
                {"part": n, "change": what, "sent": n in self.parts} for n, what in self.changes
            ]
        return out


@dataclass(frozen=True)
class Step:
    """One request of the plan, as `apply` will run it.

    `key` and `attempt` are those the request goes out under (a CREATE's new key, a
    RESEND's recorded one; None for a direct account's CREATE, whose record key is
    chosen, and written down, when it runs). `body` is the exact request body when
    every media file is already uploaded (else it names the uploads it waits for),
    built on first use; `uploads` are the files uploaded first."""

    kind: StepKind
    backend: str
    targets: tuple[TargetPlan, ...]
    key: str | None = None
    attempt: int = 0
    build: Any = field(default=None, repr=False, compare=False)  # () -> body bytes
    uploads: tuple[str, ...] = ()
    post_id: str | None = None
    part: int = 1  # a PART step: which part (2 = the first reply)

    @functools.cached_property
    def body(self) -> bytes | None:
        return self.build() if self.build is not None else None

    @property
    def labels(self) -> list[str]:
        return [t.label for t in self.targets]

    def describe(self) -> str:
        """One line for people: ``create via letmepost: bluesky, x (key pub-l-1a2b…,
        attempt 1; uploads img/a.png)``."""
        what = {
            StepKind.CREATE: "create",
            StepKind.RESEND: "resend (adopt the stored answer)",
            StepKind.UPDATE: "update the queued post",
            StepKind.CANCEL: "cancel the queued post",
            StepKind.REFRESH: "fetch the result",
            StepKind.PART: f"reply with part {self.part}",
            StepKind.FORGET: "drop the stale record",
            StepKind.RESTORE: "restore the record from git history",
            StepKind.DELETE: "delete (unpublish)",
        }[self.kind]
        details = []
        if self.key is not None:
            details.append(f"key {self.key[:16]}…, attempt {self.attempt}")
        if self.post_id is not None:
            details.append(f"post {self.post_id}")
        if self.uploads:
            details.append("uploads " + ", ".join(self.uploads))
        extra = f" ({'; '.join(details)})" if details else ""
        via = "" if self.backend == "record" else f" via {self.backend}"
        return f"{what}{via}: {', '.join(self.labels)}{extra}"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "step": str(self.kind),
            "backend": self.backend,
            "targets": self.labels,
        }
        if self.key is not None:
            out["key"] = self.key
            out["attempt"] = self.attempt
        if self.post_id is not None:
            out["postId"] = self.post_id
        if self.uploads:
            out["uploads"] = list(self.uploads)
        if self.body is not None:
            out["body"] = self.body.decode()
        return out


@dataclass
class FilePlan:
    post: Post
    state: str
    targets: list[TargetPlan] = field(default_factory=list)
    duplicate_of: list[str] = field(default_factory=list)
    run: Run | None = field(default=None, repr=False, compare=False)
    #: target records found in git history (or on the server: `reconcile`) for targets
    #: whose record was lost, and where each was found
    restored: dict[str, dict[str, Any]] = field(default_factory=dict)
    restored_from: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return self.post.rel

    @property
    def sends(self) -> bool:
        return bool(self.restored) or any(t.action in WORK for t in self.targets)

    @functools.cached_property
    def steps(self) -> list[Step]:
        """The requests of this file, worked out on first use (`plan`'s table needs
        none of them)."""
        return _steps(self, self.run or Run()) if self.sends else []

    def by_action(self, *actions: str) -> list[TargetPlan]:
        return [t for t in self.targets if t.action in actions]

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "state": self.state,
            "hash": self.post.hash,
            "scheduledAt": self.post.scheduled_iso,
            "targets": [t.as_dict() for t in self.targets],
            "steps": [s.as_dict() for s in self.steps],
            "problems": [p.as_dict() for p in self.post.problems],
            "duplicateOf": self.duplicate_of,
        }


@dataclass
class DeletedFile:
    """A post file deleted while some of its targets were queued: its record (as last
    committed) is all there is, and its steps cancel what is still queued."""

    path: str
    steps: list[Step] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "steps": [s.as_dict() for s in self.steps]}


@dataclass
class Plan:
    run: Run
    files: list[FilePlan]
    duplicates: list[list[str]] = field(default_factory=list)
    deleted: list[DeletedFile] = field(default_factory=list)

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
        return bool(self.deleted) or any(
            step.backend == "letmepost" and step.kind is not StepKind.DELETE  # sends nothing
            for f in self.work
            for step in f.steps
        )

    @property
    def needs_accounts(self) -> bool:
        """Whether a new letmepost target is named by its platform alone: the accounts
        list tells whether it resolves (`make_plan(accounts=...)`)."""
        return any(
            tp.action in CREATES
            and tp.target is not None
            and not tp.target.account_id
            and tp.backend == "letmepost"
            for f in self.files
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
            "deleted": [d.as_dict() for d in self.deleted],
            "counts": self.counts(),
        }


def make_plan(
    posts: Iterable[Post],
    run: Run | None = None,
    *,
    now: dt.datetime | None = None,
    repost: bool = False,
    retry_failed: bool = False,
    queued_only: bool = False,
    deleted: Iterable[tuple[str, Iterable[tuple[str, str | None, str]]]] = (),
    accounts: Sequence[Mapping[str, Any]] | None = None,
    history: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
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
    now = now or dt.datetime.now(dt.UTC)
    history = history or {}
    files = [_plan_file(p, run, now, repost, retry_failed, history.get(p.rel, ())) for p in posts]
    if accounts is not None:
        for f in files:
            f.targets = [_resolvable(tp, f.post, accounts) for tp in f.targets]
            f.state = _file_state(f.targets, f.post.record is not None) if f.targets else f.state
    if queued_only:
        files = [f for f in (_queued_only(f, run, now) for f in files) if f.targets]
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
    by_identity: dict[str, list[FilePlan]] = defaultdict(list)
    for f in files:
        if f.post.identity.startswith("id:"):
            by_identity[f.post.identity].append(f)
    for group in by_identity.values():
        if len(group) > 1:  # two files, one `id:`: they would share record keys
            for f in group:
                others = ", ".join(sorted(g.path for g in group if g is not f))
                _block_new(f, f"the same `id:` as {others}: give each file its own")
    for f in files:
        f.run = run
    gone = [_deleted(path, queued) for path, queued in deleted]
    return Plan(run=run, files=files, duplicates=duplicates, deleted=[d for d in gone if d.steps])


def _resolvable(tp: TargetPlan, post: Post, accounts: Sequence[Mapping[str, Any]]) -> TargetPlan:
    """A new letmepost target named by its platform alone resolves to the one account
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
            f"no {t.platform} account is connected to letmepost: connect one, or remove the target"
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
            tp = _plan_parts(tp, t.target, records.get(t.label), f.post, repost=False, now=now)
        return tp

    targets = [
        refreshed(t) if t.action == Action.NONE and t.reason == "queued" else t
        for t in f.targets
        if t.action in (Action.SYNC, Action.UPDATE, Action.CANCEL, Action.CONTINUE)
        or (t.action == Action.NONE and t.reason == "queued")
    ]
    return FilePlan(f.post, f.state, targets, f.duplicate_of, f.run)


def _deleted(path: str, queued: Iterable[tuple[str, str | None, str]]) -> DeletedFile:
    steps = [
        Step(
            StepKind.CANCEL,
            "letmepost",
            (TargetPlan(label, platform, Action.CANCEL, "the file was deleted while queued"),),
            post_id=post_id,
        )
        for label, platform, post_id in queued
    ]
    return DeletedFile(path, steps)


def _steps(f: FilePlan, run: Run) -> list[Step]:
    """The requests that carry out a file's target actions, in the order `apply` runs
    them: cancels, refreshes and updates of queued posts first, then resends of
    unanswered requests (grouped by their recorded key), then one request for every
    new letmepost target, then each direct target."""
    post = f.post
    records = recorded_targets(post, run)
    if f.restored:
        from publisher.record import PublishedRecord

        records.update(PublishedRecord.model_validate({"targets": f.restored}).targets)
    counted = post.record is not None and run.counts(post.record.env, post.record.api)
    media = dict(post.record.media) if counted else {}

    def recorded(label: str) -> Any:
        return records.get(label)

    def post_id(label: str) -> str | None:
        rec = recorded(label)
        return rec.postId if rec is not None else None

    steps: list[Step] = []
    if f.restored:
        restoring = tuple(tp for tp in f.targets if tp.label in f.restored)
        steps.append(Step(StepKind.RESTORE, "record", restoring))
    forget = tuple(tp for tp in f.targets if tp.action == Action.FORGET)
    if forget:
        steps.append(Step(StepKind.FORGET, "record", forget))
    for kind, action in (
        (StepKind.CANCEL, Action.CANCEL),
        (StepKind.REFRESH, Action.SYNC),
        (StepKind.UPDATE, Action.UPDATE),
    ):
        for tp in f.targets:
            if tp.action == action:
                steps.append(Step(kind, "letmepost", (tp,), post_id=post_id(tp.label)))
    api = [t for t in f.targets if t.target is not None and t.backend == "letmepost"]
    resends: dict[tuple[str, int], list[TargetPlan]] = {}
    for tp in api:
        rec = recorded(tp.label)
        if tp.action == Action.RESUME and rec is not None and rec.key:
            resends.setdefault((rec.key, int(rec.attempt)), []).append(tp)
    for (key, attempt), group in resends.items():
        steps.append(_letmepost_send(StepKind.RESEND, post, group, key, attempt, media))
    sends = [tp for tp in api if tp.action in CREATES]
    if sends:
        assert post.hash is not None
        attempt = 1 + max(
            (int(records[tp.label].attempt) if tp.label in records else 0) for tp in sends
        )
        key = identity.idempotency_key(
            run.env, post.hash, [tp.label for tp in sends], attempt, post.identity
        )
        steps.append(_letmepost_send(StepKind.CREATE, post, sends, key, attempt, media))
    for tp in f.targets:
        # -- Bluesky extras: unpublish. A direct post is deleted under its recorded
        # record key; a published letmepost post cannot be (its backend says so).
        if tp.action == Action.UNPUBLISH:
            rec = recorded(tp.label)
            rkey = rec.rkey if rec is not None and tp.backend != "letmepost" else None
            steps.append(Step(StepKind.DELETE, tp.backend, (tp,), rkey))
            continue
        if tp.target is None or tp.backend == "letmepost":
            continue
        if tp.action == Action.CONTINUE:
            continue
        if tp.action in CREATES or tp.action == Action.RESUME:
            rec = recorded(tp.label)
            resend = tp.action == Action.RESUME or (
                rec is not None and rec.rkey and rec.status in (Status.PENDING, Status.FAILED)
            )
            steps.append(
                Step(
                    StepKind.RESEND if resend else StepKind.CREATE,
                    tp.backend,
                    (tp,),
                    key=rec.rkey if resend and rec is not None else None,
                    attempt=int(rec.attempt) if rec is not None else 0,
                )
            )
    for tp in f.targets:  # then each thread's next parts, in order, as replies
        for n in tp.parts:
            steps.append(_part_step(tp, n, recorded(tp.label), post, run))
    return steps


def _part_step(tp: TargetPlan, n: int, rec: Any, post: Post, run: Run) -> Step:
    """Part `n` of `tp`'s thread: a request of its own, under a key of its own (the
    recorded one when an earlier run's answer was lost)."""
    prec = None
    if rec is not None and tp.action not in CREATES and rec.parts and n - 2 < len(rec.parts):
        prec = rec.parts[n - 2]
    if prec is not None and prec.status == "pending":
        return Step(
            StepKind.PART, tp.backend, (tp,), prec.key or prec.rkey, int(prec.attempt), part=n
        )
    # A part with no record of its own may stand where a superseded one stood (its
    # record moved to `earlier`): counting those keeps its key one never used before.
    superseded = len(rec.earlier or []) if rec is not None else 0
    attempt = int(prec.attempt) + 1 if prec is not None else 1 + superseded
    if tp.backend != "letmepost":
        return Step(StepKind.PART, tp.backend, (tp,), None, attempt, part=n)
    assert post.hash is not None
    key = identity.idempotency_key(
        run.env, post.hash, [f"{tp.label}#part{n}"], attempt, post.identity
    )
    return Step(StepKind.PART, tp.backend, (tp,), key, attempt, part=n)


def _letmepost_send(
    kind: StepKind,
    post: Post,
    group: list[TargetPlan],
    key: str,
    attempt: int,
    media: dict[str, str],
) -> Step:
    targets = [tp.target for tp in group if tp.target is not None]
    uploads = {m.sha256: m.rel for t in targets for m in t.media if m.path is not None and m.sha256}
    pending = tuple(rel for sha, rel in uploads.items() if sha not in media and rel is not None)

    def build() -> bytes:
        return identity.body_bytes(post.body(targets, media))

    return Step(kind, "letmepost", tuple(group), key, attempt, build, pending)


def _block_duplicate(f: FilePlan) -> None:
    """Files with identical content are most likely one post copied: new targets of
    such files wait until the files differ (a thread's later parts count: two threads
    that open alike are two posts)."""
    _block_new(f, f"same content as {', '.join(f.duplicate_of)}: delete one, or make them differ")


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
        f.state = _file_state(blocked, f.post.record is not None)


def recorded_targets(post: Post, run: Run) -> dict[str, Any]:
    """The target records that count for `run`. A direct Bluesky record counts in
    every run: it depends on no letmepost server or environment."""
    record = post.record
    if record is None:
        return {}
    if not run.counts(record.env, record.api):
        return {label: rec for label, rec in record.targets.items() if rec.did}
    return dict(record.targets)


def _plan_file(
    post: Post,
    run: Run,
    now: dt.datetime,
    repost: bool,
    retry_failed: bool,
    history: Sequence[Mapping[str, Any]] = (),
) -> FilePlan:
    if not post.valid:
        return FilePlan(post, "invalid")
    records = recorded_targets(post, run)
    restored = _from_history(post, run, records, history)
    records = {**records, **{label: rec for label, (rec, _) in restored.items()}}
    if run.sandbox and post.record is not None and post.record.env == "live":
        plans = [
            TargetPlan(t.label, t.platform, Action.NONE, "published live") for t in post.targets
        ]
        return FilePlan(post, "up to date", plans)
    if post.draft:
        plans = [
            TargetPlan(label, rec.platform, Action.CANCEL, "queued, and the file is now a draft")
            for label, rec in records.items()
            if rec.status == "queued"
        ]
        return FilePlan(post, "cancel" if plans else "draft", plans)
    if post.unpublish:  # -- Bluesky extras: unpublish
        plans = [_unpublish_target(t, records.get(t.label)) for t in post.targets]
        return FilePlan(post, _file_state(plans, bool(records)), plans)

    plans = [
        _plan_target(t, records.get(t.label), post, now, repost, retry_failed) for t in post.targets
    ]
    if restored:
        plans = [_restored(p, restored) for p in plans]
    current = {t.label for t in post.targets}
    former = {label: rec for label, rec in records.items() if label not in current}
    if former and not repost:
        plans = [_renamed(p, former) if p.action == "publish" else p for p in plans]
    unanswered = {label: rec for label, rec in former.items() if rec.status == "pending"}
    if unanswered:
        plans = _removed_while_pending(plans, records, unanswered)
    for label, rec in records.items():
        if label in unanswered:
            continue
        if label not in current and rec.status == "queued":
            plans.append(
                TargetPlan(label, rec.platform, Action.CANCEL, "removed from targets while queued")
            )
        elif label not in current and _never_went_out(rec):
            plans.append(
                TargetPlan(
                    label,
                    rec.platform,
                    Action.FORGET,
                    f"removed from targets; its {rec.status} record is dropped",
                )
            )
    fp = FilePlan(post, _file_state(plans, bool(records)), plans)
    for label, (_, raw) in restored.items():
        fp.restored_from[label] = raw.get("_from", "git history")
        fp.restored[label] = {k: v for k, v in raw.items() if k != "_from"}
    return fp


def _removed_while_pending(
    plans: list[TargetPlan], records: Mapping[str, Any], unanswered: Mapping[str, Any]
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


def _from_history(
    post: Post, run: Run, records: Mapping[str, Any], history: Sequence[Mapping[str, Any]]
) -> dict[str, tuple[Any, dict[str, Any]]]:
    """Targets whose record a committed version of the file knows better: (the record
    as `TargetRecord`, as written), for

    - a target with no record that a version recorded as sent (or maybe sent);
    - a failure (failed, rejected) older than a version's record of it as sent: an old
      failed record merged back over the newer good one;
    - a post recorded with fewer thread parts (or `earlier` URIs) than a version
      recorded for the same post: a lost `parts:` list.
    """
    if not history:
        return {}
    from publisher.record import (
        PublishedRecord,
        block_of,
        counts,
        direct_record,
        unite_target,
    )

    current = (block_of(post.doc.data) or {}).get("targets") if post.doc else None
    found: dict[str, tuple[Any, dict[str, Any]]] = {}
    for t in post.targets:
        rec = records.get(t.label)
        mine = (current or {}).get(t.label) if rec is not None else None
        merged: dict[str, Any] | None = dict(mine) if isinstance(mine, dict) else None
        chosen: dict[str, Any] | None = None
        for block in history:
            raw = (block.get("targets") or {}).get(t.label)
            if not isinstance(raw, dict) or not (counts(block, run) or direct_record(raw)):
                continue
            if raw.get("status") not in _SENT:
                continue
            if rec is None:
                chosen = dict(raw)
                break
            if rec.uri and raw.get("uri") == rec.uri and merged is not None:
                merged = unite_target(merged, raw)
                continue
            when = raw.get("at") or block.get("updatedAt")
            if (
                not rec.uri
                and rec.status in ("failed", "rejected")
                and (rec.error is None or rec.error.code != "outcome_unknown")
                and _moment(when) > _moment(rec.at)
            ):
                chosen = {**raw, "at": when} if raw.get("status") == "pending" else dict(raw)
                break
        if chosen is None and merged is not None and merged != mine:
            chosen = merged
        if chosen is None:
            continue
        try:
            typed = PublishedRecord.model_validate({"targets": {t.label: chosen}})
        except ValueError:
            continue
        found[t.label] = (typed.targets[t.label], chosen)
    return found


def _moment(value: Any) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


_SENT = frozenset({"published", "publishing", "queued", "pending"})


def _restored(p: TargetPlan, restored: Mapping[str, Any]) -> TargetPlan:
    if p.label not in restored:
        return p
    action = Action.RESTORE if p.action == Action.NONE else p.action
    where = restored[p.label][1].get("_from", "git history")
    reason = f"its record was lost and is restored from {where}; {p.reason}"
    return TargetPlan(p.label, p.platform, action, reason, p.target)


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
                Action.REFUSE,
                f"already sent to this account as {label!r} (was the target renamed?); "
                "rename it back, or run with --repost to post again",
                t,
            )
    return p


def _plan_target(
    t: ResolvedTarget, rec: Any, post: Post, now: dt.datetime, repost: bool, retry_failed: bool
) -> TargetPlan:
    """A target's action (`_plan_first`), and for a thread, which parts go."""
    tp = _plan_first(t, rec, post, now, repost, retry_failed)
    if not t.parts and not (rec is not None and rec.parts):
        return tp
    return _plan_parts(tp, t, rec, post, repost, now=now, retry_failed=retry_failed)


_LIVE_PART = frozenset({"published", "publishing"})


def _plan_parts(
    tp: TargetPlan,
    t: ResolvedTarget,
    rec: Any,
    post: Post,
    repost: bool,
    *,
    now: dt.datetime,
    retry_failed: bool = False,
) -> TargetPlan:
    """A thread's later parts: which this run sends, as replies, once part 1 is out.

    - A part left `pending` (a crash, a lost answer) is resolved first: resent under
      its key (read back, for a direct account), before anything else happens to the
      thread; its other changes are planned by the run after.
    - Parts added at the end of a published thread go out alone, as replies.
    - Parts inserted, removed, moved or edited: the thread differs from what is out
      from part d on. `onEdit: keep` sends nothing and says so part by part; `onEdit:
      repost` (or --repost) posts parts d..n again, replying to part d-1, and the parts
      they replace are kept under `earlier`. Parts removed from the end stay out.
    - A scheduled part 1 leaves the rest to `sync`."""
    if tp.action in (Action.REFUSE, Action.BLOCKED, Action.CANCEL, Action.UNPUBLISH):
        return tp
    recorded = list(rec.parts or []) if rec is not None else []
    pending = [n for n, p in enumerate(recorded, start=2) if p.status == "pending"]
    if pending and rec.status in _LIVE_PART and tp.action in CREATES:
        return _resolve_pending(tp, t, recorded, pending, post, now, retry_failed)
    if tp.action in CREATES:  # a new thread (or posted once more): every part after it
        if post.scheduled_at is not None:
            return tp  # part 1 is queued; `sync` sends the rest once it is out
        return replace(tp, parts=tuple(range(2, len(t.parts) + 2)))
    if tp.action not in (Action.NONE, Action.SYNC, Action.RESUME, Action.KEEP) or rec is None:
        return tp
    if rec.status in (Status.UNPUBLISHED, Status.UNPUBLISHING):
        return tp  # taken back: its parts with it
    if tp.action == Action.NONE and rec.status == "queued":
        return tp
    part_one = tp.reason if tp.action == Action.KEEP else None
    live = {n: p for n, p in enumerate(recorded, start=2) if p.status in _LIVE_PART}
    diverge = next(
        (
            n
            for n in sorted(live)
            if n - 2 >= len(t.part_hashes) or live[n].hash != t.part_hashes[n - 2]
        ),
        None,
    )
    if diverge is not None:
        if pending:  # first learn what became of it; the edit is planned after that
            return _resolve_pending(tp, t, recorded, pending, post, now, retry_failed)
        return _edited_thread(tp, t, live, diverge, post, repost, part_one)
    send: list[int] = []
    for n, digest in enumerate(t.part_hashes, start=2):
        prec = recorded[n - 2] if n - 2 < len(recorded) else None
        blocked = _part_blocked(t, n, prec, digest, post, now, retry_failed)
        if blocked:
            # A part that may be out already (or was refused) stops the thread there:
            # the parts after it would reply to the wrong post.
            return replace(tp, action=Action.BLOCKED, reason=blocked, parts=tuple(send))
        if prec is None or prec.status in ("pending", "failed", "rejected", "canceled"):
            send.append(n)
    if not send:
        return tp
    if tp.action in (Action.NONE, Action.KEEP):
        new = sum(1 for n in send if n - 2 >= len(recorded))
        what = f"{new} new part{'s' if new != 1 else ''}" if new else "unfinished parts"
        reason = f"{what} to post as replies"
        lost = [n for n in send if n in pending]
        if lost:
            which = ", ".join(map(str, lost))
            reason = (
                f"part {which}: a request was started but its result was not recorded: "
                "resent under its key first" + (f"; {what} to post as replies" if new else "")
            )
        if part_one is not None:
            reason = f"part 1 {part_one}; {reason}"
        return replace(
            tp, action=Action.CONTINUE, reason=reason, parts=tuple(send), resent=tuple(lost)
        )
    return replace(tp, parts=tuple(send), resent=tuple(n for n in send if n in pending))


def _resolve_pending(
    tp: TargetPlan,
    t: ResolvedTarget,
    recorded: list[Any],
    pending: list[int],
    post: Post,
    now: dt.datetime,
    retry_failed: bool,
) -> TargetPlan:
    """Parts whose request went out and whose answer was lost: each is resent under
    its recorded key (or read back at its record key) before anything else happens to
    the thread, so its result is recorded, never lost nor posted twice."""
    for n in pending:
        if n - 2 >= len(t.part_hashes):
            return replace(
                tp,
                action=Action.BLOCKED,
                reason=f"part {n} was removed from the file while its request's answer is "
                "pending: put it back as it was and run `publisher publish` to learn what "
                "became of it (then remove it: it stays recorded)",
            )
        digest = t.part_hashes[n - 2]
        blocked = _part_blocked(t, n, recorded[n - 2], digest, post, now, retry_failed)
        if blocked:
            return replace(tp, action=Action.BLOCKED, reason=blocked, parts=())
    which = ", ".join(map(str, pending))
    reason = (
        f"part {which}: a request was started but its result was not recorded: resent under "
        "its key first; the thread's other changes are planned once it is recorded (run "
        "`publisher publish` again)"
    )
    return replace(
        tp, action=Action.CONTINUE, reason=reason, parts=tuple(pending), resent=tuple(pending)
    )


def _edited_thread(
    tp: TargetPlan,
    t: ResolvedTarget,
    live: Mapping[int, Any],
    diverge: int,
    post: Post,
    repost: bool,
    part_one: str | None,
) -> TargetPlan:
    """A published thread whose parts differ from the file from part `diverge` on."""
    changes = _part_changes(t, live, diverge)
    said = ", ".join(f"part {n} {what}" for n, what in changes) or f"part {diverge} changed"
    last = len(t.parts) + 1
    if part_one is not None:
        said = f"part 1 edited, {said}"
    if diverge > last:  # only parts removed from the end: nothing to post
        return replace(
            tp,
            action=Action.KEEP,
            reason=f"{said} after publishing: the removed parts stay on the platform "
            "(platforms cannot edit a thread; `unpublish: true` takes the whole thread back)",
            changes=changes,
        )
    which = f"part {diverge}" if diverge == last else f"parts {diverge}-{last}"
    if (repost or post.on_edit == "repost") and part_one is None:
        why = "--repost" if repost else "onEdit: repost"
        return replace(
            tp,
            action=Action.CONTINUE,
            reason=f"{said} after publishing; {why} posts {which} again as replies to part "
            f"{diverge - 1} (the parts they replace stay recorded under `earlier`)",
            parts=tuple(range(diverge, last + 1)),
            changes=changes,
        )
    reason = (
        f"{said} after publishing: not reposted (set `onEdit: repost` to post {which} again, "
        "or `onEdit: keep` to keep it without this notice)"
    )
    newest = max(live)
    if newest - 2 < len(t.part_hashes) and live[newest].hash == t.part_hashes[newest - 2]:
        # the published thread still ends where it did: parts added after it go out
        added = tuple(range(newest + 1, last + 1))
        if added:
            return replace(
                tp,
                action=Action.CONTINUE,
                reason=f"{reason}; {_count(len(added), 'part')} added at the end: posted "
                "as replies",
                parts=added,
                changes=changes,
            )
    if post.edit_acknowledged:  # `onEdit: keep` in the file: known, no notice
        return replace(
            tp, action=Action.NONE, reason="published; parts edited since, kept", changes=changes
        )
    return replace(tp, action=Action.KEEP, reason=reason, changes=changes)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _part_changes(
    t: ResolvedTarget, live: Mapping[int, Any], diverge: int
) -> tuple[tuple[int, str], ...]:
    """Part by part, how the file's parts from `diverge` on differ from the published
    ones: inserted, added (at the end), removed, moved, edited. A recorded part is
    recognised wherever it now stands by its hash at its old position."""
    import difflib

    old = [n for n in sorted(live) if n >= diverge]
    new: list[int | str] = []
    for n, text in enumerate(t.parts[diverge - 2 :], start=diverge):
        found = next((m for m in old if live[m].hash == t.part_hash(m, text)), None)
        new.append(found if found is not None else f"new{n}")
    out: list[tuple[int, str]] = []
    moved_from = {m for m in new if isinstance(m, int)}
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            pairs = zip(range(i1, i2), range(j1, j2), strict=True)
            out += [(diverge + j, f"was part {old[i]}") for i, j in pairs if old[i] != diverge + j]
            continue
        gone = [m for m in old[i1:i2] if m not in moved_from]
        came = list(range(diverge + j1, diverge + j2))
        if (
            op == "replace"
            and len(gone) == len(came)
            and all(not isinstance(new[j - diverge], int) for j in came)
        ):
            out += [(n, "edited") for n in came]
            continue
        for n in came:
            m = new[n - diverge]
            if isinstance(m, int):
                out.append((n, f"moved (was part {m})"))
            else:
                out.append((n, "added" if n > max(old, default=1) else "inserted"))
        out += [(m, "removed") for m in gone]
    return tuple(sorted(out, key=lambda c: (c[0], c[1] != "removed")))


def _part_blocked(
    t: ResolvedTarget,
    n: int,
    prec: Any,
    digest: str,
    post: Post,
    now: dt.datetime,
    retry_failed: bool,
) -> str | None:
    """Why part `n` must wait for a person (the same rules as a target's): an answer
    lost while the part changed, a request older than the server's key memory, a
    refusal the part has not been fixed for. None when it may go (or is done)."""
    if prec is None or prec.status not in ("pending", "failed", "rejected"):
        return None
    label = f"{t.label}#part{n}"
    if retry_failed or post.release.get(label) == int(prec.attempt):
        return None
    hint = (
        f"add `release: {{{label}: {int(prec.attempt)}}}` to the frontmatter (the Action "
        "honours it), or run with --retry-failed"
    )
    if prec.status == "pending":
        if not t.direct and _older_than(prec.at, KEY_WINDOW, now):
            return (
                f"part {n}: a request sent at {prec.at} got no answer, and the server forgets "
                f"keys after 24 h: it may be published already. Check the platform, then {hint}"
            )
        return None
    code = prec.error.code if prec.error else "unknown"
    if code == "outcome_unknown":
        return (
            f"part {n}: an earlier request may have published it (its answer was lost, and "
            f"the part changed since): check the platform, then {hint}"
        )
    if prec.hash != digest or code in RETRYABLE_CODES or code in UNSTORED_CODES or t.direct:
        return None  # changed since, or worth another try (a direct part adopts its key)
    return f"part {n}: {prec.status} with {code}: fix the part, or {hint}"


def _plan_first(
    t: ResolvedTarget, rec: Any, post: Post, now: dt.datetime, repost: bool, retry_failed: bool
) -> TargetPlan:
    def plan(action: Action, reason: str) -> TargetPlan:
        return TargetPlan(t.label, t.platform, action, reason, t)

    if rec is None:
        return plan(Action.PUBLISH, "scheduled" if post.scheduled_at else "new")
    same = rec.hash == t.hash
    status = rec.status
    attempt = int(rec.attempt)
    # A person checked the platform and wrote `release: {label: attempt}` in the file:
    # that blocked attempt may be sent again (a later block needs its own release).
    released = post.release.get(t.label) == attempt
    release_hint = (
        f"add `release: {{{t.label}: {attempt}}}` to the frontmatter (the Action honours it), "
        "or run with --retry-failed, to post it"
    )
    if status == "pending":
        if not t.direct and _older_than(rec.at, KEY_WINDOW, now):
            if retry_failed or released:
                why = "--retry-failed" if retry_failed else "released in the file"
                return plan(Action.RETRY, f"its answer was lost over a day ago; {why}")
            return plan(
                Action.BLOCKED,
                f"a request sent at {rec.at} got no answer, and the server forgets keys after "
                f"24 h: it may be published already. Check the platform, then {release_hint}",
            )
        return plan(Action.RESUME, "a request was started but its result was not recorded")
    if status in ("published", "publishing"):
        if same:
            return plan(Action.NONE, "published")
        if repost:
            return plan(Action.REPOST, "edited after publishing; --repost posts it again")
        if post.on_edit == "repost":
            return plan(Action.REPOST, "edited after publishing; onEdit: repost posts it again")
        if post.edit_acknowledged:  # `onEdit: keep` in the file: known, no notice
            return plan(Action.NONE, "published; edited since, kept (onEdit: keep)")
        return plan(
            Action.KEEP,
            "edited after publishing: not reposted (platforms cannot edit a post; the edit "
            "stays in git). Set `onEdit: repost` in the file to post it again, or "
            "`onEdit: keep` to keep it without this notice",
        )
    if status == "queued":
        due = post.scheduled_at is not None and post.scheduled_at <= now
        if same:
            return (
                plan(Action.SYNC, "scheduled time has passed")
                if due
                else plan(Action.NONE, "queued")
            )
        return plan(Action.UPDATE, "edited while queued")
    if status == "canceled":
        return plan(Action.PUBLISH, "canceled earlier")
    # -- Bluesky extras: unpublish (the file says `unpublish: true` no longer)
    if status == Status.UNPUBLISHING:
        return plan(Action.UNPUBLISH, "an unpublish was started: its deletes are finished")
    if status == Status.UNPUBLISHED:
        if repost or post.on_edit == "repost":
            return plan(Action.PUBLISH, "unpublished earlier; posted again")
        return plan(
            Action.KEEP,
            "unpublished earlier: not posted again (add `unpublish: true` back, or run with "
            "--repost to post it again)",
        )
    # failed / rejected
    code = rec.error.code if rec.error else "unknown"
    if code == "outcome_unknown" and not (retry_failed or repost or released):
        return plan(
            Action.BLOCKED,
            "an earlier request may have published it (its answer was lost, and the post "
            f"changed since): check the platform, then {release_hint}",
        )
    if not same:
        return plan(Action.PUBLISH, f"failed with {code}; the post has changed since")
    if code in UNSTORED_CODES and rec.key:
        # Refused before the server's idempotency layer (a wrong or revoked key, a
        # missing scope): nothing was stored under the key, so once the secret is
        # fixed the same request goes again, under the same key.
        if code == "not_sent":
            return plan(Action.RESUME, "not sent earlier (the API was unreachable): sent now")
        return plan(Action.RESUME, f"refused earlier with {code}: sent again under its key")
    if code in RETRYABLE_CODES or retry_failed or released:
        return plan(Action.RETRY, f"failed with {code}" + ("; released" if released else ""))
    rule = f" ({rec.error.rule})" if rec.error and rec.error.rule else ""
    return plan(
        Action.BLOCKED,
        f"{status} with {code}{rule}: fix the post (a new attempt needs a change), or "
        + release_hint.replace(" to post it", " to send it unchanged"),
    )


# -- Bluesky extras: unpublish
def _unpublish_target(t: ResolvedTarget, rec: Any) -> TargetPlan:
    """`unpublish: true`: what taking one target back means."""

    def plan(action: Action, reason: str) -> TargetPlan:
        return TargetPlan(t.label, t.platform, action, reason, t)

    status = rec.status if rec is not None else None
    if status == Status.UNPUBLISHED:
        return plan(Action.NONE, "unpublished")
    if t.direct:
        if rec is not None and rec.rkey and (status in SENT_TO_PDS or rec.uri):
            return plan(Action.UNPUBLISH, "unpublish: delete the post, its comment and gates")
        return plan(Action.NONE, "unpublish: never published")
    if status == Status.QUEUED:
        return plan(Action.CANCEL, "unpublish: cancel the queued post")
    if status == Status.PENDING:
        return plan(
            Action.RESUME, "unpublish: its answer was lost; resent under its key to learn it first"
        )
    if status in (Status.PUBLISHED, Status.PUBLISHING):
        from publisher.record import web_url

        link = web_url(rec.uri, t.platform) if rec is not None else None
        return plan(
            Action.UNPUBLISH,
            "unpublish: published through letmepost, which cannot delete it: delete it on "
            "the platform" + (f": {link}" if link else ""),
        )
    return plan(Action.NONE, "unpublish: never published")


#: A direct target's statuses whose record key may name a record on the PDS.
SENT_TO_PDS = frozenset({"pending", "published", "publishing", "failed", "unpublishing"})


#: Error codes the API answers before its idempotency layer: never stored under the
#: key (letmepost-api.md section 2), so the same request can simply be sent again.
UNSTORED_CODES = frozenset({"unauthenticated", "unauthorized", "not_sent"})


def _never_went_out(rec: Any) -> bool:
    """A record of a target that certainly posted nothing (a definite refusal, or a
    cancel): dropping it once the target is removed loses nothing."""
    if rec.status == "canceled":
        return True
    code = rec.error.code if rec.error else None
    return rec.status in ("failed", "rejected") and code != "outcome_unknown"


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
