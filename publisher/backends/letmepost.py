"""The letmepost backend: steps of the plan as requests to the letmepost API.

- CREATE / RESEND: `POST /v1/posts` for a group of targets, under the step's
  Idempotency-Key. Media files are uploaded first (`POST /v1/media`, each id recorded
  as it comes). The targets are written `pending` with the key before the request
  leaves; a lost answer leaves them so, and the next run's RESEND step sends the same
  key and gets the stored answer (adopting the result) or runs it if it never
  arrived. A 409 `body_mismatch` on a resend means the post was edited after an
  unanswered request: recorded as `outcome_unknown`, never guessed.
- UPDATE: `PATCH /v1/posts/{id}` for a queued post, or cancel and re-create it when
  what changed is beyond a PATCH (`fixedHash`).
- CANCEL: `DELETE /v1/posts/{id}`; for a deleted file there is no record left to
  write: the post is fetched first and cancelled only while it is still queued.
- REFRESH: `GET /v1/posts/{id}` for a queued post whose time has passed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from publisher import identity
from publisher.backends.base import Reporter, Request
from publisher.backends.letmepost_api import (
    ApiError,
    LetmepostClient,
    NetworkError,
    NotSent,
    QuotaExceeded,
)
from publisher.plan import Step, StepKind, TargetPlan
from publisher.record import Record, iso_z, now_iso, web_url

if TYPE_CHECKING:
    from publisher.post import ResolvedTarget
    from publisher.run import Run

__all__ = ["OUTCOME_UNKNOWN", "REJECTED_CODES", "LetmepostBackend"]

REJECTED_CODES = frozenset({"preflight_failed", "platform_auth_failed", "platform_rejected"})
OUTCOME_UNKNOWN = "outcome_unknown"  # a lost answer, and the post edited since: never guess
NOT_SENT = "not_sent"  # the API could not be reached: not a byte of the request left


class LetmepostBackend:
    name = "letmepost"

    def __init__(self, run: Run, client: LetmepostClient | None) -> None:
        self.env, self.client = run.env, client

    def requests(self, step: Step, record: Record | None) -> list[Request]:
        if step.kind is StepKind.PART:
            assert record is not None
            return [Request("POST", "/v1/posts", key=step.key, body=self._part_body(step, record))]
        if step.kind is StepKind.DELETE:  # unpublish: the API cannot delete a published post
            return []
        if step.kind in (StepKind.CREATE, StepKind.RESEND):
            uploads = [Request("POST", "/v1/media", upload=rel) for rel in step.uploads]
            return [*uploads, Request("POST", "/v1/posts", key=step.key, body=step.body)]
        method = {StepKind.CANCEL: "DELETE", StepKind.REFRESH: "GET", StepKind.UPDATE: "PATCH"}
        return [Request(method[step.kind], f"/v1/posts/{step.post_id}")]

    def run(self, step: Step, record: Record | None, reporter: Reporter) -> None:
        if record is None:  # a deleted file: only its queued posts are left to cancel
            for tp in step.targets:
                reporter.checkpoint()
                self._cancel_deleted(step.post_id or "", tp, reporter)
            return
        if step.kind in (StepKind.CREATE, StepKind.RESEND):
            assert step.key is not None
            reporter.checkpoint()
            self._send(record, reporter, list(step.targets), step.key, step.attempt)
            return
        if step.kind is StepKind.PART:
            reporter.checkpoint()
            self._part(record, reporter, step)
            return
        (tp,) = step.targets
        if step.kind is StepKind.DELETE:  # unpublish: nothing to send, the run says so
            # with the links to delete by hand (the post, then its thread's parts)
            rec = record.target(tp.label)
            uris = [rec.get("uri"), *((p or {}).get("uri") for p in rec.get("parts") or [])]
            links = [u for u in (web_url(x, tp.platform) for x in uris) if u]
            reporter.outcome(
                tp,
                "not deleted",
                url=links[0] if links else None,
                note="published through letmepost, which cannot delete it: delete it on the "
                "platform" + (f" (also {', '.join(links[1:])})" if links[1:] else ""),
            )
            return
        reporter.checkpoint()
        if step.kind is StepKind.CANCEL:
            self._cancel(record, reporter, tp)
        elif step.kind is StepKind.REFRESH:
            self._refresh(record, reporter, tp)
        else:
            self._update(record, reporter, tp)

    # -- threads ------------------------------------------------------------------------

    def _part_body(self, step: Step, book: Record) -> bytes:
        """The request of part `step.part`: the part's text to the same account, as a
        reply to the part before it (`<part N>` where that is not out yet)."""
        (tp,) = step.targets
        t = tp.target
        assert t is not None
        rec = book.target(tp.label)
        parent = rec if step.part == 2 and rec.get("uri") else book.part(tp.label, step.part - 1)
        target = {k: v for k, v in t.api_target({}).items() if k in ("accountId", "platform")}
        target["text"] = t.parts[step.part - 2]
        options = reply_options(t.platform, parent, rec)
        if options is None:
            options = {"platform": t.platform, "replyTo": f"<part {step.part - 1}>"}
        if t.options and t.options.get("platform") == t.platform:
            options = {**dict(t.options), **options}
        target["options"] = options
        body: dict[str, Any] = {"targets": [target]}
        if book.post.profile_id:
            body["profileId"] = book.post.profile_id
        return identity.body_bytes(body)

    def _part(self, book: Record, reporter: Reporter, step: Step) -> None:
        (tp,) = step.targets
        t = tp.target
        assert t is not None and step.key is not None
        rec = book.target(tp.label)
        parent = rec if step.part == 2 and rec.get("uri") else book.part(tp.label, step.part - 1)
        if parent is None or parent.get("status") not in ("published", "publishing"):
            if step.part == 2:  # said once per thread; a later part waits silently
                reporter.outcome(
                    tp,
                    "waiting",
                    note="the thread's next parts wait for part 1 to be out "
                    "(`publisher sync` sends them then)",
                )
            return
        body = self._part_body(step, book)
        digest = t.part_hashes[step.part - 2]
        base = {"key": step.key, "attempt": step.attempt, "at": now_iso(), "hash": digest}
        earlier = (book.part(tp.label, step.part) or {}).get("status")
        book.set_part(tp.label, step.part, {**base, "status": "pending"})
        book.save()  # the part's key is on disk before its request leaves
        try:
            resp = self._client().create_post(body, step.key)
        except NotSent as exc:  # not a byte left: known not posted (see `_send`)
            if earlier != "pending":
                error = {"code": NOT_SENT, "message": str(exc)}
                book.set_part(tp.label, step.part, {"status": "failed", "error": error})
                book.save()
            reporter.outcome(tp, "not sent", error=f"part {step.part}: {exc}")
            reporter.stop(f"{exc}: the other posts wait for the next run")
            return
        except (NetworkError, ApiError) as exc:
            if isinstance(exc, NetworkError) or exc.retryable:
                reporter.outcome(
                    tp, "error", error=f"part {step.part}: {exc}; the next run resends it"
                )
                return
            status, error = _refusal(exc)
            book.set_part(tp.label, step.part, {**base, "status": status, "error": error})
            book.save()
            shown = error["message"] if error["code"] == OUTCOME_UNKNOWN else _hint(exc)
            reporter.outcome(tp, status, error=f"part {step.part}: {shown}")
            return
        results = (resp.data or {}).get("results") or [{}]
        r = results[0]
        err = r.get("error")
        status = r.get("status") or "failed"
        values = {
            **base,
            "status": status,
            "postId": r.get("postId"),
            "uri": r.get("uri"),
            "cid": r.get("cid"),
            "error": {k: err.get(k) for k in ("code", "rule", "message")}
            if isinstance(err, dict)
            else None,
        }
        book.set_part(tp.label, step.part, values)  # a None value (no error) drops the key
        book.save()
        if status not in ("published", "publishing"):
            said = (
                f"{err.get('code')}: {err.get('message', '')}" if isinstance(err, dict) else status
            )
            reporter.outcome(tp, status, error=f"part {step.part}: {said}")
            return
        reporter.outcome(
            tp, status, uri=r.get("uri"), url=web_url(r.get("uri")), note=f"part {step.part}"
        )

    def _client(self) -> LetmepostClient:
        if self.client is None:
            raise RuntimeError("no letmepost client configured")
        return self.client

    def _cancel_deleted(self, post_id: str, tp: TargetPlan, reporter: Reporter) -> None:
        """A deleted file's queued post: cancelled while still queued. One that went out
        (or was cancelled) long ago is passed over silently: deletions are read from
        the whole history, and an old one must not say something on every run."""
        client = self._client()
        try:
            if client.get_post(post_id).get("status") != "queued":
                return
            client.delete_post(post_id)
        except ApiError as exc:
            if exc.status in (404, 409):  # gone, or no longer queued meanwhile
                return
            reporter.outcome(tp, "error", error=f"could not cancel the queued post: {exc}")
            return
        except NetworkError as exc:
            reporter.outcome(tp, "error", error=f"could not cancel the queued post: {exc}")
            return
        reporter.outcome(tp, "canceled")

    def _upload_media(
        self, book: Record, reporter: Reporter, targets: list[ResolvedTarget]
    ) -> None:
        for t in targets:
            for m in t.media:
                if m.path is None or m.sha256 is None or m.sha256 in book.media:
                    continue
                reporter.checkpoint()
                from publisher.post import read_media

                data = read_media(m.path, m.size or 0)  # bounded: the size checked
                uploaded = self._client().upload_media(
                    m.path.name, data, m.mime or "application/octet-stream"
                )
                book.media[m.sha256] = uploaded["id"]
                book.save()

    def _publish(self, book: Record, reporter: Reporter, sends: list[TargetPlan]) -> None:
        """A first request (or a deliberate new attempt) for `sends`: a new key."""
        post = book.post
        labels = [tp.label for tp in sends]
        attempt = 1 + max(book.attempt(label) for label in labels)
        assert post.hash is not None
        key = identity.idempotency_key(self.env, post.hash, labels, attempt)
        self._send(book, reporter, sends, key, attempt)

    def _send(
        self,
        book: Record,
        reporter: Reporter,
        sends: list[TargetPlan],
        key: str,
        attempt: int,
    ) -> None:
        """The request for `sends` under `key`: the key is on disk (`pending`) before
        the request leaves, and the answer is mapped into the record after it."""
        post = book.post
        client = self._client()
        targets = [tp.target for tp in sends if tp.target is not None]
        try:
            self._upload_media(book, reporter, targets)
        except (ApiError, NetworkError, OSError) as exc:
            for tp in sends:
                reporter.outcome(tp, "error", error=f"media upload failed: {exc}")
            if isinstance(exc, QuotaExceeded):
                reporter.stop(_quota_message(exc))
            return
        body = identity.body_bytes(post.body(targets, book.media))
        base = {"key": key, "attempt": attempt, "at": now_iso()}
        # a target pending from an earlier run may have been sent then: it stays pending
        earlier = {t.label: book.targets().get(t.label, {}).get("status") for t in targets}
        for t in targets:  # on disk before the request leaves: a rerun reuses this key
            book.replace_target(t.label)
            book.set_target(
                t.label, {**base, "platform": t.platform, "status": "pending", "hash": t.hash}
            )
        book.save()
        try:
            resp = client.create_post(body, key)
        except NotSent as exc:
            # Not a byte left: the outcome is known (nothing was posted), so the record
            # says so instead of `pending`; the next run sends it again under this key.
            error = {"code": NOT_SENT, "message": str(exc)}
            for t in targets:
                if earlier[t.label] != "pending":
                    book.set_target(t.label, {"status": "failed", "error": error})
            book.save()
            for tp in sends:
                reporter.outcome(tp, "not sent", error=str(exc))
            reporter.stop(f"{exc}: the other posts wait for the next run")
            return
        except (NetworkError, ApiError) as exc:
            if isinstance(exc, NetworkError) or exc.retryable:
                # No definite answer: the record stays `pending` with its key, so the
                # next run sends the same key, and if the server did store the post,
                # it answers with it instead of posting again.
                for tp in sends:
                    reporter.outcome(
                        tp, "error", error=f"{exc}; the next run resends the same request"
                    )
                return
            status, error = _refusal(exc)
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
                reporter.outcome(tp, status, error=message)
            if isinstance(exc, QuotaExceeded):
                reporter.stop(_quota_message(exc))
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
                "scheduledAt": iso_z((resp.data or {}).get("scheduledAt"))
                if status == "queued"
                else None,
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
            reporter.outcome(
                tp,
                rec["status"],
                uri=rec.get("uri"),
                url=rec.get("url"),
                error=f"{err['code']}: {err.get('message', '')}" if err else None,
                note=f"scheduled for {rec['scheduledAt']}" if rec.get("scheduledAt") else None,
            )

    def _cancel(self, book: Record, reporter: Reporter, tp: TargetPlan) -> None:
        if self._delete_queued(book, reporter, tp):
            reporter.outcome(tp, "canceled")

    def _delete_queued(self, book: Record, reporter: Reporter, tp: TargetPlan) -> bool:
        """Cancel a queued post and record it; False (and the outcome reported) when
        it could not be cancelled, or was no longer queued (then what it became is
        recorded)."""
        post_id = book.target(tp.label).get("postId")
        try:
            if post_id:
                self._client().delete_post(post_id)
        except ApiError as exc:
            if exc.status == 409:
                self._refresh(book, reporter, tp)  # no longer queued: record what it became
            else:
                reporter.outcome(tp, "error", error=_hint(exc))
            return False
        except NetworkError as exc:
            reporter.outcome(tp, "error", error=str(exc))
            return False
        if getattr(book.post, "unpublish", False):  # unpublish: true: taken back for good
            now = now_iso()
            book.set_target(tp.label, {"status": "unpublished", "unpublishedAt": now, "at": None})
            book.save()
            reporter.outcome(tp, "unpublished", note="the queued post was canceled")
            return False
        book.set_target(tp.label, {"status": "canceled", "at": now_iso()})
        book.save()
        return True

    def _refresh(self, book: Record, reporter: Reporter, tp: TargetPlan) -> None:
        rec = book.target(tp.label)
        try:
            data = self._client().get_post(rec["postId"])
        except (ApiError, NetworkError) as exc:
            reporter.outcome(tp, "error", error=str(exc))
            return
        uri = data.get("platformUri")
        err = data.get("error")
        values = {
            "status": data.get("status"),
            "uri": uri,
            "cid": data.get("platformCid"),
            "error": err if isinstance(err, dict) else None,
        }
        if data.get("status") != rec.get("status"):  # learnt something: when it happened
            values["at"] = iso_z(data.get("publishedAt")) or now_iso()
        book.set_target(tp.label, values)
        book.save()  # writes nothing when nothing changed
        reporter.outcome(
            tp,
            data.get("status", "unknown"),
            uri=uri,
            url=web_url(uri, data.get("platform")),
        )

    def _update(self, book: Record, reporter: Reporter, tp: TargetPlan) -> None:
        t = tp.target
        assert t is not None
        rec = book.target(tp.label)
        post = book.post
        fixed = rec.get("fixedHash")
        if fixed and fixed != t.fixed_hash(post.profile_id):
            self._recreate(book, reporter, tp)
            return
        try:
            self._upload_media(book, reporter, [t])
            patch: dict[str, Any] = {"text": t.text, "scheduledAt": post.scheduled_iso}
            api_target = t.api_target(book.media)
            patch["media"] = api_target.get("media", [])
            self._client().patch_post(rec["postId"], identity.body_bytes(patch))
        except ApiError as exc:
            if exc.status == 409:
                self._refresh(book, reporter, tp)
                return
            book.set_target(tp.label, {"error": exc.as_record()})
            book.save()
            reporter.outcome(tp, "failed", error=_hint(exc))
            return
        except NetworkError as exc:
            reporter.outcome(tp, "error", error=str(exc))
            return
        book.set_target(
            tp.label, {"hash": t.hash, "scheduledAt": post.scheduled_iso, "at": now_iso()}
        )
        book.save()
        reporter.outcome(tp, "queued")

    def _recreate(self, book: Record, reporter: Reporter, tp: TargetPlan) -> None:
        """An edit PATCH cannot carry (options, first comment, profile): cancel the
        queued post, then create it anew under a new key."""
        if self._delete_queued(book, reporter, tp):
            reporter.checkpoint()
            self._publish(book, reporter, [tp])


def _refusal(exc: ApiError) -> tuple[str, dict[str, Any]]:
    """The status and error to record for a definite refusal. A `body_mismatch` means
    an earlier request under this key reached the server and its answer was lost,
    and the post changed since: it may be out already, so it is never guessed."""
    if exc.rule == "idempotency_key.body_mismatch":
        return "failed", {
            "code": OUTCOME_UNKNOWN,
            "rule": exc.rule,
            "message": "an earlier request for this post reached the server under this key, "
            "and its answer was lost; the post changed since. It may be published already: "
            "check the platform, then release it (the message says how) or run with "
            "--retry-failed to post the current version",
        }
    return ("rejected" if exc.code in REJECTED_CODES else "failed"), exc.as_record()


def _hint(exc: ApiError) -> str:
    text = str(exc)
    if exc.replayed:
        text += " (answer replayed by the server for this Idempotency-Key)"
    if 400 <= exc.status < 500 and exc.code not in ("quota_exceeded", "rate_limited"):
        text += "; fix the post and run again (a changed post gets a new key)"
    return text


def _quota_message(exc: ApiError) -> str:
    return (
        f"the monthly quota is used up ({exc.message}); the run stopped. "
        "Raise the plan's quota or wait for the reset, then run again"
    )


def post_id_of(uri: str | None) -> str | None:
    """The platform's id of a post from its URI (the last path segment: an X status
    id, a Threads media id, the sandbox's cid)."""
    if not uri:
        return None
    return uri.rstrip("/").rsplit("/", 1)[-1] or None


def reply_options(
    platform: str | None, parent: dict[str, Any] | None, root: dict[str, Any]
) -> dict[str, Any] | None:
    """The `options` that make a post through letmepost a reply to `parent` (the
    thread's first post is `root`), per platform; None while `parent` is not out."""
    if parent is None or not parent.get("uri"):
        return None
    # The platform's own id: the result's cid (an X status id, a Threads media id),
    # else the URI's last segment (where a compact record keeps it).
    own_id = parent.get("cid") or post_id_of(parent["uri"])
    if platform == "twitter":
        return {"platform": "twitter", "replyToTweetId": own_id}
    if platform == "threads":
        return {"platform": "threads", "replyToId": own_id}
    if platform == "bluesky":
        return {
            "platform": "bluesky",
            "replyToUri": parent["uri"],
            "replyToCid": parent.get("cid") or post_id_of(parent["uri"]),
            "replyRootUri": root["uri"],
            "replyRootCid": root.get("cid") or post_id_of(root["uri"]),
        }
    return None
