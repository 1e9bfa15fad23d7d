"""A post as publisher knows it once its file is read (`Post`): its resolved targets
(`ResolvedTarget`), media (`MediaFile`) and Bluesky extras, and the problems found
(`Problem`, at ``path:line:col``). `publisher.validate` builds it from a file."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from publisher import identity
from publisher.config import Account
from publisher.document import Document
from publisher.rules import limits

__all__ = [
    "NO_EXTRAS",
    "REPLY_CHOICES",
    "REPLY_RULES",
    "RETRYABLE_CODES",
    "SCHEDULE_MARGIN",
    "BlueskyExtras",
    "MediaFile",
    "Post",
    "Problem",
    "ResolvedTarget",
    "display_path",
    "iso_z",
    "part_hash",
    "post_ref",
]

SCHEDULE_MARGIN = dt.timedelta(seconds=10)
RETRYABLE_CODES = frozenset(
    {"platform_unavailable", "internal_error", "rate_limited", "quota_exceeded", "network"}
)


class Problem:
    """One thing wrong with (or worth knowing about) a post, at ``path:line:col``.

    The line can be worked out on first use (``locate``): a warning about a valid post
    is often never shown, and finding lines means reading the frontmatter once more.
    ``target`` is the index (in ``targets``) of the target a problem is about, when it
    is about one: previews show it with that target."""

    __slots__ = ("_locate", "_pos", "code", "message", "path", "severity", "target")

    def __init__(
        self,
        path: str,
        line: int,
        col: int,
        code: str,
        message: str,
        severity: str = "error",
        *,
        locate: Callable[[], tuple[int, int]] | None = None,
        target: int | None = None,
    ) -> None:
        self.path, self.code, self.message, self.severity = path, code, message, severity
        self.target = target
        self._pos: tuple[int, int] | None = None if locate else (line, col)
        self._locate = locate

    def _where(self) -> tuple[int, int]:
        if self._pos is None:
            assert self._locate is not None
            self._pos, self._locate = self._locate(), None
        return self._pos

    @property
    def line(self) -> int:
        return self._where()[0]

    @property
    def col(self) -> int:
        return self._where()[1]

    def _key(self) -> tuple[Any, ...]:
        return (self.path, *self._where(), self.code, self.message, self.severity)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Problem) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Problem({str(self)!r})"

    def __str__(self) -> str:
        tag = "" if self.severity == "error" else "warning: "
        return f"{self.path}:{self.line}:{self.col}: {tag}{self.code}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "code": self.code,
            "message": self.message,
            "severity": self.severity,
        }


@dataclass(frozen=True, slots=True)
class MediaFile:
    """One media item as it will be sent."""

    kind: str
    alt: str | None
    path: Path | None = None  # absolute path of a local file
    rel: str | None = None  # as written in the post
    url: str | None = None
    mime: str | None = None
    size: int | None = None
    sha256: str | None = None

    def canonical(self) -> list[Any]:
        return [self.sha256 or self.url, self.alt or "", self.kind]

    def limits_media(self) -> limits.Media:
        return limits.Media(
            kind=self.kind,
            alt=self.alt,
            mime=self.mime,
            size=self.size,
            source="path" if self.path else "url",
        )


# -- Bluesky extras (langs, labels, replies, quotes, card, unpublish)
REPLY_CHOICES = ("everyone", "nobody", "following", "followers", "mentioned")
REPLY_RULES = ("following", "followers", "mentioned")  # what a list may combine


@dataclass(frozen=True, slots=True)
class BlueskyExtras:
    """What a direct Bluesky post carries beyond text and media: `langs` and self-
    `labels` on the record, who may reply (a threadgate) and quote (a postgate), and
    its link card (`card`: None or True for the first link, False for none, or a URL).
    The card is read at publish time and is not part of the content hash."""

    langs: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    replies: tuple[str, ...] = ("everyone",)
    quotes: bool = True
    card: bool | str | None = None

    @property
    def threadgate(self) -> bool:
        return self.replies != ("everyone",)

    @property
    def postgate(self) -> bool:
        return not self.quotes

    @property
    def gates(self) -> bool:
        return self.threadgate or self.postgate

    def hashed(self) -> dict[str, Any] | None:
        """What of these is published content (in the target hash), None when nothing
        is set (so the hashes of posts without extras are unchanged)."""
        out: dict[str, Any] = {}
        if self.langs:
            out["langs"] = list(self.langs)
        if self.labels:
            out["labels"] = sorted(self.labels)
        if self.threadgate:
            out["replies"] = sorted(self.replies)
        if self.postgate:
            out["quotes"] = False
        return out or None


NO_EXTRAS = BlueskyExtras()


def part_hash(scope: Any, n: int, text: str) -> str:
    """The hash of a thread's part `n` (2 = the first reply) for one account."""
    return identity.digest([scope, n, text])


