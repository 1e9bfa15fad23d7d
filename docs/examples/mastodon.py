"""A backend skeleton: Mastodon, as `docs/internals.md` ("Adding a backend") tells it.

Not part of the package: it shows the whole contract and is type-checked against it
(`tests/test_internals.py` runs mypy on this file). A real one lives in
`publisher/backends/mastodon.py`, with a line in `backends.open_backends` and a branch
in `ResolvedTarget.backend`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from publisher import identity
from publisher.backends import Backend, Lost, Reporter, Request
from publisher.plan import CREATES, Action, FileContext, Plan, Step, StepKind, TargetPlan
from publisher.record import Answer, Failure, Record, Sending, Status
from publisher.run import Run


class Statuses(Protocol):
    """The protocol client (in `publisher/clients/`): the only code that talks to the
    network. Mastodon keeps an `Idempotency-Key` for an hour."""

    def create_status(self, text: str, key: str) -> tuple[str, str]:
        """POST /api/v1/statuses: (id, url); `MastodonError` when refused."""
        ...


class MastodonError(Exception):
    code = "platform_rejected"


class MastodonBackend:
    name = "mastodon"

    def __init__(self, run: Run, client: Statuses | None) -> None:
        self.run, self.client = run, client

    def steps(self, file: FileContext, targets: Sequence[TargetPlan]) -> list[Step]:
        """One step per target: a new post under a new key, or the recorded request
        again under its recorded key (its answer was lost)."""
        out = []
        for tp in targets:
            rec = file.records.get(tp.label)
            if tp.action == Action.RESUME and rec is not None and rec.key:
                out.append(Step(StepKind.RESEND, self.name, (tp,), rec.key, int(rec.attempt)))
            elif tp.action in CREATES and file.post is not None and file.post.hash:
                attempt = 1 + (int(rec.attempt) if rec is not None else 0)
                key = identity.idempotency_key(
                    file.run.env, file.post.hash, [tp.label], attempt, file.post.identity
                )
                out.append(Step(StepKind.CREATE, self.name, (tp,), key, attempt))
        return out

    def lost(self, plan: Plan, born: Mapping[str, int]) -> Lost:
        """Mastodon lists an account's statuses: a real backend would look there for
        new targets whose record was lost (see `backends/letmepost_log.py`)."""
        return Lost()

    def requests(self, step: Step, record: Record | None) -> list[Request]:
        return [
            Request("POST", "/api/v1/statuses", key=step.key, target=tp.label)
            for tp in step.targets
        ]

    def execute(self, step: Step, record: Record | None, reporter: Reporter) -> None:
        assert record is not None and self.client is not None and step.key is not None
        for tp in step.targets:
            t = tp.target
            assert t is not None
            reporter.checkpoint()
            # the key is on disk before the request leaves: a rerun sends the same one
            sent = record.pending(
                tp.label,
                Sending(step.attempt, hash=t.hash, key=step.key, platform=t.platform),
                fresh=step.kind is StepKind.CREATE,
            )
            assert sent.key is not None
            try:
                post_id, url = self.client.create_status(t.text, sent.key)
            except MastodonError as exc:
                record.failed(tp.label, Failure(exc.code, str(exc)), status=Status.REJECTED)
                reporter.outcome(tp, "rejected", error=str(exc))
                continue
            record.answered(tp.label, Answer(Status.PUBLISHED, uri=url, post_id=post_id))
            reporter.outcome(tp, "published", url=url)


def _is_a_backend(backend: MastodonBackend) -> Backend:
    return backend  # mypy: the skeleton has the whole `Backend` protocol
