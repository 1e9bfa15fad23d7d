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
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from publisher import identity
from publisher.client import ApiError, LetmepostClient, NetworkError, QuotaExceeded
from publisher.plan import FilePlan, Plan, TargetPlan
from publisher.post import Post, ResolvedTarget
from publisher.record import Record, now_iso, web_url
from publisher.run import Run

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
        return self.status in ("failed", "rejected", "error")

    def as_dict(self) -> dict[str, Any]:
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


class StopRun(Exception):
    """Stop starting new requests (quota exceeded, interrupted)."""


class Runner:
    """Runs the work of a plan: files in parallel (bounded), each file's requests in
    order, every response written back before the next request."""

    def __init__(
        self,
        run: Run,
        *,
        client: LetmepostClient | None = None,
        bluesky: Callable[[Any], Any] | None = None,
        environ: Mapping[str, str] = os.environ,
        on_file_done: Callable[[FilePlan], None] | None = None,
    ) -> None:
        self.invocation, self.client = run, client
        self.env = run.env
        self.result = RunResult()
        self.stop = threading.Event()
        from publisher.direct import DirectBluesky

        self.direct = DirectBluesky(environ, factory=bluesky)
        self.on_file_done = on_file_done
        self._direct_slots = threading.BoundedSemaphore(4)

    def run(self, plan: Plan, concurrency: int = 4) -> RunResult:
        from publisher.writeback import remove_stale_temps

        # Leftovers of a killed run's write (the caller holds the run lock, no write yet).
        remove_stale_temps(f.post.path for f in plan.files)
        work = plan.work
        if not work:
            return self.result
        # `concurrency` requests on the wire at once. Files get twice as many threads:
        # while one writes a record to disk (fsynced), another keeps its request slot busy.
        concurrency = max(1, concurrency)
        if self.client is not None:
            self.client.limit_in_flight(concurrency)
        self._direct_slots = threading.BoundedSemaphore(concurrency)
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

    def _file(self, fp: FilePlan) -> None:
        try:
            if not self.stop.is_set():
                self._steps(fp)
        finally:
            if self.on_file_done:
                self.on_file_done(fp)

    def _steps(self, fp: FilePlan) -> None:
        from publisher.writeback import WritebackError, check_writable

        pending = [tp for tp in fp.targets if tp.action != "none"]
        try:  # never send a request whose answer could not be recorded
            check_writable(fp.post.path.read_bytes(), path=fp.post.rel)
        except (WritebackError, OSError) as exc:
            for tp in pending:
                self._outcome(
                    fp.post, tp, "error", error=f"results cannot be recorded in this file: {exc}"
                )
            return
        book = Record(fp.post, self.invocation, on_write=self.result.wrote)
        try:
            for tp in fp.by_action("cancel"):
                self._checkpoint()
                self._cancel(book, tp)
            for tp in fp.by_action("sync"):
                self._checkpoint()
                self._sync(book, tp)
            for tp in fp.by_action("update"):
                self._checkpoint()
                self._update(book, tp)
            resumes = [t for t in fp.by_action("resume") if not _direct(t)]
            if resumes:
                self._resume(book, resumes)
            sends = [t for t in fp.by_action("publish", "retry", "repost") if not _direct(t)]
            if sends:
                self._checkpoint()
                self._publish(book, sends)
            for tp in fp.by_action("publish", "retry", "repost", "resume"):
                if _direct(tp):
                    self._checkpoint()
                    self._direct(book, tp)
        except StopRun:
            pass
        except (WritebackError, OSError) as exc:
            # The file changed under us (or the disk failed) after a response: say loudly
            # what the API returned, so the result is not lost with the write.
            got = {
                label: rec.get("uri") or rec.get("status")
                for label, rec in book.data.get("targets", {}).items()
            }
            for tp in pending:
                self._outcome(
                    fp.post,
                    tp,
                    "error",
                    error=f"could not record results in the file ({exc}); the API returned: {got}",
                )
        except Exception as exc:  # a bug must not take the other files down with it
            for tp in pending:
                self._outcome(
                    fp.post, tp, "error", error=f"internal error: {type(exc).__name__}: {exc}"
                )

    def _checkpoint(self) -> None:
        if self.stop.is_set():
            raise StopRun

    def _outcome(self, post: Post, tp: TargetPlan, status: str, **kw: Any) -> None:
        line = None
        if (
            status in ("failed", "rejected", "error")
            and post.doc is not None
            and tp.target is not None
        ):
            line = post.doc.line_of(("targets", tp.target.index))[0]
        self.result.add(
            Outcome(post.rel, tp.label, tp.platform, tp.action, status, line=line, **kw)
        )

    def _api(self) -> LetmepostClient:
        if self.client is None:
            raise RuntimeError("no letmepost client configured")
        return self.client

    # -- letmepost ----------------------------------------------------------------------

    def _upload_media(self, book: Record, targets: list[ResolvedTarget]) -> None:
        for t in targets:
            for m in t.media:
                if m.path is None or m.sha256 in book.media:
                    continue
                self._checkpoint()
                data = m.path.read_bytes()
                uploaded = self._api().upload_media(
                    m.path.name, data, m.mime or "application/octet-stream"
                )
                book.media[m.sha256] = uploaded["id"]
                book.save()

    def _publish(self, book: Record, sends: list[TargetPlan]) -> None:
        """A first request (or a deliberate new attempt) for `sends`: a new key."""
        post = book.post
        labels = [tp.label for tp in sends]
        attempt = 1 + max(book.attempt(label) for label in labels)
        assert post.hash is not None
        key = identity.idempotency_key(self.env, post.hash, labels, attempt)
        self._send(book, sends, key, attempt)

    def _resume(self, book: Record, resumes: list[TargetPlan]) -> None:
        """Targets whose request was sent but never definitely answered: send it again
        under the key recorded before it went out. The server answers with what it
        stored, or runs it if it never got it."""
        groups: dict[tuple[str, int], list[TargetPlan]] = {}
        for tp in resumes:
            rec = book.target(tp.label)
            groups.setdefault((rec["key"], int(rec.get("attempt", 1))), []).append(tp)
        for (key, attempt), group in groups.items():
            self._checkpoint()
            self._send(book, group, key, attempt)

    def _send(self, book: Record, sends: list[TargetPlan], key: str, attempt: int) -> None:
        post = book.post
        client = self._api()
        targets = [tp.target for tp in sends if tp.target is not None]
        try:
            self._upload_media(book, targets)
        except (ApiError, NetworkError) as exc:
            for tp in sends:
                self._outcome(post, tp, "error", error=f"media upload failed: {exc}")
            if isinstance(exc, QuotaExceeded):
                self._quota(exc)
            return
        body = identity.body_bytes(post.body(targets, book.media))
        base = {"key": key, "attempt": attempt, "at": now_iso()}
        for t in targets:  # on disk before the request leaves: a rerun reuses this key
            book.replace_target(t.label)
            book.set_target(
                t.label, {**base, "platform": t.platform, "status": "pending", "hash": t.hash}
            )
        book.save()
        try:
            resp = client.create_post(body, key)
        except (NetworkError, ApiError) as exc:
            if isinstance(exc, NetworkError) or exc.retryable:
                # No definite answer: the record stays `pending` with its key, so the
                # next run sends the same key, and if the server did store the post,
                # it answers with it instead of posting again.
                for tp in sends:
                    self._outcome(
                        post, tp, "error", error=f"{exc}; the next run resends the same request"
                    )
                return
            status = "rejected" if exc.code in REJECTED_CODES else "failed"
            error = exc.as_record()
            if exc.rule == "idempotency_key.body_mismatch":
                status, error = (
                    "failed",
                    {
                        "code": OUTCOME_UNKNOWN,
                        "rule": exc.rule,
                        "message": "an earlier request for this post reached the server under "
                        "this key, and its answer was lost; the post changed since. It may be "
                        "published already: check the platform, then run with --retry-failed to "
                        "post the current version",
                    },
                )
            for t in targets:
                book.set_target(
                    t.label,
                    {
                        **base,
                        "platform": t.platform,
                        "status": status,
                        "hash": t.hash,
                        "error": error,
                    },
                )
            book.save()
            message = error["message"] if error["code"] == OUTCOME_UNKNOWN else _hint(exc)
            for tp in sends:
                self._outcome(post, tp, status, error=message)
            if isinstance(exc, QuotaExceeded):
                self._quota(exc)
            return
        results = (resp.data or {}).get("results") or []
        for i, t in enumerate(targets):
            r = results[i] if i < len(results) else {}
            status = r.get("status") or "failed"
            err = r.get("error")
            uri = r.get("uri")
            values = {
                **base,
                "platform": r.get("platform") or t.platform,
                "account": r.get("accountId"),
                "status": status,
                "hash": t.hash,
                "postId": r.get("postId"),
                "uri": uri,
                "cid": r.get("cid"),
                "url": web_url(uri, r.get("platform") or t.platform),
                "firstCommentUri": r.get("firstCommentUri"),
                "firstCommentCid": r.get("firstCommentCid"),
                "scheduledAt": (resp.data or {}).get("scheduledAt") if status == "queued" else None,
                "fixedHash": t.fixed_hash(post.profile_id) if status == "queued" else None,
                "warnings": [w.get("code") for w in r.get("warnings") or [] if isinstance(w, dict)]
                or None,
                "error": {k: err.get(k) for k in ("code", "rule", "message")}
                if isinstance(err, dict)
                else None,
            }
            if not err:
                book.target(t.label).pop("error", None)
            book.set_target(t.label, values)
        book.save()
        for t, tp in zip(targets, sends, strict=True):
            rec = book.target(t.label)
            err = rec.get("error")
            self._outcome(
                post,
                tp,
                rec["status"],
                uri=rec.get("uri"),
                url=rec.get("url"),
                error=f"{err['code']}: {err.get('message', '')}" if err else None,
                note=f"scheduled for {rec['scheduledAt']}" if rec.get("scheduledAt") else None,
            )

    def _quota(self, exc: ApiError) -> None:
        self.stop.set()
        self.result.stopped = (
            f"the monthly quota is used up ({exc.message}); the run stopped. "
            "Raise the plan's quota or wait for the reset, then run again"
        )

    def _cancel(self, book: Record, tp: TargetPlan) -> None:
        rec = book.target(tp.label)
        post_id = rec.get("postId")
        try:
            if post_id:
                self._api().delete_post(post_id)
        except ApiError as exc:
            if exc.status != 409:
                self._outcome(book.post, tp, "error", error=_hint(exc))
                return
            self._refresh(book, tp)  # no longer queued: record what it became
            return
        except NetworkError as exc:
            self._outcome(book.post, tp, "error", error=str(exc))
            return
        book.set_target(tp.label, {"status": "canceled", "at": now_iso()})
        book.save()
        self._outcome(book.post, tp, "canceled")

    def _sync(self, book: Record, tp: TargetPlan) -> None:
        self._refresh(book, tp)

    def _refresh(self, book: Record, tp: TargetPlan) -> None:
        rec = book.target(tp.label)
        try:
            data = self._api().get_post(rec["postId"])
        except (ApiError, NetworkError) as exc:
            self._outcome(book.post, tp, "error", error=str(exc))
            return
        uri = data.get("platformUri")
        err = data.get("error")
        book.set_target(
            tp.label,
            {
                "status": data.get("status"),
                "uri": uri,
                "cid": data.get("platformCid"),
                "url": web_url(uri, data.get("platform")),
                "at": data.get("publishedAt") or now_iso(),
                "error": err if isinstance(err, dict) else None,
            },
        )
        book.save()
        self._outcome(
            book.post,
            tp,
            data.get("status", "unknown"),
            uri=uri,
            url=web_url(uri, data.get("platform")),
        )

    def _update(self, book: Record, tp: TargetPlan) -> None:
        t = tp.target
        assert t is not None
        rec = book.target(tp.label)
        post = book.post
        fixed = rec.get("fixedHash")
        if fixed and fixed != t.fixed_hash(post.profile_id):
            self._recreate(book, tp)
            return
        try:
            self._upload_media(book, [t])
            patch: dict[str, Any] = {"text": t.text, "scheduledAt": post.scheduled_iso}
            api_target = t.api_target(book.media)
            patch["media"] = api_target.get("media", [])
            self._api().patch_post(rec["postId"], identity.body_bytes(patch))
        except ApiError as exc:
            if exc.status == 409:
                self._refresh(book, tp)
                return
            book.set_target(tp.label, {"error": exc.as_record()})
            book.save()
            self._outcome(post, tp, "failed", error=_hint(exc))
            return
        except NetworkError as exc:
            self._outcome(post, tp, "error", error=str(exc))
            return
        book.set_target(
            tp.label, {"hash": t.hash, "scheduledAt": post.scheduled_iso, "at": now_iso()}
        )
        book.save()
        self._outcome(post, tp, "queued")

    def _recreate(self, book: Record, tp: TargetPlan) -> None:
        """An edit PATCH cannot carry (options, first comment, profile): cancel the
        queued post, then create it anew under a new key."""
        rec = book.target(tp.label)
        try:
            self._api().delete_post(rec["postId"])
        except ApiError as exc:
            if exc.status == 409:
                self._refresh(book, tp)  # no longer queued: record what it became
            else:
                self._outcome(book.post, tp, "error", error=_hint(exc))
            return
        except NetworkError as exc:
            self._outcome(book.post, tp, "error", error=str(exc))
            return
        book.set_target(tp.label, {"status": "canceled", "at": now_iso()})
        book.save()
        self._checkpoint()
        self._publish(book, [tp])

    # -- direct Bluesky -----------------------------------------------------------------

    def _direct(self, book: Record, tp: TargetPlan) -> None:
        with self._direct_slots:  # as many as letmepost requests
            status, values = self.direct.publish(book, tp)
        self._outcome(book.post, tp, status, **values)


def _direct(tp: TargetPlan) -> bool:
    return tp.target is not None and tp.target.direct


def _hint(exc: ApiError) -> str:
    text = str(exc)
    if exc.replayed:
        text += " (answer replayed by the server for this Idempotency-Key)"
    if 400 <= exc.status < 500 and exc.code not in ("quota_exceeded", "rate_limited"):
        text += "; fix the post and run again (a changed post gets a new key)"
    return text
