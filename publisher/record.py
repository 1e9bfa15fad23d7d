"""The `published` block of a post file: read, written, counted, merged.

Nothing else builds or reads record dicts by hand. The block is written only by
publisher, after every response, as a textual splice (`writeback.update_file`: every
other byte of the file is kept). Its shape::

    published:
      env: live                  # live | sandbox (Run.counts decides what counts)
      api: https://api.letmepost.dev
      hash: sha256:...           # content hash of the whole post when last sent
      status: published          # the batch status, from the targets' (batch_status)
      updatedAt: '2026-11-29T12:00:00Z'
      media: {<sha256>: med_...} # uploaded local files
      targets:
        <label>: {platform, account, status, hash, key, attempt, postId, uri, cid, url,
                  firstCommentUri, ..., at, warnings, error}

Reading is lenient where it must be (unknown keys are kept, so older and newer
versions agree) and strict where a hand edit would do harm: an unknown status, a
wrong type, or a `pending` target without a usable key is an error at its line
(`post.py` reports it as `published.invalid`), never an internal error or an endless
retry.

- `TargetRecord`, `PublishedRecord`: the typed, read-only view a `Post` carries.
- `Record`: one file's block as a run changes it, through its transitions
  (`pending`, `answered`, `failed`, `queued`, `kept`, `superseded`, ...), each on disk
  when it returns; `Sending`, `Answer`, `Failure` are their typed arguments.
- `counts(block, run)`, `queued_targets(block, run)`: what a raw block means for a run.
- `merge_records`, `merge_published`: the union the Action needs after a rebase.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from publisher.rules.platforms import REGISTRY

if TYPE_CHECKING:
    from publisher.run import Run


class _Post(Protocol):
    """What a `Record` needs of its `post.Post` (the record is read by post.py, so it
    does not import it)."""

    path: Path
    rel: str
    hash: str | None
    identity: str
    doc: Any
    targets: Any
    profile_id: str | None

    @property
    def scheduled_iso(self) -> str | None: ...

    def body(self, targets: Any, media_ids: Mapping[str, str]) -> dict[str, Any]: ...


__all__ = [
    "Announced",
    "Answer",
    "Failure",
    "PublishedRecord",
    "Record",
    "Sending",
    "Status",
    "TargetError",
    "TargetRecord",
    "batch_status",
    "block_of",
    "counts",
    "direct_record",
    "merge_published",
    "merge_records",
    "now_iso",
    "queued_targets",
    "release_problem",
    "unite_target",
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


def _usable_key(value: str) -> bool:
    """An Idempotency-Key or record key as publisher writes them: 1-255 printable
    ASCII characters, no spaces (a newline would make every resend fail forever)."""
    return 0 < len(value) <= 255 and value.isascii() and value.isprintable() and " " not in value


_RESENDABLE = frozenset({"pending", "failed", "rejected"})
#: The most attempts a record (or a `release:`) may name: more is a hand edit gone wrong.
MAX_ATTEMPT = 100_000


def release_problem(label: Any, attempt: Any) -> str | None:
    """Why a `release:` entry is not one publisher can honour, or None: a target's
    label, or ``<label>#part<n>`` with n >= 2, and an attempt from 1 to MAX_ATTEMPT."""
    import re

    if not isinstance(label, str) or not label.strip():
        return f"release: {label!r} is not a target's label"
    if "#" in label and not re.fullmatch(r"[^#\s]+#part([2-9]|[1-9][0-9]{1,3})", label):
        return (
            f"release: {label!r} must be a target's label, or `<label>#part<n>` for part n "
            "(2 or more) of a thread"
        )
    if type(attempt) is not int or not 1 <= attempt <= MAX_ATTEMPT:
        return f"release: {label}: the attempt must be a number from 1 to {MAX_ATTEMPT:,}"
    return None


