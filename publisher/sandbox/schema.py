"""Validation of request bodies the way the server's zod schemas do it (contract §1).

Every issue is collected; the first one names the error's ``rule`` (its dotted path) and
all of them go into ``platformResponse``. Unknown keys are dropped.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import urlsplit

from .clock import parse_iso_z
from .config import PLATFORMS
from .errors import ApiError

__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_TARGETS",
    "IssuePath",
    "Issues",
    "json_too_deep",
    "load_json",
    "parse_patch_body",
    "parse_post_body",
    "parse_retry_body",
]

MAX_TARGETS = 25
_MEDIA_ID = re.compile(r"^med_[0-9A-Za-z]{22}$")
_TIKTOK_PRIVACY = ("public_to_everyone", "mutual_follow_friend", "self_only")

IssuePath = list[str | int]

#: Deepest nesting of arrays/objects accepted in a JSON body. Every valid request nests
#: at most 6 deep; unknown keys are dropped, but they still have to be parsed.
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


def json_too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``raw`` nests arrays/objects deeper than ``limit`` (strings ignored).

    Checked before ``json.loads``, whose C decoder recurses once per level: a deep
    enough body would otherwise end in a RecursionError (a 500), not a 400.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for byte in _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKET):
        if byte in b"[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def load_json(raw: bytes) -> Any:
    """Parse a request body; not JSON (or nested too deep): 400 ``body.json``."""
    if json_too_deep(raw):
        raise ApiError(
            400,
            "validation_failed",
            f"Request body is nested more than {MAX_JSON_DEPTH} levels deep",
            rule="body.json",
        )
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(
            400, "validation_failed", "Request body must be JSON.", rule="body.json"
        ) from None


class Issues:
    """Accumulates zod-like issues ``{code, path, message}``."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, path: IssuePath, message: str, code: str = "custom") -> None:
        self.items.append({"code": code, "path": list(path), "message": message})

    def raise_if_any(self) -> None:
        if not self.items:
            return
        first = self.items[0]
        rule = first.get("rule") or ".".join(str(p) for p in first["path"]) or "body"
        raise ApiError(
            400,
            "validation_failed",
            first["message"],
            rule=rule,
            platform_response=self.items,
            remediation="Check the request body matches the documented schema.",
        )


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _is_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return bool(parts.scheme and (parts.netloc or parts.path))


def _string(issues: Issues, value: Any, path: IssuePath) -> None:
    if not isinstance(value, str):
        issues.add(path, f"Expected string, received {type(value).__name__}", "invalid_type")
    elif not value:
        issues.add(path, "String must contain at least 1 character(s)", "too_small")


def _bool(issues: Issues, obj: dict[str, Any], key: str, path: IssuePath) -> None:
    if key in obj and not isinstance(obj[key], bool):
        issues.add([*path, key], "Expected boolean", "invalid_type")


def _media_list(issues: Issues, value: Any, path: IssuePath) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        issues.add(path, "Expected array", "invalid_type")
        return []
    out = []
    for i, item in enumerate(value):
        p = [*path, i]
        if not isinstance(item, dict):
            issues.add(p, "Expected object", "invalid_type")
            continue
        media: dict[str, Any] = {}
        if item.get("kind") not in ("image", "video"):
            issues.add(
                [*p, "kind"], "Invalid enum value. Expected 'image' | 'video'", "invalid_enum_value"
            )
        media["kind"] = item.get("kind")
        if "altText" in item:
            if not isinstance(item["altText"], str):
                issues.add([*p, "altText"], "Expected string", "invalid_type")
            media["altText"] = item["altText"]
        sources = [k for k in ("mediaId", "url", "bytesBase64") if item.get(k) is not None]
        if len(sources) != 1:
            issues.add(p, "Exactly one of mediaId, url or bytesBase64 is required")
        for key in sources:
            value_k = item[key]
            media[key] = value_k
            if key == "mediaId" and not (isinstance(value_k, str) and _MEDIA_ID.match(value_k)):
                issues.add([*p, key], "Invalid media id", "invalid_string")
            elif key == "url" and not _is_url(value_k):
                issues.add([*p, key], "Invalid url", "invalid_string")
            elif key == "bytesBase64" and not (isinstance(value_k, str) and value_k):
                issues.add([*p, key], "String must contain at least 1 character(s)", "too_small")
        out.append(media)
    return out


