"""How the letmepost API's answers and refusals become record values and words for
people: a post's status, a refusal's status and error (never guessing when an answer
was lost), hints, and whether a PATCH was applied."""

from __future__ import annotations

from collections.abc import Mapping

from publisher.clients.letmepost import ApiError
from publisher.record import Answer, Failure, Status, iso_z

__all__ = [
    "NOT_SENT",
    "OUTCOME_UNKNOWN",
    "REJECTED_CODES",
    "answer_of",
    "hint",
    "patch_unapplied",
    "quota_message",
    "refusal",
    "status_of",
    "text",
]

REJECTED_CODES = frozenset({"preflight_failed", "platform_auth_failed", "platform_rejected"})
OUTCOME_UNKNOWN = "outcome_unknown"  # a lost answer, and the post edited since: never guess
NOT_SENT = "not_sent"  # the API could not be reached: not a byte of the request left


def text(value: object) -> str | None:
    """A string field of an answer (None when absent or empty)."""
    return str(value) if value else None


def status_of(value: object) -> Status:
    """A post status as the API answered it (one it does not know is a failure)."""
    try:
        return Status(str(value))
    except ValueError:
        return Status.FAILED


def answer_of(result: Mapping[str, object]) -> Answer:
    """One target's result of a create (`results[i]`) as the record keeps it (the
    fields every result has; `dataclasses.replace` adds the others)."""
    return Answer(
        status_of(result.get("status")),
        uri=text(result.get("uri")),
        cid=text(result.get("cid")),
        post_id=text(result.get("postId")),
        error=Failure.of(result.get("error")),
    )


def refusal(exc: ApiError) -> tuple[Status, Failure]:
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


def hint(exc: ApiError) -> str:
    said = str(exc)
    if exc.replayed:
        said += " (answer replayed by the server for this Idempotency-Key)"
    if 400 <= exc.status < 500 and exc.code not in ("quota_exceeded", "rate_limited"):
        said += "; fix the post and run again (a changed post gets a new key)"
    return said


def quota_message(exc: ApiError) -> str:
    return (
        f"the monthly quota is used up ({exc.message}); the run stopped. "
        "Raise the plan's quota or wait for the reset, then run again"
    )


def _media_refs(items: object) -> list[tuple[object, object, object]] | None:
    """What identifies each media item of a request or of the server's `mediaRefs`
    (kind, id or URL, alt text), in order; None when it cannot be read."""
    if not isinstance(items, list):
        return None
    out: list[tuple[object, object, object]] = []
    for item in items:
        if not isinstance(item, dict):
            return None
        out.append(
            (item.get("kind"), item.get("mediaId") or item.get("url"), item.get("altText") or None)
        )
    return out


def patch_unapplied(patch: Mapping[str, object], answer: object) -> list[str]:
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
