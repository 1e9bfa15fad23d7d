"""Backends: where a step of the plan goes, and how its answer becomes the record.

Neither the planner nor `apply` names a backend. The planner hands each backend its
targets of a file (`TargetPlan.backend`, from `ResolvedTarget.backend`, or for a target
known only from its record, `record_backend`); `apply` hands each `plan.Step` to the
backend the step names (`Step.backend`), together with the file's `Record` and a
`Reporter`. A backend:

0. **plans** its targets' steps (`steps(file, targets)`: which requests, under which
   key and attempt, with which body);
1. **builds** the request of a step (`requests(step, record)`: what `publish
   --dry-run` prints; the same bytes `run` sends);
2. **sends** it, after writing to the record, on disk, what makes a resend safe (an
   Idempotency-Key, a record key: `Record.pending`, whose `Announced` key it sends);
3. **maps** the answer into the record (`Record.answered` / `failed`, on disk before
   the next request), and tells the reporter the outcome per target;
4. **adopts** a result after a crash: a RESEND step finds the recorded key and gets
   the stored answer (letmepost replays it) or reads the record back (Bluesky); and
   a post whose record was lost: `lost(plan, born)` asks its server once per run
   (letmepost's post log), or it looks at a derived key as it creates (Bluesky).

Adding a backend (Mastodon, say) is one module here plus its account config: a
class with `name`, `steps`, `lost`, `requests` and `execute` (docs/examples/mastodon.py
is a skeleton that mypy checks), a branch in `ResolvedTarget.backend` that recognises
its targets, and a line in `open_backends`. See docs/internals.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from publisher.backends.base import Backend, Lost, Reporter, Request, StopRun

if TYPE_CHECKING:
    from publisher.clients.atproto import BlueskyAccount
    from publisher.clients.letmepost import LetmepostClient
    from publisher.config import Account
    from publisher.record import TargetRecord
    from publisher.run import Run

__all__ = ["Backend", "Lost", "Reporter", "Request", "StopRun", "open_backends", "record_backend"]


def record_backend(rec: TargetRecord) -> str:
    """The backend of a target known only from its record (removed from its file, or
    the file drafted or deleted): a direct Bluesky record names its account's
    repository (`did`); every other one went through letmepost."""
    return "bluesky" if rec.did else "letmepost"


def open_backends(
    run: Run,
    *,
    client: LetmepostClient | None,
    bluesky: Callable[[Account], BlueskyAccount] | None = None,
    slots: int = 4,
) -> dict[str, Backend]:
    """The backends of one run, by name. `bluesky` builds the account object of a
    direct account (tests wrap the real one); `slots` bounds direct requests at once."""
    from publisher.backends.bluesky import BlueskyBackend
    from publisher.backends.letmepost import LetmepostBackend

    return {
        "letmepost": LetmepostBackend(run, client),
        "bluesky": BlueskyBackend(run, factory=bluesky, slots=slots),
    }
