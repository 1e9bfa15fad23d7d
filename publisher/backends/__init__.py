"""Backends: where a step of the plan goes, and how its answer becomes the record.

`apply` names no backend. It hands each `plan.Step` to the backend the step names
(`Step.backend`, from `backend_of(target)`), together with the file's `Record` and a
`Reporter`. A backend:

1. **builds** the request of a step (`requests(step, record)`: what `publish
   --dry-run` prints; the same bytes `run` sends);
2. **sends** it, after writing to the record, on disk, what makes a resend safe (an
   Idempotency-Key, a record key);
3. **maps** the answer into the record (`Record.set_target` + `save`, before the
   next request), and tells the reporter the outcome per target;
4. **adopts** a result after a crash: a RESEND step finds the recorded key and gets
   the stored answer (letmepost replays it) or reads the record back (Bluesky).

Adding a backend (Mastodon, say) is one module here plus its account config: a
class with `name`, `requests` and `run`, a branch in `backend_of` that recognises
its targets, and a line in `open_backends`. See docs/internals.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from publisher.client import LetmepostClient
    from publisher.plan import Step, TargetPlan
    from publisher.post import ResolvedTarget
    from publisher.record import Record
    from publisher.run import Run

__all__ = [
    "Backend",
    "Reporter",
    "Request",
    "StopRun",
    "backend_of",
    "open_backends",
]


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

    def as_dict(self, file: str) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "path": self.path, "file": file}
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


class Reporter(Protocol):
    """What a backend tells the run while it works on a step."""

    def outcome(self, tp: TargetPlan, status: str, **fields: Any) -> None:
        """The result of one target (published, queued, failed, ...)."""

    def checkpoint(self) -> None:
        """Raise `StopRun` when the run is stopping; called before each request."""

    def stop(self, why: str) -> None:
        """Stop the whole run after this request (the monthly quota is used up)."""


class Backend(Protocol):
    name: str

    def requests(self, step: Step, record: Record) -> list[Request]:
        """The requests `run` would send for `step`, in order (nothing is sent)."""
        ...

    def run(self, step: Step, record: Record, reporter: Reporter) -> None:
        """Carry out `step`: each request's answer is in `record`, on disk, before the
        next request."""
        ...


def backend_of(target: ResolvedTarget | None) -> str:
    """The name of the backend that publishes to `target`."""
    if target is not None and target.direct:
        return "bluesky"
    return "letmepost"


def open_backends(
    run: Run,
    *,
    client: LetmepostClient | None,
    environ: Mapping[str, str],
    bluesky: Callable[[Any], Any] | None = None,
    slots: int = 4,
) -> dict[str, Backend]:
    """The backends of one run, by name. `bluesky` builds the account object of a
    direct account (tests wrap the real one); `slots` bounds direct requests at once."""
    from publisher.backends.bluesky import BlueskyBackend
    from publisher.backends.letmepost import LetmepostBackend

    return {
        "letmepost": LetmepostBackend(run, client),
        "bluesky": BlueskyBackend(run, environ, factory=bluesky, slots=slots),
    }