def _first_comment(issues: Issues, value: Any, path: IssuePath) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        issues.add(path, "Expected object", "invalid_type")
        return None
    text = value.get("text")
    if not isinstance(text, str):
        issues.add([*path, "text"], "Required", "invalid_type")
    elif not text:
        issues.add([*path, "text"], "String must contain at least 1 character(s)", "too_small")
    return {"text": text}


def _options(issues: Issues, value: Any, path: IssuePath) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        issues.add(path, "Expected object", "invalid_type")
        return None
    platform = value.get("platform")
    if platform not in PLATFORMS:
        issues.add(
            [*path, "platform"],
            "Invalid discriminator value. Expected " + " | ".join(f"'{p}'" for p in PLATFORMS),
            "invalid_union_discriminator",
        )
        return None
    fields: str = {
        "twitter": "replyToTweetId:s quoteTweetId:s",
        "pinterest": "boardId:s destinationUrl:u title:s coverImageUrl:u",
        "threads": "replyToId:s",
        "tiktok": "privacy:p disableComment:b disableDuet:b disableStitch:b "
        "brandContentToggle:b brandOrganicToggle:b",
        "bluesky": "replyToUri:s replyToCid:s replyRootUri:s replyRootCid:s",
    }.get(platform, "")
    out: dict[str, Any] = {"platform": platform}
    for spec in fields.split():
        key, kind = spec.split(":")
        if key not in value or value[key] is None:
            continue
        v = value[key]
        if kind == "s" and isinstance(v, str) and not v:
            issues.add([*path, key], "String must contain at least 1 character(s)", "too_small")
        ok = {
            "s": isinstance(v, str),
            "u": _is_url(v),
            "b": isinstance(v, bool),
            "p": v in _TIKTOK_PRIVACY,
        }[kind]
        if not ok:
            issues.add([*path, key], f"Invalid value for {key}", "invalid_type")
        out[key] = v
    # The schema's superRefine, with its paths: the rule names the field to fix.
    if platform == "twitter" and out.get("replyToTweetId") and out.get("quoteTweetId"):
        issues.add(
            [*path, "replyToTweetId"],
            "Pass either `replyToTweetId` or `quoteTweetId`, not both: X rejects tweets "
            "that combine the two.",
        )
    if platform == "bluesky":
        has = {k: k in out for k in ("replyToUri", "replyToCid", "replyRootUri", "replyRootCid")}
        if has["replyToUri"] != has["replyToCid"]:
            issues.add(
                [*path, "replyToCid" if has["replyToUri"] else "replyToUri"],
                "Bluesky replies need both `replyToUri` and `replyToCid` (a strong ref "
                "from the parent post).",
            )
        if has["replyRootUri"] != has["replyRootCid"]:
            issues.add(
                [*path, "replyRootCid" if has["replyRootUri"] else "replyRootUri"],
                "`replyRootUri` and `replyRootCid` must be provided together.",
            )
        if (has["replyRootUri"] or has["replyRootCid"]) and not (
            has["replyToUri"] and has["replyToCid"]
        ):
            issues.add(
                [*path, "replyToUri"],
                "`replyRoot*` requires `replyToUri` + `replyToCid` (the parent). Omit it to "
                "reply to a top-level post: root defaults to the parent.",
            )
    return out


