"""The `published` block's shape as a raw mapping: statuses, key order, the compact
shape written to disk, and what a raw block means for a run (`counts`,
`queued_targets`). Timestamps and web links derived from a record live here too."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Literal, TypedDict, TypeGuard, cast

from publisher.rules.platforms import REGISTRY

if TYPE_CHECKING:
    from publisher.run import Run

__all__ = [
    "DERIVED_KEYS",
    "LIVE_STATUSES",
    "TARGET_ORDER",
    "ErrorDict",
    "PartDict",
    "Status",
    "TargetDict",
    "TargetStatus",
    "as_target",
    "batch_status",
    "block_of",
    "compact_target",
    "counts",
    "direct_record",
    "iso_z",
    "moment",
    "now_iso",
    "queued_targets",
    "same_but_time",
    "targets_of",
    "web_url",
]


class Status(StrEnum):
    """A target's status in the record (the API's post statuses, plus `pending`: a
    request announced in the file whose answer is not recorded yet)."""

    PENDING = "pending"
    QUEUED = "queued"
    VALIDATED = "validated"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"
    REJECTED = "rejected"
    CANCELED = "canceled"
    UNPUBLISHING = "unpublishing"  # unpublish: true, its deletes started (direct Bluesky)
    UNPUBLISHED = "unpublished"  # taken back: deleted, or canceled while queued


LIVE_STATUSES = frozenset({Status.PUBLISHED, Status.PUBLISHING})  # out on the platform

TargetStatus = Literal[
    "pending", "queued", "validated", "publishing", "published", "failed", "rejected", "canceled",
    "unpublishing", "unpublished",
]  # fmt: skip

# The order of a target's keys in the file (unknown keys follow, as found).
TARGET_ORDER = (
    "platform", "account", "status", "hash", "key", "attempt", "postId", "uri", "cid", "url",
    "firstCommentUri", "firstCommentCid", "did", "rkey", "commentRkey", "scheduledAt",
    "fixedHash", "gates", "at", "unpublishedAt",
    "warnings", "error", "parts", "earlier",
)  # fmt: skip


class ErrorDict(TypedDict, total=False):
    """A target's `error`: the API's (or publisher's own) code, message and rule."""

    code: str
    message: str
    rule: str | None


class PartDict(TypedDict, total=False):
    """One later part of a thread as the file holds it (`view.PartRecord` checks it)."""

    status: str
    hash: str
    key: str
    attempt: int
    postId: str
    uri: str
    cid: str
    rkey: str
    at: str
    error: ErrorDict


class TargetDict(PartDict, total=False):
    """A target's record as the file holds it (`view.TargetRecord` checks it); keys
    publisher does not know are kept as found."""

    platform: str
    account: str
    url: str
    firstCommentUri: str
    firstCommentCid: str
    did: str
    commentRkey: str
    scheduledAt: str
    fixedHash: str
    gates: str
    unpublishedAt: str
    replyRoot: str
    warnings: list[str]
    earlier: list[str]
    parts: list[PartDict]


def as_target(raw: Mapping[str, object]) -> TargetDict:
    """A target record of a block that was checked (`view.TargetRecord`: a post whose
    block is not is `published.invalid` and never run; a record restored from git
    history or the letmepost post log is checked the same way when its steps are
    planned), or one the transitions built from their typed arguments. A copy: the
    block it came from is not changed."""
    return cast(TargetDict, dict(raw))


def targets_of(block: Mapping[str, object]) -> dict[str, dict[str, object]]:
    """A raw block's target records that are mappings, by label."""
    targets = block.get("targets")
    if not isinstance(targets, dict):
        return {}
    return {str(k): v for k, v in targets.items() if isinstance(v, dict)}


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def now_iso() -> str:
    """Now, as every timestamp in a record is written: UTC, seconds, a trailing Z."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_z(value: object) -> str | None:
    """A timestamp from elsewhere (the API's ``2026-12-01T09:00:00.123+00:00``) in the
    record's one format; None when it cannot be read."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def moment(value: object) -> dt.datetime:
    """A recorded time (`at`, `updatedAt`) as an aware datetime; what is not one is
    the earliest moment (older than any record)."""
    try:
        found = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return found if found.tzinfo else found.replace(tzinfo=dt.UTC)


def web_url(uri: str | None, platform: str | None = None) -> str | None:
    """A link for people: bsky.app for an at:// post URI, the URI itself when it is
    already a web address."""
    if not uri:
        return None
    if uri.startswith("at://"):
        parts = uri[5:].split("/")
        if len(parts) == 3 and parts[1] == "app.bsky.feed.post":
            return f"https://bsky.app/profile/{parts[0]}/post/{parts[2]}"
        return None
    return uri if uri.startswith(("https://", "http://")) else None


def batch_status(targets: Mapping[str, Mapping[str, object]]) -> str:
    """A record's overall status from its targets' statuses."""
    statuses = {r.get("status") for r in targets.values()}
    if statuses <= LIVE_STATUSES:
        return "published"
    if statuses <= {Status.QUEUED}:
        return "queued"
    if Status.PENDING in statuses:
        return "pending"
    if statuses & (LIVE_STATUSES | {Status.QUEUED}):
        return "partial_failed"
    return "failed"


# ---------------------------------------------------------------- the compact shape

#: Block keys derived from others, not written (older versions wrote them).
DERIVED_KEYS = ("status",)
_NOISE_WARNINGS = frozenset({"sandbox.no_platform_write"})  # `env: sandbox` says it


def compact_target(label: str, rec: Mapping[str, object]) -> dict[str, object]:
    """A target's record without what another field gives (read back by
    `TargetRecord` and `Record` with the same defaults):

    - `url`: the web URL is `web_url(uri)`;
    - `cid` when the URI holds it (the sandbox's URIs end with it; a Bluesky cid is
      not in its at:// URI and stays: replies need it);
    - `platform` when the target is written as that platform's name;
    - `attempt: 1`, the default;
    - `at` once the target is published or canceled (the block's `updatedAt` says when);
    - `key` once the answer is definite (published, queued, canceled): only an
      unanswered (`pending`) or failed request is ever sent again under it;
    - the sandbox's `sandbox.no_platform_write` warning (`env: sandbox` says it).
    """
    out = {k: v for k, v in rec.items() if k != "url"}
    cid, uri = out.get("cid"), out.get("uri")
    if cid and uri and str(cid) in str(uri):
        del out["cid"]
    if out.get("platform") == label:
        del out["platform"]
    if out.get("attempt") == 1:
        del out["attempt"]
    if out.get("status") in (*LIVE_STATUSES, Status.CANCELED):
        out.pop("at", None)
    if out.get("status") in (*LIVE_STATUSES, Status.CANCELED, Status.QUEUED):
        out.pop("key", None)
    found = out.get("warnings")
    warnings = [w for w in found or () if w not in _NOISE_WARNINGS] if _many(found) else []
    if warnings:
        out["warnings"] = warnings
    else:
        out.pop("warnings", None)
    parts = out.get("parts")
    if parts and _many(parts):
        out["parts"] = [compact_target("", p) if isinstance(p, dict) else p for p in parts]
    return out


def _many(value: object) -> TypeGuard[list[object] | tuple[object, ...]]:
    return isinstance(value, list | tuple)


def same_but_time(a: Mapping[str, object], b: Mapping[str, object]) -> bool:
    strip = ("updatedAt",)
    return {k: v for k, v in a.items() if k not in strip} == {
        k: v for k, v in b.items() if k not in strip
    }


# ---------------------------------------------------------------- raw blocks


def block_of(data: Mapping[str, object] | None) -> dict[str, object] | None:
    """The `published` mapping of a frontmatter mapping (None when absent or not one):
    parsed YAML, unchecked (`view.PublishedRecord` is the checked view), which its
    callers narrow (`targets_of`) where they read it."""
    value = (data or {}).get("published")
    return value if isinstance(value, dict) else None


def counts(block: Mapping[str, object] | None, run: Run) -> bool:
    """Whether a raw `published` block counts for `run`."""
    return isinstance(block, Mapping) and run.counts(
        _text(block.get("env")), _text(block.get("api"))
    )


def direct_record(rec: Mapping[str, object]) -> bool:
    """Whether a raw target record is a direct Bluesky one (it names the repository,
    `did`): it counts in every run, whatever letmepost server or environment the
    block was written for."""
    return bool(rec.get("did"))


def queued_targets(
    block: Mapping[str, object] | None, run: Run
) -> list[tuple[str, str | None, str]]:
    """(label, platform, postId) of every queued target of a block that counts for
    `run`: what cancelling the post (a deleted file) must cancel."""
    if not counts(block, run):
        return []
    assert block is not None

    return [
        (
            str(label),
            _text(rec.get("platform")) or (label if label in REGISTRY else None),
            str(rec["postId"]),
        )
        for label, rec in targets_of(block).items()
        if rec.get("status") == Status.QUEUED and rec.get("postId")
    ]
