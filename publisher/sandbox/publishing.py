"""Posts: a request's rows, quota, publishing (sandbox or emulated live), the scheduler.

``Engine`` is the business logic behind ``/v1/posts``; it knows nothing about HTTP
beyond raising ``ApiError``. Immediate and scheduled posts go through one path:
rows are built (their accounts and checks from ``preflight.py``), then each is
``deliver``-ed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from . import ids
from .clock import SandboxClock, iso
from .config import SandboxConfig
from .errors import ApiError, validation
from .faults import Faults
from .preflight import preflight, resolve_account, unknown_reference
from .shapes import Account, Notice, PostBody, PostRow, PostUpdate, TargetBody, TargetError
from .store import Store, dumps, first_comment_of, options_of
from .views import result_view

__all__ = [
    "LAUNCH_CAP",
    "LAUNCH_WINDOW",
    "REJECTED_CODES",
    "SANDBOX_WARNING",
    "SUCCESS",
    "TIKTOK_SETTLE",
    "Engine",
    "month_period",
]

SUCCESS = ("published", "publishing")
#: Target status for a failed target by error code (contract §1).
REJECTED_CODES = ("preflight_failed", "platform_auth_failed", "platform_rejected")
LAUNCH_CAP = 50
LAUNCH_WINDOW = 30 * 86400.0
#: How long an emulated TikTok upload stays ``publishing`` (sandbox seconds). [?] in the
#: contract; the sandbox settles it so pollers see an end state.
TIKTOK_SETTLE = 60.0
SANDBOX_WARNING: Notice = {
    "code": "sandbox.no_platform_write",
    "message": "Sandbox key: nothing was sent to the platform.",
}


def _status_for(code: str) -> str:
    return "rejected" if code in REJECTED_CODES else "failed"


def month_period(now: float) -> tuple[str, str]:
    """``("2026-06", "2026-07-01T00:00:00.000Z")``: the quota period and when it resets."""
    dt = datetime.fromtimestamp(now, UTC)
    nxt = datetime(dt.year + (dt.month == 12), dt.month % 12 + 1, 1, tzinfo=UTC)
    return f"{dt.year:04d}-{dt.month:02d}", iso(nxt.timestamp())


@dataclass
class _Target:
    """One target of a request on its way: its row, its account, its cheap warnings."""

    row: PostRow
    account: Account
    warnings: list[Notice] = field(default_factory=list)


class Engine:
    """Everything ``/v1/posts`` does, on top of the store, clock, config and faults."""

    def __init__(
        self, store: Store, clock: SandboxClock, config: SandboxConfig, faults: Faults
    ) -> None:
        self.store = store
        self.clock = clock
        self.config = config
        self.faults = faults
        self.accounts: dict[str, Account] = {}
        self._run_lock = threading.Lock()
        self.reload_accounts()

    def reload_accounts(self) -> None:
        self.accounts = {a["id"]: a for a in self.store.accounts()}

    # -- create ---------------------------------------------------------------------------

    def create(
        self, body: PostBody, *, sandbox: bool, idem_key: str | None
    ) -> tuple[int, dict[str, object]]:
        """``POST /v1/posts`` after schema validation: returns (HTTP status, JSON body)."""
        now = self.clock.now()
        scheduled_at = body.get("scheduledAt")
        if body.get("publishNow") is True and scheduled_at is not None:
            raise validation(
                "mode_conflict",
                "Pass either `publishNow: true` or `scheduledAt`, not both.",
                remediation="Drop `scheduledAt` to publish immediately, or drop `publishNow` "
                "to schedule.",
            )
        batch_id = ids.new_uuid()
        created = iso(now)
        targets = [
            self._target(body, t, batch_id, created, sandbox=sandbox, idem_key=idem_key)
            for t in body["targets"]
        ]
        self._cheap_preflight(targets)
        if scheduled_at is not None:
            _check_schedule(targets, scheduled_at, now)
        if not sandbox:
            period = self.charge(len(targets), now)
            for target in targets:
                target.row["quota_period"] = period
        rows = [t.row for t in targets]
        if scheduled_at is not None:
            self.store.insert_posts(rows)
            return 202, {
                "id": batch_id,
                "status": "queued",
                "scheduledAt": iso(scheduled_at),
                "createdAt": created,
                "results": [_queued_view(r) for r in rows],
            }
        for target in targets:
            self.deliver(target.row, target.account, now, target.warnings)
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

    def _target(
        self,
        body: PostBody,
        target: TargetBody,
        batch_id: str,
        created: str,
        *,
        sandbox: bool,
        idem_key: str | None,
    ) -> _Target:
        """A target's row: its account resolved, the body's defaults filled in."""
        account = resolve_account(self.accounts, target, body.get("profileId"))
        text = target.get("text", body.get("text"))
        if not text:
            raise validation(
                "targets.text.required",
                f"Target for account {account['id']} has no text and no top-level default text.",
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
        scheduled_at = body.get("scheduledAt")
        row: PostRow = {
            "id": ids.new_uuid(),
            "batch_id": batch_id,
            "profile_id": account["profileId"],
            "account_id": account["id"],
            "platform": account["platform"],
            "status": "queued",
            "text": text,
            "media": dumps(target.get("media", body.get("media"))),
            "first_comment": dumps(target.get("firstComment", body.get("firstComment"))),
            "options": dumps(options),
            "scheduled_at": iso(scheduled_at) if scheduled_at is not None else None,
            "published_at": None,
            "uri": None,
            "cid": None,
            "first_comment_uri": None,
            "first_comment_cid": None,
            "warnings": None,
            "error": None,
            "error_code": None,
            "sandbox": int(sandbox),
            "idempotency_key": idem_key,
            "quota_period": None,
            "created_at": created,
            "updated_at": created,
        }
        return _Target(row, account)

    def _cheap_preflight(self, targets: list[_Target]) -> None:
        """Cheap preflight on every target, atomic: one failure rejects the whole batch."""
        for target in targets:
            errors, warnings, _ = preflight(self.store, target.row, target.account, "cheap")
            if errors:
                first = errors[0]
                raise ApiError(
                    400,
                    "preflight_failed",
                    first.message,
                    rule=first.rule,
                    platform=target.row["platform"],
                    remediation="Change the post to fit the platform's rule, then send it again.",
                )
            target.warnings = [{"code": w.rule, "message": w.message} for w in warnings]

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

    def _refund_failed(self, rows: Iterable[PostRow]) -> None:
        by_period: dict[str, int] = {}
        for row in rows:
            period = row["quota_period"]
            if period and row["status"] not in SUCCESS:
                by_period[period] = by_period.get(period, 0) + 1
        for period, n in by_period.items():
            self.store.refund(period, n)

    # -- delivery -------------------------------------------------------------------------

    def deliver(
        self, row: PostRow, account: Account, now: float, warnings: Iterable[Notice] = ()
    ) -> None:
        """Deep preflight, faults, then the sandbox or emulated live publish; fills ``row``."""
        row["updated_at"] = iso(now)
        notices = list(warnings)
        refused = self._refusal(row, account, now, notices)
        if refused is not None:
            return _fail(row, refused)
        # Injected platform faults apply to sandbox keys too (they are explicit test set-ups).
        fault = self.faults.take_platform(row["platform"])
        comment_failed = fault is not None and fault[0] == "first_comment_failed"
        if fault is not None and not comment_failed:
            return _fail(row, {"code": fault[0], "message": fault[1]})
        _publish(row, account, now, notices, comment_failed=comment_failed)

    def _refusal(
        self, row: PostRow, account: Account, now: float, notices: list[Notice]
    ) -> ApiError | TargetError | None:
        """Why the platform would refuse the target (deep preflight, X's launch cap, a
        reply to a post it does not know), else None; ``notices`` gain the deep warnings."""
        # [?] whether deep checks run for sandbox keys: the stricter choice, they do.
        errors, deep_warnings, missing = preflight(self.store, row, account, "deep")
        for w in deep_warnings:
            if all(w.rule != seen["code"] for seen in notices):
                notices.append({"code": w.rule, "message": w.message})
        row["warnings"] = dumps(notices or None)
        if missing:
            return missing
        if errors:
            e = errors[0]
            return {"code": "preflight_failed", "message": e.message, "rule": e.rule}
        if (
            not row["sandbox"]
            and row["platform"] == "twitter"
            and self.store.launch_count(account["id"], iso(now - LAUNCH_WINDOW)) >= LAUNCH_CAP
        ):
            return {
                "code": "rate_limited",
                "message": f"X launch cap: {LAUNCH_CAP} posts per account per 30 days",
                "rule": "twitter.launch_cap.per_account",
            }
        return unknown_reference(self.store, row)

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
                    self._deliver_due(row, now)
                self._refund_failed(batch)
                done += len(batch)
            self._settle_tiktok(now)
            return done

    def _deliver_due(self, row: PostRow, now: float) -> None:
        account = self.accounts.get(row["account_id"])
        if account is None:
            _fail(row, {"code": "not_found", "message": "Account is gone"})
        else:
            self.deliver(row, account, now)
        fields: PostUpdate = {
            "status": row["status"],
            "uri": row["uri"],
            "cid": row["cid"],
            "first_comment_uri": row["first_comment_uri"],
            "first_comment_cid": row["first_comment_cid"],
            "warnings": row["warnings"],
            "error": row["error"],
            "error_code": row["error_code"],
            "published_at": row["published_at"],
            "updated_at": row["updated_at"],
        }
        self.store.update_post(row["id"], fields)

    def _settle_tiktok(self, now: float) -> None:
        """Emulated TikTok uploads that processed long enough are published."""
        for row in self.store.settle_publishing(iso(now - TIKTOK_SETTLE)):
            account = self.accounts.get(row["account_id"])
            name = account["displayName"] if account else "user"
            self.store.update_post(
                row["id"],
                {
                    "status": "published",
                    "uri": f"https://www.tiktok.com/@{name.replace(' ', '').lower()}/video/{ids.digits(19)}",
                    "published_at": iso(now),
                    "updated_at": iso(now),
                },
                status_in=("publishing",),
            )


def _queued_view(row: PostRow) -> dict[str, object]:
    """One ``results[i]`` of a scheduled request."""
    return {
        "accountId": row["account_id"],
        "platform": row["platform"],
        "postId": row["id"],
        "status": "queued",
    }


def _check_schedule(targets: list[_Target], scheduled_at: float, now: float) -> None:
    """What a scheduled request may not be: too soon, with a first comment, a Bluesky reply."""
    if scheduled_at < now + 1:
        raise validation(
            "scheduledAt.future",
            "scheduledAt must be at least 1 second in the future.",
            remediation="Send a timestamp at least 1 second ahead of now, or omit "
            "scheduledAt to publish immediately.",
        )
    if any(t.row["first_comment"] for t in targets):
        raise validation(
            "scheduledAt.no_first_comment",
            "Scheduled posts do not yet support firstComment — publish immediately or "
            "drop the field.",
            remediation="Drop firstComment from this request, or omit scheduledAt to "
            "publish synchronously.",
        )
    for target in targets:
        opts = options_of(target.row)
        if target.row["platform"] == "bluesky" and (
            opts.get("replyToUri") or opts.get("replyRootUri")
        ):
            raise validation(
                "scheduledAt.no_bluesky_reply", "Scheduled posts cannot be Bluesky replies"
            )


def _fail(row: PostRow, err: ApiError | TargetError) -> None:
    if isinstance(err, ApiError):
        error: TargetError = {"code": err.code, "message": err.message}
        if err.rule:
            error["rule"] = err.rule
        if err.remediation:
            error["remediation"] = err.remediation
        if err.platform_response is not None:
            error["platformResponse"] = err.platform_response
    else:
        error = err
    row["status"] = _status_for(error["code"])
    row["error"] = dumps(error)
    row["error_code"] = error["code"]


def _publish(
    row: PostRow, account: Account, now: float, notices: list[Notice], *, comment_failed: bool
) -> None:
    """The target is published: on no platform (a sandbox key) or emulated (a live key);
    a Bluesky first comment with it unless its fault fired."""
    comment = first_comment_of(row) is not None and row["platform"] == "bluesky"
    if row["sandbox"]:
        row["cid"] = ids.sandbox_cid()
        row["uri"] = f"https://sandbox.letmepost.dev/{row['platform']}/{row['cid']}"
        row["status"] = "published"
        notices.insert(0, SANDBOX_WARNING.copy())
        if comment and not comment_failed:
            row["first_comment_cid"] = ids.sandbox_cid()
            row["first_comment_uri"] = (
                f"https://sandbox.letmepost.dev/bluesky/{row['first_comment_cid']}"
            )
    else:
        _emulate_live(row, account, now)
        if comment and not comment_failed:
            did = account["platformAccountId"]
            row["first_comment_uri"] = f"at://{did}/app.bsky.feed.post/{ids.tid(now)}"
            row["first_comment_cid"] = ids.atproto_cid()
    if comment_failed and comment:
        notices.append(
            {"code": "first_comment_failed", "message": "The first comment could not be posted"}
        )
    if row["status"] == "published":
        row["published_at"] = iso(now)
    row["error"] = row["error_code"] = None
    row["warnings"] = dumps(notices or None)


def _bluesky(pid: str, handle: str, now: float) -> tuple[str, str | None]:
    return ids.atproto_cid(), f"at://{pid}/app.bsky.feed.post/{ids.tid(now)}"


def _twitter(pid: str, handle: str, now: float) -> tuple[str, str | None]:
    cid = ids.snowflake(now)
    return cid, f"https://x.com/i/status/{cid}"


def _threads(pid: str, handle: str, now: float) -> tuple[str, str | None]:
    return ids.digits(17), f"https://www.threads.net/@{handle}/post/{ids.shortcode()}"


def _linkedin(pid: str, handle: str, now: float) -> tuple[str, str | None]:
    cid = f"urn:li:share:{ids.digits(19)}"
    return cid, f"https://www.linkedin.com/feed/update/{cid}/"


def _facebook(pid: str, handle: str, now: float) -> tuple[str, str | None]:
    cid = f"{pid}_{ids.digits(16)}"
    return cid, f"https://www.facebook.com/{cid}"


def _instagram(pid: str, handle: str, now: float) -> tuple[str, str | None]:
    return ids.digits(17), f"https://www.instagram.com/p/{ids.shortcode()}/"


def _pinterest(pid: str, handle: str, now: float) -> tuple[str, str | None]:
    cid = ids.digits(18)
    return cid, f"https://www.pinterest.com/pin/{cid}/"


def _tiktok(pid: str, handle: str, now: float) -> tuple[str, str | None]:
    return f"v_pub_file~v2-1.{ids.digits(19)}", None  # processing: no uri yet


#: Each platform's native-looking (cid, uri) from (platform account id, handle, now).
_LIVE_IDS: dict[str, Callable[[str, str, float], tuple[str, str | None]]] = {
    "bluesky": _bluesky,
    "twitter": _twitter,
    "threads": _threads,
    "linkedin": _linkedin,
    "facebook": _facebook,
    "instagram": _instagram,
    "pinterest": _pinterest,
    "tiktok": _tiktok,
}


def _emulate_live(row: PostRow, account: Account, now: float) -> None:
    """Platform-native-looking uri/cid for a live key (nothing leaves the machine)."""
    platform = row["platform"]
    handle = "".join(ch for ch in account["displayName"].lower() if ch.isalnum()) or "user"
    row["status"] = "publishing" if platform == "tiktok" else "published"
    make = _LIVE_IDS.get(platform)
    if make is not None:
        row["cid"], row["uri"] = make(account["platformAccountId"], handle, now)