def parse_post_body(body: Any) -> dict[str, Any]:
    """Validate a ``POST /v1/posts`` body; returns the cleaned body or raises ApiError 400."""
    issues = Issues()
    if not isinstance(body, dict):
        issues.add([], "Expected object", "invalid_type")
        issues.raise_if_any()
    out: dict[str, Any] = {}
    targets = body.get("targets")
    # As the server's zod schema words it (the rule is the path: `targets`).
    if targets is None:
        issues.add(["targets"], "Required", "invalid_type")
        targets = []
    elif not isinstance(targets, list):
        issues.add(["targets"], "Expected array", "invalid_type")
        targets = []
    elif not targets:
        issues.add(["targets"], "Array must contain at least 1 element(s)", "too_small")
    elif len(targets) > MAX_TARGETS:  # checked after the schema: no issues listed
        issues.raise_if_any()
        raise ApiError(
            400,
            "validation_failed",
            f"A single request may not fan out to more than {MAX_TARGETS} targets.",
            rule="targets.max",
            remediation=f"Split the publish into batches of at most {MAX_TARGETS} targets.",
        )
    if "text" in body:
        _string(issues, body["text"], ["text"])
        out["text"] = body["text"]
    if "media" in body and body["media"] is not None:
        out["media"] = _media_list(issues, body["media"], ["media"])
    if "firstComment" in body and body["firstComment"] is not None:
        out["firstComment"] = _first_comment(issues, body["firstComment"], ["firstComment"])
    if "publishNow" in body:
        _bool(issues, body, "publishNow", [])
        out["publishNow"] = body["publishNow"]
    if "scheduledAt" in body and body["scheduledAt"] is not None:
        ts = parse_iso_z(body["scheduledAt"])
        if ts is None:
            issues.add(["scheduledAt"], "Invalid datetime", "invalid_string")
        out["scheduledAt"] = ts
    if "profileId" in body and body["profileId"] is not None:
        if not _is_uuid(body["profileId"]):
            issues.add(["profileId"], "Invalid uuid", "invalid_string")
        out["profileId"] = body["profileId"]
    cleaned: list[dict[str, Any]] = []
    for i, target in enumerate(targets[:MAX_TARGETS] if isinstance(targets, list) else []):
        path: IssuePath = ["targets", i]
        if not isinstance(target, dict):
            issues.add(path, "Expected object", "invalid_type")
            continue
        t: dict[str, Any] = {}
        if target.get("accountId") is not None:
            if not _is_uuid(target["accountId"]):
                issues.add([*path, "accountId"], "Invalid uuid", "invalid_string")
            t["accountId"] = target["accountId"]
        if target.get("platform") is not None:
            if target["platform"] not in PLATFORMS:
                issues.add([*path, "platform"], "Invalid enum value", "invalid_enum_value")
            t["platform"] = target["platform"]
        if "accountId" not in t and "platform" not in t:
            issues.add(path, "A target needs accountId or platform")
        if target.get("text") is not None:
            _string(issues, target["text"], [*path, "text"])
            t["text"] = target["text"]
        if target.get("media") is not None:
            t["media"] = _media_list(issues, target["media"], [*path, "media"])
        if target.get("firstComment") is not None:
            t["firstComment"] = _first_comment(
                issues, target["firstComment"], [*path, "firstComment"]
            )
        if target.get("options") is not None:
            t["options"] = _options(issues, target["options"], [*path, "options"])
        cleaned.append(t)
    issues.raise_if_any()
    out["targets"] = cleaned
    return out


def parse_patch_body(body: Any, version: str = "newest") -> dict[str, Any]:
    """Validate ``PATCH /v1/posts/{id}``: ``{scheduledAt?, text?, media?}``; the fork at
    d28bf71 reads ``{scheduledAt}`` only (required) and drops anything else unread."""
    issues = Issues()
    if not isinstance(body, dict):
        issues.add([], "Expected object", "invalid_type")
        issues.raise_if_any()
    out: dict[str, Any] = {}
    if version == "fork-d28bf71":
        if body.get("scheduledAt") is None:
            issues.add(["scheduledAt"], "Required", "invalid_type")
        else:
            out["scheduledAt"] = parse_iso_z(body["scheduledAt"])
            if out["scheduledAt"] is None:
                issues.add(["scheduledAt"], "Invalid datetime", "invalid_string")
        try:
            issues.raise_if_any()
        except ApiError as exc:
            exc.remediation = None  # the fork's PATCH says none
            raise
        return out
    if body.get("scheduledAt") is not None:
        ts = parse_iso_z(body["scheduledAt"])
        if ts is None:
            issues.add(["scheduledAt"], "Invalid datetime", "invalid_string")
        out["scheduledAt"] = ts
    if body.get("text") is not None:
        _string(issues, body["text"], ["text"])
        out["text"] = body["text"]
    if body.get("media") is not None:
        out["media"] = _media_list(issues, body["media"], ["media"])
    if not out and not issues.items:
        issues.add([], "Nothing to update: give scheduledAt, text or media")
    issues.raise_if_any()
    return out


def parse_retry_body(body: Any) -> float | None:
    """Validate ``POST /v1/posts/{id}/retry``: optional ``{scheduledAt?}``."""
    if body is None:
        return None
    issues = Issues()
    if not isinstance(body, dict):
        issues.add([], "Expected object", "invalid_type")
        issues.raise_if_any()
    ts = None
    if body.get("scheduledAt") is not None:
        ts = parse_iso_z(body["scheduledAt"])
        if ts is None:
            issues.add(["scheduledAt"], "Invalid datetime", "invalid_string")
    issues.raise_if_any()
    return ts
