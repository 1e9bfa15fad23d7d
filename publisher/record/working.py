"""`Record`: one file's `published` block as a run changes it, through its
transitions (`pending`, `answered`, `failed`, `queued`, `kept`, `superseded`, ...),
each on disk when it returns; `Sending`, `Answer`, `Failure` are their typed
arguments, `Announced` what `pending` hands back."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from publisher.record.block import (
    DERIVED_KEYS,
    LIVE_STATUSES,
    TARGET_ORDER,
    ErrorDict,
    PartDict,
    Status,
    TargetDict,
    as_target,
    block_of,
    compact_target,
    counts,
    direct_record,
    now_iso,
    same_but_time,
    targets_of,
)

if TYPE_CHECKING:
    from publisher.post import Post
    from publisher.run import Run

__all__ = ["Announced", "Answer", "Failure", "Record", "RecordError", "Sending"]


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

    def as_dict(self) -> ErrorDict:
        return {"code": self.code, "rule": self.rule, "message": self.message}

    @classmethod
    def of(cls, value: object) -> Failure | None:
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


class Record:
    """One file's `published` block as a run changes it, and its write-back.

    Starts from the block in the file when it counts for the run (a record of another
    environment is replaced, as before). `save` writes it atomically, in key order,
    with the batch status and `updatedAt` worked out here.
    """

    def __init__(
        self, post: Post, run: Run, on_write: Callable[[str], object] | None = None
    ) -> None:
        self.post, self.run, self.on_write = post, run, on_write
        previous = block_of(post.doc.data) if post.doc else None
        self._targets: dict[str, TargetDict] = {}
        self._media: dict[str, str] = {}
        self._extra: dict[str, object] = {}  # the block's other keys, kept as found
        # The block as the file holds it, in the compact shape: what `save` compares to.
        self._written: dict[str, object] | None = None
        if previous is not None and counts(previous, run):
            self._targets = {k: as_target(v) for k, v in targets_of(previous).items()}
            media = previous.get("media")
            if isinstance(media, dict):
                self._media = {str(k): str(v) for k, v in media.items()}
            self._extra = {k: v for k, v in previous.items() if k not in ("media", "targets")}
            self._written = {
                **{k: v for k, v in previous.items() if k not in DERIVED_KEYS},
                "targets": {k: compact_target(k, v) for k, v in self._targets.items()},
            }
        elif previous is not None:  # another server's block: its direct records still hold
            self._targets = {
                k: as_target(v) for k, v in targets_of(previous).items() if direct_record(v)
            }
        self._batching = 0

    @property
    def media(self) -> dict[str, str]:
        return self._media

    def target(self, label: str) -> TargetDict:
        """A target's record as it is now (read it; change it only through the
        transitions below)."""
        return self._targets.setdefault(label, TargetDict())

    def targets(self) -> dict[str, TargetDict]:
        return self._targets

    def attempt(self, label: str) -> int:
        """How many requests for `label` got an answer (a record without `attempt`
        was written after the first: 1)."""
        rec = self._targets.get(label)
        return int(rec.get("attempt", 1)) if rec and rec.get("status") else 0

    def part(self, label: str, n: int) -> PartDict | None:
        """The record of part `n` of a target's thread (2 = the first reply); part 1
        is the target's own record."""
        if n == 1:
            return self._targets.get(label)
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
        values: dict[str, object] = {
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
                self._keep_only(label, ("platform", "account", "earlier"))
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
        values: dict[str, object] = {
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
        values: dict[str, object] = {
            "status": status,
            "error": failure.as_dict(),
            "at": now_iso(),
        }
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
        self._keep_only(label, ("account", "earlier"))
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
            values: dict[str, object] = {
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

    def restored(self, label: str, raw: Mapping[str, object]) -> None:
        """A target record lost in a bad merge, as git history recorded it."""
        self._targets[label] = TargetDict()
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
        parts: list[PartDict] = [p for p in rec.get("parts") or [] if isinstance(p, dict)]
        first = max(part, 2) - 2
        last = first + 1 if only and part > 1 else len(parts)
        for p in parts[first:last]:
            if p.get("uri") and p.get("status") in (*LIVE_STATUSES, Status.PENDING):
                live.append(str(p["uri"]))
        earlier = [u for u in rec.get("earlier") or [] if u not in live]
        changes: dict[str, object] = {"earlier": [*earlier, *live] or None}
        if part == 1 or not only:
            changes["parts"] = parts[:first] or None
        self._set(label, changes)
        if save:
            self._commit()
        return live

    def forget(self, labels: list[str]) -> None:
        """Drop the records of targets no longer in the post that never went out."""
        for label in labels:
            self._targets.pop(label, None)
        self._commit()

    # -- the one place a record's keys are set -----------------------------------------

    def _keep_only(self, label: str, names: tuple[str, ...]) -> None:
        """A slot's record starts again, keeping only `names`."""
        self._targets[label] = as_target(
            {k: v for k, v in self.target(label).items() if k in names}
        )

    def _set(self, label: str, values: Mapping[str, object]) -> None:
        """Merge `values` into a target's record, in key order; a None value removes
        the key. The values are the transitions' typed arguments, under `TargetDict`'s
        keys (or a record git history holds, checked as the file's are)."""
        plain = {k: str(v) if isinstance(v, StrEnum) else v for k, v in values.items()}
        rec: dict[str, object] = {**self.target(label), **plain}
        ordered = {k: rec[k] for k in TARGET_ORDER if rec.get(k) is not None}
        ordered.update({k: v for k, v in rec.items() if k not in ordered and v is not None})
        self._targets[label] = as_target(ordered)

    def _set_part(
        self, label: str, n: int, values: Mapping[str, object], *, replace: bool = False
    ) -> None:
        parts: list[dict[str, object]] = [dict(p) for p in self.target(label).get("parts") or []]
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

        targets = self._targets
        block: dict[str, object] = {
            "env": str(self.run.env),
            "api": self.run.api,
            "hash": self.post.hash,
            "updatedAt": now_iso(),
        }
        if self._media:
            block["media"] = self._media
        block["targets"] = {
            label: compact_target(label, targets[label])
            for label in sorted(targets, key=self._order)
        }
        for key, value in self._extra.items():
            if key not in block and key not in ("media", "targets", *DERIVED_KEYS):
                block[key] = value
        if self._written is not None and same_but_time(block, self._written):
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
