"""What every backend shares: the protocol `apply` talks to, and the values it passes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from publisher.plan.restore import Block
    from publisher.plan.values import FileContext, Plan, Step, TargetPlan
    from publisher.record import PartRecord, Record, TargetRecord

__all__ = ["Backend", "Lost", "Reporter", "Request", "StopRun", "part_attempt"]


class StopRun(Exception):
    """Stop starting new requests (quota exceeded, interrupted)."""


@dataclass(frozen=True)
class Request:
    """A request as `publish --dry-run` shows it."""

    method: str
    path: str
    key: str | None = None
    body: bytes | None = None
    upload: str | None = None  # a media file sent before the request that uses it
    target: str | None = None
    record_key: str | None = None  # a direct account's recorded record key (adopted)

    def as_dict(self, file: str) -> dict[str, object]:
        out: dict[str, object] = {"method": self.method, "path": self.path, "file": file}
        if self.upload is not None:
            out["upload"] = self.upload
        if self.key is not None:
            out["idempotencyKey"] = self.key
        if self.body is not None:
            out["body"] = self.body.decode()
        if self.target is not None:
            out["target"] = self.target
        if self.record_key is not None:
            out["recordKey"] = self.record_key
        return out


@dataclass(frozen=True)
class Lost:
    """What a backend's server knows went out for targets about to be sent as new
    (`Backend.lost`): per post path, `published` blocks as `make_plan(history=...)`
    reads them (each target record tagged with `_from`, where it was found), and what
    was asked, for the run's story (None: nothing needed asking)."""

    blocks: Mapping[str, Sequence[Block]] = field(default_factory=dict)
    asked: str | None = None


class Reporter(Protocol):
    """What a backend tells the run while it works on a step."""

    def outcome(self, tp: TargetPlan, status: str, **fields: str | None) -> None:
        """The result of one target (published, queued, failed, ...)."""

    def checkpoint(self) -> None:
        """Raise `StopRun` when the run is stopping; called before each request."""

    def stop(self, why: str) -> None:
        """Stop the whole run after this request (the monthly quota is used up)."""


class Backend(Protocol):
    """A place posts go (letmepost, a Bluesky account directly, ...). `apply` and the
    planner name none: each target says which it uses (`ResolvedTarget.backend`), and
    `open_backends` has one of each for the run."""

    name: str

    def steps(self, file: FileContext, targets: Sequence[TargetPlan]) -> list[Step]:
        """The steps that carry out `targets` (this backend's targets of one file, with
        their actions; `file.post` is None for a deleted file, whose queued posts are
        cancelled), in the order they run. A thread's later parts (`StepKind.PART`)
        are run after every other step of the file, in the order they come here."""
        ...

    def lost(self, plan: Plan, born: Mapping[str, int]) -> Lost:
        """Ask the server, once per run (`reconcile.Reconciler`, connected), what went
        out for `plan`'s targets of this backend about to be sent as new whose record
        was lost. `born`: each post path's first commit time (a post is never older
        than its file; a file git does not know has no lost post). A backend that asks
        at the moment it creates (a record key it derives) returns `Lost()`."""
        ...

    def requests(self, step: Step, record: Record | None) -> list[Request]:
        """The requests `run` would send for `step`, in order (nothing is sent). `record`
        is None for a deleted file's steps (only its queued posts are left)."""
        ...

    def execute(self, step: Step, record: Record | None, reporter: Reporter) -> None:
        """Carry out `step`: each request's answer is in `record`, on disk, before the
        next request (`record` is None for a deleted file's steps)."""
        ...


def part_attempt(tp: TargetPlan, n: int, rec: TargetRecord | None) -> tuple[PartRecord | None, int]:
    """Part `n` of `tp`'s thread: its record (None for a part never sent, or one whose
    part 1 is posted anew) and the attempt its request goes under: a pending part's
    own (its answer was lost: resent, or read back), else the next. A part with no
    record of its own may stand where a superseded one stood (its record moved to
    `earlier`): counting those keeps its key one never used before."""
    from publisher.plan.values import CREATES

    prec = None
    if rec is not None and tp.action not in CREATES and rec.parts and n - 2 < len(rec.parts):
        prec = rec.parts[n - 2]
    if prec is not None and prec.status == "pending":
        return prec, int(prec.attempt)
    superseded = len(rec.earlier or []) if rec is not None else 0
    return prec, int(prec.attempt) + 1 if prec is not None else 1 + superseded