def _check_target(rec: Any) -> None:
    """What the backends index in a target's record without asking: a queued letmepost
    post has the `postId` sync, update and cancel go by; a direct thread's
    `replyRoot` is ``<at:// uri> <cid>``."""
    if rec.status == Status.QUEUED and not rec.postId:
        raise ValueError("a `queued` target needs the `postId` letmepost answered with")
    root = (rec.model_extra or {}).get("replyRoot")
    if root is not None:
        parts = root.split(" ") if isinstance(root, str) else []
        if len(parts) != 2 or not parts[0].startswith("at://") or not parts[1]:
            raise ValueError("`replyRoot` must be the thread root's `<at:// URI> <cid>`")


def _check_resumable(rec: Any, names: tuple[str, ...], what: str) -> None:
    """A hand edit must not make a record unsendable: its keys as publisher writes
    them, and a `pending` one with the key its request went under."""
    if rec.status not in _RESENDABLE:
        return  # settled: its keys are never sent again
    for name in names:
        value = getattr(rec, name)
        if value is not None and not _usable_key(value):
            raise ValueError(f"`{name}` is not a key publisher wrote (1-255 printable ASCII)")
    if rec.status == Status.PENDING and not (rec.key or rec.rkey):
        raise ValueError(f"a `pending` {what} needs the `key` (or `rkey`) it was sent under")


class TargetError(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: str
    message: str = ""
    rule: str | None = None


class PartRecord(BaseModel):
    """One later part of a thread (part 2 is the first reply)."""

    model_config = ConfigDict(extra="allow")
    status: TargetStatus
    hash: str | None = None
    key: str | None = None
    attempt: int = Field(1, ge=0, le=MAX_ATTEMPT)
    postId: str | None = None
    uri: str | None = None
    cid: str | None = None
    rkey: str | None = None
    at: str | None = None
    error: TargetError | None = None

    @model_validator(mode="after")
    def _resumable(self) -> PartRecord:
        _check_resumable(self, ("key", "rkey"), "part")
        return self


class TargetRecord(PartRecord):
    """What one target got (what a part has, and more). Unknown keys are kept, so older
    and newer versions agree."""

    platform: str | None = None
    account: str | None = None
    url: str | None = None  # written by 0.1; `web_url(uri)` gives it
    firstCommentUri: str | None = None
    firstCommentCid: str | None = None
    did: str | None = None
    commentRkey: str | None = None
    scheduledAt: str | None = None
    warnings: list[str] | None = None
    earlier: list[str] | None = None  # URIs of the posts made before a repost
    parts: list[PartRecord] | None = None  # a thread's later parts, in order (part 2 first)
    gates: str | None = None  # direct Bluesky: `pending` while its threadgate/postgate are due
    unpublishedAt: str | None = None  # when `unpublish: true` took it back

    @model_validator(mode="after")
    def _resumable(self) -> TargetRecord:
        _check_resumable(self, ("key", "rkey", "commentRkey"), "target")
        _check_target(self)
        return self


class PublishedRecord(BaseModel):
    model_config = ConfigDict(extra="allow")
    env: Literal["live", "sandbox"] = "live"
    api: str | None = None
    hash: str | None = None
    status: str | None = None  # written by older versions; `batch_status` derives it
    updatedAt: str | None = None
    media: dict[str, str] = Field(default_factory=dict)
    targets: dict[str, TargetRecord] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _defaults_from_labels(self) -> PublishedRecord:
        for label, rec in self.targets.items():  # what the compact shape leaves out
            if rec.platform is None and label in REGISTRY:
                rec.platform = label
            if rec.at is None:
                rec.at = self.updatedAt
        return self


# ---------------------------------------------------------------- transition values


class RecordError(RuntimeError):
    """A transition a correct run never makes (an answer for a request never
    announced): a bug, stopped before it can lose or invent a result."""


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a request did not (certainly) post: the API's error code and rule, or
    publisher's own (`outcome_unknown`, a direct account's codes)."""

    code: str
    message: str = ""
    rule: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "rule": self.rule, "message": self.message}

    @classmethod
    def of(cls, value: Any) -> Failure | None:
        """From an answer's error object (None when it has none)."""
        if not isinstance(value, Mapping) or not value.get("code"):
            return None
        rule = value.get("rule")
        return cls(str(value["code"]), str(value.get("message") or ""), rule and str(rule))


