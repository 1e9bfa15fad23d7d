"""The typed, read-only view of a `published` block a `Post` carries, and the checks
that make a hand edit which would do harm an error at its line (an unknown status, a
wrong type, a `pending` target without a usable key) rather than an internal error
or an endless retry."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from publisher.record.block import TargetStatus
from publisher.rules.platforms import REGISTRY

__all__ = [
    "MAX_ATTEMPT",
    "PartRecord",
    "PublishedRecord",
    "TargetError",
    "TargetRecord",
    "release_problem",
]


def _usable_key(value: str) -> bool:
    """An Idempotency-Key or record key as publisher writes them: 1-255 printable
    ASCII characters, no spaces (a newline would make every resend fail forever)."""
    return 0 < len(value) <= 255 and value.isascii() and value.isprintable() and " " not in value


_RESENDABLE = frozenset({"pending", "failed", "rejected"})
#: The most attempts a record (or a `release:`) may name: more is a hand edit gone wrong.
MAX_ATTEMPT = 100_000


def release_problem(label: object, attempt: object) -> str | None:
    """Why a `release:` entry is not one publisher can honour, or None: a target's
    label, or ``<label>#part<n>`` with n >= 2, and an attempt from 1 to MAX_ATTEMPT."""
    import re

    if not isinstance(label, str) or not label.strip():
        return f"release: {label!r} is not a target's label"
    if "#" in label and not re.fullmatch(r"[^#\s]+#part([2-9]|[1-9][0-9]{1,3})", label):
        return (
            f"release: {label!r} must be a target's label, or `<label>#part<n>` for part n "
            "(2 or more) of a thread"
        )
    if type(attempt) is not int or not 1 <= attempt <= MAX_ATTEMPT:
        return f"release: {label}: the attempt must be a number from 1 to {MAX_ATTEMPT:,}"
    return None


def _check_target(rec: TargetRecord) -> None:
    """What the backends index in a target's record without asking: a queued letmepost
    post has the `postId` sync, update and cancel go by; a direct thread's
    `replyRoot` is ``<at:// uri> <cid>``."""
    if rec.status == "queued" and not rec.postId:
        raise ValueError("a `queued` target needs the `postId` letmepost answered with")
    root = (rec.model_extra or {}).get("replyRoot")
    if root is not None:
        parts = root.split(" ") if isinstance(root, str) else []
        if len(parts) != 2 or not parts[0].startswith("at://") or not parts[1]:
            raise ValueError("`replyRoot` must be the thread root's `<at:// URI> <cid>`")


def _check_resumable(rec: PartRecord, names: tuple[str, ...], what: str) -> None:
    """A hand edit must not make a record unsendable: its keys as publisher writes
    them, and a `pending` one with the key its request went under."""
    if rec.status not in _RESENDABLE:
        return  # settled: its keys are never sent again
    for name in names:
        value: object = getattr(rec, name)
        if value is not None and not (isinstance(value, str) and _usable_key(value)):
            raise ValueError(f"`{name}` is not a key publisher wrote (1-255 printable ASCII)")
    if rec.status == "pending" and not (rec.key or rec.rkey):
        raise ValueError(f"a `pending` {what} needs the `key` (or `rkey`) it was sent under")


# `defer_build`: a model's validator is built on its first use, not at import (most
# `validate` runs of one file read no record at all).
class TargetError(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    code: str
    message: str = ""
    rule: str | None = None


class PartRecord(BaseModel):
    """One later part of a thread (part 2 is the first reply)."""

    model_config = ConfigDict(extra="allow", defer_build=True)
    status: TargetStatus
    hash: str | None = None
    key: str | None = None
    attempt: int = Field(1, ge=0, le=MAX_ATTEMPT)
    postId: str | None = None
    uri: str | None = None
    cid: str | None = None
    rkey: str | None = None
    at: str | None = None
    error: TargetError | None = None

    @model_validator(mode="after")
    def _resumable(self) -> PartRecord:
        _check_resumable(self, ("key", "rkey"), "part")
        return self


class TargetRecord(PartRecord):
    """What one target got (what a part has, and more). Unknown keys are kept, so older
    and newer versions agree."""

    platform: str | None = None
    account: str | None = None
    url: str | None = None  # written by 0.1; `web_url(uri)` gives it
    firstCommentUri: str | None = None
    firstCommentCid: str | None = None
    did: str | None = None
    commentRkey: str | None = None
    scheduledAt: str | None = None
    warnings: list[str] | None = None
    earlier: list[str] | None = None  # URIs of the posts made before a repost
    parts: list[PartRecord] | None = None  # a thread's later parts, in order (part 2 first)
    gates: str | None = None  # direct Bluesky: `pending` while its threadgate/postgate are due
    unpublishedAt: str | None = None  # when `unpublish: true` took it back

    @model_validator(mode="after")
    def _resumable(self) -> TargetRecord:
        _check_resumable(self, ("key", "rkey", "commentRkey"), "target")
        _check_target(self)
        return self


class PublishedRecord(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    env: Literal["live", "sandbox"] = "live"
    api: str | None = None
    hash: str | None = None
    status: str | None = None  # written by older versions; `batch_status` derives it
    updatedAt: str | None = None
    media: dict[str, str] = Field(default_factory=dict)
    targets: dict[str, TargetRecord] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _defaults_from_labels(self) -> PublishedRecord:
        for label, rec in self.targets.items():  # what the compact shape leaves out
            if rec.platform is None and label in REGISTRY:
                rec.platform = label
            if rec.at is None:
                rec.at = self.updatedAt
        return self
