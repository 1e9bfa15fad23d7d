"""The plan as a value: per file, each target's `Action` and the reason, and the
`Step`s (the requests `apply` runs, in order). Made by `make.make_plan`; printed by
`plan`, `publish --dry-run` and the previews; carried out by `apply`.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from publisher.post import Post, ResolvedTarget
from publisher.record import TargetRecord
from publisher.run import Env, Run

__all__ = [
    "CREATES",
    "SENDS",
    "WORK",
    "Action",
    "DeletedFile",
    "FileContext",
    "FilePlan",
    "Plan",
    "Step",
    "StepKind",
    "TargetPlan",
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
    #: the backend of a target known only from its record (removed from the file, or
    #: the file drafted or deleted): `backends.record_backend`
    via: str = ""

    @property
    def backend(self) -> str:
        """The backend whose steps carry it out (`ResolvedTarget.backend`)."""
        return self.target.backend if self.target is not None else self.via

    @property
    def posts(self) -> int:
        """How many posts carrying it out makes (part 1 and the thread's parts)."""
        return (1 if self.action in CREATES else 0) + len(self.parts) - len(self.resent)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
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
    built on first use; `uploads` are the files uploaded first. `backend` is None for
    a step that sends nothing and changes only the file's record (restore, forget);
    `needs_api`: carrying it out needs the run's API connection (`Run.connect`)."""

    kind: StepKind
    backend: str | None
    targets: tuple[TargetPlan, ...]
    key: str | None = None
    attempt: int = 0
    build: Callable[[], bytes] | None = field(default=None, repr=False, compare=False)
    uploads: tuple[str, ...] = ()
    post_id: str | None = None
    part: int = 1  # a PART step: which part (2 = the first reply)
    needs_api: bool = False

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
        via = f" via {self.backend}" if self.backend else ""
        return f"{what}{via}: {', '.join(self.labels)}{extra}"

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"step": str(self.kind)}
        if self.backend is not None:
            out["backend"] = self.backend
        out["targets"] = self.labels
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


@dataclass(frozen=True)
class FileContext:
    """What a backend builds a file's steps from (`Backend.steps`): the post (None for
    a deleted file: only its queued posts are left, in `records`), the run, the target
    records that count for it (restored ones included), and the media it uploaded
    (sha256 -> media id)."""

    post: Post | None
    run: Run
    records: Mapping[str, TargetRecord]
    media: Mapping[str, str]


@dataclass
class FilePlan:
    post: Post
    state: str
    targets: list[TargetPlan] = field(default_factory=list)
    duplicate_of: list[str] = field(default_factory=list)
    run: Run | None = field(default=None, repr=False, compare=False)
    #: target records found in git history (or on the server: `reconcile`) for targets
    #: whose record was lost, and where each was found
    restored: dict[str, dict[str, object]] = field(default_factory=dict)
    restored_from: dict[str, str] = field(default_factory=dict)
    #: works out the steps (`steps.file_steps`, given by `make_plan`)
    stepper: Callable[[FilePlan], list[Step]] | None = field(
        default=None, repr=False, compare=False
    )

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
        if not self.sends or self.stepper is None:
            return []
        return self.stepper(self)

    def by_action(self, *actions: str) -> list[TargetPlan]:
        return [t for t in self.targets if t.action in actions]

    def as_dict(self) -> dict[str, object]:
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

    def as_dict(self) -> dict[str, object]:
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
    def needs_api(self) -> bool:
        """Whether carrying it out needs the run's API connection (`Run.connect`): a
        deleted file's cancels, or a step its backend says so of (`Step.needs_api`;
        a direct account's steps need only its app password)."""
        return any(step.needs_api for d in self.deleted for step in d.steps) or any(
            step.needs_api for f in self.work for step in f.steps
        )

    @property
    def needs_accounts(self) -> bool:
        """Whether a new target the API resolves is named by its platform alone: the
        accounts list tells whether it resolves (`make_plan(accounts=...)`)."""
        return any(
            tp.action in CREATES
            and tp.target is not None
            and not tp.target.account_id
            and not tp.target.direct
            for f in self.files
            for tp in f.targets
        )

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for f in self.files:
            out[f.state] += 1
        return dict(out)

    def as_dict(self) -> dict[str, object]:
        return {
            "env": self.env,
            "files": [f.as_dict() for f in self.files],
            "duplicates": self.duplicates,
            "deleted": [d.as_dict() for d in self.deleted],
            "counts": self.counts(),
        }
