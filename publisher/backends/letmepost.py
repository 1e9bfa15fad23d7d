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

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from publisher import identity
from publisher.backends.base import Lost, Reporter, Request, part_attempt
from publisher.backends.letmepost_outcomes import (
    NOT_SENT,
    OUTCOME_UNKNOWN,
    REJECTED_CODES,
    answer_of,
    hint,
    patch_unapplied,
    quota_message,
    refusal,
    status_of,
    text,
)
from publisher.backends.letmepost_replies import part_body, resolve_bluesky_reply, send_part
from publisher.clients.letmepost import (
    ApiError,
    LetmepostClient,
    NetworkError,
    NotSent,
    QuotaExceeded,
)
from publisher.errors import PublisherError
from publisher.plan.values import CREATES, Action, FileContext, Plan, Step, StepKind, TargetPlan
from publisher.record import Answer, Failure, Record, Sending, Status, TargetRecord, iso_z, web_url

if TYPE_CHECKING:
    from publisher.post import Post, ResolvedTarget
    from publisher.run import Run

__all__ = ["OUTCOME_UNKNOWN", "REJECTED_CODES", "LetmepostBackend", "patch_unapplied"]

#: the steps of queued posts, run first: (step, the action it carries out)
_QUEUED = (
    (StepKind.CANCEL, Action.CANCEL),
    (StepKind.REFRESH, Action.SYNC),
    (StepKind.UPDATE, Action.UPDATE),
)


