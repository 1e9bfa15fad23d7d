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

import os
from typing import TYPE_CHECKING, Any

from publisher import identity
from publisher.backends.base import Reporter, Request
from publisher.clients.letmepost import (
    ApiError,
    LetmepostClient,
    NetworkError,
    NotSent,
    QuotaExceeded,
)
from publisher.errors import PublisherError
from publisher.plan import Step, StepKind, TargetPlan
from publisher.record import Answer, Failure, PartDict, Record, Sending, Status, iso_z, web_url

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

    def execute(self, step: Step, record: Record | None, reporter: Reporter) -> None:
        if record is None:  # a deleted file: only its queued posts are left to cancel
            for tp in step.targets:
                reporter.checkpoint()
                self._cancel_deleted(step.post_id or "", tp, reporter)
            return
        if step.kind in (StepKind.CREATE, StepKind.RESEND):
            assert step.key is not None
            reporter.checkpoint()
            resend = step.kind is StepKind.RESEND
            self._send(record, reporter, list(step.targets), step.key, step.attempt, resend=resend)
            return
        if step.kind is StepKind.PART:
            reporter.checkpoint()
            self._part(record, reporter, step)
            return
        (tp,) = step.targets
        if step.kind is StepKind.DELETE:  # unpublish: nothing to send, the run says so
            # with the links to delete by hand: the post, its thread's parts, and every
            # post it made before (`earlier`: reposts, replaced parts)
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
            return
        reporter.checkpoint()
        if step.kind is StepKind.CANCEL:
            self._cancel(record, reporter, tp)
        elif step.kind is StepKind.REFRESH:
            self._refresh(record, reporter, tp)
        else:
            self._update(record, reporter, tp)

    # -- threads ------------------------------------------------------------------------

    def _part_body(self, step: Step, record: Record) -> bytes:
        """The request of part `step.part`: the part's text to the same account, as a
        reply to the part before it (`<part N>` where that is not out yet)."""
        (tp,) = step.targets
        t = tp.target
        assert t is not None
        rec = record.target(tp.label)
        parent = rec if step.part == 2 and rec.get("uri") else record.part(tp.label, step.part - 1)
        target = {k: v for k, v in t.api_target({}).items() if k in ("accountId", "platform")}
        target["text"] = t.parts[step.part - 2]
        # A target given as an account UUID names no platform: the API said which it is
        # (recorded from part 1's answer). `options` is a union discriminated on
        # `options.platform`: without it the server refuses the part (400).
        platform = t.platform or rec.get("platform")
        options = reply_options(platform, parent, rec)
        if options is None:
            options = {"platform": platform, "replyTo": f"<part {step.part - 1}>"}
        if t.options and t.options.get("platform") == platform:
            options = {**dict(t.options), **options}
        target["options"] = options
        body: dict[str, Any] = {"targets": [target]}
        if record.post.profile_id:
            body["profileId"] = record.post.profile_id
        return identity.body_bytes(body)

    def _part(self, record: Record, reporter: Reporter, step: Step) -> None:
        (tp,) = step.targets
        t = tp.target
        assert t is not None and step.key is not None
        rec = record.target(tp.label)
        parent = rec if step.part == 2 and rec.get("uri") else record.part(tp.label, step.part - 1)
        if parent is None or parent.get("status") not in ("published", "publishing"):
            if step.part == 2:  # said once per thread; a later part waits silently
                reporter.outcome(tp, "waiting", note=waiting_note(rec.get("status")))
            return
        body = self._part_body(step, record)
        digest = t.part_hashes[step.part - 2]
        prev = record.part(tp.label, step.part) or {}
        earlier = prev.get("status")
        resend = earlier == Status.PENDING and prev.get("key") == step.key
        sent = record.pending(  # the part's key is on disk before its request leaves
            tp.label,
            Sending(step.attempt, hash=digest, key=step.key),
            part=step.part,
            fresh=not resend,
        )
        try:
            assert sent.key is not None
            resp = self._client().create_post(body, sent.key)
        except NotSent as exc:  # not a byte left: known not posted (see `_send`)
            if earlier != "pending":
                record.failed(tp.label, Failure(NOT_SENT, str(exc)), part=step.part)
            reporter.outcome(tp, "not sent", error=f"part {step.part}: {exc}")
            reporter.stop(f"{exc}: the other posts wait for the next run")
            return
        except (NetworkError, ApiError) as exc:
            if isinstance(exc, NetworkError) or exc.retryable:
                reporter.outcome(
                    tp, "error", error=f"part {step.part}: {exc}; the next run resends it"
                )
                return
            status, failure = _refusal(exc)
            record.failed(tp.label, failure, part=step.part, status=status)
            shown = failure.message if failure.code == OUTCOME_UNKNOWN else _hint(exc)
            reporter.outcome(tp, status, error=f"part {step.part}: {shown}")
            return
        results = (resp.data or {}).get("results") or [{}]
        r = results[0]
        err = r.get("error")
        status = _status(r.get("status"))
        answer = Answer(
            status, uri=r.get("uri"), cid=r.get("cid"), post_id=r.get("postId"),
            error=Failure.of(err),
        )  # fmt: skip
        record.answered(tp.label, answer, part=step.part)
        if status not in (Status.PUBLISHED, Status.PUBLISHING):
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
        post = record.post
        client = self._client()
        targets = [tp.target for tp in sends if tp.target is not None]
        try:
            self._upload_media(record, reporter, targets)
        except (ApiError, NetworkError, OSError) as exc:
            for tp in sends:
                reporter.outcome(tp, "error", error=f"media upload failed: {exc}")
            if isinstance(exc, QuotaExceeded):
                reporter.stop(_quota_message(exc))
            return
        payload = post.body(targets, record.media)
        try:  # Bluesky replies: the parent and root as they are now (read, not guessed)
            for t, item in zip(targets, payload["targets"], strict=True):
                if t.reply_to and not t.direct:
                    item["options"] = resolve_bluesky_reply(t.reply_to)
        except PublisherError as exc:
            for tp in sends:
                reporter.outcome(tp, "error", error=f"replyTo {t.reply_to}: {exc}")
            return
        body = identity.body_bytes(payload)
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
            if isinstance(exc, NetworkError) or exc.retryable:
                # No definite answer: the record stays `pending` with its key, so the
                # next run sends the same key, and if the server did store the post,
                # it answers with it instead of posting again.
                for tp in sends:
                    reporter.outcome(
                        tp, "error", error=f"{exc}; the next run resends the same request"
                    )
                return
            status, failure = _refusal(exc)
            with record.batch():
                for t in targets:
                    record.failed(t.label, failure, status=status, hash=t.hash, platform=t.platform)
            message = failure.message if failure.code == OUTCOME_UNKNOWN else _hint(exc)
            for tp in sends:
                reporter.outcome(tp, status, error=message)
            if isinstance(exc, QuotaExceeded):
                reporter.stop(_quota_message(exc))
            return
        results = (resp.data or {}).get("results") or []
        with record.batch():
            for i, t in enumerate(targets):
                r = results[i] if i < len(results) else {}
                status = _status(r.get("status"))
                queued = status == Status.QUEUED
                answer = Answer(
                    status,
                    uri=r.get("uri"),
                    cid=r.get("cid"),
                    post_id=r.get("postId"),
                    account=r.get("accountId"),
                    platform=r.get("platform") or t.platform,
                    hash=t.hash,
                    first_comment_uri=r.get("firstCommentUri"),
                    first_comment_cid=r.get("firstCommentCid"),
                    scheduled_at=iso_z((resp.data or {}).get("scheduledAt")) if queued else None,
                    fixed_hash=t.fixed_hash(post.profile_id) if queued else None,
                    warnings=tuple(
                        str(w.get("code")) for w in r.get("warnings") or [] if isinstance(w, dict)
                    ),
                    error=Failure.of(r.get("error")),
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
                reporter.outcome(tp, "error", error=_hint(exc))
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
        uri = data.get("platformUri")
        answer = Answer(
            _status(data.get("status") or rec.get("status")),
            uri=uri,
            cid=data.get("platformCid"),
            error=Failure.of(data.get("error")),
            at=iso_z(data.get("publishedAt")),
        )
        record.answered(tp.label, answer)  # writes nothing when nothing changed
        reporter.outcome(
            tp,
            data.get("status", "unknown"),
            uri=uri,
            url=web_url(uri, data.get("platform")),
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
            patch: dict[str, Any] = {"text": t.text, "scheduledAt": post.scheduled_iso}
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
            reporter.outcome(tp, "failed", error=_hint(exc))
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


def waiting_note(status: Any) -> str:
    """Why a thread's next parts were not sent, and the command that sends them."""
    if status == Status.QUEUED:
        return (
            "the thread's next parts wait for part 1, which is queued: `publisher sync` "
            "sends them once it is out"
        )
    if status == Status.PENDING:
        return (
            "the thread's next parts wait for part 1, whose answer was lost: the next "
            "`publisher publish` resends it under its key, then sends them"
        )
    return (
        f"the thread's next parts wait for part 1, which {status or 'did not go out'}: "
        "once it is out (`publisher plan` says what it needs), `publisher publish` sends them"
    )


def _status(value: Any) -> Status:
    """A post status as the API answered it (one it does not know is a failure)."""
    try:
        return Status(value)
    except ValueError:
        return Status.FAILED


def _refusal(exc: ApiError) -> tuple[Status, Failure]:
    """The status and error to record for a definite refusal. A `body_mismatch` means
    an earlier request under this key reached the server and its answer was lost,
    and the post changed since: it may be out already, so it is never guessed."""
    if exc.rule == "idempotency_key.body_mismatch":
        return Status.FAILED, Failure(
            OUTCOME_UNKNOWN,
            "an earlier request for this post reached the server under this key, "
            "and its answer was lost; the post changed since. It may be published already: "
            "check the platform, then release it (the message says how) or run with "
            "--retry-failed to post the current version",
            exc.rule,
        )
    status = Status.REJECTED if exc.code in REJECTED_CODES else Status.FAILED
    return status, Failure.of(exc.as_record()) or Failure(exc.code or "unknown", str(exc))


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
    platform: str | None, parent: PartDict | None, root: PartDict
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


def _media_refs(items: Any) -> list[tuple[Any, ...]] | None:
    """What identifies each media item of a request or of the server's `mediaRefs`
    (kind, id or URL, alt text), in order; None when it cannot be read."""
    if not isinstance(items, list):
        return None
    out = []
    for item in items:
        if not isinstance(item, dict):
            return None
        out.append(
            (item.get("kind"), item.get("mediaId") or item.get("url"), item.get("altText") or None)
        )
    return out


def patch_unapplied(patch: dict[str, Any], answer: Any) -> list[str]:
    """The fields of `patch` that the post in `answer` (a PATCH or GET answer) does not
    show as asked: [] when every one was applied, ["answer"] when the answer does not
    show the post at all. Compared by value, never by the order of keys."""
    if not isinstance(answer, dict) or "text" not in answer:
        return ["answer"]
    unapplied = []
    if "text" in patch and answer.get("text") != patch["text"]:
        unapplied.append("text")
    if "media" in patch and _media_refs(answer.get("mediaRefs") or []) != _media_refs(
        patch["media"]
    ):
        unapplied.append("media")
    if patch.get("scheduledAt") and iso_z(answer.get("scheduledAt")) != patch["scheduledAt"]:
        unapplied.append("scheduledAt")
    return unapplied


def resolve_bluesky_reply(ref: str, environ: Any = None) -> dict[str, Any]:
    """The `options` of a Bluesky reply through letmepost to the post `ref` (a bsky.app
    URL or an at:// URI): the parent's uri and cid, and its thread's root (the parent's
    own root when it is a reply, else the parent), read with no login through
    ``$PUBLISHER_APPVIEW_URL`` when set (an AppView, or a PDS), else from the PDS the
    author's DID document names (``$PUBLISHER_PLC_URL``, default plc.directory).

    ``BlueskyError`` (``invalid_post_ref``, ``unknown_handle``, ``post_not_found``, or
    the PDS could not be asked)."""
    from publisher.clients.atproto import (
        DEFAULT_PLC,
        POST_COLLECTION,
        BlueskyError,
        parse_post_ref,
        read_handle,
        read_post,
        resolve_pds,
    )

    environ = os.environ if environ is None else environ
    try:
        actor, rkey = parse_post_ref(ref)
    except ValueError as exc:
        raise BlueskyError("invalid_post_ref", str(exc)) from None
    appview = (environ.get("PUBLISHER_APPVIEW_URL") or "").strip().rstrip("/") or None
    plc = environ.get("PUBLISHER_PLC_URL") or DEFAULT_PLC
    did = actor
    if not did.startswith("did:"):
        found = read_handle(actor, appview or "https://public.api.bsky.app")
        if found is None:
            raise BlueskyError("unknown_handle", f"no Bluesky account has handle @{actor}")
        did = found
    host = appview or resolve_pds(did, plc_url=plc)
    if host is None:
        raise BlueskyError("post_not_found", f"{did} is not a known account")
    record = read_post(f"at://{did}/{POST_COLLECTION}/{rkey}", host)
    if record is None or not record.get("cid"):
        raise BlueskyError("post_not_found", "there is no such post")
    value = record.get("value") if isinstance(record.get("value"), dict) else {}
    root = (value.get("reply") or {}).get("root") if isinstance(value, dict) else None
    if not (isinstance(root, dict) and root.get("uri") and root.get("cid")):
        root = {"uri": record["uri"], "cid": record["cid"]}
    return {
        "platform": "bluesky",
        "replyToUri": record["uri"],
        "replyToCid": record["cid"],
        "replyRootUri": root["uri"],
        "replyRootCid": root["cid"],
    }
