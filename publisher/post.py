"""A post file -> a validated `Post`: targets resolved, media read, limits checked,
every problem placed at ``path:line:col``.

`load_post` never raises for bad input: it returns a `Post` whose `problems` say
what is wrong, so one bad file never stops the others from being checked.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from publisher import identity
from publisher.config import PLATFORM_NAMES, Account, Config
from publisher.document import Document, DocumentError, LinkedFile, Loc, load_document
from publisher.files import RealPaths
from publisher.hints import did_you_mean
from publisher.model import (
    FRONTMATTER_KEYS,
    MEDIA_KEYS,
    TARGET_KEYS,
    UNION_TAGS,
    UUID_PATTERN,
    PostFrontmatter,
)
from publisher.record import PublishedRecord, release_problem
from publisher.rules import limits

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_UUIDISH = re.compile(r"^[0-9a-fA-F-]{20,}$")
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
SELF_LABELS = ("graphic-media", "nudity", "porn", "sexual")  # = bluesky_pds.SELF_LABELS


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


class _MediaCache:
    """Reads each local media file once, however many posts use it. Entries are keyed
    by the file's size and modification time, so an edited file is read again (watch
    mode keeps one process running)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[Path, int, int], tuple[str, int, str | None]] = {}

    def read(self, path: Path) -> tuple[str, int, str | None]:
        """(sha256 hex, size, sniffed mime) of the file at `path`: sized first (a file
        over `MAX_MEDIA_BYTES` is `MediaTooLarge`, never read), then hashed in chunks
        (memory stays at one chunk, whatever the size)."""
        with open(path, "rb") as fh:  # one open: the size and the bytes are one file's
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise FileNotFoundError(path)  # a folder, a device...: not a media file
            if st.st_size > MAX_MEDIA_BYTES:
                raise MediaTooLarge(st.st_size)
            key = (path, st.st_size, st.st_mtime_ns)
            hit = self._seen.get(key)
            if hit is None:
                digest, size, head = hashlib.sha256(), 0, b""
                while chunk := fh.read(min(_CHUNK, MAX_MEDIA_BYTES + 1 - size)):
                    if not head:
                        head = chunk[:64]
                    digest.update(chunk)
                    size += len(chunk)
                    if size > MAX_MEDIA_BYTES:  # it grew while we read
                        raise MediaTooLarge(size)
                hit = (digest.hexdigest(), size, limits.sniff_mime(head))
                self._seen[key] = hit
        return hit


#: The largest local media file any upload takes (letmepost's POST /v1/media refuses
#: more than 200 MB with 413; a direct Bluesky video is at most 100 MB).
MAX_MEDIA_BYTES = 200 * 1024 * 1024
_CHUNK = 1 << 20


class MediaTooLarge(OSError):
    """A media file over `MAX_MEDIA_BYTES`: refused by its size, before a byte is read."""

    def __init__(self, size: int) -> None:
        super().__init__(f"{size:,} bytes")
        self.size = size


def read_media(path: Path, size: int) -> bytes:
    """The bytes of a media file checked at `size` when the post was read: at most that
    many are read, and a file that changed size since is an OSError."""
    with open(path, "rb") as fh:
        data = fh.read(size + 1)
    if len(data) != size:
        raise OSError(f"{path.name} changed since it was checked ({size:,} bytes then)")
    return data


_MEDIA = _MediaCache()


# A resolved target: (label, platform, account id, the alias's account).
_Who = tuple[str, str | None, str | None, Account | None]


class _Snapshot:
    """What the posts of one run share, looked up once: resolved folders (symlinks
    followed), local media files, and targets written as strings (one configuration
    for the whole run). A single `load_post` gets a fresh one."""

    def __init__(self) -> None:
        self.paths = RealPaths()
        self._media: dict[str, tuple[Path, tuple[str, int, str | None]] | OSError] = {}
        self.targets: dict[str, _Who] = {}  # targets written as strings, resolved

    def media(self, real: str) -> tuple[Path, tuple[str, int, str | None]]:
        """The file at resolved path `real` and its (sha256, size, mime); raises OSError."""
        hit = self._media.get(real)
        if hit is None:
            path = Path(real)
            try:
                hit = (path, _MEDIA.read(path))
            except OSError as exc:
                hit = exc
            self._media[real] = hit
        if isinstance(hit, OSError):
            raise hit.with_traceback(None)
        return hit


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


