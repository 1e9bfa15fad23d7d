"""Carry out a `Plan`: one request at a time per file, and the file's `published`
block written back (atomically) after every response, before the next request.

Why this never posts twice:
- the committed `published` block is the first defence: a recorded target is not sent
  again (plan.py decides);
- the Idempotency-Key is the second: it is derived from the content and the attempt
  number *as recorded in the file*, so a re-run after a crash (the answer was lost)
  sends the same key and gets the stored answer replayed, while a deliberate retry of
  a recorded failure gets a new key;
- direct Bluesky targets have no server-side key: the record key (a TID) is written
  to the file as `pending` before the record is created, and a re-run reads it back
  (`getRecord`) and adopts it instead of posting again.

Why no result is lost: a response is written to the file before anything else
happens; Ctrl-C is only honoured between a write-back and the next request.

`apply` names no backend: it runs each file's `plan.Step`s in order through the
backend each names (`backends.open_backends`), with the file's `record.Record`, and
collects what the backends report into a `RunResult`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from publisher.backends import Backend, StopRun, open_backends
from publisher.plan import DeletedFile, FilePlan, Plan, Step, StepKind, TargetPlan
from publisher.post import Post
from publisher.record import Record
from publisher.run import Run

if TYPE_CHECKING:
    from publisher.clients.atproto import BlueskyAccount
    from publisher.clients.letmepost import LetmepostClient
    from publisher.config import Account

__all__ = ["OUTCOME_UNKNOWN", "REJECTED_CODES", "Outcome", "RunResult", "Runner"]

REJECTED_CODES = frozenset({"preflight_failed", "platform_auth_failed", "platform_rejected"})
OUTCOME_UNKNOWN = "outcome_unknown"  # a lost answer, and the post edited since: never guess


@dataclass
class Outcome:
    """What happened to one target in this run (for the report)."""

    path: str
    target: str
    platform: str | None
    action: str
    status: str
    uri: str | None = None
    url: str | None = None
    error: str | None = None
    line: int | None = None
    note: str | None = None

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "rejected", "error", "not sent")

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class RunResult:
    outcomes: list[Outcome] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    stopped: str | None = None  # why the run stopped early (quota, interrupt)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.failed]

    def add(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes.append(outcome)

    def wrote(self, path: str) -> None:
        with self._lock:
            if path not in self.written:
                self.written.append(path)


class Runner:
    """Runs the work of a plan: files in parallel (bounded), each file's steps in
    order, every response written back before the next request."""

    def __init__(
        self,
        run: Run,
        *,
        client: LetmepostClient | None = None,
        bluesky: Callable[[Account], BlueskyAccount] | None = None,
        on_file_done: Callable[[FilePlan], None] | None = None,
    ) -> None:
        self.invocation, self.client = run, client
        self._bluesky = bluesky
        self.result = RunResult()
        self.stop = threading.Event()
        self.on_file_done = on_file_done
        self.backends: dict[str, Backend] = {}

    def run(self, plan: Plan, concurrency: int = 4) -> RunResult:
        from publisher.writeback import remove_stale_temps

        # Leftovers of a killed run's write (the caller holds the run lock, no write yet).
        remove_stale_temps(f.post.path for f in plan.files if f.post.valid)
        work: list[FilePlan | DeletedFile] = [*plan.work, *plan.deleted]
        if not work:
            return self.result
        from publisher.writeback import check_folders_writable

        # A folder that cannot take a write-back: one line, exit 2, nothing sent.
        check_folders_writable(f.post.path for f in plan.work)
        # `concurrency` requests on the wire at once. Files get twice as many threads:
        # while one writes a record to disk (fsynced), another keeps its request slot busy.
        concurrency = max(1, concurrency)
        if self.client is not None:
            self.client.limit_in_flight(concurrency)
        self.backends = open_backends(
            self.invocation,
            client=self.client,
            bluesky=self._bluesky,
            slots=concurrency,
        )
        with ThreadPoolExecutor(
            max_workers=min(2 * concurrency, len(work)), thread_name_prefix="publish"
        ) as pool:
            futures = [pool.submit(self._file, f) for f in work]
            try:
                for future in futures:
                    future.result()
            except KeyboardInterrupt:
                # Workers finish the request in flight and its write-back, then stop.
                self.stop.set()
                self.result.stopped = "interrupted"
                pool.shutdown(wait=True, cancel_futures=True)
        return self.result

    # -- one file -------------------------------------------------------------------------

    def _file(self, fp: FilePlan | DeletedFile) -> None:
        try:
            if self.stop.is_set():
                return
            if isinstance(fp, DeletedFile):
                self._deleted(fp)
            else:
                self._steps(fp)
        finally:
            if self.on_file_done and isinstance(fp, FilePlan):
                self.on_file_done(fp)

    def _deleted(self, d: DeletedFile) -> None:
        for step in d.steps:
            reporter = _FileReporter(self, d.path, None)
            assert step.backend is not None  # a deleted file's steps cancel its posts
            try:
                self.backends[step.backend].execute(step, None, reporter)
            except StopRun:
                return

    def _steps(self, fp: FilePlan) -> None:
        from publisher.writeback import WritebackError, check_writable, read_post_bytes

        reporter = _FileReporter(self, fp.post.rel, fp.post)
        pending = [tp for step in fp.steps for tp in step.targets]
        try:  # never send a request whose answer could not be recorded
            check_writable(read_post_bytes(fp.post.path), path=fp.post.rel)
        except (WritebackError, OSError) as exc:
            for tp in pending:
                reporter.outcome(
                    tp, "error", error=f"results cannot be recorded in this file: {exc}"
                )
            return
        record = Record(fp.post, self.invocation, on_write=self.result.wrote)
        try:
            for step in fp.steps:
                if step.backend is None:  # no request: the record itself
                    _record_step(fp, step, record, reporter)
                    continue
                self.backends[step.backend].execute(step, record, reporter)
        except StopRun:
            pass
        except (WritebackError, OSError) as exc:
            # The file changed under us (or the disk failed): say loudly what the server
            # answered, so the result is not lost with the write; and say so when nothing
            # was answered (a `pending` record is only the announcement of a request).
            from publisher.writeback import unrecorded_answers

            said = unrecorded_answers({tp.label: record.target(tp.label) for tp in pending})
            for tp in pending:
                reporter.outcome(
                    tp, "error", error=f"could not record results in the file ({exc}); {said}"
                )
        except Exception as exc:  # a bug must not take the other files down with it
            for tp in pending:
                reporter.outcome(tp, "error", error=f"internal error: {type(exc).__name__}: {exc}")


def _record_step(fp: FilePlan, step: Step, record: Record, reporter: _FileReporter) -> None:
    """A step that sends nothing: a removed target's stale record dropped (forget), or
    a lost record written back from git history (restore)."""
    if step.kind is StepKind.FORGET:
        record.forget(step.labels)
        for tp in step.targets:
            reporter.outcome(tp, "forgotten")
        return
    with record.batch():  # what history knows replaces what is lost
        for label in step.labels:
            record.restored(label, fp.restored[label])
    for tp in step.targets:
        where = fp.restored_from.get(tp.label, "git history")
        reporter.outcome(tp, "restored", note=f"from {where}")


class _FileReporter:
    """What backends report for one file, into the run's result."""

    def __init__(self, runner: Runner, rel: str, post: Post | None) -> None:
        self.runner, self.rel, self.post = runner, rel, post

    def outcome(self, tp: TargetPlan, status: str, **fields: str | None) -> None:
        line = None
        post = self.post
        if (
            status in ("failed", "rejected", "error")
            and post is not None
            and post.doc is not None
            and tp.target is not None
        ):
            line = post.doc.line_of(("targets", tp.target.index))[0]
        self.runner.result.add(
            Outcome(self.rel, tp.label, tp.platform, tp.action, status, line=line, **fields)
        )

    def checkpoint(self) -> None:
        if self.runner.stop.is_set():
            raise StopRun

    def stop(self, why: str) -> None:
        self.runner.stop.set()
        self.runner.result.stopped = why
