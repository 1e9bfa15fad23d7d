"""Validation of request bodies the way the server's zod schemas do it (contract §1).

Every issue is collected; the first one names the error's ``rule`` (its dotted path) and
all of them go into ``platformResponse``. Unknown keys are dropped.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import TypeGuard
from urllib.parse import urlsplit

from .clock import parse_iso_z
from .config import PLATFORMS
from .errors import ApiError
from .shapes import FirstComment, Issue, MediaRef, Options, PatchBody, PostBody, TargetBody

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
_TOO_SHORT = "String must contain at least 1 character(s)"

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


def load_json(raw: bytes) -> object:
    """Parse a request body; not JSON (or nested too deep): 400 ``body.json``."""
    if json_too_deep(raw):
        raise ApiError(
            400,
            "validation_failed",
            f"Request body is nested more than {MAX_JSON_DEPTH} levels deep",
            rule="body.json",
        )
    try:
        parsed: object = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(
            400, "validation_failed", "Request body must be JSON.", rule="body.json"
        ) from None
    return parsed


class Issues:
    """Accumulates zod-like issues ``{code, path, message}``."""

    def __init__(self) -> None:
        self.items: list[Issue] = []

    def add(self, path: IssuePath, message: str, code: str = "custom") -> None:
        self.items.append({"code": code, "path": list(path), "message": message})

    def error(self) -> ApiError:
        """The 400 that refuses the body: the first issue names the rule, all are listed."""
        first = self.items[0]
        rule = ".".join(str(p) for p in first["path"]) or "body"
        return ApiError(
            400,
            "validation_failed",
            first["message"],
            rule=rule,
            platform_response=self.items,
            remediation="Check the request body matches the documented schema.",
        )

    def raise_if_any(self) -> None:
        if self.items:
            raise self.error()


def _not_an_object() -> ApiError:
    issues = Issues()
    issues.add([], "Expected object", "invalid_type")
    return issues.error()


def _is_uuid(value: object) -> TypeGuard[str]:
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _is_url(value: object) -> TypeGuard[str]:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return bool(parts.scheme and (parts.netloc or parts.path))


def _string(issues: Issues, value: object, path: IssuePath) -> str | None:
    """``value`` if it is a non-empty string, else None and an issue."""
    if not isinstance(value, str):
        issues.add(path, f"Expected string, received {type(value).__name__}", "invalid_type")
    elif not value:
        issues.add(path, _TOO_SHORT, "too_small")
    else:
        return value
    return None


def _bool(issues: Issues, value: object, path: IssuePath) -> bool | None:
    if isinstance(value, bool):
        return value
    issues.add(path, "Expected boolean", "invalid_type")
    return None


def _scheduled_at(issues: Issues, value: object) -> float | None:
    ts = parse_iso_z(value) if isinstance(value, str) else None
    if ts is None:
        issues.add(["scheduledAt"], "Invalid datetime", "invalid_string")
    return ts


def _media_list(issues: Issues, value: object, path: IssuePath) -> list[MediaRef]:
    if not isinstance(value, list):
        issues.add(path, "Expected array", "invalid_type")
        return []
    items = [_media_item(issues, item, [*path, i]) for i, item in enumerate(value)]
    return [m for m in items if m is not None]


def _media_item(issues: Issues, item: object, path: IssuePath) -> MediaRef | None:
    """One ``media[i]``: a kind, maybe alt text, exactly one source; None if refused."""
    if not isinstance(item, dict):
        issues.add(path, "Expected object", "invalid_type")
        return None
    before = len(issues.items)
    kind = item.get("kind")
    if kind not in ("image", "video"):
        issues.add(
            [*path, "kind"], "Invalid enum value. Expected 'image' | 'video'", "invalid_enum_value"
        )
    media: MediaRef = {"kind": kind if isinstance(kind, str) else ""}
    if "altText" in item:
        alt = item["altText"]
        if isinstance(alt, str):
            media["altText"] = alt
        else:
            issues.add([*path, "altText"], "Expected string", "invalid_type")
    given = [k for k in ("mediaId", "url", "bytesBase64") if item.get(k) is not None]
    if len(given) != 1:
        issues.add(path, "Exactly one of mediaId, url or bytesBase64 is required")
    media_id, url, data = item.get("mediaId"), item.get("url"), item.get("bytesBase64")
    if media_id is not None:
        if isinstance(media_id, str) and _MEDIA_ID.match(media_id):
            media["mediaId"] = media_id
        else:
            issues.add([*path, "mediaId"], "Invalid media id", "invalid_string")
    if url is not None:
        if _is_url(url):
            media["url"] = url
        else:
            issues.add([*path, "url"], "Invalid url", "invalid_string")
    if data is not None:
        if isinstance(data, str) and data:
            media["bytesBase64"] = data
        else:
            issues.add([*path, "bytesBase64"], _TOO_SHORT, "too_small")
    return media if len(issues.items) == before else None


def _first_comment(issues: Issues, value: object, path: IssuePath) -> FirstComment | None:
    if not isinstance(value, dict):
        issues.add(path, "Expected object", "invalid_type")
        return None
    text = value.get("text")
    if not isinstance(text, str):
        issues.add([*path, "text"], "Required", "invalid_type")
    elif not text:
        issues.add([*path, "text"], _TOO_SHORT, "too_small")
    else:
        return {"text": text}
    return None


#: Each platform's options: name and kind (s string, u url, b flag, p TikTok privacy).
_OPTION_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "twitter": (("replyToTweetId", "s"), ("quoteTweetId", "s")),
    "pinterest": (
        ("boardId", "s"),
        ("destinationUrl", "u"),
        ("title", "s"),
        ("coverImageUrl", "u"),
    ),
    "threads": (("replyToId", "s"),),
    "tiktok": (
        ("privacy", "p"),
        ("disableComment", "b"),
        ("disableDuet", "b"),
        ("disableStitch", "b"),
        ("brandContentToggle", "b"),
        ("brandOrganicToggle", "b"),
    ),
    "bluesky": (
        ("replyToUri", "s"),
        ("replyToCid", "s"),
        ("replyRootUri", "s"),
        ("replyRootCid", "s"),
    ),
}
_OPTION_KINDS: dict[str, Callable[[object], bool]] = {
    "s": lambda v: isinstance(v, str),
    "u": _is_url,
    "b": lambda v: isinstance(v, bool),
    "p": lambda v: v in _TIKTOK_PRIVACY,
}


def _options(issues: Issues, value: object, path: IssuePath) -> Options | None:
    if not isinstance(value, dict):
        issues.add(path, "Expected object", "invalid_type")
        return None
    platform = value.get("platform")
    if not isinstance(platform, str) or platform not in PLATFORMS:
        issues.add(
            [*path, "platform"],
            "Invalid discriminator value. Expected " + " | ".join(f"'{p}'" for p in PLATFORMS),
            "invalid_union_discriminator",
        )
        return None
    given: dict[str, object] = {"platform": platform}
    for key, kind in _OPTION_FIELDS.get(platform, ()):
        v = value.get(key)
        if v is None:
            continue
        if kind == "s" and v == "":
            issues.add([*path, key], _TOO_SHORT, "too_small")
        if not _OPTION_KINDS[kind](v):
            issues.add([*path, key], f"Invalid value for {key}", "invalid_type")
        given[key] = v
    if platform == "twitter":
        _refine_twitter(issues, given, path)
    elif platform == "bluesky":
        _refine_bluesky(issues, given, path)
    # Every value passed its kind check when no issue was added: strings and flags.
    return {k: v for k, v in given.items() if isinstance(v, str | bool)}


def _refine_twitter(issues: Issues, given: dict[str, object], path: IssuePath) -> None:
    """The schema's superRefine, with its path: the rule names the field to fix."""
    if given.get("replyToTweetId") and given.get("quoteTweetId"):
        issues.add(
            [*path, "replyToTweetId"],
            "Pass either `replyToTweetId` or `quoteTweetId`, not both: X rejects tweets "
            "that combine the two.",
        )