def load_post(
    path: Path,
    config: Config,
    *,
    now: dt.datetime | None = None,
    snapshot: _Snapshot | None = None,
) -> Post:
    """Read, validate and resolve one post file. Never raises for bad input.

    `load_posts` passes one `snapshot` to all its posts, since they share folders and media."""
    rel = display_path(path, config.root)
    post = Post(path=path, rel=rel)
    snapshot = snapshot or _Snapshot()
    root = snapshot.paths.resolve(str(config.root)).rstrip(os.sep) + os.sep
    real = snapshot.paths.resolve(os.path.dirname(path) or ".") + os.sep  # once per folder
    doc: Document | None = None
    if real.startswith(root):
        try:  # a plain file is read at once; a link is followed only to see where it goes
            doc = load_document(path, rel, follow_links=False)
        except LinkedFile:
            real = os.path.realpath(path)
        except DocumentError as exc:
            post.problems.append(Problem(rel, exc.line, exc.col, exc.code, exc.message))
            return post
    if not real.startswith(root):
        # A link (or a linked folder) out of the repository: its record would be
        # written outside it, where git does not see it.
        post.problems.append(
            Problem(
                rel,
                1,
                1,
                "path.outside_repository",
                f"this post file resolves to {real.rstrip(os.sep)}, outside the repository "
                f"{root.rstrip(os.sep)}: a post "
                "and its record must stay inside it (it is not read, published or written)",
            )
        )
        return post
    if doc is None:  # a link that stays inside the repository
        try:
            doc = load_document(path, rel)
        except DocumentError as exc:
            post.problems.append(Problem(rel, exc.line, exc.col, exc.code, exc.message))
            return post
    post.doc = doc
    _Checker(post, doc, config, now or dt.datetime.now(dt.UTC), snapshot).run()
    return post


_froze = False  # whether the last `load_posts` froze what it read


def load_posts(
    paths: Iterable[Path], config: Config, *, now: dt.datetime | None = None
) -> list[Post]:
    """`load_post` for many files, with one `now` for all of them.

    Python's cyclic garbage collector is paused meanwhile: every post kept adds objects
    that each full collection scans again (a quarter of `plan`'s time on 10,000 posts),
    while what reading creates is acyclic and freed by reference counting anyway."""
    global _froze
    now = now or dt.datetime.now(dt.UTC)
    if _froze:  # what an earlier call froze is collectable again (a process that loads twice)
        gc.unfreeze()
        _froze = False
    paused = gc.isenabled()
    gc.disable()
    snapshot = _Snapshot()
    try:
        return [load_post(path, config, now=now, snapshot=snapshot) for path in paths]
    finally:
        if paused:
            # What was read lives as long as the run: move it out of the collector's
            # generations, or the first collections after this scan all of it again.
            gc.freeze()
            _froze = True
            gc.enable()


_EXTRA_KEYS = ("langs", "labels", "replies", "quotes", "card")


