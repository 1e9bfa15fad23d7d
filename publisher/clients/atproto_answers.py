"""The strict reader of a PDS's answers (atproto XRPC): each answer `bluesky_pds`
uses is checked against a model here before a field of it is taken. Unknown fields
pass (records carry whatever their lexicon allows); a missing or mistyped field is a
`BlueskyError("bad_answer")` naming the PDS, the call and the field, retryable (a
create whose answer cannot be read may have happened: the record key is on disk,
and the next run reads it back)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "BlobAnswer",
    "HandleAnswer",
    "ListAnswer",
    "RecordAnswer",
    "StrongRef",
    "read",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class StrongRef(_Model):
    """``createRecord``'s answer."""

    uri: str = Field(pattern=r"^at://\S+$", max_length=8192)
    cid: str = Field(min_length=1, max_length=512)


class _Link(_Model):
    link: str = Field(alias="$link", min_length=1, max_length=512)


class Blob(_Model):
    type_: str | None = Field(default=None, alias="$type")
    ref: _Link
    mimeType: str = Field(max_length=200)
    size: int = Field(ge=0)


class BlobAnswer(_Model):
    """``uploadBlob``'s answer."""

    blob: Blob


class RecordAnswer(_Model):
    """``getRecord``'s answer (and each of ``listRecords``)."""

    uri: str = Field(pattern=r"^at://\S+$", max_length=8192)
    cid: str | None = Field(default=None, max_length=512)
    value: dict[str, object]

    def as_dict(self) -> dict[str, Any]:
        """The record as the PDS answered it (what was not in the answer left out)."""
        return self.model_dump(exclude_unset=True)


class ListAnswer(_Model):
    """``listRecords``'s answer."""

    records: list[RecordAnswer] = Field(default_factory=list)
    cursor: str | None = Field(default=None, max_length=1000)


class HandleAnswer(_Model):
    """``resolveHandle``'s answer."""

    did: str = Field(pattern=r"^did:[a-z]+:\S+$", max_length=2048)


M = TypeVar("M", bound=BaseModel)


def read(model: type[M], data: object, what: str, server: str) -> M:
    """``data`` read as ``model``; `BlueskyError("bad_answer")` otherwise."""
    from publisher.clients.atproto.errors import BlueskyError
    from publisher.clients.letmepost_answers import describe

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BlueskyError(
            "bad_answer",
            f"{what}: {server} answered with something publisher cannot read: {describe(exc)}",
            retryable=True,
        ) from None
