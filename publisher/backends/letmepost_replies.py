"""Replies through letmepost: a thread's later parts (each a post of its own, replying
to the part before it) and a Bluesky `replyTo` read just before its request."""

from __future__ import annotations

import os
from collections.abc import Mapping

from publisher import identity
from publisher.backends.base import Reporter
from publisher.backends.letmepost_outcomes import (
    NOT_SENT,
    OUTCOME_UNKNOWN,
    answer_of,
    hint,
    refusal,
)
from publisher.clients.letmepost import ApiError, LetmepostClient, NetworkError, NotSent
from publisher.plan.values import Step
from publisher.record import Failure, Record, Sending, Status, web_url

__all__ = ["part_body", "reply_options", "resolve_bluesky_reply", "send_part", "waiting_note"]


def part_body(step: Step, record: Record) -> bytes:
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
    body: dict[str, object] = {"targets": [target]}
    if record.post.profile_id:
        body["profileId"] = record.post.profile_id
    return identity.body_bytes(body)


def send_part(client: LetmepostClient, record: Record, reporter: Reporter, step: Step) -> None:
    """Part `step.part` of a thread, once the part before it is out: its key on disk
    (`pending`) before its request leaves, its answer recorded after."""
    (tp,) = step.targets
    t = tp.target
    assert t is not None and step.key is not None
    rec = record.target(tp.label)
    parent = rec if step.part == 2 and rec.get("uri") else record.part(tp.label, step.part - 1)
    if parent is None or parent.get("status") not in ("published", "publishing"):
        if step.part == 2:  # said once per thread; a later part waits silently
            reporter.outcome(tp, "waiting", note=waiting_note(rec.get("status")))
        return
    body = part_body(step, record)
    prev = record.part(tp.label, step.part) or {}
    earlier = prev.get("status")
    resend = earlier == Status.PENDING and prev.get("key") == step.key
    sent = record.pending(  # the part's key is on disk before its request leaves
        tp.label,
        Sending(step.attempt, hash=t.part_hashes[step.part - 2], key=step.key),
        part=step.part,
        fresh=not resend,
    )
    try:
        assert sent.key is not None
        resp = client.create_post(body, sent.key)
    except NotSent as exc:  # not a byte left: known not posted (see `LetmepostBackend`)
        if earlier != "pending":
            record.failed(tp.label, Failure(NOT_SENT, str(exc)), part=step.part)
        reporter.outcome(tp, "not sent", error=f"part {step.part}: {exc}")
        reporter.stop(f"{exc}: the other posts wait for the next run")
        return
    except (NetworkError, ApiError) as exc:
        if isinstance(exc, NetworkError) or exc.retryable:
            reporter.outcome(tp, "error", error=f"part {step.part}: {exc}; the next run resends it")
            return
        status, failure = refusal(exc)
        record.failed(tp.label, failure, part=step.part, status=status)
        shown = failure.message if failure.code == OUTCOME_UNKNOWN else hint(exc)
        reporter.outcome(tp, status, error=f"part {step.part}: {shown}")
        return
    data = resp.data if isinstance(resp.data, Mapping) else {}
    results = data.get("results") or [{}]
    r = results[0] if isinstance(results, list) and isinstance(results[0], Mapping) else {}
    answer = answer_of(r)
    record.answered(tp.label, answer, part=step.part)
    if answer.status not in (Status.PUBLISHED, Status.PUBLISHING):
        err = r.get("error")
        said = (
            f"{err.get('code')}: {err.get('message', '')}"
            if isinstance(err, Mapping)
            else answer.status
        )
        reporter.outcome(tp, answer.status, error=f"part {step.part}: {said}")
        return
    reporter.outcome(
        tp, answer.status, uri=answer.uri, url=web_url(answer.uri), note=f"part {step.part}"
    )


def waiting_note(status: object) -> str:
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


def post_id_of(uri: str | None) -> str | None:
    """The platform's id of a post from its URI (the last path segment: an X status
    id, a Threads media id, the sandbox's cid)."""
    if not uri:
        return None
    return uri.rstrip("/").rsplit("/", 1)[-1] or None


def reply_options(
    platform: str | None, parent: Mapping[str, object] | None, root: Mapping[str, object]
) -> dict[str, object] | None:
    """The `options` that make a post through letmepost a reply to `parent` (the
    thread's first post is `root`), per platform; None while `parent` is not out."""
    uri = parent.get("uri") if parent is not None else None
    if parent is None or not isinstance(uri, str) or not uri:
        return None
    # The platform's own id: the result's cid (an X status id, a Threads media id),
    # else the URI's last segment (where a compact record keeps it).
    own_id = parent.get("cid") or post_id_of(uri)
    if platform == "twitter":
        return {"platform": "twitter", "replyToTweetId": own_id}
    if platform == "threads":
        return {"platform": "threads", "replyToId": own_id}
    if platform == "bluesky":
        root_uri = str(root["uri"])
        return {
            "platform": "bluesky",
            "replyToUri": uri,
            "replyToCid": parent.get("cid") or post_id_of(uri),
            "replyRootUri": root_uri,
            "replyRootCid": root.get("cid") or post_id_of(root_uri),
        }
    return None


def resolve_bluesky_reply(ref: str, environ: Mapping[str, str] | None = None) -> dict[str, object]:
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