class _Checker:
    def __init__(
        self,
        post: Post,
        doc: Document,
        config: Config,
        now: dt.datetime,
        snapshot: _Snapshot,
    ) -> None:
        self.post, self.doc, self.config, self.now = post, doc, config, now
        self.snapshot = snapshot
        self._media_read: dict[Loc, list[MediaFile]] = {}
        # After a validation error: the original index of each target still checked,
        # and whether `targets` itself was invalid (so neither it nor the defaults apply).
        self._target_index: list[int] | None = None
        self._targets_checked = False
        self._fm_extras: bool | None = None  # whether the post sets any Bluesky extra
        self._reported: set[tuple[Any, ...]] = set()  # each problem once

    def problem(self, loc: Loc, code: str, message: str, severity: str = "error") -> None:
        target = loc[1] if len(loc) > 1 and loc[0] == "targets" and type(loc[1]) is int else None
        if severity == "error":  # shown whenever the post is: place it now
            line, col = self.doc.line_of(loc)
            key: tuple[Any, ...] = (line, col, code, message)
            found = Problem(self.post.rel, line, col, code, message, severity, target=target)
        else:
            key = (loc, code, message, severity)
            doc = self.doc
            found = Problem(
                self.post.rel,
                0,
                0,
                code,
                message,
                severity,
                locate=lambda: doc.line_of(loc),
                target=target,
            )
        if key not in self._reported:
            self._reported.add(key)
            self.post.problems.append(found)

    def run(self) -> None:
        post, doc = self.post, self.doc
        for notice in doc.notices:
            post.problems.append(
                Problem(post.rel, notice.line, notice.col, notice.code, notice.message, "warning")
            )
        data = doc.data
        post.draft = data.get("draft") is True
        try:
            fm = PostFrontmatter.model_validate(data)
        except ValidationError as exc:
            # Report each problem once, then go on checking what is valid (the other
            # targets, media, schedule) so one run shows everything there is to fix.
            fm = self._report_validation(exc)
            if fm is None:
                return
        if fm.published is not None:
            self._writable()
            try:
                post.record = PublishedRecord.model_validate(fm.published)
            except ValidationError as exc:
                first = exc.errors()[0]
                self.problem(
                    ("published", *first["loc"]),
                    "published.invalid",
                    "the `published` block (written by publisher) cannot be read: "
                    f"{first['msg']}; restore it from git rather than editing it",
                )
        self._schedule(fm)
        post.publish_now = fm.publishNow
        post.profile_id = fm.profileId or self.config.profile
        post.on_edit = fm.onEdit or self.config.on_edit
        post.edit_acknowledged = fm.onEdit == "keep"
        post.release = dict(fm.release or {})
        post.reply_to, post.quote = fm.replyTo, fm.quote
        if fm.repost is not None:
            ref = post_ref(fm.repost)
            if ref is None or ref[0] != "bluesky":
                self.problem(
                    ("repost",),
                    "repost.unsupported",
                    f"repost must be a bsky.app post URL or an at:// post URI; got {fm.repost!r}",
                )
            if self.doc.body.strip() or fm.quote or fm.replyTo:
                self.problem(
                    ("repost",),
                    "repost.body",
                    "a repost is the post itself, with nothing of its own: remove the body "
                    "(or write `quote:` instead, to say something about it)",
                )
        post.unpublish = fm.unpublish  # -- Bluesky extras
        self._targets(fm)
        labels = {t.label for t in post.targets} if post.release else set()
        for label, attempt in post.release.items():
            problem = release_problem(label, attempt)
            if problem is not None:
                self.problem(("release", label), "release.invalid", problem)
                continue
            if post.targets and label.split("#part", 1)[0] not in labels:
                self.problem(
                    ("release", label),
                    "release.unknown_target",
                    f"release names {label!r}, which is not one of this post's targets",
                )
        if post.valid and post.targets:
            post.hash = identity.post_hash({t.label: t.hash for t in post.targets})

    def _writable(self) -> None:
        """A file with a `published` block must be one publish can write back to: what
        `apply` checks before sending (`writeback.check_writable`: no YAML anchors, a
        block-style mapping, ...) is an error here already, at its line. Only files
        whose frontmatter could hold such a thing are parsed again."""
        text = self.doc.frontmatter
        if "&" not in text and "*" not in text and "{" not in text[:1]:
            return
        from publisher.writeback import WritebackError, check_writable

        try:
            check_writable(self.doc.raw, path=self.post.rel)
        except WritebackError as exc:
            self.post.problems.append(
                Problem(
                    self.post.rel,
                    exc.line or 1,
                    1,
                    "published.unwritable",
                    f"{exc.reason}; publish could not record its results here",
                    "error",
                )
            )

    # -- pydantic errors as file:line problems --------------------------------------

    def _report_validation(self, exc: Any) -> Any:
        """Report pydantic's errors at their lines, and return the frontmatter with the
        invalid parts left out (None when nothing sensible is left to check)."""
        data = self.doc.data
        bad_keys: set[str] = set()
        bad_targets: set[int] = set()
        for err in exc.errors():
            loc, value = _data_loc(data, err["loc"])
            if loc and isinstance(loc[0], str):
                if loc[0] == "targets" and len(loc) > 1 and isinstance(loc[1], int):
                    bad_targets.add(loc[1])
                else:
                    bad_keys.add(loc[0])
            kind = err["type"]
            if kind == "extra_forbidden":
                key, parent = str(loc[-1]), loc[:-1]
                if parent and parent[0] in ("meta", "published"):
                    continue
                if not parent:
                    choices: tuple[str, ...] = FRONTMATTER_KEYS
                elif "media" in parent:
                    choices = MEDIA_KEYS
                elif parent[0] == "targets":
                    choices = TARGET_KEYS
                else:
                    choices = ()
                self.problem(loc, "key.unknown", f"unknown key {key!r}{did_you_mean(key, choices)}")
            elif loc == ("targets",) and kind in ("too_short", "too_long"):
                count = len(value) if isinstance(value, list) else 0
                for finding in limits.check_target_count(count):
                    self.problem(loc, finding.rule, finding.message)
            elif loc and loc[-1] == "media" and kind == "list_type":
                shown = f" {value!r}" if isinstance(value, str) else ""
                self.problem(
                    loc,
                    "type",
                    f"{_dotted(loc)} should be a valid list of items, each with a `path` (or "
                    f"`url`) and its `alt` text; got {type(value).__name__}{shown}. Write it as:\n"
                    f"  media:\n    - path: {value if isinstance(value, str) else 'img/a.png'}\n"
                    "      alt: what the image shows",
                )
            elif loc and loc[0] == "scheduledAt":
                self.problem(
                    loc,
                    "scheduledAt.format",
                    "scheduledAt must be a date and time with an offset, like "
                    "2026-12-01T09:00:00+01:00 or 2026-12-01T08:00:00Z"
                    + (f", got {type(value).__name__} {value!r}" if value is not None else ""),
                )
            else:
                code = "type" if kind.endswith("_type") else f"value.{kind}"
                self.problem(loc, code, f"{_dotted(loc)}: {_message(err, value)}")

        kept = {k: v for k, v in data.items() if k not in bad_keys}
        if "targets" in kept and bad_targets:
            self._target_index = [i for i in range(len(kept["targets"])) if i not in bad_targets]
            kept["targets"] = [kept["targets"][i] for i in self._target_index]
        if "targets" in bad_keys or (bad_targets and not self._target_index):
            self._targets_checked = True  # reported above: neither resolve nor use defaults
        try:
            return PostFrontmatter.model_validate(kept)
        except ValidationError:
            return None

    # -- schedule --------------------------------------------------------------------

    def _schedule(self, fm: Any) -> None:
        value = fm.scheduledAt
        if value is None:
            return
        moment: dt.datetime | None = None
        if isinstance(value, dt.datetime):
            moment = value
        else:
            try:
                moment = dt.datetime.fromisoformat(value.strip())
            except ValueError as exc:
                # `2027-02-30`: a date's shape, but no such day (or hour) in the calendar
                why = str(exc) if "out of range" in str(exc) or "must be in" in str(exc) else ""
                self.problem(
                    ("scheduledAt",),
                    "scheduledAt.format",
                    f"scheduledAt {value!r} is not a real date and time ({why})"
                    if why
                    else f"scheduledAt {value!r} is not an ISO-8601 date and time "
                    "(like 2026-12-01T09:00:00+01:00)",
                )
                return
        if moment.tzinfo is None or moment.utcoffset() is None:
            self.problem(
                ("scheduledAt",),
                "scheduledAt.timezone",
                "scheduledAt has no timezone, so the moment is ambiguous: add an offset "
                "such as Z or +01:00",
            )
            return
        try:
            moment = moment.astimezone(dt.UTC)
        except OverflowError:
            self.problem(
                ("scheduledAt",),
                "scheduledAt.format",
                f"scheduledAt {value!s} is out of range once converted to UTC",
            )
            return
        self.post.scheduled_at = moment
        if fm.publishNow:
            self.problem(
                ("publishNow",),
                "mode_conflict",
                "publishNow and scheduledAt together: remove one of them",
            )
        record = self.post.record
        went_out = record is not None and any(
            t.status in ("queued", "published", "publishing") for t in record.targets.values()
        )
        if moment < self.now + SCHEDULE_MARGIN and not went_out:
            self.problem(
                ("scheduledAt",),
                "scheduledAt.future",
                f"scheduledAt {iso_z(moment)} is in the past (or less than "
                f"{SCHEDULE_MARGIN.seconds} s away): move it into the future, or remove it "
                "to publish at once",
            )

    # -- targets ---------------------------------------------------------------------

    def _targets(self, fm: Any) -> None:
        if self._targets_checked:
            return
        specs: list[Any] = list(fm.targets) if fm.targets is not None else list(self.config.targets)
        from_config = fm.targets is None
        index = self._target_index or list(range(len(specs)))
        if not specs:
            if self.post.draft:  # a draft in progress: a reminder, never a failed run
                self.problem(
                    ("draft",),
                    "targets.required",
                    "a draft without targets: add `targets: [...]` (or default `targets` in "
                    "publisher.toml) before removing `draft: true`",
                    severity="warning",
                )
                return
            self.problem(
                (),
                "targets.required",
                "no targets: add `targets: [...]` or set default `targets` in publisher.toml",
            )
            return
        thread = [identity.normalize_text(text) for text, _ in self.doc.parts]
        body = thread[0] if thread else identity.normalize_text(self.doc.body)
        scheduled = self.post.scheduled_at is not None
        scheduled_iso = self.post.scheduled_iso
        publish_now = bool(self.post.publish_now)
        labels: dict[str, int] = {}
        for i, spec in zip(index, specs, strict=True):
            loc: Loc = ("targets", i) if not from_config else ()
            who = self._resolve(spec, loc)
            if who is None:
                continue
            label, platform, account_id, account = who
            if label in labels:
                self.problem(
                    loc,
                    "targets.duplicate",
                    f"target {label!r} is listed twice (also item {labels[label] + 1})",
                )
                continue
            labels[label] = i
            over = spec if not isinstance(spec, str) else None
            text = identity.normalize_text(over.text) if over and over.text else body
            media_loc: Loc = (*loc, "media") if over and over.media is not None else ("media",)
            media_specs = over.media if over and over.media is not None else (fm.media or [])
            media = self._media_read.get(media_loc)
            if media is None:
                media = self._media_read[media_loc] = self._media(media_specs, media_loc)
            fc_spec = (
                over.firstComment if over and over.firstComment is not None else fm.firstComment
            )
            first_comment = None
            if fc_spec is not None:
                first_comment = identity.normalize_text(
                    fc_spec if isinstance(fc_spec, str) else fc_spec.text
                )
            options = over.options if over else None
            direct = account is not None and account.direct
            refs: dict[str, str | None] = {}
            if not (over and over.text):  # a target with its own text is a post of its own
                options = self._refs(fm, platform, direct, loc, options)
                if direct:
                    refs = {"reply_to": fm.replyTo, "quote": fm.quote}
            if fm.repost is not None:
                refs["repost"] = fm.repost
                if not direct:
                    self.problem(
                        loc,
                        "repost.direct_only",
                        "a repost goes through a direct Bluesky account "
                        '(`[accounts.me] bluesky = "you.bsky.social"`): letmepost cannot repost',
                    )
            extras = self._bluesky_extras(fm, over, loc, label, direct, bool(media))
            canonical = {
                "account": account_id,
                "platform": platform,
                "direct": f"{account.handle}@{account.pds}" if account and direct else None,
                "text": text,
                "media": [m.canonical() for m in media],
                "firstComment": first_comment,
                "options": dict(options) if options else None,
                "scheduledAt": scheduled_iso,
                "publishNow": publish_now,
                "profileId": self.post.profile_id,
            }
            # A thread's later parts go to every target without a `text` of its own;
            # they are not in the target's hash (parts added later post as replies).
            parts = tuple(thread[1:]) if thread and not (over and over.text) else ()
            if fm.thread == "auto" and not thread and not (over and over.text) and platform:
                from publisher.rules.split import split_text

                pieces = split_text(text, platform)  # where this platform's limit cuts
                text, parts = pieces[0], tuple(pieces[1:])
            where = canonical["direct"] or account_id or platform
            if direct and extras.hashed():  # -- Bluesky extras (the card is not content)
                canonical["bluesky"] = extras.hashed()
            if any(refs.values()):  # what it answers, quotes or reposts is content too
                canonical["refs"] = {k: v for k, v in refs.items() if v}
            target = ResolvedTarget(
                label=label,
                index=i,
                platform=platform,
                account_id=account_id,
                account=account,
                text=text,
                media=tuple(media),
                first_comment=first_comment,
                options=options,
                hash=identity.digest(canonical),
                parts=parts,
                part_hashes=tuple(
                    identity.digest([where, n, part]) for n, part in enumerate(parts, start=2)
                )
                if parts
                else (),
                extras=extras,
                **refs,
            )
            self.post.targets.append(target)
            if parts:
                self._check_thread(target, loc, over)
            if fm.repost is not None:
                pass  # a repost has no text or media of its own: nothing to measure
            elif target.platform:
                self._check_limits(target, loc, over, media_loc, scheduled)
            elif not direct:
                self.problem(
                    loc,
                    "targets.platform.unknown",
                    f"the platform of {target.label!r} is not known locally, so its limits are "
                    'not checked: write the alias as { id = "...", platform = "..." } '
                    "(`publisher accounts` prints it)",
                    "warning",
                )
            if direct:
                self._check_direct(target, media_loc, scheduled)
            if scheduled and first_comment and target.platform in (None, "bluesky"):
                fc_loc = (*loc, "firstComment") if over and over.firstComment else ("firstComment",)
                self.problem(
                    fc_loc,
                    "scheduledAt.no_first_comment",
                    "a scheduled post cannot carry a first comment (the API refuses it): "
                    "remove firstComment or scheduledAt",
                )
        if scheduled and any(t.media for t in self.post.targets):
            self.problem(
                ("scheduledAt",),
                "scheduledAt.media",
                "media on a scheduled post: the API reference says scheduled posts take text "
                "only (the server has accepted media since 2026-06)",
                "warning",
            )

    # -- Bluesky extras (langs, labels, replies, quotes, card, unpublish)

    def _bluesky_extras(
        self, fm: Any, over: Any, loc: Loc, label: str, direct: bool, has_media: bool
    ) -> BlueskyExtras:
        """A target's Bluesky extras (per target, else the post's; `langs` else the
        config's), each value checked at its line. On a letmepost target, what is set
        is a warning there: the API has no field for it, so it is not sent."""
        keys = _EXTRA_KEYS
        if self._fm_extras is None:  # once per post
            self._fm_extras = any(getattr(fm, k) is not None for k in keys)
        if (
            not self._fm_extras
            and not (direct and self.config.langs)
            and (over is None or all(getattr(over, k) is None for k in keys))
        ):
            return NO_EXTRAS  # the common case: nothing set
        values: dict[str, Any] = {}
        for key in keys:
            value = getattr(fm, key)
            where: tuple[str | int, ...] = (key,)
            if over is not None and getattr(over, key) is not None:
                value, where = getattr(over, key), (*loc, key)
            if value is None:
                continue
            checked = self._extra(key, value, where, direct and has_media)
            if checked is None:
                continue
            if not direct:
                self.problem(
                    where,
                    f"{key}.letmepost",
                    f"{label}: `{key}` is set on direct Bluesky posts only (an account in "
                    "publisher.toml with `bluesky = ...`); the letmepost API has no field for "
                    "it, so it is not sent",
                    "warning",
                )
                continue
            values[key] = checked
        if direct and "langs" not in values and self.config.langs:
            values["langs"] = self.config.langs
        return BlueskyExtras(**values) if values else NO_EXTRAS

    def _extra(self, key: str, value: Any, where: Loc, with_media: bool) -> Any:
        """One extra's value as `BlueskyExtras` holds it; None (and an error at its
        line) when it is not usable."""
        if key == "langs":
            from publisher.backends.bluesky_pds import MAX_LANGS, is_lang

            for j, lang in enumerate(value):
                if not is_lang(lang):
                    self.problem(
                        (*where, j),
                        "langs.invalid",
                        f"{lang!r} is not a language tag (BCP 47, like en, de or pt-BR)",
                    )
                    return None
            if len(value) > MAX_LANGS:
                self.problem(
                    where, "langs.too_many", f"{len(value)} languages; Bluesky takes at most 3"
                )
                return None
            return tuple(dict.fromkeys(value))
        if key == "labels":
            for j, name in enumerate(value):
                if name not in SELF_LABELS:
                    self.problem(
                        (*where, j),
                        "labels.unknown",
                        f"unknown label {name!r}{did_you_mean(name, SELF_LABELS)}; self-labels "
                        f"are {', '.join(SELF_LABELS)}",
                    )
                    return None
            return tuple(dict.fromkeys(value))
        if key == "replies":
            rules = [value] if isinstance(value, str) else value
            ok = isinstance(rules, list) and bool(rules) and all(isinstance(r, str) for r in rules)
            if ok and len(rules) == 1:
                ok = rules[0] in REPLY_CHOICES
            elif ok:
                ok = all(r in REPLY_RULES for r in rules) and len(set(rules)) == len(rules)
            if not ok:
                self.problem(
                    where,
                    "replies.invalid",
                    f"replies: {value!r} is not one of {', '.join(REPLY_CHOICES)}, nor a list "
                    f"of {', '.join(REPLY_RULES)}",
                )
                return None
            return tuple(rules)
        if key == "quotes":
            return value
        # card: false, true, or the URL the card shows
        if isinstance(value, bool):
            return value
        if not isinstance(value, str):
            self.problem(
                where,
                "card.invalid",
                f"card: {value!r} should be false (no card) or the http(s) URL the card shows",
            )
            return None
        from urllib.parse import urlsplit

        parts = urlsplit(value.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            self.problem(where, "card.invalid", f"card: {value!r} is not an http(s) URL")
            return None
        if with_media:
            self.problem(
                where,
                "card.media",
                "card: a post with images cannot show a link card too (Bluesky shows one or "
                "the other): remove `card` or the media",
            )
            return None
        return value.strip()

    # -- end of Bluesky extras

    def _resolve(self, spec: Any, loc: Loc) -> _Who | None:
        """Who a target names: (label, platform, account id, alias account); None (and
        a problem reported) when it names no one."""
        known = self.snapshot.targets.get(spec) if isinstance(spec, str) else None
        if known is not None:  # the same string resolved for an earlier post of this run
            return known
        aliases = self.config.accounts
        if isinstance(spec, str):
            name, platform, account_id = spec.strip(), None, None
        else:
            name = spec.account or spec.accountId or spec.platform
            platform, account_id = spec.platform, spec.accountId
            if spec.account and _UUID.match(spec.account):
                account_id = spec.account
            elif spec.account:
                name = spec.account
        account = None
        if account_id or _UUID.match(name):
            account_id = (account_id or name).lower()
            for alias in aliases.values():  # the platform, when an alias names this UUID
                if alias.account_id == account_id and alias.platform:
                    platform = platform or alias.platform
        elif name in aliases:
            account = aliases[name]
            account_id = account.account_id
            if platform and account.platform and platform != account.platform:
                self.problem(
                    loc,
                    "targets.account.platform_mismatch",
                    f"{name!r} is a {account.platform} account, not {platform}",
                )
                return None
            platform = platform or account.platform
        elif name in PLATFORM_NAMES:
            platform = name
        elif _UUIDISH.match(name):
            self.problem(loc, "targets.account.uuid", f"{name!r} is not a valid account UUID")
            return None
        else:
            hint = did_you_mean(name, [*aliases, *PLATFORM_NAMES])
            listed = ", ".join(sorted(aliases)) or "none yet (add them to publisher.toml)"
            self.problem(
                loc,
                "targets.alias.unknown",
                f"unknown target {name!r}{hint}; aliases: {listed}; or use a platform name "
                "or an account UUID",
            )
            return None
        who = (name, platform, account_id, account)
        if isinstance(spec, str):
            self.snapshot.targets[spec] = who
        return who

    def _media(self, specs: list[Any], loc: Loc) -> list[MediaFile]:
        out: list[MediaFile] = []
        if not specs:
            return out
        base: str | None = None  # the post's folder, symlinks resolved
        paths = self.snapshot.paths
        root = os.path.join(paths.resolve(str(self.config.root)), "")
        for j, spec in enumerate(specs):
            item_loc = (*loc, j)
            alt = spec.alt
            if self.config.require_alt and not (alt and alt.strip()):
                self.problem(
                    item_loc,
                    "media.alt.required",
                    "alt text is required: describe the image for people who cannot see it "
                    "(or set require_alt = false in publisher.toml)",
                )
            if spec.url:
                kind = spec.kind or limits.kind_of_mime(
                    limits.mime_from_extension(spec.url.split("?")[0]) or ""
                )
                if kind is None:
                    self.problem(
                        item_loc,
                        "media.kind.required",
                        f"cannot tell whether {spec.url} is an image or a video: add `kind`",
                    )
                    continue
                out.append(MediaFile(kind=kind, alt=alt, url=spec.url))
                continue
            path_loc = (*item_loc, "path")
            if "\x00" in spec.path:
                self.problem(path_loc, "media.path", "media path contains a NUL character")
                continue
            if os.path.isabs(spec.path) or spec.path.startswith("~"):
                self.problem(
                    path_loc, "media.path.absolute", "media paths must be relative to the post file"
                )
                continue
            if base is None:
                base = os.path.dirname(paths.of_file(self.post.path))
            joined = os.path.join(base, spec.path)
            real = paths.resolve(joined)
            if not real.startswith(root):
                how = "a symlink" if os.path.islink(joined) else "via .."
                self.problem(
                    path_loc,
                    "media.path.outside",
                    f"{spec.path} leads outside the repository ({how}); media must live inside it",
                )
                continue
            try:
                target, (sha, size, mime) = self.snapshot.media(real)
            except FileNotFoundError:
                self.problem(
                    path_loc, "media.path.missing", f"media file {spec.path} does not exist"
                )
                continue
            except MediaTooLarge as exc:
                self.problem(
                    path_loc,
                    "media.too_large",
                    f"{spec.path} is {exc.size:,} bytes; no upload takes more than "
                    f"{MAX_MEDIA_BYTES:,} (it was not read)",
                )
                continue
            except OSError as exc:
                self.problem(
                    path_loc, "media.path.unreadable", f"cannot read {spec.path}: {exc.strerror}"
                )
                continue
            mime = mime or limits.mime_from_extension(target.name)
            kind = limits.kind_of_mime(mime or "")
            if kind is None:
                self.problem(
                    path_loc,
                    "media.type",
                    f"{spec.path} is not an image or video we recognise (jpeg, png, gif, webp, mp4, mov)",
                )
                continue
            if spec.kind and spec.kind != kind:
                self.problem(
                    (*item_loc, "kind"),
                    "media.kind.mismatch",
                    f"{spec.path} is a {kind}, not a {spec.kind}",
                )
            out.append(
                MediaFile(
                    kind=kind, alt=alt, path=target, rel=spec.path, mime=mime, size=size, sha256=sha
                )
            )
        return out

    def _check_direct(self, target: ResolvedTarget, media_loc: Loc, scheduled: bool) -> None:
        """What a direct Bluesky account cannot take (it is not the letmepost API)."""
        if scheduled:
            self.problem(
                ("scheduledAt",),
                "scheduledAt.direct_bluesky",
                f"{target.label!r} is a direct Bluesky account, which has no scheduled posts: "
                "remove scheduledAt, or schedule through a letmepost account",
            )
        for j, m in enumerate(target.media):
            if m.url is not None or m.kind != "image":
                self.problem(
                    (*media_loc, j),
                    "bluesky.direct.media",
                    f"{target.label}: a direct Bluesky account takes local image files only "
                    "(`path:`, up to 4)",
                )

    def _refs(self, fm: Any, platform: str | None, direct: bool, loc: Loc, options: Any) -> Any:
        """`replyTo` / `quote` for one target: the options letmepost takes (an X reply
        or quote by status id), or what a direct Bluesky account resolves when it posts;
        a target on another platform than the URL's is refused at its line."""
        if fm.replyTo is None and fm.quote is None:
            return options
        merged = dict(options) if options else {}
        for key in ("replyTo", "quote"):
            url = getattr(fm, key)
            if url is None:
                continue
            ref = post_ref(url)
            if ref is None:
                self.problem(
                    (key,),
                    f"{key}.unsupported",
                    f"{key} must be an x.com / twitter.com status URL, a bsky.app post URL or "
                    f"an at:// post URI; got {url!r}",
                )
                continue
            where, value = ref
            if platform is not None and platform != where:
                name = "an X" if where == "twitter" else "a Bluesky"
                self.problem(
                    loc,
                    f"{key}.platform_mismatch",
                    f"{key} is {name} post, and this target is on {platform}: give it its "
                    f"own `text` (a post of its own), or remove it",
                )
                continue
            if where == "twitter":
                merged["platform"] = "twitter"
                merged["replyToTweetId" if key == "replyTo" else "quoteTweetId"] = value
            elif key == "quote" and not direct:
                self.problem(
                    loc,
                    "quote.bluesky_letmepost",
                    "letmepost cannot quote on Bluesky: quote through a direct Bluesky "
                    'account (`[accounts.me] bluesky = "you.bsky.social"`)',
                )
            elif not direct:
                # A reply needs the parent's uri and cid, read from the author's
                # repository: publisher does that through a direct account's PDS.
                self.problem(
                    loc,
                    "replyTo.bluesky_letmepost",
                    "answering a Bluesky post through letmepost needs its uri and cid, which "
                    "publisher reads through a direct Bluesky account: reply from one "
                    '(`[accounts.me] bluesky = "you.bsky.social"`)',
                )
        return merged or options

    def _check_thread(self, target: ResolvedTarget, loc: Loc, over: Any) -> None:
        """A thread: the platform must take replies, and each part its limits, at the
        part's line; a first comment is a part of its own."""
        from publisher.rules.platforms import REGISTRY

        known = REGISTRY.get(target.platform or "")
        if not target.direct and known is not None and not known.replies:
            self.problem(
                loc,
                "thread.no_replies",
                f"{target.label}: {known.title} cannot take replies, so a thread cannot go "
                "there: give this target its own `text` (a single post), or remove it",
            )
            return
        if target.first_comment is not None:
            fc_loc = (*loc, "firstComment") if over and over.firstComment else ("firstComment",)
            self.problem(
                fc_loc,
                "thread.first_comment",
                "a thread has no first comment: write it as the thread's next part "
                "(after a line holding only '---')",
            )
        if not target.platform:
            return
        label = f"{target.label}: " if target.label != target.platform else f"{target.platform}: "
        lines = [line for _, line in self.doc.parts[1:]] or [self.doc.body_line] * len(target.parts)
        for n, (text, line) in enumerate(zip(target.parts, lines, strict=True), start=2):
            content = limits.Content(platform=target.platform, text=text)
            for finding in limits.check(content):
                if finding.field != "text":
                    continue
                self.post.problems.append(
                    Problem(
                        self.post.rel,
                        line,
                        1,
                        finding.rule,
                        f"{label}part {n}: {finding.message}",
                        finding.severity,
                        target=target.index,
                    )
                )

    def _check_limits(
        self, target: ResolvedTarget, loc: Loc, over: Any, media_loc: Loc, scheduled: bool
    ) -> None:
        for finding in limits.check(target.content(scheduled)):
            if finding.rule == "scheduledAt.no_first_comment":
                continue  # reported once per post, above
            field_name = finding.field
            if field_name == "text":
                where = (*loc, "text") if over and over.text else None
            elif field_name.startswith("media"):
                m = re.match(r"media\[(\d+)\](?:\.(\w+))?", field_name)
                where = (
                    media_loc
                    if not m
                    else (*media_loc, int(m.group(1)), *(["alt"] if m.group(2) == "alt" else []))
                )
            elif field_name.startswith("firstComment"):
                where = (*loc, "firstComment") if over and over.firstComment else ("firstComment",)
            elif field_name.startswith("options"):
                where = (*loc, *field_name.split("."))
            else:
                where = loc
            label = (
                f"{target.label}: " if target.label != target.platform else f"{target.platform}: "
            )
            if where is None:  # the body: point at its first line of text
                body = self.doc.body
                blank = len(body) - len(body.lstrip("\n \t"))
                line, col = self.doc.body_line + body.count("\n", 0, blank), 1
                self.post.problems.append(
                    Problem(
                        self.post.rel,
                        line,
                        col,
                        finding.rule,
                        label + finding.message,
                        finding.severity,
                    )
                )
            else:
                self.problem(where, finding.rule, label + finding.message, finding.severity)


def _data_loc(data: Any, loc: tuple[Any, ...]) -> tuple[Loc, Any]:
    """A pydantic error location as steps into the data (union tags dropped), and the
    value found there (None for a missing or unknown key)."""
    out: list[Any] = []
    current = data
    for step in loc:
        if step in UNION_TAGS:
            continue
        # two branches, so the type checker sees which index type each container takes
        if isinstance(current, dict) and isinstance(step, str) and step in current:  # noqa: SIM114
            current = current[step]
        elif isinstance(current, list) and isinstance(step, int) and 0 <= step < len(current):
            current = current[step]
        elif isinstance(step, str) and step.startswith("function-"):
            continue  # a validator's wrapper, not a step into the data
        else:
            current = None
        out.append(step)
    return tuple(out), current


def _dotted(loc: Loc) -> str:
    text = ""
    for step in loc:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text or "frontmatter"


def _message(err: Mapping[str, Any], value: Any) -> str:
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if err["type"] == "string_pattern_mismatch":
        if (err.get("ctx") or {}).get("pattern") == UUID_PATTERN:
            return f"{value!r} is not a valid UUID (like 6f1c2b9e-4d2a-4c1e-9b7a-0e5d3c2b1a09)"
        return f"{value!r} is not an http(s) URL"
    if err["type"].endswith("_type") and value is not None:
        got = type(value).__name__
        hint = ""
        if isinstance(value, bool):
            hint = " (YAML reads yes/no/on/off/true/false as booleans: put the text in quotes)"
        elif isinstance(value, int | float) and "string" in msg:
            hint = " (YAML read a number: put it in quotes)"
        elif isinstance(value, dt.date) and "string" in msg:
            hint = " (YAML read a date: put it in quotes)"
        msg = (
            f"{msg}, got {got} {value!r}{hint}"
            if not isinstance(value, dict | list)
            else f"{msg}, got a {got}"
        )
    return msg
