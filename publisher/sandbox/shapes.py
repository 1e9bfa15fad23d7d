"""The shapes the sandbox keeps and answers: its SQLite rows, its accounts, the request
bodies its schema has checked, and the pieces of its JSON answers (TypedDicts: plain
dicts at run time, so what goes on the wire is exactly what was built)."""

from __future__ import annotations

from typing import NotRequired, Required, TypedDict

__all__ = [
    "Account",
    "ApiKeyRow",
    "FirstComment",
    "IdempotencyRow",
    "Issue",
    "MediaRef",
    "MediaRow",
    "Notice",
    "Options",
    "PatchBody",
    "PostBody",
    "PostRow",
    "PostUpdate",
    "TargetBody",
    "TargetError",
]


class ApiKeyRow(TypedDict):
    """A row of ``api_keys``: the sandbox's test and live keys."""

    id: str
    env: str  # "test" | "live"
    secret: str
    hash: str
    scopes: str  # comma-separated
    profile_id: str | None
    created_at: str


class Account(TypedDict):
    """A connected account as ``normalize_accounts`` fills it in (``createdAt`` once stored).

    ``tokenExpiresAt`` and the platform extras are passed through as the accounts file
    gave them."""

    id: str
    profileId: str
    platform: str
    platformAccountId: str
    displayName: str
    tokenExpiresAt: object
    createdAt: NotRequired[str]
    pinterest: NotRequired[dict[str, object]]
    instagram: NotRequired[dict[str, object]]


#: A target's ``options``: its ``platform`` and that platform's options (strings, flags).
Options = dict[str, str | bool]


class MediaRef(TypedDict, total=False):
    """One ``media[i]`` of a request: its kind, alt text and exactly one source."""

    kind: Required[str]  # "image" | "video"
    altText: str
    mediaId: str
    url: str
    bytesBase64: str


class FirstComment(TypedDict):
    text: str


class TargetBody(TypedDict, total=False):
    """One checked ``targets[i]`` of ``POST /v1/posts`` (its own values override the body's)."""

    accountId: str
    platform: str
    text: str
    media: list[MediaRef]
    firstComment: FirstComment
    options: Options


class PostBody(TypedDict, total=False):
    """A checked ``POST /v1/posts`` body (``scheduledAt`` as epoch seconds)."""

    text: str
    media: list[MediaRef]
    firstComment: FirstComment
    publishNow: bool
    scheduledAt: float
    profileId: str
    targets: Required[list[TargetBody]]


class PatchBody(TypedDict, total=False):
    """A checked ``PATCH /v1/posts/{id}`` body (the fork reads ``scheduledAt`` only)."""

    scheduledAt: float
    text: str
    media: list[MediaRef]


class Issue(TypedDict):
    """One zod-like issue of a refused body (all of them go into ``platformResponse``)."""

    code: str
    path: list[str | int]
    message: str


class Notice(TypedDict):
    """One ``warnings[i]`` of a target's result."""

    code: str
    message: str


class TargetError(TypedDict):
    """A target's ``error`` (its status is ``failed`` or ``rejected``)."""

    code: str
    message: str
    rule: NotRequired[str]
    remediation: NotRequired[str]
    platformResponse: NotRequired[object]


class PostRow(TypedDict):
    """A row of ``posts``: one target of one request. ``media``, ``first_comment``,
    ``options``, ``warnings`` and ``error`` hold compact JSON; ``seq`` is set by SQLite."""

    seq: NotRequired[int]
    id: str
    batch_id: str | None
    profile_id: str | None
    account_id: str
    platform: str
    status: str
    text: str | None
    media: str | None
    first_comment: str | None
    options: str | None
    scheduled_at: str | None
    published_at: str | None
    uri: str | None
    cid: str | None
    first_comment_uri: str | None
    first_comment_cid: str | None
    warnings: str | None
    error: str | None
    error_code: str | None
    sandbox: int
    idempotency_key: str | None
    quota_period: str | None
    created_at: str
    updated_at: str


class PostUpdate(TypedDict, total=False):
    """The columns of a post that change after it was created."""

    status: str
    text: str | None
    media: str | None
    scheduled_at: str | None
    published_at: str | None
    uri: str | None
    cid: str | None
    first_comment_uri: str | None
    first_comment_cid: str | None
    warnings: str | None
    error: str | None
    error_code: str | None
    quota_period: str | None
    updated_at: str


class MediaRow(TypedDict):
    """A row of ``media`` without its bytes (``seq`` once stored)."""

    seq: NotRequired[int]
    id: str
    profile_id: str | None
    content_type: str
    size_bytes: int
    sha256: str
    created_at: str


class IdempotencyRow(TypedDict):
    """What ``/_sandbox/idempotency`` shows of a row of ``idempotency``."""

    key: str
    fingerprint: str
    state: int  # 0 pending, 1 completed
    status_code: int | None
    created_at: float
