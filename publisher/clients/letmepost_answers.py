"""The strict reader of letmepost's answers: every 2xx body and error envelope is
parsed here into a typed model before anything else looks at it.

What a model holds is what the record and the report may use: known fields, of the
right type, statuses from the API's enums, the server's words redacted (and cut only
after). Unknown fields that do no harm pass (ignored, or kept where the answer is
handed on whole, as for accounts). Anything else is `BadAnswer`, which names the server,
the request and what was wrong where, with the start of what the server said
(redacted): never a crash, never a value written into a post file that the next run
could not read.
"""

from __future__ import annotations

import json
from typing import Literal, TypedDict, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from publisher.redaction import redact

__all__ = [
    "AccountsAnswer",
    "BadAnswer",
    "CreateAnswer",
    "ErrorEnvelope",
    "MediaAnswer",
    "PostAnswer",
    "PostView",
    "TargetResult",
    "parse",
]

MAX_TEXT = 2000  # a server's message is cut to this many characters (after redaction)

TargetStatus = Literal["published", "queued", "publishing", "failed", "rejected", "canceled"]
PostStatus = Literal[
    "queued", "validated", "publishing", "published", "failed", "rejected", "canceled"
]


class BadAnswer(Exception):
    """An answer publisher cannot read. For a request that may have created something
    (``POST /v1/posts``), its outcome is unknown: the record keeps the key and the next
    run resends it."""


def _text(value: object) -> object:
    if isinstance(value, str):
        value = redact(value)  # before it is cut: a cut key is still (part of) the key
        return value if len(value) <= MAX_TEXT else value[: MAX_TEXT - 1] + "…"
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


class ErrorInfo(_Model):
    code: str = Field(min_length=1, max_length=200)
    message: str = ""
    rule: str | None = Field(default=None, max_length=500)

    _clean = field_validator("code", "message", "rule", mode="before")(_text)

    def as_record(self) -> dict[str, str | None]:
        return {"code": self.code, "rule": self.rule, "message": self.message}


class Warning_(_Model):
    code: str = Field(max_length=200)
    message: str = ""

    _clean = field_validator("code", "message", mode="before")(_text)


class TargetResult(_Model):
    status: TargetStatus
    accountId: str | None = None
    platform: str | None = Field(default=None, max_length=50)
    postId: str | None = Field(default=None, max_length=200)
    uri: str | None = Field(default=None, max_length=2000)
    cid: str | None = Field(default=None, max_length=500)
    firstCommentUri: str | None = Field(default=None, max_length=2000)
    firstCommentCid: str | None = Field(default=None, max_length=500)
    warnings: list[Warning_] = Field(default_factory=list, max_length=100)
    error: ErrorInfo | None = None

    _clean = field_validator(
        "accountId",
        "platform",
        "postId",
        "uri",
        "cid",
        "firstCommentUri",
        "firstCommentCid",
        mode="before",
    )(_text)


class CreateAnswer(_Model):
    """``POST /v1/posts``: 200 (published) or 202 (queued)."""

    id: str | None = None
    status: str | None = Field(default=None, max_length=50)
    scheduledAt: str | None = Field(default=None, max_length=100)
    results: list[TargetResult] = Field(min_length=1, max_length=100)


class PostView(TypedDict):
    """A `PostAnswer` as `LetmepostClient.get_post` hands it on: plain data."""

    id: str | None
    status: PostStatus
    platform: str | None
    platformUri: str | None
    platformCid: str | None
    publishedAt: str | None
    scheduledAt: str | None
    error: dict[str, str | None] | None
    text: str | None
    mediaRefs: list[dict[str, object]] | None


class PostAnswer(_Model):
    """``GET /v1/posts/{id}``, and what ``DELETE`` answers (``{id, status}``)."""

    id: str | None = None
    status: PostStatus
    platform: str | None = Field(default=None, max_length=50)
    platformUri: str | None = Field(default=None, max_length=2000)
    platformCid: str | None = Field(default=None, max_length=500)
    publishedAt: str | None = Field(default=None, max_length=100)
    scheduledAt: str | None = Field(default=None, max_length=100)
    error: ErrorInfo | None = None
    # What the server holds, to compare an edit with (backends.letmepost.patch_unapplied)
    text: str | None = Field(default=None, max_length=1_000_000)
    mediaRefs: list[dict[str, object]] | None = Field(default=None, max_length=100)

    _clean = field_validator("platformUri", "platformCid", mode="before")(_text)

    def as_view(self) -> PostView:
        error = self.error
        return {
            "id": self.id,
            "status": self.status,
            "platform": self.platform,
            "platformUri": self.platformUri,
            "platformCid": self.platformCid,
            "publishedAt": self.publishedAt,
            "scheduledAt": self.scheduledAt,
            "error": None if error is None else dict(error.model_dump()),
            "text": self.text,
            "mediaRefs": self.mediaRefs,
        }


class Account(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, frozen=True)
    id: str = Field(min_length=1, max_length=200)
    platform: str = Field(min_length=1, max_length=50)
    displayName: str | None = None
    platformAccountId: str | None = None
    profileId: str | None = None

    _clean = field_validator("displayName", "platformAccountId", mode="before")(_text)


class AccountsAnswer(_Model):
    data: list[Account] = Field(max_length=10_000)


class MediaAnswer(_Model):
    id: str = Field(pattern=r"^med_[0-9A-Za-z]{22}$")


class ErrorEnvelope(_Model):
    error: ErrorInfo


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the answer"


def describe(exc: ValidationError) -> str:
    """The first problem of a validation error, located: ``results[0].status: ...``."""
    first = exc.errors(include_url=False)[0]
    where = _where(tuple(first.get("loc", ())))
    msg = first.get("msg", "invalid")
    if first.get("type") in ("model_type", "model_attributes_type", "dict_type"):
        msg = "Input should be an object"
    value = first.get("input")
    shown = ""
    if isinstance(value, str | int | float | bool) or value is None:
        shown = f" (got {redact(repr(value))[:80]})"
    return f"{where}: {msg}{shown}"


def snippet(body: bytes | str, limit: int = 200) -> str:
    """The start of what a server said, redacted first, then cut."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = redact(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], body: bytes, what: str) -> M:
    """``body`` read as ``model``; `BadAnswer` naming ``what`` (the server and request)
    and what was wrong."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        said = snippet(body) or "an empty body"
        raise BadAnswer(f"{what} answered with something that is not JSON: {said}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadAnswer(
            f"{what} answered with something publisher cannot read: {describe(exc)}"
        ) from None
    except RecursionError:
        raise BadAnswer(f"{what} answered with JSON nested too deeply") from None
