"""The handlers of ``/v1/accounts`` and ``/v1/media``: connected accounts, uploads."""

from __future__ import annotations

import hashlib

from starlette.datastructures import UploadFile
from starlette.requests import Request

from publisher.rules import limits

from . import ids
from .clock import iso
from .config import DEFAULT_PROFILE_ID
from .errors import ApiError, not_found, validation
from .pipeline import MULTIPART_OVERHEAD, BodyTooLarge
from .shapes import ApiKeyRow, MediaRow
from .state import Sandbox
from .v1_posts import page_cursor, page_limit
from .views import account_view, media_view

__all__ = ["get_account", "list_accounts", "list_media", "upload_media"]


async def list_accounts(sb: Sandbox, request: Request, key: ApiKeyRow) -> tuple[int, object]:
    profile = request.query_params.get("profileId")
    data = [a for a in sb.accounts if profile is None or a["profileId"] == profile]
    return 200, {"data": data}


async def get_account(sb: Sandbox, request: Request, key: ApiKeyRow) -> tuple[int, object]:
    account = sb.engine.accounts.get(request.path_params["id"])
    if account is None:
        raise not_found(f"Account {request.path_params['id']} not found")
    return 200, account_view(account)


async def upload_media(sb: Sandbox, request: Request, key: ApiKeyRow) -> tuple[int, object]:
    max_bytes = sb.config.media_max_bytes
    too_big = ApiError(
        413,
        "validation_failed",
        f"Media is larger than {max_bytes} bytes",
        rule="media.size_max",
    )
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise validation(
            "media.content_type", "Send multipart/form-data with one part named 'file'"
        )
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes + MULTIPART_OVERHEAD:
        raise too_big
    data = await _the_file(request)
    if len(data) > max_bytes:
        raise too_big
    mime = limits.sniff_mime(data)
    if mime is None:
        raise validation(
            "media.content_type", "Unsupported media type (not an image or video we know)"
        )
    row: MediaRow = {
        "id": ids.media_id(),
        "profile_id": request.query_params.get("profileId") or DEFAULT_PROFILE_ID,
        "content_type": mime,
        "size_bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "created_at": iso(sb.clock.now()),
    }
    sb.store.insert_media(row, data)
    return 201, media_view(str(request.base_url), sb.store.media(row["id"]) or row)


async def _the_file(request: Request) -> bytes:
    """The bytes of the one part, named ``file``, of a multipart body."""
    try:
        form = await request.form(max_files=16, max_fields=16)
    except BodyTooLarge:
        raise
    except Exception:
        raise validation("media.parse_failed", "The multipart body could not be parsed") from None
    try:
        items = form.multi_items()
        upload = next((v for k, v in items if k == "file" and isinstance(v, UploadFile)), None)
        if upload is None:
            raise validation("media.missing_file", "No part named 'file'")
        if len(items) > 1:
            raise validation("media.single_file", "Send exactly one part, named 'file'")
        return await upload.read()
    finally:
        await form.close()


async def list_media(sb: Sandbox, request: Request, key: ApiKeyRow) -> tuple[int, object]:
    qp = request.query_params
    limit = page_limit(qp)
    rows, next_cursor = sb.store.list_media(page_cursor(qp), limit)
    return 200, {
        "data": [media_view(str(request.base_url), r) for r in rows],
        "nextCursor": next_cursor,
    }