def _refine_bluesky(issues: Issues, given: dict[str, object], path: IssuePath) -> None:
    """A Bluesky reply's strong refs come in pairs, and a root needs a parent."""
    has = {k: k in given for k in ("replyToUri", "replyToCid", "replyRootUri", "replyRootCid")}
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


def parse_post_body(body: object) -> PostBody:
    """Validate a ``POST /v1/posts`` body; returns the cleaned body or raises ApiError 400."""
    if not isinstance(body, dict):
        raise _not_an_object()
    issues = Issues()
    targets = _targets(issues, body.get("targets"))
    out = _post_defaults(issues, body)
    for i, target in enumerate(targets):
        checked = _target(issues, target, ["targets", i])
        if checked is not None:
            out["targets"].append(checked)
    issues.raise_if_any()
    return out


def _targets(issues: Issues, targets: object) -> list[object]:
    """The ``targets`` array, as the server's zod schema words its issues (the rule is
    the path: ``targets``); more than ``MAX_TARGETS`` is refused at once."""
    if targets is None:
        issues.add(["targets"], "Required", "invalid_type")
    elif not isinstance(targets, list):
        issues.add(["targets"], "Expected array", "invalid_type")
    elif not targets:
        issues.add(["targets"], "Array must contain at least 1 element(s)", "too_small")
    elif len(targets) > MAX_TARGETS:  # checked after the schema: no issues listed
        raise ApiError(
            400,
            "validation_failed",
            f"A single request may not fan out to more than {MAX_TARGETS} targets.",
            rule="targets.max",
            remediation=f"Split the publish into batches of at most {MAX_TARGETS} targets.",
        )
    else:
        return targets
    return []


