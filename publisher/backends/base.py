"""What every backend shares: the protocol `apply` talks to, and the values it passes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from publisher.plan import Step, TargetPlan
    from publisher.record import Record

__all__ = ["Backend", "Reporter", "Request", "StopRun"]


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

    def requests(self, step: Step, record: Record | None) -> list[Request]:
        """The requests `run` would send for `step`, in order (nothing is sent). `record`
        is None for a deleted file's steps (only its queued posts are left)."""
        ...

    def execute(self, step: Step, record: Record | None, reporter: Reporter) -> None:
        """Carry out `step`: each request's answer is in `record`, on disk, before the
        next request (`record` is None for a deleted file's steps)."""
        ...
