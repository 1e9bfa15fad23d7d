"""How the sandbox shows what it keeps: posts, results, accounts, media and its settings
in the JSON shapes of letmepost-api.md (and of its own ``/_sandbox`` API)."""

from __future__ import annotations

import json

from .config import SandboxConfig
from .shapes import Account, MediaRow, PostRow
from .store import first_comment_of, loads

__all__ = [
    "account_view",
    "config_view",
    "dumps",
    "jsonb_order",
    "media_view",
    "post_view",
    "result_view",
    "sandbox_post_view",
]

#: The fields of an account the API shows (``updatedAt`` and platform extras follow).
_ACCOUNT_FIELDS = (
    "id",
    "profileId",
    "platform",
    "platformAccountId",
    "displayName",
    "tokenExpiresAt",
    "createdAt",
)
#: The optional fields of a result: its key in the answer and its column.
_RESULT_FIELDS = (
    ("uri", "uri"),
    ("cid", "cid"),
    ("firstCommentUri", "first_comment_uri"),
    ("firstCommentCid", "first_comment_cid"),
)


def dumps(payload: object) -> bytes:
    """An answer's bytes: compact JSON, UTF-8 (not ASCII-escaped)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def jsonb_order(body: bytes) -> bytes:
    """A stored answer as Postgres's jsonb gives it back: object keys shorter first, then
    in byte order (the fork stores replays as jsonb)."""

    def order(value: object) -> object:
        if isinstance(value, dict):
            return {k: order(value[k]) for k in sorted(value, key=lambda k: (len(k), k))}
        if isinstance(value, list):
            return [order(v) for v in value]
        return value

    try:
        return dumps(order(json.loads(body)))
    except ValueError:
        return body


def result_view(row: PostRow) -> dict[str, object]:
    """One ``results[i]`` of a POST /v1/posts response."""
    out: dict[str, object] = {
        "accountId": row["account_id"],
        "platform": row["platform"],
        "postId": row["id"],
        "status": row["status"],
    }
    for key, column in _RESULT_FIELDS:
        value = row.get(column)
        if value:
            out[key] = value
    if row["warnings"]:
        out["warnings"] = loads(row["warnings"])
    if row["error"]:
        out["error"] = loads(row["error"])
    return out


def post_view(row: PostRow, account: Account | None) -> dict[str, object]:
    """The ``GET /v1/posts/{id}`` shape."""
    return {
        "id": row["id"],
        "profileId": row["profile_id"],
        "accountId": row["account_id"],
        "account": {
            "id": row["account_id"],
            "platform": row["platform"],
            "platformAccountId": account["platformAccountId"] if account else None,
            "displayName": account["displayName"] if account else None,
        },
        "platform": row["platform"],
        "status": row["status"],
        "text": row["text"],
        "mediaRefs": loads(row["media"]) or [],
        "scheduledAt": row["scheduled_at"],
        "publishedAt": row["published_at"],
        "platformUri": row["uri"],
        "platformCid": row["cid"],
        "error": loads(row["error"]),
        "sandbox": bool(row["sandbox"]),
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
        "attempts": [],
    }


def sandbox_post_view(row: PostRow) -> dict[str, object]:
    """One post of ``GET /_sandbox/posts``: everything an exactly-once check looks at."""
    comment = first_comment_of(row)
    return {
        "id": row["id"],
        "accountId": row["account_id"],
        "platform": row["platform"],
        "status": row["status"],
        "text": row["text"],
        "options": loads(row["options"]) if row["options"] else None,
        "idempotencyKey": row["idempotency_key"],
        "sandbox": bool(row["sandbox"]),
        "scheduledAt": row["scheduled_at"],
        "uri": row["uri"],
        "cid": row["cid"],
        "media": loads(row["media"]) if row["media"] else [],
        "firstComment": comment.get("text") if comment else None,
        "firstCommentUri": row["first_comment_uri"],
        "errorCode": row["error_code"],
        "createdAt": row["created_at"],
    }


def account_view(account: Account) -> dict[str, object]:
    """An account as ``GET /v1/accounts`` shows it."""
    out: dict[str, object] = {name: account.get(name) for name in _ACCOUNT_FIELDS}
    out["updatedAt"] = account.get("createdAt")
    if "pinterest" in account:
        out["pinterest"] = account["pinterest"]
    if "instagram" in account:
        out["instagram"] = account["instagram"]
    return out


def media_view(base_url: str, row: MediaRow) -> dict[str, object]:
    """An uploaded medium, its bytes served from this sandbox at ``base_url``."""
    base = base_url.rstrip("/")
    return {
        "id": row["id"],
        "url": f"{base}/_sandbox/media/{row['id']}",
        "contentType": row["content_type"],
        "sizeBytes": row["size_bytes"],
        "sha256": row["sha256"],
        "createdAt": row["created_at"],
    }


def config_view(config: SandboxConfig) -> dict[str, object]:
    """The settings ``/_sandbox/config`` can change, and the header timeout."""
    rl = config.rate_limit
    return {
        "rateLimit": f"{rl[0]}/{rl[1]:g}" if rl else "off",
        "quota": config.quota,
        "mediaMaxBytes": config.media_max_bytes,
        "bodyMaxBytes": config.body_max_bytes,
        "headerTimeout": config.header_timeout,
        "scheduler": config.scheduler,
    }