@dataclass(frozen=True, slots=True)
class Sending:
    """What a request goes out under: written as `pending` before it leaves."""

    attempt: int
    hash: str | None = None
    key: str | None = None  # the Idempotency-Key (letmepost)
    rkey: str | None = None  # the record key (direct Bluesky)
    did: str | None = None  # the repository the record key is in
    platform: str | None = None


@dataclass(frozen=True, slots=True)
class Announced:
    """A request whose key is on disk: only `Record.pending` makes one, and what a
    backend sends goes out under its `key` / `rkey`."""

    label: str
    part: int
    key: str | None
    rkey: str | None
    attempt: int


@dataclass(frozen=True, slots=True)
class Answer:
    """What a server (or PDS) made of a request, as the record keeps it. A field left
    None is left as recorded (the error is always replaced)."""

    status: Status
    uri: str | None = None
    cid: str | None = None
    post_id: str | None = None
    account: str | None = None
    platform: str | None = None
    hash: str | None = None
    did: str | None = None
    rkey: str | None = None
    first_comment_uri: str | None = None
    first_comment_cid: str | None = None
    scheduled_at: str | None = None
    fixed_hash: str | None = None
    warnings: tuple[str, ...] = ()
    error: Failure | None = None
    at: str | None = None  # when it happened, if the server says (else now)
    gates_done: bool = False  # a direct post's threadgate and postgate exist


#: A slot whose request is out (or may be): an answer may settle it.
_IN_FLIGHT = frozenset(
    {Status.PENDING, Status.FAILED, Status.REJECTED, Status.QUEUED, Status.PUBLISHING}
)


# ---------------------------------------------------------------- derived values


def now_iso() -> str:
    """Now, as every timestamp in a record is written: UTC, seconds, a trailing Z."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_z(value: Any) -> str | None:
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


def batch_status(targets: Mapping[str, Mapping[str, Any]]) -> str:
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


def compact_target(label: str, rec: Mapping[str, Any]) -> dict[str, Any]:
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
    warnings = [w for w in out.get("warnings") or [] if w not in _NOISE_WARNINGS]
    if warnings:
        out["warnings"] = warnings
    else:
        out.pop("warnings", None)
    if out.get("parts"):
        out["parts"] = [compact_target("", p) if isinstance(p, dict) else p for p in out["parts"]]
    return out


def _same_but_time(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    strip = ("updatedAt",)
    return {k: v for k, v in a.items() if k not in strip} == {
        k: v for k, v in b.items() if k not in strip
    }


# ---------------------------------------------------------------- raw blocks


def block_of(data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The `published` mapping of a frontmatter mapping (None when absent or not one)."""
    value = (data or {}).get("published")
    return value if isinstance(value, dict) else None


def counts(block: Mapping[str, Any] | None, run: Run) -> bool:
    """Whether a raw `published` block counts for `run`."""
    return isinstance(block, Mapping) and run.counts(block.get("env"), block.get("api"))


def direct_record(rec: Mapping[str, Any]) -> bool:
    """Whether a raw target record is a direct Bluesky one (it names the repository,
    `did`): it counts in every run, whatever letmepost server or environment the
    block was written for."""
    return bool(rec.get("did"))


def queued_targets(block: Mapping[str, Any] | None, run: Run) -> list[tuple[str, str | None, str]]:
    """(label, platform, postId) of every queued target of a block that counts for
    `run`: what cancelling the post (a deleted file) must cancel."""
    if not counts(block, run):
        return []
    assert block is not None

    return [
        (
            str(label),
            rec.get("platform") or (label if label in REGISTRY else None),
            str(rec["postId"]),
        )
        for label, rec in (block.get("targets") or {}).items()
        if isinstance(rec, dict) and rec.get("status") == Status.QUEUED and rec.get("postId")
    ]