def _post_defaults(issues: Issues, body: dict[str, object]) -> PostBody:
    """The top-level fields of a post body: the defaults of its targets, and when."""
    out: PostBody = {"targets": []}
    if "text" in body and (text := _string(issues, body["text"], ["text"])) is not None:
        out["text"] = text
    if body.get("media") is not None:
        out["media"] = _media_list(issues, body["media"], ["media"])
    if body.get("firstComment") is not None:
        comment = _first_comment(issues, body["firstComment"], ["firstComment"])
        if comment is not None:
            out["firstComment"] = comment
    if "publishNow" in body:
        now = _bool(issues, body["publishNow"], ["publishNow"])
        if now is not None:
            out["publishNow"] = now
    if body.get("scheduledAt") is not None:
        ts = _scheduled_at(issues, body["scheduledAt"])
        if ts is not None:
            out["scheduledAt"] = ts
    profile_id = body.get("profileId")
    if profile_id is not None:
        if _is_uuid(profile_id):
            out["profileId"] = profile_id
        else:
            issues.add(["profileId"], "Invalid uuid", "invalid_string")
    return out


def _target(issues: Issues, target: object, path: IssuePath) -> TargetBody | None:
    """One ``targets[i]``: who it goes to (accountId or platform) and its own overrides."""
    if not isinstance(target, dict):
        issues.add(path, "Expected object", "invalid_type")
        return None
    t: TargetBody = {}
    account_id, platform = target.get("accountId"), target.get("platform")
    if account_id is not None:
        if _is_uuid(account_id):
            t["accountId"] = account_id
        else:
            issues.add([*path, "accountId"], "Invalid uuid", "invalid_string")
    if platform is not None:
        if isinstance(platform, str) and platform in PLATFORMS:
            t["platform"] = platform
        else:
            issues.add([*path, "platform"], "Invalid enum value", "invalid_enum_value")
    if account_id is None and platform is None:
        issues.add(path, "A target needs accountId or platform")
    _target_overrides(issues, target, path, t)
    return t


def _target_overrides(
    issues: Issues, target: dict[str, object], path: IssuePath, t: TargetBody
) -> None:
    if target.get("text") is not None:
        text = _string(issues, target["text"], [*path, "text"])
        if text is not None:
            t["text"] = text
    if target.get("media") is not None:
        t["media"] = _media_list(issues, target["media"], [*path, "media"])
    if target.get("firstComment") is not None:
        comment = _first_comment(issues, target["firstComment"], [*path, "firstComment"])
        if comment is not None:
            t["firstComment"] = comment
    if target.get("options") is not None:
        options = _options(issues, target["options"], [*path, "options"])
        if options is not None:
            t["options"] = options


def parse_patch_body(body: object, version: str = "newest") -> PatchBody:
    """Validate ``PATCH /v1/posts/{id}``: ``{scheduledAt?, text?, media?}``; the fork at
    d28bf71 reads ``{scheduledAt}`` only (required) and drops anything else unread."""
    if not isinstance(body, dict):
        raise _not_an_object()
    if version == "fork-d28bf71":
        return _fork_patch_body(body)
    issues = Issues()
    out: PatchBody = {}
    if body.get("scheduledAt") is not None:
        ts = _scheduled_at(issues, body["scheduledAt"])
        if ts is not None:
            out["scheduledAt"] = ts
    if body.get("text") is not None:
        text = _string(issues, body["text"], ["text"])
        if text is not None:
            out["text"] = text
    if body.get("media") is not None:
        out["media"] = _media_list(issues, body["media"], ["media"])
    if not out and not issues.items:
        issues.add([], "Nothing to update: give scheduledAt, text or media")
    issues.raise_if_any()
    return out


def _fork_patch_body(body: dict[str, object]) -> PatchBody:
    issues = Issues()
    if body.get("scheduledAt") is None:
        issues.add(["scheduledAt"], "Required", "invalid_type")
    else:
        ts = _scheduled_at(issues, body["scheduledAt"])
        if ts is not None:
            return {"scheduledAt": ts}
    error = issues.error()
    error.remediation = None  # the fork's PATCH says none
    raise error


def parse_retry_body(body: object) -> float | None:
    """Validate ``POST /v1/posts/{id}/retry``: optional ``{scheduledAt?}``."""
    if body is None:
        return None
    if not isinstance(body, dict):
        raise _not_an_object()
    issues = Issues()
    ts = None
    if body.get("scheduledAt") is not None:
        ts = _scheduled_at(issues, body["scheduledAt"])
    issues.raise_if_any()
    return ts
