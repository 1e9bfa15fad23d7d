"""Posts: account resolution, preflight, quota, publishing (sandbox or emulated live), worker.

``Engine`` is the business logic behind ``/v1/posts``; it knows nothing about HTTP
beyond raising ``ApiError``. Immediate and scheduled posts go through one path:
rows are built, then each is ``deliver``-ed.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from datetime import UTC, datetime
from typing import Any

from publisher.rules import limits

from . import ids
from .clock import SandboxClock, iso
from .config import SandboxConfig
from .errors import ApiError, not_found, validation
from .faults import Faults
from .store import Store

__all__ = [
    "LAUNCH_CAP",
    "LAUNCH_WINDOW",
    "REJECTED_CODES",
    "SANDBOX_WARNING",
    "SUCCESS",
    "TIKTOK_SETTLE",
    "Engine",
    "month_period",
    "post_view",
    "result_view",
]

SUCCESS = ("published", "publishing")
#: Target status for a failed target by error code (contract §1).
REJECTED_CODES = ("preflight_failed", "platform_auth_failed", "platform_rejected")
LAUNCH_CAP = 50
LAUNCH_WINDOW = 30 * 86400.0
#: How long an emulated TikTok upload stays ``publishing`` (sandbox seconds). [?] in the
#: contract; the sandbox settles it so pollers see an end state.
TIKTOK_SETTLE = 60.0
_NOT_PREFLIGHT = ("targets.", "scheduledAt.")
SANDBOX_WARNING = {
    "code": "sandbox.no_platform_write",
    "message": "Sandbox key: nothing was sent to the platform.",
}


def _status_for(code: str) -> str:
    return "rejected" if code in REJECTED_CODES else "failed"


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def _loads(value: str | None) -> Any:
    return None if value is None else json.loads(value)


def month_period(now: float) -> tuple[str, str]:
    """``("2026-06", "2026-07-01T00:00:00.000Z")``: the quota period and when it resets."""
    dt = datetime.fromtimestamp(now, UTC)
    nxt = datetime(dt.year + (dt.month == 12), dt.month % 12 + 1, 1, tzinfo=UTC)
    return f"{dt.year:04d}-{dt.month:02d}", iso(nxt.timestamp())


class Engine:
    """Everything ``/v1/posts`` does, on top of the store, clock, config and faults."""

    def __init__(
        self, store: Store, clock: SandboxClock, config: SandboxConfig, faults: Faults
    ) -> None:
        self.store = store
        self.clock = clock
        self.config = config
        self.faults = faults
        self.accounts: dict[str, dict[str, Any]] = {}
        self._run_lock = threading.Lock()
        self.reload_accounts()

    def reload_accounts(self) -> None:
        self.accounts = {a["id"]: a for a in self.store.accounts()}

    # -- media ----------------------------------------------------------------------------

    def _media_for_check(
        self, refs: list[dict[str, Any]], account: dict[str, Any], *, deep: bool
    ) -> tuple[tuple[limits.Media, ...], ApiError | None]:
        """``limits.Media`` for each ref; in the deep stage an unknown mediaId is an error."""
        out = []
        for ref in refs:
            mime: str | None = None
            size: int | None = None
            if ref.get("mediaId"):
                source = "mediaId"
                row = self.store.media(ref["mediaId"])
                # Media is scoped to a profile: another profile's media does not resolve.
                if row is None or row["profile_id"] not in (None, account["profileId"]):
                    if deep:
                        return (), not_found(f"Media {ref['mediaId']} not found", "media.unknown")
                else:
                    mime, size = row["content_type"], row["size_bytes"]
            elif ref.get("bytesBase64"):
                source = "bytes"
                try:
                    raw = base64.b64decode(ref["bytesBase64"], validate=False)
                except (binascii.Error, ValueError):
                    raw = b""
                mime, size = limits.sniff_mime(raw), len(raw)
            else:
                source = "url"
                # The sandbox never fetches URLs: the type is guessed from the path.
                mime = limits.mime_from_extension(str(ref.get("url")))
            kind = str(ref.get("kind") or "")
            out.append(limits.Media(kind, ref.get("altText"), mime, size, source))
        return tuple(out), None

    def _content(
        self, row: dict[str, Any], account: dict[str, Any], media: tuple[limits.Media, ...]
    ) -> limits.Content:
        fc = (
            _loads(row["first_comment"])
            if isinstance(row["first_comment"], str)
            else row["first_comment"]
        )
        opts = _loads(row["options"]) if isinstance(row["options"], str) else row["options"]
        return limits.Content(
            platform=row["platform"],
            text=row["text"] or "",
            media=media,
            first_comment=(fc or {}).get("text"),
            options=opts or {},
            scheduled=row.get("scheduled_at") is not None,
            account=account,
        )

    def preflight(
        self, row: dict[str, Any], account: dict[str, Any], stage: str
    ) -> tuple[list[Any], list[Any], ApiError | None]:
        """Run one stage of preflight: (errors, warnings, media resolution error)."""
        refs = _loads(row["media"]) if isinstance(row["media"], str) else row["media"]
        media, missing = self._media_for_check(refs or [], account, deep=stage == "deep")
        if missing:
            return [], [], missing
        findings = [
            f
            for f in limits.check(self._content(row, account, media), stage=stage)
            # Only what the server reports; request-shape and scheduling rules are checked
            # by the schema and by ``create`` at their own place in the processing order.
            if f.api and not f.rule.startswith(_NOT_PREFLIGHT)
        ]
        errors = [f for f in findings if f.severity == "error"]
        warnings = [f for f in findings if f.severity != "error"]
        return errors, warnings, None

    # -- create ---------------------------------------------------------------------------

    def _resolve(self, target: dict[str, Any], profile_id: str | None) -> dict[str, Any]:
        account_id, platform = target.get("accountId"), target.get("platform")
        if account_id:
            account = self.accounts.get(account_id)
            if account is None:
                err = not_found(f"Platform account not found: {account_id}.")
                err.remediation = "Verify each `targets[].accountId` belongs to your organization."
                raise err
            if platform and platform != account["platform"]:
                raise validation(
                    "targets.account.platform_mismatch",
                    f"Account {account_id} is a {account['platform']} account, not {platform}",
                )
            return account
        candidates = [
            a
            for a in self.accounts.values()
            if a["platform"] == platform and (profile_id is None or a["profileId"] == profile_id)
        ]
        if not candidates:
            raise validation(
                "target.account.not_connected", f"No connected {platform} account in scope"
            )
        if len(candidates) > 1:
            ids_ = [a["id"] for a in candidates]
            raise validation(
                "target.account.ambiguous",
                f"Multiple connected {platform} accounts in scope — specify which one in "
                "targets[i].accountId.",
                platform_response={"candidates": ids_},
                remediation=f"Pass one of the candidate ids on targets[i].accountId: "
                f"{', '.join(ids_)}.",
            )
        return candidates[0]

    def create(
        self, body: dict[str, Any], *, sandbox: bool, idem_key: str | None
    ) -> tuple[int, dict[str, Any]]:
        """``POST /v1/posts`` after schema validation: returns (HTTP status, JSON body)."""
        now = self.clock.now()
        scheduled_at: float | None = body.get("scheduledAt")
        if body.get("publishNow") is True and scheduled_at is not None:
            raise validation(
                "mode_conflict",
                "Pass either `publishNow: true` or `scheduledAt`, not both.",
                remediation="Drop `scheduledAt` to publish immediately, or drop `publishNow` "
                "to schedule.",
            )
        profile_id = body.get("profileId")
        rows: list[dict[str, Any]] = []
        batch_id = ids.new_uuid()
        created = iso(now)
        for target in body["targets"]:
            account = self._resolve(target, profile_id)
            text = target.get("text", body.get("text"))
            if not text:
                raise validation(
                    "targets.text.required",
                    f"Target for account {account['id']} has no text and no top-level "
                    "default text.",
                    remediation="Set `text` at the top level, or on each target that needs "
                    "distinct copy.",
                )
            options = target.get("options")
            if options and options["platform"] != account["platform"]:
                raise validation(
                    "targets.options.platform_mismatch",
                    f'Target options carry platform "{options["platform"]}" but the resolved '
                    f"account {account['id']} is a {account['platform']} account.",
                    remediation="Drop `options` or set `options.platform` to match the target's "
                    "account platform.",
                )
            rows.append(
                {
                    "id": ids.new_uuid(),
                    "batch_id": batch_id,
                    "profile_id": account["profileId"],
                    "account_id": account["id"],
                    "platform": account["platform"],
                    "status": "queued",
                    "text": text,
                    "media": _dumps(target.get("media", body.get("media"))),
                    "first_comment": _dumps(target.get("firstComment", body.get("firstComment"))),
                    "options": _dumps(options),
                    "scheduled_at": iso(scheduled_at) if scheduled_at is not None else None,
                    "sandbox": int(sandbox),
                    "idempotency_key": idem_key,
                    "created_at": created,
                    "updated_at": created,
                    "_account": account,
                    "_warnings": [],
                }
            )
        # Cheap preflight on every target, atomic: one failure rejects the whole batch.
        for row in rows:
            errors, warnings, _ = self.preflight(row, row["_account"], "cheap")
            if errors:
                first = errors[0]
                raise ApiError(
                    400,
                    "preflight_failed",
                    first.message,
                    rule=first.rule,
                    platform=row["platform"],
                    remediation="Change the post to fit the platform's rule, then send it again.",
                )
            row["_warnings"] = [{"code": w.rule, "message": w.message} for w in warnings]
        if scheduled_at is not None:
            if scheduled_at < now + 1:
                raise validation(
                    "scheduledAt.future",
                    "scheduledAt must be at least 1 second in the future.",
                    remediation="Send a timestamp at least 1 second ahead of now, or omit "
                    "scheduledAt to publish immediately.",
                )
            if any(r["first_comment"] for r in rows):
                raise validation(
                    "scheduledAt.no_first_comment",
                    "Scheduled posts do not yet support firstComment — publish immediately or "
                    "drop the field.",
                    remediation="Drop firstComment from this request, or omit scheduledAt to "
                    "publish synchronously.",
                )
            for row in rows:
                opts = _loads(row["options"]) or {}
                if row["platform"] == "bluesky" and (
                    opts.get("replyToUri") or opts.get("replyRootUri")
                ):
                    raise validation(
                        "scheduledAt.no_bluesky_reply", "Scheduled posts cannot be Bluesky replies"
                    )
        if not sandbox:
            period = self.charge(len(rows), now)
            for row in rows:
                row["quota_period"] = period
        if scheduled_at is not None:
            self.store.insert_posts(rows)
            return 202, {
                "id": batch_id,
                "status": "queued",
                "scheduledAt": iso(scheduled_at),
                "createdAt": created,
                "results": [
                    {
                        "accountId": r["account_id"],
                        "platform": r["platform"],
                        "postId": r["id"],
                        "status": "queued",
                    }
                    for r in rows
                ],
            }
        for row in rows:
            self.deliver(row, row["_account"], now)
        self.store.insert_posts(rows)
        self._refund_failed(rows)
        ok = sum(r["status"] in SUCCESS for r in rows)
        status = "published" if ok == len(rows) else ("failed" if ok == 0 else "partial_failed")
        return 200, {
            "id": batch_id,
            "status": status,
            "createdAt": created,
            "results": [result_view(r) for r in rows],
        }

    # -- quota ----------------------------------------------------------------------------

    def charge(self, n: int, now: float) -> str | None:
        """Charge ``n`` target slots to this month (live keys only); 429 when over quota."""
        quota = self.config.quota
        if quota is None:
            return None
        period, reset_at = month_period(now)
        if self.store.charge(period, n, quota) is None:
            raise ApiError(
                429,
                "quota_exceeded",
                f"Monthly post quota of {quota} reached",
                rule="billing.posts.monthly_cap",
                platform_response={
                    "period": period,
                    "quota": quota,
                    "resetAt": reset_at,
                    "cost": n,
                },
                remediation="Wait for the quota to reset or upgrade the plan.",
            )
        return period

    def _refund_failed(self, rows: list[dict[str, Any]]) -> None:
        by_period: dict[str, int] = {}
        for row in rows:
            if row.get("quota_period") and row["status"] not in SUCCESS:
                by_period[row["quota_period"]] = by_period.get(row["quota_period"], 0) + 1
        for period, n in by_period.items():
            self.store.refund(period, n)

    # -- delivery -------------------------------------------------------------------------

    def _fail(self, row: dict[str, Any], err: ApiError | dict[str, Any]) -> None:
        if isinstance(err, ApiError):
            error: dict[str, Any] = {"code": err.code, "message": err.message}
            if err.rule:
                error["rule"] = err.rule
            if err.remediation:
                error["remediation"] = err.remediation
            if err.platform_response is not None:
                error["platformResponse"] = err.platform_response
        else:
            error = err
        row["status"] = _status_for(error["code"])
        row["error"] = _dumps(error)
        row["error_code"] = error["code"]

    def deliver(self, row: dict[str, Any], account: dict[str, Any], now: float) -> None:
        """Deep preflight, faults, then the sandbox or emulated live publish; fills ``row``."""
        row["updated_at"] = iso(now)
        warnings = list(row.get("_warnings") or [])
        # [?] whether deep checks run for sandbox keys: the stricter choice, they do.
        errors, deep_warnings, missing = self.preflight(row, account, "deep")
        for w in deep_warnings:
            if all(w.rule != seen["code"] for seen in warnings):
                warnings.append({"code": w.rule, "message": w.message})
        row["warnings"] = _dumps(warnings or None)
        if missing:
            return self._fail(row, missing)
        if errors:
            e = errors[0]
            return self._fail(
                row, {"code": "preflight_failed", "message": e.message, "rule": e.rule}
            )
        if (
            not row["sandbox"]
            and row["platform"] == "twitter"
            and self.store.launch_count(account["id"], iso(now - LAUNCH_WINDOW)) >= LAUNCH_CAP
        ):
            return self._fail(
                row,
                {
                    "code": "rate_limited",
                    "message": f"X launch cap: {LAUNCH_CAP} posts per account per 30 days",
                    "rule": "twitter.launch_cap.per_account",
                },
            )
        refused = self.unknown_reference(row)
        if refused is not None:
            return self._fail(row, refused)
        # Injected platform faults apply to sandbox keys too (they are explicit test set-ups).
        fault = self.faults.take_platform(row["platform"])
        first_comment_failed = False
        if fault and fault["code"] == "first_comment_failed":
            first_comment_failed = True
        elif fault:
            return self._fail(row, {"code": fault["code"], "message": fault["message"]})
        fc = _loads(row["first_comment"])
        if row["sandbox"]:
            row["cid"] = ids.sandbox_cid()
            row["uri"] = f"https://sandbox.letmepost.dev/{row['platform']}/{row['cid']}"
            row["status"] = "published"
            warnings.insert(0, dict(SANDBOX_WARNING))
            if fc and row["platform"] == "bluesky" and not first_comment_failed:
                row["first_comment_cid"] = ids.sandbox_cid()
                row["first_comment_uri"] = (
                    f"https://sandbox.letmepost.dev/bluesky/{row['first_comment_cid']}"
                )
        else:
            _emulate_live(row, account, now)
            if fc and row["platform"] == "bluesky" and not first_comment_failed:
                did = account["platformAccountId"]
                row["first_comment_uri"] = f"at://{did}/app.bsky.feed.post/{ids.tid(now)}"
                row["first_comment_cid"] = ids.atproto_cid()
        if first_comment_failed and fc and row["platform"] == "bluesky":
            warnings.append(
                {"code": "first_comment_failed", "message": "The first comment could not be posted"}
            )
        if row["status"] == "published":
            row["published_at"] = iso(now)
        row["error"] = row["error_code"] = None
        row["warnings"] = _dumps(warnings or None)

    def unknown_reference(self, row: dict[str, Any]) -> dict[str, Any] | None:
        """The platform's refusal of a reply or quote naming no post it knows, else None.

        A post is known when the value equals a stored published result's cid, its uri,
        or the last path segment of its uri, on the same platform and in the same
        environment (sandbox results exist on no platform; emulated live ones only
        here). A Bluesky strong ref (uri + cid) must name one and the same post.
        """
        opts = _loads(row.get("options")) or {}
        platform, sandbox = row["platform"], bool(row["sandbox"])
        singles = {"twitter": ("replyToTweetId", "quoteTweetId"), "threads": ("replyToId",)}
        for key in singles.get(platform, ()):
            value = opts.get(key)
            if value and not self.store.known_posts(platform, sandbox, value):
                return _refusal(platform, key, value, "names no post the platform knows")
        if platform == "bluesky":
            for uri_key, cid_key in (
                ("replyToUri", "replyToCid"),
                ("replyRootUri", "replyRootCid"),
            ):
                uri, cid = opts.get(uri_key), opts.get(cid_key)
                if not (uri and cid):
                    continue
                by_uri = {p["id"] for p in self.store.known_posts(platform, sandbox, uri)}
                if not by_uri:
                    return _refusal(platform, uri_key, uri, "names no post the platform knows")
                by_cid = {p["id"] for p in self.store.known_posts(platform, sandbox, cid)}
                if not by_cid:
                    return _refusal(platform, cid_key, cid, "names no post the platform knows")
                if not by_uri & by_cid:
                    return _refusal(
                        platform, cid_key, cid, f"is not the cid of the post {uri_key} names"
                    )
        return None

    # -- scheduler ------------------------------------------------------------------------

    def run_due(self) -> int:
        """Publish every queued post that is due by the sandbox clock; returns how many."""
        if not self.config.scheduler:
            return 0
        with self._run_lock:
            now = self.clock.now()
            done = 0
            while batch := self.store.claim_due(iso(now)):
                for row in batch:
                    account = self.accounts.get(row["account_id"])
                    row["_warnings"] = []
                    if account is None:
                        self._fail(row, {"code": "not_found", "message": "Account is gone"})
                    else:
                        self.deliver(row, account, now)
                    fields = {
                        k: row.get(k)
                        for k in (
                            "status",
                            "uri",
                            "cid",
                            "first_comment_uri",
                            "first_comment_cid",
                            "warnings",
                            "error",
                            "error_code",
                            "published_at",
                            "updated_at",
                        )
                    }
                    self.store.update_post(row["id"], fields)
                self._refund_failed(batch)
                done += len(batch)
            for row in self.store.settle_publishing(iso(now - TIKTOK_SETTLE)):
                account = self.accounts.get(row["account_id"]) or {}
                self.store.update_post(
                    row["id"],
                    {
                        "status": "published",
                        "uri": f"https://www.tiktok.com/@{account.get('displayName', 'user').replace(' ', '').lower()}/video/{ids.digits(19)}",
                        "published_at": iso(now),
                        "updated_at": iso(now),
                    },
                    status_in=("publishing",),
                )
            return done


def _refusal(platform: str, option: str, value: str, why: str) -> dict[str, Any]:
    """A per-target ``platform_rejected`` error for a reply/quote of an unknown post."""
    from publisher.rules.platforms import platform_title

    name = platform_title(platform)
    return {
        "code": "platform_rejected",
        "message": (
            f"{name} refused the post: options.{option} {value!r} {why} "
            "(the sandbox knows only posts it published on that platform: use a result's "
            "cid or uri)"
        ),
        "platformResponse": {"option": option, "value": value, "reason": "unknown_reference"},
    }


def _emulate_live(row: dict[str, Any], account: dict[str, Any], now: float) -> None:
    """Platform-native-looking uri/cid for a live key (nothing leaves the machine)."""
    platform = row["platform"]
    pid = account["platformAccountId"]
    handle = "".join(ch for ch in account["displayName"].lower() if ch.isalnum()) or "user"
    row["status"] = "published"
    if platform == "bluesky":
        row["uri"] = f"at://{pid}/app.bsky.feed.post/{ids.tid(now)}"
        row["cid"] = ids.atproto_cid()
    elif platform == "twitter":
        row["cid"] = ids.snowflake(now)
        row["uri"] = f"https://x.com/i/status/{row['cid']}"
    elif platform == "threads":
        row["cid"] = ids.digits(17)
        row["uri"] = f"https://www.threads.net/@{handle}/post/{ids.shortcode()}"
    elif platform == "linkedin":
        row["cid"] = f"urn:li:share:{ids.digits(19)}"
        row["uri"] = f"https://www.linkedin.com/feed/update/{row['cid']}/"
    elif platform == "facebook":
        row["cid"] = f"{pid}_{ids.digits(16)}"
        row["uri"] = f"https://www.facebook.com/{row['cid']}"
    elif platform == "instagram":
        row["cid"] = ids.digits(17)
        row["uri"] = f"https://www.instagram.com/p/{ids.shortcode()}/"
    elif platform == "pinterest":
        row["cid"] = ids.digits(18)
        row["uri"] = f"https://www.pinterest.com/pin/{row['cid']}/"
    elif platform == "tiktok":
        row["status"] = "publishing"
        row["cid"] = f"v_pub_file~v2-1.{ids.digits(19)}"
        row["uri"] = None


def result_view(row: dict[str, Any]) -> dict[str, Any]:
    """One ``results[i]`` of a POST /v1/posts response."""
    out: dict[str, Any] = {
        "accountId": row["account_id"],
        "platform": row["platform"],
        "postId": row["id"],
        "status": row["status"],
    }
    for key, col in (
        ("uri", "uri"),
        ("cid", "cid"),
        ("firstCommentUri", "first_comment_uri"),
        ("firstCommentCid", "first_comment_cid"),
    ):
        if row.get(col):
            out[key] = row[col]
    if row.get("warnings"):
        out["warnings"] = _loads(row["warnings"])
    if row.get("error"):
        out["error"] = _loads(row["error"])
    return out


def post_view(row: dict[str, Any], account: dict[str, Any] | None) -> dict[str, Any]:
    """The ``GET /v1/posts/{id}`` shape."""
    return {
        "id": row["id"],
        "profileId": row["profile_id"],
        "accountId": row["account_id"],
        "account": {
            "id": row["account_id"],
            "platform": row["platform"],
            "platformAccountId": (account or {}).get("platformAccountId"),
            "displayName": (account or {}).get("displayName"),
        },
        "platform": row["platform"],
        "status": row["status"],
        "text": row["text"],
        "mediaRefs": _loads(row["media"]) or [],
        "scheduledAt": row["scheduled_at"],
        "publishedAt": row["published_at"],
        "platformUri": row["uri"],
        "platformCid": row["cid"],
        "error": _loads(row["error"]),
        "sandbox": bool(row["sandbox"]),
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
        "attempts": [],
    }
