"""A file's target actions -> its `Step`s, in the order `apply` runs them.

The planner names no backend: it writes the steps that change only the file's record
(restore a record from git history, forget a removed target's stale one), then asks
each backend the run has (`backends.open_backends`) for the steps of its targets
(`Backend.steps`), in the backends' order, and puts every thread's later parts last,
in the order of the file's targets: a reply waits for the post it answers, whichever
backend sends it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from publisher.plan.file import recorded_targets
from publisher.plan.values import (
    Action,
    DeletedFile,
    FileContext,
    FilePlan,
    Step,
    StepKind,
    TargetPlan,
)
from publisher.record import TargetRecord
from publisher.run import Run

if TYPE_CHECKING:
    from publisher.backends.base import Backend

__all__ = ["Stepper"]


class Stepper:
    """Builds the steps of one run's files (given to each `FilePlan`): the backends
    are opened, without a connection, on first use (`plan`'s table needs no steps)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self._backends: dict[str, Backend] | None = None

    @property
    def backends(self) -> dict[str, Backend]:
        if self._backends is None:
            from publisher.backends import open_backends

            self._backends = open_backends(self.run, client=None)
        return self._backends

    def __call__(self, f: FilePlan) -> list[Step]:
        post = f.post
        records = recorded_targets(post, self.run)
        if f.restored:
            from publisher.record import PublishedRecord

            records.update(PublishedRecord.model_validate({"targets": f.restored}).targets)
        counted = post.record is not None and self.run.counts(post.record.env, post.record.api)
        media = dict(post.record.media) if counted and post.record is not None else {}
        steps: list[Step] = []
        if f.restored:
            restoring = tuple(tp for tp in f.targets if tp.label in f.restored)
            steps.append(Step(StepKind.RESTORE, None, restoring))
        forget = tuple(tp for tp in f.targets if tp.action == Action.FORGET)
        if forget:
            steps.append(Step(StepKind.FORGET, None, forget))
        built = self._built(FileContext(post, self.run, records, media), f.targets)
        order = {tp.label: i for i, tp in enumerate(f.targets)}
        parts = sorted(
            (s for s in built if s.kind is StepKind.PART), key=lambda s: order[s.targets[0].label]
        )
        return [*steps, *(s for s in built if s.kind is not StepKind.PART), *parts]

    def deleted(self, path: str, queued: Iterable[tuple[str, str | None, str]]) -> DeletedFile:
        """A deleted file's queued posts (label, platform, postId): their cancels."""
        from publisher.backends import record_backend

        records: dict[str, TargetRecord] = {}
        targets: list[TargetPlan] = []
        for label, platform, post_id in queued:
            rec = TargetRecord(status="queued", attempt=1, platform=platform, postId=post_id)
            records[label] = rec
            why = "the file was deleted while queued"
            targets.append(TargetPlan(label, platform, Action.CANCEL, why, via=record_backend(rec)))
        return DeletedFile(path, self._built(FileContext(None, self.run, records, {}), targets))

    def _built(self, context: FileContext, targets: Sequence[TargetPlan]) -> list[Step]:
        """Every backend's steps for its targets, backends in their order."""
        out: list[Step] = []
        for name, backend in self.backends.items():
            mine = [tp for tp in targets if tp.backend == name]
            if mine:
                out += backend.steps(context, mine)
        return out