class LetmepostBackend:
    name = "letmepost"

    def __init__(self, run: Run, client: LetmepostClient | None) -> None:
        self.run, self.env, self.client = run, run.env, client

    # -- planning -------------------------------------------------------------------------

    def steps(self, file: FileContext, targets: Sequence[TargetPlan]) -> list[Step]:
        """Cancels, refreshes and updates of queued posts first, then resends of
        unanswered requests (grouped by their recorded key), then one request for
        every new target, then unpublish notices and each thread's next parts."""
        records = file.records
        out = [
            Step(kind, self.name, (tp,), post_id=_post_id(records.get(tp.label)), needs_api=True)
            for kind, action in _QUEUED
            for tp in targets
            if tp.action == action
        ]
        post = file.post
        if post is None:  # a deleted file: only its queued posts are left
            return out
        sending = [tp for tp in targets if tp.target is not None]
        resends: dict[tuple[str, int], list[TargetPlan]] = {}
        for tp in sending:
            rec = records.get(tp.label)
            if tp.action == Action.RESUME and rec is not None and rec.key:
                resends.setdefault((rec.key, int(rec.attempt)), []).append(tp)
        for (key, attempt), group in resends.items():
            out.append(self._send_step(StepKind.RESEND, post, group, key, attempt, file.media))
        sends = [tp for tp in sending if tp.action in CREATES]
        if sends:
            assert post.hash is not None
            attempt = 1 + max(
                (int(records[tp.label].attempt) if tp.label in records else 0) for tp in sends
            )
            labels = [tp.label for tp in sends]
            key = identity.idempotency_key(file.run.env, post.hash, labels, attempt, post.identity)
            out.append(self._send_step(StepKind.CREATE, post, sends, key, attempt, file.media))
        # unpublish: the API cannot delete a published post: the run says so
        out += [
            Step(StepKind.DELETE, self.name, (tp,))
            for tp in targets
            if tp.action == Action.UNPUBLISH
        ]
        # each thread's next parts, in order, as replies
        out += [self._part_step(file, post, tp, n) for tp in targets for n in tp.parts]
        return out

    def _part_step(self, file: FileContext, post: Post, tp: TargetPlan, n: int) -> Step:
        """Part `n` of `tp`'s thread: a request of its own, under a key of its own (the
        recorded one when an earlier run's answer was lost)."""
        prec, attempt = part_attempt(tp, n, file.records.get(tp.label))
        if prec is not None and prec.status == "pending":
            key = prec.key or prec.rkey
        else:
            assert post.hash is not None
            label = f"{tp.label}#part{n}"
            key = identity.idempotency_key(file.run.env, post.hash, [label], attempt, post.identity)
        return Step(StepKind.PART, self.name, (tp,), key, attempt, part=n, needs_api=True)

    def _send_step(
        self,
        kind: StepKind,
        post: Post,
        group: list[TargetPlan],
        key: str,
        attempt: int,
        media: Mapping[str, str],
    ) -> Step:
        """One `POST /v1/posts` for `group`, its body built on first use; the media
        files not uploaded yet go first."""
        targets = [tp.target for tp in group if tp.target is not None]
        uploads = {
            m.sha256: m.rel for t in targets for m in t.media if m.path is not None and m.sha256
        }
        pending = tuple(rel for sha, rel in uploads.items() if sha not in media and rel is not None)
        known = dict(media)

        def build() -> bytes:
            return identity.body_bytes(post.body(targets, known))

        return Step(kind, self.name, tuple(group), key, attempt, build, pending, needs_api=True)

    def lost(self, plan: Plan, born: Mapping[str, int]) -> Lost:
        """The post log (`letmepost_log.lost_posts`): what still knows a post once the
        server has forgotten its Idempotency-Key."""
        if self.client is None:
            return Lost()
        from publisher.backends.letmepost_log import lost_posts

        blocks, asked = lost_posts(plan, self.client, self.run, born)
        return Lost(blocks, asked)

    # -- what dry-run shows, and running ----------------------------------------------------

    def requests(self, step: Step, record: Record | None) -> list[Request]:
        if step.kind is StepKind.PART:
            assert record is not None
            return [Request("POST", "/v1/posts", key=step.key, body=part_body(step, record))]
        if step.kind is StepKind.DELETE:  # unpublish: the API cannot delete a published post
            return []
        if step.kind in (StepKind.CREATE, StepKind.RESEND):
            uploads = [Request("POST", "/v1/media", upload=rel) for rel in step.uploads]
            return [*uploads, Request("POST", "/v1/posts", key=step.key, body=step.body)]
        method = {StepKind.CANCEL: "DELETE", StepKind.REFRESH: "GET", StepKind.UPDATE: "PATCH"}
        return [Request(method[step.kind], f"/v1/posts/{step.post_id}")]

    def execute(self, step: Step, record: Record | None, reporter: Reporter) -> None:
        if record is None:  # a deleted file: only its queued posts are left to cancel
            for tp in step.targets:
                reporter.checkpoint()
                self._cancel_deleted(step.post_id or "", tp, reporter)
            return
        if step.kind is StepKind.DELETE:  # unpublish: nothing to send, the run says so
            self._not_deleted(record, reporter, step)
            return
        reporter.checkpoint()
        if step.kind in (StepKind.CREATE, StepKind.RESEND):
            assert step.key is not None
            resend = step.kind is StepKind.RESEND
            self._send(record, reporter, list(step.targets), step.key, step.attempt, resend=resend)
        elif step.kind is StepKind.PART:
            send_part(self._client(), record, reporter, step)
        elif step.kind is StepKind.CANCEL:
            self._cancel(record, reporter, step.targets[0])
        elif step.kind is StepKind.REFRESH:
            self._refresh(record, reporter, step.targets[0])
        else:
            self._update(record, reporter, step.targets[0])

    def _not_deleted(self, record: Record, reporter: Reporter, step: Step) -> None:
        """Unpublish: the links to delete by hand: the post, its thread's parts, and
        every post it made before (`earlier`: reposts, replaced parts)."""
        (tp,) = step.targets
        rec = record.target(tp.label)
        uris = [rec.get("uri"), *((p or {}).get("uri") for p in rec.get("parts") or [])]
        uris += rec.get("earlier") or []
        links = [u for u in (web_url(x, tp.platform) or x for x in uris if x) if u]
        reporter.outcome(
            tp,
            "not deleted",
            url=links[0] if links else None,
            note="published through letmepost, which cannot delete it: delete it on the "
            "platform" + (f" (also {', '.join(links[1:])})" if links[1:] else ""),
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
        self, record: Record, reporter: Reporter, targets: list[ResolvedTarget]
    ) -> None:
        for t in targets:
            for m in t.media:
                if m.path is None or m.sha256 is None or m.sha256 in record.media:
                    continue
                reporter.checkpoint()
                from publisher.files import read_media

                data = read_media(m.path, m.size or 0)  # bounded: the size checked
                uploaded = self._client().upload_media(
                    m.path.name, data, m.mime or "application/octet-stream"
                )
                record.uploaded(m.sha256, uploaded["id"])

    def _publish(self, record: Record, reporter: Reporter, sends: list[TargetPlan]) -> None:
        """A first request (or a deliberate new attempt) for `sends`: a new key."""
        post = record.post
        labels = [tp.label for tp in sends]
        attempt = 1 + max(record.attempt(label) for label in labels)
        assert post.hash is not None
        key = identity.idempotency_key(self.env, post.hash, labels, attempt, post.identity)
        self._send(record, reporter, sends, key, attempt)

    def _send(
        self,
        record: Record,
        reporter: Reporter,
        sends: list[TargetPlan],
        key: str,
        attempt: int,
        *,
        resend: bool = False,
    ) -> None:
        """The request for `sends` under `key`: the key is on disk (`pending`) before
        the request leaves, and the answer is mapped into the record after it."""
        client = self._client()
        targets = [tp.target for tp in sends if tp.target is not None]
        body = self._body(record, reporter, sends, targets)
        if body is None:
            return
        # a target pending from an earlier run may have been sent then: it stays pending
        earlier = {t.label: record.targets().get(t.label, {}).get("status") for t in targets}
        with record.batch():  # on disk before the request leaves: a rerun reuses this key
            for t in targets:
                sending = Sending(attempt, hash=t.hash, key=key, platform=t.platform)
                record.pending(t.label, sending, fresh=not resend)
        try:
            resp = client.create_post(body, key)
        except NotSent as exc:
            # Not a byte left: the outcome is known (nothing was posted), so the record
            # says so instead of `pending`; the next run sends it again under this key.
            with record.batch():
                for t in targets:
                    if earlier[t.label] != "pending":
                        record.failed(t.label, Failure(NOT_SENT, str(exc)))
            for tp in sends:
                reporter.outcome(tp, "not sent", error=str(exc))
            reporter.stop(f"{exc}: the other posts wait for the next run")
            return
        except (NetworkError, ApiError) as exc:
            _unanswered(record, reporter, sends, targets, exc)
            return
        data = resp.data if isinstance(resp.data, Mapping) else {}
        self._answered(record, reporter, sends, targets, data)

    def _body(
        self,
        record: Record,
        reporter: Reporter,
        sends: list[TargetPlan],
        targets: list[ResolvedTarget],
    ) -> bytes | None:
        """The request body, once its media are uploaded and its Bluesky replies read
        (None, with the outcome reported, when that failed: nothing was sent)."""
        try:
            self._upload_media(record, reporter, targets)
        except (ApiError, NetworkError, OSError) as exc:
            for tp in sends:
                reporter.outcome(tp, "error", error=f"media upload failed: {exc}")
            if isinstance(exc, QuotaExceeded):
                reporter.stop(quota_message(exc))
            return None
        payload = record.post.body(targets, record.media)
        for t, item in zip(targets, payload["targets"], strict=True):
            if not t.reply_to or t.direct:
                continue
            try:  # Bluesky replies: the parent and root as they are now (read, not guessed)
                item["options"] = resolve_bluesky_reply(t.reply_to)
            except PublisherError as exc:
                for tp in sends:
                    reporter.outcome(tp, "error", error=f"replyTo {t.reply_to}: {exc}")
                return None
        return identity.body_bytes(payload)

    def _answered(
        self,
        record: Record,
        reporter: Reporter,
        sends: list[TargetPlan],
        targets: list[ResolvedTarget],
        data: Mapping[str, object],
    ) -> None:
        """The create's answer, each target's result, into the record; then told."""
        results = data.get("results") or []
        listed = results if isinstance(results, list) else []
        with record.batch():
            for i, t in enumerate(targets):
                r = listed[i] if i < len(listed) and isinstance(listed[i], Mapping) else {}
                answer = answer_of(r)
                queued = answer.status == Status.QUEUED
                warnings = r.get("warnings") or []
                answer = replace(
                    answer,
                    account=text(r.get("accountId")),
                    platform=text(r.get("platform")) or t.platform,
                    hash=t.hash,
                    first_comment_uri=text(r.get("firstCommentUri")),
                    first_comment_cid=text(r.get("firstCommentCid")),
                    scheduled_at=iso_z(data.get("scheduledAt")) if queued else None,
                    fixed_hash=t.fixed_hash(record.post.profile_id) if queued else None,
                    warnings=tuple(
                        str(w.get("code"))
                        for w in (warnings if isinstance(warnings, list) else [])
                        if isinstance(w, dict)
                    ),
                )
                record.answered(t.label, answer)
        for t, tp in zip(targets, sends, strict=True):
            rec = record.target(t.label)
            err = rec.get("error")
            reporter.outcome(
                tp,
                rec["status"],
                uri=rec.get("uri"),
                url=web_url(rec.get("uri"), rec.get("platform")),
                error=f"{err['code']}: {err.get('message', '')}" if err else None,
                note=f"scheduled for {rec['scheduledAt']}" if rec.get("scheduledAt") else None,
            )

    def _cancel(self, record: Record, reporter: Reporter, tp: TargetPlan) -> None:
        if self._delete_queued(record, reporter, tp):
            reporter.outcome(tp, "canceled")

    def _delete_queued(self, record: Record, reporter: Reporter, tp: TargetPlan) -> bool:
        """Cancel a queued post and record it; False (and the outcome reported) when
        it could not be cancelled, or was no longer queued (then what it became is
        recorded)."""
        post_id = record.target(tp.label).get("postId")
        try:
            if post_id:
                self._client().delete_post(post_id)
        except ApiError as exc:
            if exc.status == 409:
                self._refresh(record, reporter, tp)  # no longer queued: record what it became
            else:
                reporter.outcome(tp, "error", error=hint(exc))
            return False
        except NetworkError as exc:
            reporter.outcome(tp, "error", error=str(exc))
            return False
        if getattr(record.post, "unpublish", False):  # unpublish: true: taken back for good
            record.canceled(tp.label, unpublished=True)
            reporter.outcome(tp, "unpublished", note="the queued post was canceled")
            return False
        record.canceled(tp.label)
        return True

    def _refresh(self, record: Record, reporter: Reporter, tp: TargetPlan) -> None:
        rec = record.target(tp.label)
        try:
            data = self._client().get_post(rec["postId"])
        except (ApiError, NetworkError) as exc:
            reporter.outcome(tp, "error", error=str(exc))
            return
        uri = text(data.get("platformUri"))
        answer = Answer(
            status_of(data.get("status") or rec.get("status")),
            uri=uri,
            cid=text(data.get("platformCid")),
            error=Failure.of(data.get("error")),
            at=iso_z(data.get("publishedAt")),
        )
        record.answered(tp.label, answer)  # writes nothing when nothing changed
        reporter.outcome(
            tp,
            str(data.get("status", "unknown")),
            uri=uri,
            url=web_url(uri, text(data.get("platform"))),
        )

    def _update(self, record: Record, reporter: Reporter, tp: TargetPlan) -> None:
        t = tp.target
        assert t is not None
        rec = record.target(tp.label)
        post = record.post
        fixed = rec.get("fixedHash")
        if fixed and fixed != t.fixed_hash(post.profile_id):
            self._recreate(record, reporter, tp)
            return
        try:
            self._upload_media(record, reporter, [t])
            patch: dict[str, object] = {"text": t.text, "scheduledAt": post.scheduled_iso}
            api_target = t.api_target(record.media)
            patch["media"] = api_target.get("media", [])
            client = self._client()
            answer = client.patch_post(rec["postId"], identity.body_bytes(patch))
            unapplied = patch_unapplied(patch, answer)
            if unapplied == ["answer"]:  # an answer that does not show the post: read it
                unapplied = patch_unapplied(patch, client.get_post(rec["postId"]))
        except ApiError as exc:
            if exc.status == 409:
                self._refresh(record, reporter, tp)
                return
            record.kept(tp.label, Failure.of(exc.as_record()))
            reporter.outcome(tp, "failed", error=hint(exc))
            return
        except NetworkError as exc:
            reporter.outcome(tp, "error", error=str(exc))
            return
        if unapplied:
            # The server answered 200 and kept the old text or media (the open-source
            # server at d28bf71 reads `scheduledAt` only): the edit is not applied, so
            # it is never recorded as such. The queued post is cancelled and the post
            # created anew, as for an edit beyond a PATCH.
            self._recreate(record, reporter, tp)
            return
        record.queued(tp.label, hash=t.hash, scheduled_at=post.scheduled_iso)
        reporter.outcome(tp, "queued")

    def _recreate(self, record: Record, reporter: Reporter, tp: TargetPlan) -> None:
        """An edit PATCH cannot carry (options, first comment, profile): cancel the
        queued post, then create it anew under a new key."""
        if self._delete_queued(record, reporter, tp):
            reporter.checkpoint()
            self._publish(record, reporter, [tp])


def _post_id(rec: TargetRecord | None) -> str | None:
    return rec.postId if rec is not None else None


def _unanswered(
    record: Record,
    reporter: Reporter,
    sends: list[TargetPlan],
    targets: list[ResolvedTarget],
    exc: NetworkError | ApiError,
) -> None:
    """A create that got no answer, or a refusal."""
    if isinstance(exc, NetworkError) or exc.retryable:
        # No definite answer: the record stays `pending` with its key, so the next run
        # sends the same key, and if the server did store the post, it answers with it
        # instead of posting again.
        for tp in sends:
            reporter.outcome(tp, "error", error=f"{exc}; the next run resends the same request")
        return
    status, failure = refusal(exc)
    with record.batch():
        for t in targets:
            record.failed(t.label, failure, status=status, hash=t.hash, platform=t.platform)
    message = failure.message if failure.code == OUTCOME_UNKNOWN else hint(exc)
    for tp in sends:
        reporter.outcome(tp, status, error=message)
    if isinstance(exc, QuotaExceeded):
        reporter.stop(quota_message(exc))