# -- end of Bluesky extras


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    label: str  # the target as written: alias, account UUID or platform name
    index: int
    platform: str | None
    account_id: str | None = None
    account: Account | None = None  # for aliases (direct Bluesky accounts among them)
    text: str = ""
    media: tuple[MediaFile, ...] = ()
    first_comment: str | None = None
    options: Mapping[str, Any] | None = None
    hash: str = ""
    #: a thread: the texts of parts 2..n (part 1 is `text`), and the hash of each
    parts: tuple[str, ...] = ()
    part_hashes: tuple[str, ...] = ()
    part_scope: Any = None  # what a part's hash is taken within (`part_hash`)
    extras: BlueskyExtras = field(default_factory=lambda: NO_EXTRAS)  # -- Bluesky extras
    #: what a direct Bluesky account resolves when it posts: the post to answer, quote
    #: or repost (a URL); letmepost targets carry theirs in `options`
    reply_to: str | None = None
    quote: str | None = None
    repost: str | None = None

    @property
    def direct(self) -> bool:
        return self.account is not None and self.account.direct

    @property
    def backend(self) -> str:
        """The backend that publishes to this target (`publisher.backends`): a direct
        Bluesky account's own PDS, else the letmepost API."""
        return "bluesky" if self.direct else "letmepost"

    def part_hash(self, n: int, text: str) -> str:
        """The hash a part with `text` has at position `n` of this target's thread (the
        plan asks it of a recorded part's hash to find a part moved elsewhere)."""
        return part_hash(self.part_scope, n, text)

    def fixed_hash(self, profile_id: str | None) -> str:
        """The hash of what `PATCH /v1/posts/{id}` cannot change on a queued post (all
        but text, media and scheduledAt): when it differs, the post is re-created."""
        return identity.digest(
            [self.account_id, self.platform, self.first_comment, self.options, profile_id]
        )

    def content(self, scheduled: bool) -> limits.Content:
        return limits.Content(
            platform=self.platform or "",
            text=self.text or None,
            media=tuple(m.limits_media() for m in self.media),
            first_comment=self.first_comment,
            options=self.options,
            scheduled=scheduled,
        )

    def api_target(self, media_ids: Mapping[str, str]) -> dict[str, Any]:
        """The target object of a POST /v1/posts body, fully resolved (the API merges
        nothing, so every target carries its own text, media and first comment)."""
        out: dict[str, Any] = {}
        if self.account_id:
            out["accountId"] = self.account_id
        if self.platform and not self.account_id:
            out["platform"] = self.platform
        if self.text:
            out["text"] = self.text
        if self.media:
            items = []
            for m in self.media:
                item: dict[str, Any] = {"kind": m.kind}
                if m.alt:
                    item["altText"] = m.alt
                if m.url:
                    item["url"] = m.url
                else:
                    item["mediaId"] = media_ids.get(m.sha256 or "", f"<upload {m.rel}>")
                items.append(item)
            out["media"] = items
        if self.first_comment and self.platform in (None, "bluesky"):
            out["firstComment"] = {"text": self.first_comment}
        if self.options:
            out["options"] = dict(self.options)
        return out


@dataclass(slots=True)
class Post:
    path: Path
    rel: str
    doc: Document | None = None
    problems: list[Problem] = field(default_factory=list)
    targets: list[ResolvedTarget] = field(default_factory=list)
    draft: bool = False
    scheduled_at: dt.datetime | None = None
    publish_now: bool | None = None
    profile_id: str | None = None
    on_edit: str = "keep"  # keep | repost: what an edit after publishing does
    # `onEdit: keep` written in the file: the edit is known, kept without a notice
    edit_acknowledged: bool = False
    reply_to: str | None = None  # `replyTo:` the post this answers (a URL)
    quote: str | None = None  # `quote:` the post this quotes
    release: dict[str, int] = field(default_factory=dict)  # target -> blocked attempt
    unpublish: bool = False  # -- Bluesky extras: `unpublish: true` takes the post back
    record: Any = None  # PublishedRecord | None
    hash: str | None = None
    #: what makes this file one post (`identity.post_identity`): `id:` or its path
    identity: str = ""

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "error"]

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def scheduled_iso(self) -> str | None:
        return iso_z(self.scheduled_at) if self.scheduled_at else None

    def body(self, targets: list[ResolvedTarget], media_ids: Mapping[str, str]) -> dict[str, Any]:
        """The POST /v1/posts body for `targets` (a subset for retries and added targets)."""
        body: dict[str, Any] = {"targets": [t.api_target(media_ids) for t in targets]}
        if self.scheduled_at:
            body["scheduledAt"] = self.scheduled_iso
        elif self.publish_now:
            body["publishNow"] = True
        if self.profile_id:
            body["profileId"] = self.profile_id
        return body


_X_STATUS = re.compile(
    r"^https?://(?:www\.|mobile\.)?(?:x|twitter)\.com/(?:[A-Za-z0-9_]+|i(?:/web)?)/status/(\d+)"
)
_BSKY_POST = re.compile(
    r"^(?:https?://(?:www\.|staging\.)?bsky\.app/profile/[^/\s]+/post/\w+|at://\S+/app\.bsky\.feed\.post/\w+)"
)


def post_ref(url: str) -> tuple[str, str] | None:
    """(platform, reference) of a post URL: (``twitter``, status id) for an x.com or
    twitter.com status, (``bluesky``, the URL) for a bsky.app post URL or an at:// URI;
    None for anything else."""
    found = _X_STATUS.match(url)
    if found:
        return "twitter", found.group(1)
    if _BSKY_POST.match(url):
        return "bluesky", url
    return None


def iso_z(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def display_path(path: Path, root: Path) -> str:
    """`path` relative to the repository root (as written in reports), else as given."""
    absolute = os.path.abspath(path)  # cheap: no symlinks resolved
    prefix = os.path.join(root, "")
    if absolute.startswith(prefix):
        rel = absolute[len(prefix) :]
        return rel if os.sep == "/" else rel.replace(os.sep, "/")
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)
