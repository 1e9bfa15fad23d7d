"""Backends: where a step of the plan goes, and how its answer becomes the record.

`apply` names no backend. It hands each `plan.Step` to the backend the step names
(`Step.backend`, from `ResolvedTarget.backend`), together with the file's `Record` and a
`Reporter`. A backend:

1. **builds** the request of a step (`requests(step, record)`: what `publish
   --dry-run` prints; the same bytes `run` sends);
2. **sends** it, after writing to the record, on disk, what makes a resend safe (an
   Idempotency-Key, a record key: `Record.pending`, whose `Announced` key it sends);
3. **maps** the answer into the record (`Record.answered` / `failed`, on disk before
   the next request), and tells the reporter the outcome per target;
4. **adopts** a result after a crash: a RESEND step finds the recorded key and gets
   the stored answer (letmepost replays it) or reads the record back (Bluesky).

Adding a backend (Mastodon, say) is one module here plus its account config: a
class with `name`, `requests` and `run`, a branch in `ResolvedTarget.backend` that
recognises its targets, and a line in `open_backends`. See docs/internals.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from publisher.backends.base import Backend, Reporter, Request, StopRun

if TYPE_CHECKING:
    from publisher.clients.letmepost import LetmepostClient
    from publisher.run import Run

__all__ = ["Backend", "Reporter", "Request", "StopRun", "open_backends"]


def open_backends(
    run: Run,
    *,
    client: LetmepostClient | None,
    bluesky: Callable[[Any], Any] | None = None,
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