# ---------------------------------------------------------------- the working copy


class Record:
    """One file's `published` block as a run changes it, and its write-back.

    Starts from the block in the file when it counts for the run (a record of another
    environment is replaced, as before). `save` writes it atomically, in key order,
    with the batch status and `updatedAt` worked out here.
    """

    def __init__(self, post: _Post, run: Run, on_write: Any = None) -> None:
        self.post, self.run, self.on_write = post, run, on_write
        previous = block_of(post.doc.data) if post.doc else None
        data: dict[str, Any] = {}
        if previous is not None and counts(previous, run):
            data = dict(previous)
            data["targets"] = {
                k: dict(v)
                for k, v in (previous.get("targets") or {}).items()
                if isinstance(v, dict)
            }
            data["media"] = dict(previous.get("media") or {})
        elif previous is not None:  # another server's block: its direct records still hold
            direct = {
                k: dict(v)
                for k, v in (previous.get("targets") or {}).items()
                if isinstance(v, dict) and direct_record(v)
            }
            if direct:
                data["targets"] = direct
        self.data = data
        self._batching = 0
        # The block as the file holds it, in the compact shape: what `save` compares to.
        self._written: dict[str, Any] | None = None
        if previous is not None and counts(previous, run):
            self._written = {
                **{k: v for k, v in previous.items() if k not in DERIVED_KEYS},
                "targets": {k: compact_target(k, v) for k, v in data["targets"].items()},
            }

    @property
    def media(self) -> dict[str, str]:
        return self.data.setdefault("media", {})

    def target(self, label: str) -> dict[str, Any]:
        """A target's record as it is now (read it; change it only through the
        transitions below)."""
        return self.data.setdefault("targets", {}).setdefault(label, {})

    def targets(self) -> dict[str, dict[str, Any]]:
        return self.data.get("targets", {})

    def attempt(self, label: str) -> int:
        """How many requests for `label` got an answer (a record without `attempt`
        was written after the first: 1)."""
        rec = self.data.get("targets", {}).get(label)
        return int(rec.get("attempt", 1)) if rec and rec.get("status") else 0

    def part(self, label: str, n: int) -> dict[str, Any] | None:
        """The record of part `n` of a target's thread (2 = the first reply); part 1
        is the target's own record."""
        if n == 1:
            return self.data.get("targets", {}).get(label)
        parts = self.target(label).get("parts") or []
        return parts[n - 2] if 0 <= n - 2 < len(parts) and isinstance(parts[n - 2], dict) else None

    # -- transitions: every change a run makes to a record is one of these ------------
    #
    # Each writes the block to disk before it returns (`save`): what a request goes
    # out under is on disk before the request leaves (`pending`), and an answer is on
    # disk before the next request (`answered`, `failed`, `queued`, `kept`). A post
    # that a new one replaces is never dropped: its URI joins `earlier` (`superseded`).

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Transitions of several targets of one request, written once, when the
        block ends (before the request that follows it leaves)."""
        self._batching += 1
        try:
            yield
        finally:
            self._batching -= 1
            if not self._batching:
                self.save()

    def _commit(self) -> None:
        if not self._batching:
            self.save()

    def pending(
        self,
        label: str,
        sending: Sending,
        *,
        part: int = 1,
        fresh: bool = True,
        gates: bool = False,
        reply_root: str | None = None,
    ) -> Announced:
        """Announce a request before it leaves: the slot (`label`, `part`) becomes
        `pending` under the key (or record key) it goes out under, on disk. `fresh`
        is a new request (a first one, a retry, a repost): whatever the slot already
        made on the platform is `superseded` first; a resend of a recorded request
        (`fresh=False`) keeps the rest of the record."""
        values: dict[str, Any] = {
            "status": Status.PENDING,
            "hash": sending.hash,
            "key": sending.key,
            "rkey": sending.rkey,
            "attempt": sending.attempt,
            "at": now_iso(),
        }
        if part == 1:
            if fresh:
                self.superseded(label, save=False)
                previous = self.target(label)
                kept = {k: previous[k] for k in ("platform", "account", "earlier") if k in previous}
                self.data["targets"][label] = kept
            values.update(
                platform=sending.platform or self.target(label).get("platform"),
                did=sending.did,
                gates="pending" if gates else None,
                replyRoot=reply_root,
                uri=None,
                cid=None,
                url=None,
                error=None,
            )
            self._set(label, values)
        else:
            if fresh:
                self.superseded(label, part, save=False)
                self._set_part(label, part, values, replace=True)
            else:
                self._set_part(label, part, {**values, "error": None})
        self._commit()
        return Announced(label, part, sending.key, sending.rkey, sending.attempt)

    def answered(self, label: str, answer: Answer, *, part: int = 1) -> None:
        """A request's answer: what the server (or PDS) made of the slot. An answer
        that puts a post on the platform (or in the queue) is only taken for a slot
        announced before (`pending`, or a failed or queued request it settles)."""
        current = self.part(label, part) or {}
        if (
            answer.status in (*LIVE_STATUSES, Status.QUEUED, Status.PENDING)
            and current.get("status") not in _IN_FLIGHT
        ):
            raise RecordError(
                f"{label} part {part}: an answer for a request that was never announced"
            )
        values: dict[str, Any] = {
            "status": answer.status,
            "uri": answer.uri,
            "cid": answer.cid,
            "postId": answer.post_id,
            "rkey": answer.rkey,
            "hash": answer.hash,
            "error": answer.error.as_dict() if answer.error else None,
        }
        values = {k: v for k, v in values.items() if v is not None or k == "error"}
        if answer.status != current.get("status") or current.get("status") == Status.PENDING:
            values["at"] = answer.at or now_iso()  # learnt something: when it happened
        if part == 1:
            values.update(
                {
                    k: v
                    for k, v in (
                        ("platform", answer.platform),
                        ("account", answer.account),
                        ("did", answer.did),
                        ("rkey", answer.rkey),
                        ("firstCommentUri", answer.first_comment_uri),
                        ("firstCommentCid", answer.first_comment_cid),
                        ("scheduledAt", answer.scheduled_at),
                        ("fixedHash", answer.fixed_hash),
                        ("warnings", list(answer.warnings) or None),
                    )
                    if v is not None
                }
            )
            if answer.gates_done:
                values["gates"] = None
            if answer.uri:
                values["url"] = None  # derived from the uri (`web_url`)
            self._set(label, values)
        else:
            self._set_part(label, part, values)
        self._commit()

    def failed(
        self,
        label: str,
        failure: Failure,
        *,
        part: int = 1,
        status: Status = Status.FAILED,
        hash: str | None = None,
        platform: str | None = None,
    ) -> None:
        """A request refused or failed, or, for a direct post already out whose
        gates or first comment failed, its extras still due (`status=PENDING`). The
        key stays: a request that may have been stored is resent (or read back)
        under it, never under a new one."""
        values: dict[str, Any] = {"status": status, "error": failure.as_dict(), "at": now_iso()}
        if hash is not None:
            values["hash"] = hash
        if part == 1:
            if platform is not None:
                values["platform"] = platform
            self._set(label, values)
        else:
            self._set_part(label, part, values)
        self._commit()

    def queued(self, label: str, *, hash: str | None, scheduled_at: str | None) -> None:
        """A queued post now holds what the file says (a PATCH was applied)."""
        self._set(label, {"hash": hash, "scheduledAt": scheduled_at, "at": now_iso()})
        self._commit()

    def kept(self, label: str, failure: Failure | None = None) -> None:
        """The post stays as recorded: a change to it was refused (`failure`, noted
        beside it), or nothing about it changed."""
        self._set(label, {"error": failure.as_dict() if failure else None})
        self._commit()

    def canceled(self, label: str, *, unpublished: bool = False) -> None:
        """A queued post cancelled: for good (`unpublish: true`) or to be re-created."""
        if unpublished:
            self._set(label, {"status": Status.UNPUBLISHED, "unpublishedAt": now_iso(), "at": None})
        else:
            self._set(label, {"status": Status.CANCELED, "at": now_iso()})
        self._commit()

    def unpublishing(self, label: str) -> None:
        """`unpublish: true`: on disk before the first delete (a rerun finishes)."""
        self._set(label, {"status": Status.UNPUBLISHING, "at": now_iso()})
        self._commit()

    def unpublished(self, label: str) -> None:
        """Every post the target made is deleted: the current ones and `earlier`."""
        self._set(
            label,
            {
                "status": Status.UNPUBLISHED,
                "unpublishedAt": now_iso(),
                "at": None,
                "error": None,
                "earlier": None,
            },
        )
        self._commit()

    def comment_pending(self, label: str, rkey: str) -> None:
        """A direct post's first comment: its record key on disk before the reply."""
        self._set(label, {"commentRkey": rkey})
        self._commit()

    def uploaded(self, sha256: str, media_id: str) -> None:
        """A media file uploaded: its id, so no run uploads it again."""
        self.media[sha256] = media_id
        self._commit()

    def adopted(self, label: str, posts: Sequence[Answer], *, platform: str | None) -> None:
        """Posts made before publisher (or by another tool), taken as this target's:
        part 1, then its thread's parts. Recorded as they are, never sent again; the
        target had nothing out (`publisher adopt` checks), so nothing is superseded."""
        previous = self.target(label)
        kept = {k: previous[k] for k in ("account", "earlier") if k in previous}
        self.data["targets"][label] = kept
        first, *rest = posts
        self._set(
            label,
            {
                "platform": platform,
                "status": first.status,
                "hash": first.hash,
                "uri": first.uri,
                "cid": first.cid,
                "did": first.did,
                "rkey": first.rkey,
                "at": now_iso(),
            },
        )
        for n, part in enumerate(rest, start=2):
            values = {
                "status": part.status,
                "hash": part.hash,
                "uri": part.uri,
                "cid": part.cid,
                "rkey": part.rkey,
            }
            self._set_part(label, n, values, replace=True)
        self._commit()

    def rehashed(self, label: str, hash: str) -> None:
        """An adopted post whose words differ from the file's (a typo fixed since): its
        hash is its own, so the edit policy decides about the difference."""
        self._set(label, {"hash": hash})
        self._commit()

    def restored(self, label: str, raw: Mapping[str, Any]) -> None:
        """A target record lost in a bad merge, as git history recorded it."""
        self.data.setdefault("targets", {})[label] = {}
        self._set(label, raw)

    def superseded(
        self, label: str, part: int = 1, *, save: bool = True, only: bool = False
    ) -> list[str]:
        """The posts a new one replaces join `earlier`, so the record keeps every post
        it made (and `unpublish` reaches them): from part 1, the whole thread (the
        post, its first comment, every later part); from part `n`, that part and every
        part after it (`only`: that part alone). Their records are dropped from
        `parts`; returns the URIs that joined."""
        rec = self.target(label)
        live: list[str] = []
        if part == 1:
            if rec.get("status") in (*LIVE_STATUSES, Status.PENDING) and rec.get("uri"):
                live.append(str(rec["uri"]))
            if rec.get("firstCommentUri"):
                live.append(str(rec["firstCommentUri"]))
        parts = [p for p in rec.get("parts") or [] if isinstance(p, dict)]
        first = max(part, 2) - 2
        last = first + 1 if only and part > 1 else len(parts)
        for p in parts[first:last]:
            if p.get("uri") and p.get("status") in (*LIVE_STATUSES, Status.PENDING):
                live.append(str(p["uri"]))
        earlier = [u for u in rec.get("earlier") or [] if u not in live]
        changes: dict[str, Any] = {"earlier": [*earlier, *live] or None}
        if part == 1 or not only:
            changes["parts"] = parts[:first] or None
        self._set(label, changes)
        if save:
            self._commit()
        return live

    def forget(self, labels: list[str]) -> None:
        """Drop the records of targets no longer in the post that never went out."""
        for label in labels:
            self.data.get("targets", {}).pop(label, None)
        self._commit()

    # -- the one place a record's keys are set -----------------------------------------

    def _set(self, label: str, values: Mapping[str, Any]) -> None:
        """Merge `values` into a target's record, in key order; a None value removes
        the key."""
        plain = {k: str(v) if isinstance(v, StrEnum) else v for k, v in values.items()}
        rec = {**self.target(label), **plain}
        ordered = {k: rec[k] for k in TARGET_ORDER if rec.get(k) is not None}
        ordered.update({k: v for k, v in rec.items() if k not in ordered and v is not None})
        self.data["targets"][label] = ordered

    def _set_part(
        self, label: str, n: int, values: Mapping[str, Any], *, replace: bool = False
    ) -> None:
        parts = [dict(p) for p in self.target(label).get("parts") or []]
        while len(parts) < n - 1:
            parts.append({})
        plain = {k: str(v) if isinstance(v, StrEnum) else v for k, v in values.items()}
        merged = plain if replace else {**parts[n - 2], **plain}
        order = {k: i for i, k in enumerate(TARGET_ORDER)}
        kept = {k: v for k, v in merged.items() if v is not None}
        parts[n - 2] = dict(sorted(kept.items(), key=lambda kv: order.get(kv[0], len(order))))
        self._set(label, {"parts": parts})

    def save(self) -> None:
        """Write the block, in its compact shape, when it says anything new: a run
        that learns nothing writes nothing (not even a newer `updatedAt`)."""
        from publisher.writeback import update_file

        targets = self.data.get("targets", {})
        block: dict[str, Any] = {
            "env": str(self.run.env),
            "api": self.run.api,
            "hash": self.post.hash,
            "updatedAt": now_iso(),
        }
        if self.data.get("media"):
            block["media"] = self.data["media"]
        block["targets"] = {
            label: compact_target(label, targets[label])
            for label in sorted(targets, key=self._order)
        }
        for key, value in self.data.items():
            if key not in block and key not in ("media", "targets", *DERIVED_KEYS):
                block[key] = value
        if self._written is not None and _same_but_time(block, self._written):
            return
        update_file(self.post.path, block)
        self._written = block
        if self.on_write is not None:
            self.on_write(self.post.rel)

    def _order(self, label: str) -> tuple[int, str]:
        for t in self.post.targets:
            if t.label == label:
                return (t.index, label)
        return (10_000, label)


