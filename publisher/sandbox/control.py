"""What the sandbox serves beside the API: ``/health``, its emulated Bluesky posts
(``getRecord``) and the ``/_sandbox`` control API that tests and scripts steer it with
(state, faults, clock, settings, uploaded bytes)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from . import schema
from .clock import iso, parse_iso_any
from .config import parse_rate_limit
from .errors import ApiError
from .faults import FaultError
from .state import Sandbox
from .store import first_comment_of, options_of
from .views import config_view, dumps, sandbox_post_view

__all__ = [
    "health",
    "sb_clock",
    "sb_config",
    "sb_faults",
    "sb_idempotency",
    "sb_info",
    "sb_media",
    "sb_posts",
    "sb_reset",
    "xrpc_get_record",
]


def _plain_json(payload: object, status: int = 200) -> Response:
    return Response(dumps(payload), status, media_type="application/json")


def _refused(exc: Exception) -> Response:
    return _plain_json({"error": {"code": "validation_failed", "message": str(exc)}}, 400)


async def _control_json(request: Request) -> object:
    """The JSON body of a ``/_sandbox`` request (empty: ``{}``); ValueError if it is not JSON."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return schema.load_json(raw)
    except ApiError as exc:
        raise ValueError(exc.message) from None


async def _control_object(request: Request) -> dict[str, object]:
    spec = await _control_json(request)
    if not isinstance(spec, dict):
        raise ValueError("the body must be a JSON object")
    return spec


async def health(sb: Sandbox, request: Request) -> Response:
    return Response(
        dumps({"status": "ok"}),
        200,
        {"X-Request-Id": str(uuid.uuid4()), "X-RateLimit-Limit": "5000"},
        media_type="application/json",
    )


async def xrpc_get_record(sb: Sandbox, request: Request) -> Response:
    """The emulated Bluesky posts of live keys (and their first comments) as a PDS or
    an AppView shows them (``com.atproto.repo.getRecord``, no login), so what reads
    Bluesky (``verify``, a reply's parent and root) can be pointed at the sandbox
    (``PUBLISHER_APPVIEW_URL``). Not part of the letmepost API."""
    qp = request.query_params
    uri = f"at://{qp.get('repo', '')}/{qp.get('collection', '')}/{qp.get('rkey', '')}"
    row = sb.store.bluesky_record(uri)
    if row is None:
        message = f"Could not locate record: {uri}"
        return _plain_json({"error": "RecordNotFound", "message": message}, 400)
    value: dict[str, object]
    if row["uri"] == uri:
        value = {"$type": "app.bsky.feed.post", "text": row["text"]}
        opts = options_of(row)
        if opts.get("replyToUri"):
            parent = {"uri": opts["replyToUri"], "cid": opts.get("replyToCid")}
            root = {"uri": opts.get("replyRootUri"), "cid": opts.get("replyRootCid")}
            value["reply"] = {"parent": parent, "root": root if root["uri"] else parent}
        cid = row["cid"]
    else:  # the first comment: a reply to the post
        comment = first_comment_of(row)
        parent = {"uri": row["uri"], "cid": row["cid"]}
        value = {
            "$type": "app.bsky.feed.post",
            "text": comment["text"] if comment else None,
            "reply": {"parent": parent, "root": parent},
        }
        cid = row["first_comment_cid"]
    value["createdAt"] = row["created_at"]
    return _plain_json({"uri": uri, "cid": cid, "value": value})


async def sb_info(sb: Sandbox, request: Request) -> Response:
    return _plain_json(
        {
            "accounts": sb.accounts,
            "config": config_view(sb.config),
            "faults": sb.faults.snapshot(),
            "now": iso(sb.clock.now()),
        }
    )


async def sb_posts(sb: Sandbox, request: Request) -> Response:
    return _plain_json({"data": [sandbox_post_view(r) for r in sb.store.all_posts()]})


