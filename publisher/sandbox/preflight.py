"""What the server checks of a target before it publishes: which account it goes to, the
platform's rules (``rules/limits``, in a cheap and a deep stage) and the posts a reply or
a quote names."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from publisher.rules import limits

from .errors import ApiError, not_found, validation
from .shapes import Account, MediaRef, Options, PostRow, TargetBody, TargetError
from .store import Store, first_comment_of, media_of, options_of

__all__ = ["preflight", "resolve_account", "unknown_reference"]

#: Rules checked elsewhere: request shape by the schema, scheduling by ``create``.
_NOT_PREFLIGHT = ("targets.", "scheduledAt.")
#: The options of a reply or a quote that name one post, per platform.
_SINGLE_REFS = {"twitter": ("replyToTweetId", "quoteTweetId"), "threads": ("replyToId",)}
#: A Bluesky reply's strong refs: (uri option, cid option).
_STRONG_REFS = (("replyToUri", "replyToCid"), ("replyRootUri", "replyRootCid"))

Findings = list[limits.Finding]


def resolve_account(
    accounts: Mapping[str, Account], target: TargetBody, profile_id: str | None
) -> Account:
    """The account a target goes to: the one it names, else the only one of its platform
    (in the request's profile)."""
    account_id, platform = target.get("accountId"), target.get("platform")
    if account_id:
        account = accounts.get(account_id)
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
        for a in accounts.values()
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


def preflight(
    store: Store, row: PostRow, account: Account, stage: str
) -> tuple[Findings, Findings, ApiError | None]:
    """Run one stage of preflight: (errors, warnings, media resolution error)."""
    media, missing = _media_for_check(store, media_of(row), account, deep=stage == "deep")
    if missing:
        return [], [], missing
    findings = [
        f
        for f in limits.check(_content(row, account, media), stage=stage)
        # Only what the server reports; request-shape and scheduling rules are checked
        # by the schema and by ``create`` at their own place in the processing order.
        if f.api and not f.rule.startswith(_NOT_PREFLIGHT)
    ]
    errors = [f for f in findings if f.severity == "error"]
    warnings = [f for f in findings if f.severity != "error"]
    return errors, warnings, None


def _media_for_check(
    store: Store, refs: list[MediaRef], account: Account, *, deep: bool
) -> tuple[tuple[limits.Media, ...], ApiError | None]:
    """``limits.Media`` for each ref; in the deep stage an unknown mediaId is an error."""
    out = []
    for ref in refs:
        mime: str | None = None
        size: int | None = None
        if media_id := ref.get("mediaId"):
            source = "mediaId"
            row = store.media(media_id)
            # Media is scoped to a profile: another profile's media does not resolve.
            if row is None or row["profile_id"] not in (None, account["profileId"]):
                if deep:
                    return (), not_found(f"Media {media_id} not found", "media.unknown")
            else:
                mime, size = row["content_type"], row["size_bytes"]
        elif data := ref.get("bytesBase64"):
            source = "bytes"
            try:
                raw = base64.b64decode(data, validate=False)
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


def _content(row: PostRow, account: Account, media: tuple[limits.Media, ...]) -> limits.Content:
    comment = first_comment_of(row)
    return limits.Content(
        platform=row["platform"],
        text=row["text"] or "",
        media=media,
        first_comment=comment["text"] if comment else None,
        options=options_of(row),
        scheduled=row["scheduled_at"] is not None,
        account=account,
    )


def unknown_reference(store: Store, row: PostRow) -> TargetError | None:
    """The platform's refusal of a reply or quote naming no post it knows, else None.

    A post is known when the value equals a stored published result's cid, its uri,
    or the last path segment of its uri, on the same platform and in the same
    environment (sandbox results exist on no platform; emulated live ones only
    here). A Bluesky strong ref (uri + cid) must name one and the same post.
    """
    opts = options_of(row)
    platform, sandbox = row["platform"], bool(row["sandbox"])
    for key in _SINGLE_REFS.get(platform, ()):
        value = _ref(opts, key)
        if value and not store.known_posts(platform, sandbox, value):
            return _refusal(platform, key, value, "names no post the platform knows")
    if platform != "bluesky":
        return None
    for uri_key, cid_key in _STRONG_REFS:
        uri, cid = _ref(opts, uri_key), _ref(opts, cid_key)
        if not (uri and cid):
            continue
        by_uri = set(store.known_posts(platform, sandbox, uri))
        if not by_uri:
            return _refusal(platform, uri_key, uri, "names no post the platform knows")
        by_cid = set(store.known_posts(platform, sandbox, cid))
        if not by_cid:
            return _refusal(platform, cid_key, cid, "names no post the platform knows")
        if not by_uri & by_cid:
            return _refusal(platform, cid_key, cid, f"is not the cid of the post {uri_key} names")
    return None


def _ref(opts: Options, key: str) -> str | None:
    """A reference option's value (the schema checked it is a string)."""
    value = opts.get(key)
    return value if isinstance(value, str) else None


def _refusal(platform: str, option: str, value: str, why: str) -> TargetError:
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