# ---------------------------------------------------------------- merging


def _moment(value: Any) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _pick_target(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """The better of two records of one target: the one with a uri, else the newer;
    for the same post, its thread parts and earlier URIs are united (a part one side
    recorded is never lost)."""
    if bool(ours.get("uri")) != bool(theirs.get("uri")):
        return ours if ours.get("uri") else theirs
    if ours.get("uri") and (ours.get("uri"), ours.get("status")) == (
        theirs.get("uri"),
        theirs.get("status"),
    ):
        parts = _merge_parts(ours.get("parts") or [], theirs.get("parts") or [])
        earlier = [*(theirs.get("earlier") or [])]
        earlier += [u for u in ours.get("earlier") or [] if u not in earlier]
        if parts == (theirs.get("parts") or []) and earlier == (theirs.get("earlier") or []):
            return theirs  # the same result: keep the remote's bytes
        merged = {**theirs, "parts": parts} if parts else dict(theirs)
        if earlier:
            merged["earlier"] = earlier
        return merged
    return ours if _moment(ours.get("at")) > _moment(theirs.get("at")) else theirs


def unite_target(mine: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """`mine` with what `other` (a record of the same post) knows and `mine` lost:
    its thread parts (a part `mine` lacks, or has with no uri) and earlier URIs."""
    parts = _merge_parts(other.get("parts") or [], mine.get("parts") or [])
    earlier = list(mine.get("earlier") or [])
    earlier += [u for u in other.get("earlier") or [] if u not in earlier]
    out = dict(mine)
    if parts:
        out["parts"] = parts
    if earlier:
        out["earlier"] = earlier
    return out


def _merge_parts(ours: list[Any], theirs: list[Any]) -> list[Any]:
    """Part by part, the record with a uri (else the remote's)."""
    out = []
    for i in range(max(len(ours), len(theirs))):
        mine = ours[i] if i < len(ours) and isinstance(ours[i], dict) else None
        remote = theirs[i] if i < len(theirs) and isinstance(theirs[i], dict) else None
        if remote is None or (mine is not None and mine.get("uri") and not remote.get("uri")):
            out.append(mine if mine is not None else {})
        else:
            out.append(remote)
    return out


def merge_records(
    ours: dict[str, Any] | None, theirs: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Merge two ``published`` records of one post, so no result is lost.

    Targets are united; for a target both record, the one with a ``uri`` wins, else the
    newer ``at``; an identical result keeps the remote's. Returns ``theirs`` itself
    (the same object) when ours adds nothing.
    """
    if ours is None or theirs is None:
        return theirs if ours is None else ours
    if ours.get("env", "live") != theirs.get("env", "live"):
        return ours if ours.get("env", "live") == "live" else theirs
    their_targets = {k: v for k, v in (theirs.get("targets") or {}).items() if isinstance(v, dict)}
    targets = dict(their_targets)
    for label, rec in (ours.get("targets") or {}).items():
        if isinstance(rec, dict):
            targets[label] = _pick_target(rec, targets[label]) if label in targets else rec
    media = {**(ours.get("media") or {}), **(theirs.get("media") or {})}
    if targets == their_targets and media == (theirs.get("media") or {}):
        return theirs
    newer = ours if _moment(ours.get("updatedAt")) > _moment(theirs.get("updatedAt")) else theirs
    merged = {k: v for k, v in theirs.items() if k not in DERIVED_KEYS}
    merged.update(hash=newer.get("hash"), updatedAt=newer.get("updatedAt"), targets=targets)
    if media:
        merged["media"] = media
    return merged


def committed_blocks(versions: Mapping[Any, list[bytes]]) -> dict[str, list[dict[str, Any]]]:
    """The `published` blocks of committed versions of post files (from
    `git.committed_versions`), per path as `Post.rel` says it is given in the
    mapping's keys, newest first; versions that cannot be read are skipped."""
    from publisher.document import DocumentError, parse_document

    out: dict[str, list[dict[str, Any]]] = {}
    for rel, raws in versions.items():
        for raw in raws:
            try:
                block = block_of(parse_document(raw, str(rel)).data)
            except DocumentError:
                continue
            if block is not None:
                out.setdefault(str(rel), []).append(block)
    return out


def merge_published(path: str, ours: bytes, theirs: bytes) -> bytes:
    """``merge_file`` callback for :func:`publisher.git.push_with_retry`.

    Both versions' ``published`` records are merged and written onto the remote's
    version of the file, so the remote's other edits are kept. Raises when either
    side cannot be read as a post (the push then fails cleanly).
    """
    from publisher.document import parse_document
    from publisher.writeback import set_published

    mine = block_of(parse_document(ours, path).data)
    remote = block_of(parse_document(theirs, path).data)
    merged = merge_records(mine, remote)
    if merged is remote:
        return theirs
    return set_published(theirs, merged, path=path)