async def sb_idempotency(sb: Sandbox, request: Request) -> Response:
    data = [
        {
            "key": r["key"],
            "state": "completed" if r["state"] else "pending",
            "statusCode": r["status_code"],
            "createdAt": iso(r["created_at"]),
        }
        for r in sb.store.idem_records()
    ]
    return _plain_json({"data": data})


async def sb_reset(sb: Sandbox, request: Request) -> Response:
    """Wipe posts, idempotency, media, quota use and rate-limit state; clear faults,
    put the clock back to real time and restore the start-up config."""
    sb.reset()
    return _plain_json({"ok": True})


async def sb_faults(sb: Sandbox, request: Request) -> Response:
    if request.method == "DELETE":
        sb.faults.clear()
    elif request.method == "POST":
        try:
            spec = await _control_json(request)
            replace = isinstance(spec, dict) and bool(spec.pop("replace", False))
            (sb.faults.replace if replace else sb.faults.merge)(spec)
        except (ValueError, FaultError) as exc:
            return _refused(exc)
    return _plain_json(sb.faults.snapshot())


async def sb_clock(sb: Sandbox, request: Request) -> Response:
    ran = 0
    if request.method == "POST":
        try:
            _move_clock(sb, await _control_object(request))
        except (ValueError, TypeError) as exc:
            return _refused(exc)
        sb.store.set_meta("clock_offset", repr(sb.clock.offset))
        ran = await asyncio.to_thread(sb.engine.run_due)
    return _plain_json({"now": iso(sb.clock.now()), "offsetSeconds": sb.clock.offset, "ran": ran})


def _move_clock(sb: Sandbox, spec: dict[str, object]) -> None:
    if "advance" in spec:
        sb.clock.advance(_seconds(spec["advance"]))
    elif "set" in spec:
        when = parse_iso_any(str(spec["set"]))
        if when is None:
            raise ValueError("set must be an ISO-8601 date-time")
        sb.clock.set(when)
    elif spec.get("reset"):
        sb.clock.reset()
    else:
        raise ValueError('give {"advance": seconds}, {"set": iso} or {"reset": true}')


def _seconds(value: object) -> float:
    """A number of seconds as ``float()`` reads it (a number or a numeric string)."""
    if isinstance(value, str | int | float):
        return float(value)
    raise TypeError(
        f"float() argument must be a string or a real number, not {type(value).__name__!r}"
    )


async def sb_config(sb: Sandbox, request: Request) -> Response:
    if request.method == "POST":
        try:
            spec = await _control_object(request)
            for name, setting in _SETTINGS.items():
                if name in spec:
                    setting(sb, spec[name])
        except (ValueError, TypeError) as exc:
            return _refused(exc)
    return _plain_json(config_view(sb.config))


def _rate_limit(sb: Sandbox, value: object) -> None:
    sb.config.rate_limit = None if value is None else parse_rate_limit(str(value))
    sb.rate.reset(sb.config.rate_limit)


def _quota(sb: Sandbox, value: object) -> None:
    if value is not None and (not isinstance(value, int) or value < 0):
        raise ValueError("quota must be a non-negative integer or null")
    sb.config.quota = value


def _scheduler(sb: Sandbox, value: object) -> None:
    sb.config.scheduler = bool(value)


def _body_max(sb: Sandbox, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("bodyMaxBytes must be a positive integer")
    sb.config.body_max_bytes = value


def _media_max(sb: Sandbox, value: object) -> None:
    if not isinstance(value, int) or value < 1:
        raise ValueError("mediaMaxBytes must be a positive integer")
    sb.config.media_max_bytes = value


#: What ``POST /_sandbox/config`` can change, in the order it applies them.
_SETTINGS: dict[str, Callable[[Sandbox, object], None]] = {
    "rateLimit": _rate_limit,
    "quota": _quota,
    "scheduler": _scheduler,
    "bodyMaxBytes": _body_max,
    "mediaMaxBytes": _media_max,
}


async def sb_media(sb: Sandbox, request: Request) -> Response:
    found = sb.store.media_bytes(request.path_params["id"])
    if found is None:
        raise HTTPException(404)
    return Response(found[1], 200, media_type=found[0])
