"""The handlers of ``/v1/posts``: create, list, read, edit, cancel, retry."""

from __future__ import annotations

import json

from starlette.datastructures import QueryParams
from starlette.requests import Request

from . import schema
from .clock import iso, parse_iso_any
from .config import PLATFORMS
from .errors import ApiError, validation
from .pipeline import json_body, parse_json
from .preflight import preflight
from .shapes import ApiKeyRow, PatchBody, PostRow, PostUpdate
from .state import Sandbox
from .store import decode_cursor
from .views import post_view

__all__ = [
    "POST_STATUSES",
    "create_post",
    "delete_post",
    "get_post",
    "list_posts",
    "page_cursor",
    "page_limit",
    "patch_post",
    "retry_post",
]

POST_STATUSES = (
    "queued",
    "validated",
    "publishing",
    "published",
    "failed",
    "rejected",
    "canceled",
)
_RETRYABLE = ("failed", "rejected", "canceled")


async def create_post(sb: Sandbox, request: Request, key: ApiKeyRow) -> tuple[int, object]:
    body = schema.parse_post_body(await parse_json(await request.body()))
    return sb.engine.create(
        body, sandbox=sb.sandbox_key(key), idem_key=request.headers.get("idempotency-key")
    )


def page_limit(qp: QueryParams) -> int:
    """``limit``: 1..200, 50 when not given."""
    try:
        limit = int(qp.get("limit", "50"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= 200:
        raise validation("limit", "limit must be an integer from 1 to 200")
    return limit


def page_cursor(qp: QueryParams) -> tuple[str, int] | None:
    """``cursor``: where the previous page ended."""
    if not qp.get("cursor"):
        return None
    cursor = decode_cursor(qp["cursor"])
    if cursor is None:
        raise validation("cursor", "Invalid cursor")
    return cursor


def _bound(qp: QueryParams, name: str) -> str | None:
    """``after`` / ``before``: any ISO-8601 instant, compared as the API writes it."""
    value = qp.get(name)
    if value is None:
        return None
    ts = parse_iso_any(value)
    if ts is None:
        raise validation(name, f"{name} must be an ISO-8601 date-time")
    return iso(ts)


def _choices(qp: QueryParams, name: str, allowed: tuple[str, ...], message: str) -> list[str]:
    """A filter given as repeated and/or comma-separated values, each one of ``allowed``."""
    values = _multi(qp, name)
    if any(v not in allowed for v in values):
        raise validation(name, message)
    return values


def _multi(qp: QueryParams, name: str) -> list[str]:
    return [v for raw in qp.getlist(name) for v in raw.split(",") if v]


async def list_posts(sb: Sandbox, request: Request, key: ApiKeyRow) -> tuple[int, object]:
    qp = request.query_params
    limit = page_limit(qp)
    q = qp.get("q")
    if q is not None and len(q) > 200:
        raise validation("q", "q must be at most 200 characters")
    after, before = _bound(qp, "after"), _bound(qp, "before")
    cursor = page_cursor(qp)
    statuses = _choices(qp, "status", POST_STATUSES, "Unknown status")
    platforms = _choices(qp, "platform", PLATFORMS, "Unknown platform")
    rows, next_cursor = sb.store.list_posts(
        sandbox=sb.sandbox_key(key),
        filters={
            "profile_id": _multi(qp, "profileId"),
            "platform": platforms,
            "status": statuses,
            "error_code": _multi(qp, "errorCode"),
        },
        q=q,
        after=after,
        before=before,
        cursor=cursor,
        limit=limit,
    )
    accounts = sb.engine.accounts
    return 200, {
        "data": [sb.view(post_view(r, accounts.get(r["account_id"])), "attempts") for r in rows],
        "nextCursor": next_cursor,
    }


async def get_post(sb: Sandbox, request: Request, key: ApiKeyRow) -> tuple[int, object]:
    row = sb.visible_post(request.path_params["id"], key)
    return 200, sb.view(post_view(row, sb.engine.accounts.get(row["account_id"])))


async def patch_post(sb: Sandbox, request: Request, key: ApiKeyRow) -> tuple[int, object]:
    changes = schema.parse_patch_body(await json_body(request), sb.config.server_version)
    row = sb.visible_post(request.path_params["id"], key)
    sb.editable(row)
    fields = _patched_fields(changes, sb.clock.now())
    candidate: PostRow = row.copy()
    candidate.update(fields)
    if "text" in changes or "media" in changes:
        _preflight_edit(sb, candidate)
    if not sb.store.update_post(row["id"], fields, status_in=("queued",)):
        raise validation("post.status", "The post is no longer queued", 409)
    account = sb.engine.accounts.get(row["account_id"])
    return 200, sb.view(post_view(sb.store.post(row["id"]) or candidate, account), "attempts")


def _patched_fields(changes: PatchBody, now: float) -> PostUpdate:
    fields: PostUpdate = {"updated_at": iso(now)}
    scheduled_at = changes.get("scheduledAt")
    if scheduled_at is not None:
        if scheduled_at < now + 1:
            raise validation("scheduledAt.future", "scheduledAt must be at least 1 s in the future")
        fields["scheduled_at"] = iso(scheduled_at)
    if "text" in changes:
        fields["text"] = changes["text"]
    if "media" in changes:
        fields["media"] = json.dumps(changes["media"]) if changes["media"] else None
    return fields


def _preflight_edit(sb: Sandbox, candidate: PostRow) -> None:
    """An edited text or media must still pass both stages of preflight."""
    account = sb.engine.accounts.get(candidate["account_id"])
    if account is None:
        return
    for stage in ("cheap", "deep"):
        errors, _, missing = preflight(sb.store, candidate, account, stage)
        if missing:
            raise missing
        if errors:
            raise ApiError(
                400,
                "preflight_failed",
                errors[0].message,
                rule=errors[0].rule,
                platform=candidate["platform"],
            )


async def delete_post(sb: Sandbox, request: Request, key: ApiKeyRow) -> tuple[int, object]:
    row = sb.visible_post(request.path_params["id"], key)
    sb.editable(row)
    # [?] whether canceling refunds the quota slot: the stricter choice, it does not.
    if not sb.store.update_post(
        row["id"],
        {"status": "canceled", "updated_at": iso(sb.clock.now())},
        status_in=("queued",),
    ):
        raise validation("post.status", "The post is no longer queued", 409)
    return 200, {"id": row["id"], "status": "canceled"}


async def retry_post(sb: Sandbox, request: Request, key: ApiKeyRow) -> tuple[int, object]:
    when = schema.parse_retry_body(await json_body(request, optional=True))
    row = sb.visible_post(request.path_params["id"], key)
    if row["status"] not in _RETRYABLE:
        raise validation(
            "post.retry.status",
            f"Only failed, rejected or canceled posts can be retried (this one is {row['status']})",
            409,
        )
    now = sb.clock.now()
    if when is not None and when < now + 1:
        raise validation("scheduledAt.future", "scheduledAt must be at least 1 s in the future")
    period = None if row["sandbox"] else sb.engine.charge(1, now)
    scheduled = iso(when if when is not None else now)
    fields: PostUpdate = {
        "status": "queued",
        "scheduled_at": scheduled,
        "uri": None,
        "cid": None,
        "error": None,
        "error_code": None,
        "warnings": None,
        "quota_period": period,
        "updated_at": iso(now),
    }
    if not sb.store.update_post(row["id"], fields, status_in=_RETRYABLE):
        raise validation("post.retry.status", "The post changed meanwhile", 409)
    return 200, {"id": row["id"], "status": "queued", "scheduledAt": scheduled}
