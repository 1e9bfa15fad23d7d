"""What a post will look like, per target: the one preview model behind `publisher
watch`'s terminal views, the live page and the Action's summary and PR comment.

The data (`PostPreview`, `TargetPreview`) is built from a `Post` and its `FilePlan`
(`build_preview`); `PostPreview.lines()` renders it as plain lines that each start with
the file path (easy to grep); `publisher.github.render` turns it into Markdown;
`publisher.preview.page` serves it as JSON (`as_dict`).

Everything taken from a post is untrusted: renderers escape it, the page sets it only
as text.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NotRequired, TypedDict
from urllib.parse import quote

import regex

from publisher.plan import Action, FilePlan
from publisher.post import Post, Problem
from publisher.record import web_url
from publisher.report import ACTION_WORDS
from publisher.rules import limits
from publisher.scheduled import calendar

if TYPE_CHECKING:
    from publisher.post import MediaFile, ResolvedTarget
    from publisher.record import TargetRecord

__all__ = [
    "CardJson",
    "MediaJson",
    "MediaPreview",
    "PostJson",
    "PostPreview",
    "ResultJson",
    "TargetJson",
    "TargetPreview",
    "build_preview",
    "problem_targets",
    "segments",
]


# -- the JSON the live page reads (`as_dict`) ---------------------------------------


class MediaJson(TypedDict):
    kind: str
    alt: str | None
    name: str
    src: str | None


class ResultJson(TypedDict):
    """A target's recorded result."""

    status: str
    url: str | None
    uri: str | None
    at: str | None
    error: str | None


class CardJson(TypedDict):
    """A direct Bluesky post's link card; the title and description are filled in by
    the page's hub (`warning` when the page could not be read)."""

    url: str
    title: str | None
    description: str | None
    warning: NotRequired[str]


class LengthJson(TypedDict):
    used: int
    limit: int
    unit: str
    over: bool


class PartJson(TypedDict):
    text: str
    segments: list[tuple[str, str]]
    meter: str


class TargetJson(TypedDict):
    """One target of a post on the live page (`TargetPreview.as_dict`)."""

    label: str
    platform: str | None
    name: str
    text: str
    segments: list[tuple[str, str]]
    length: LengthJson | None
    action: str
    actionWord: str
    reason: str
    media: list[MediaJson]
    firstComment: str | None
    problems: list[dict[str, object]]
    result: ResultJson | None
    inPost: bool
    parts: list[PartJson]
    replyTo: str | None
    quote: str | None
    card: CardJson | None


class PostJson(TypedDict):
    """One post on the live page (`PostPreview.as_dict`)."""

    path: str
    state: str
    scheduledAt: str | None
    note: str
    publishAt: float | None
    updated: float
    calendar: list[dict[str, object]]
    problems: list[dict[str, object]]
    targets: list[TargetJson]


# Links, @mentions (handles may contain dots) and #hashtags, as the platforms see them.
_HIGHLIGHT = regex.compile(
    r"(?P<link>https?://[^\s<>\"']+?)(?=[.,;:!?)\]']*(?:\s|$))"
    r"|(?<![\w@])(?P<mention>@[\p{L}\p{N}_](?:[\p{L}\p{N}_.-]*[\p{L}\p{N}_])?)"
    r"|(?<![\w#&])(?P<tag>#[\p{L}\p{N}_]*\p{L}[\p{L}\p{N}_]*)"
)
_UNIT_SHORT = {"graphemes": "graphemes", "weighted": "weighted", "utf16": "UTF-16 units"}


def segments(text: str) -> list[tuple[str, str]]:
    """``text`` as ``(kind, value)`` runs: kind is text, link, mention or tag.

    >>> segments("Hi @bob.test, see https://x.org. #v2")
    [('text', 'Hi '), ('mention', '@bob.test'), ('text', ', see '), ('link', 'https://x.org'), ('text', '. '), ('tag', '#v2')]
    """
    out: list[tuple[str, str]] = []
    pos = 0
    for m in _HIGHLIGHT.finditer(text):
        if m.start() > pos:
            out.append(("text", text[pos : m.start()]))
        kind = m.lastgroup or "text"
        out.append((kind, m.group(0)))
        pos = m.end()
    if pos < len(text):
        out.append(("text", text[pos:]))
    return out


@dataclass(frozen=True, slots=True)
class MediaPreview:
    kind: str
    alt: str | None
    name: str  # as written in the post (path or URL)
    src: str | None  # the page's URL for a local file (/media/...); None for remote media

    def as_dict(self) -> MediaJson:
        return {"kind": self.kind, "alt": self.alt, "name": self.name, "src": self.src}


@dataclass(frozen=True, slots=True)
class TargetPreview:
    """One target of a post: the final text and what publishing will do (or did)."""

    label: str
    platform: str | None
    text: str
    length: limits.Length | None
    action: str  # the plan's action, or "none" for drafts and invalid posts
    reason: str
    media: tuple[MediaPreview, ...] = ()
    first_comment: str | None = None
    problems: tuple[Problem, ...] = ()
    result: ResultJson | None = None  # the recorded status, url, uri, error
    in_post: bool = True  # False: no longer in the post, but the plan acts on it
    parts: tuple[str, ...] = ()  # a thread: parts 2..n (part 1 is `text`)
    reply_to: str | None = None  # the post this answers (a URL)
    quote: str | None = None  # the post this quotes (a URL)

    # A direct Bluesky post's link card: {"url", "title", "description"}; the title is
    # filled in by whoever may read the page (the live page's hub), never by the page.
    card: CardJson | None = None

    def part_meters(self) -> list[str]:
        """``part 2/3: 120/300 graphemes`` for each later part of a thread."""
        total = len(self.parts) + 1
        out = []
        for n, text in enumerate(self.parts, start=2):
            if self.platform in limits.PLATFORMS:
                used = limits.measure(self.platform, text)
                unit = _UNIT_SHORT[used.unit]
                over = " OVER" if used.over else ""
                out.append(f"part {n}/{total}: {used.used}/{used.limit} {unit}{over}")
            else:
                out.append(f"part {n}/{total}: {limits.graphemes(text)} graphemes")
        return out

    @property
    def name(self) -> str:
        if not self.platform or self.label == self.platform:
            return self.label
        return f"{self.label} ({self.platform})"

    def badge(self) -> str:
        """A word for the card: what publishing will do, else what the target is."""
        if self.action != "none":
            return ACTION_WORDS.get(self.action, self.action)
        if self.result and self.result.get("status"):
            return str(self.result["status"])
        return self.reason.split(":", 1)[0] or "nothing to do"

    def meter(self) -> str:
        """``bluesky 214/300 graphemes`` (``OVER`` appended past the limit)."""
        if not self.in_post:
            return f"{self.name} (no longer in the post)"
        if self.length is None:
            return f"{self.name} {limits.graphemes(self.text)} graphemes (no known limit)"
        unit = _UNIT_SHORT[self.length.unit]
        over = " OVER" if self.length.over else ""
        return f"{self.name} {self.length.used}/{self.length.limit} {unit}{over}"

    def length_text(self) -> str:
        """``bluesky 214/300 graphemes``: the platform's measure (empty for a target no
        longer in the post)."""
        if not self.in_post:
            return ""
        if not self.platform:
            return "unknown platform"
        if self.length is None:
            return f"{self.platform}: no limit known"
        unit = _UNIT_SHORT[self.length.unit]
        return f"{self.platform} {self.length.used}/{self.length.limit} {unit}"

    def media_lines(self) -> list[str]:
        """``image img/launch.png (alt: The banner)`` per media item."""
        return [
            f"{m.kind} {m.name or '?'}" + (f" (alt: {m.alt})" if m.alt else " (no alt text)")
            for m in self.media
        ]

    def as_dict(self) -> TargetJson:
        length: LengthJson | None = None
        if self.length is not None:
            length = {
                "used": self.length.used,
                "limit": self.length.limit,
                "unit": self.length.unit,
                "over": self.length.over,
            }
        return {
            "label": self.label,
            "platform": self.platform,
            "name": self.name,
            "text": self.text,
            "segments": segments(self.text),
            "length": length,
            "action": self.action,
            "actionWord": self.badge(),
            "reason": self.reason,
            "media": [m.as_dict() for m in self.media],
            "firstComment": self.first_comment,
            "problems": [p.as_dict() for p in self.problems],
            "result": self.result,
            "inPost": self.in_post,
            "parts": [
                {"text": text, "segments": segments(text), "meter": meter}
                for text, meter in zip(self.parts, self.part_meters(), strict=True)
            ],
            "replyTo": self.reply_to,
            "quote": self.quote,
            "card": self.card,
        }


@dataclass
class PostPreview:
    """One post file as `watch` shows it."""

    rel: str
    state: str  # the plan's file state (new, draft, invalid, up to date, ...) or "deleted"
    targets: list[TargetPreview] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # not tied to one target
    scheduled_at: str | None = None
    note: str = ""  # what watch itself will do: "publishes when unchanged for 3 s", ...
    publish_at: float | None = None  # wall-clock time (epoch seconds) of the planned publish
    updated: float = field(default_factory=time.time)
    #: this post's rows of the calendar (`publisher.scheduled.calendar`: what
    #: `publisher schedule` lists), UTC; the page merges them into its calendar
    calendar: list[dict[str, object]] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        found = [p for p in self.problems if p.severity == "error"]
        return found + [p for t in self.targets for p in t.problems if p.severity == "error"]

    def lines(self) -> list[str]:
        """Plain lines, each starting with the file path."""
        head = self.state
        if self.scheduled_at:
            head += f", scheduled for {self.scheduled_at}"
        if self.note:
            head += f" · {self.note}"
        out = [f"{self.rel}: {head}"]
        for t in self.targets:
            out += self._target_lines(t)
        shown = [t for t in self.targets if t.in_post]
        texts = {t.text for t in shown}
        for t in shown:
            out += self._text_lines(t, "text" if len(texts) == 1 else f"{t.label} text")
            if len(texts) == 1 and len({tt.parts for tt in shown}) == 1:
                break  # every target shows the same: once is enough
        everything = self.problems + [p for t in self.targets for p in t.problems]
        out += [str(p) for p in sorted(everything, key=lambda p: (p.line, p.col))]
        return out

    def _target_lines(self, t: TargetPreview) -> list[str]:
        """A target's meter, what happens to it and its link; what it answers or quotes."""
        if t.action == "none":
            line = f"{self.rel}: {t.meter()} · {t.reason or 'nothing to do'}"
        else:
            word = ACTION_WORDS.get(t.action, t.action)
            line = f"{self.rel}: {t.meter()} · {word}" + (f" ({t.reason})" if t.reason else "")
        link = (t.result["url"] or t.result["uri"]) if t.result else None
        out = [line + (f" · {link}" if link else "")]
        if t.in_post and t.reply_to:
            out.append(f"{self.rel}: {t.name} replies to {t.reply_to}")
        if t.in_post and t.quote:
            out.append(f"{self.rel}: {t.name} quotes {t.quote}")
        return out

    def _text_lines(self, t: TargetPreview, prefix: str) -> list[str]:
        """What a target posts: its text, media, card, first comment and thread parts."""
        out = [f"{self.rel}: {prefix} | {line}" for line in t.text.splitlines()]
        for m in t.media:
            out.append(f"{self.rel}: {prefix} | [{m.kind} {m.name}: {m.alt or 'no alt text'}]")
        if t.card:
            out.append(f"{self.rel}: {t.label} link card | {t.card['url']}")
        if t.first_comment:
            out.append(f"{self.rel}: {t.label} first comment | {t.first_comment}")
        for text, meter in zip(t.parts, t.part_meters(), strict=True):
            out.append(f"{self.rel}: {t.name} {meter}")
            out += [f"{self.rel}: {t.name} {meter.split(':')[0]} | {x}" for x in text.splitlines()]
        return out

    def as_dict(self) -> PostJson:
        return {
            "path": self.rel,
            "state": self.state,
            "scheduledAt": self.scheduled_at,
            "note": self.note,
            "publishAt": self.publish_at,
            "updated": self.updated,
            "calendar": self.calendar,
            "problems": [p.as_dict() for p in self.problems],
            "targets": [t.as_dict() for t in self.targets],
        }


def build_preview(
    post: Post,
    file_plan: FilePlan,
    *,
    root: Path,
    note: str = "",
    publish_at: float | None = None,
) -> PostPreview:
    """The preview of one loaded post and its plan. ``root`` is the repository root
    (media are served relative to it).

    One `TargetPreview` per target of the post, then one per target the plan still
    acts on that the post no longer names (a queued post to cancel: ``in_post`` is
    False). Each problem goes to the target it is about (`problem_targets`); the rest
    stay with the post."""
    planned = {t.label: t for t in file_plan.targets}
    records = post.record.targets if post.record is not None else {}
    owners = problem_targets(post)
    targets = []
    for t in post.targets:
        tp = planned.get(t.label)
        if tp is not None:
            action, reason = tp.action, tp.reason
        else:
            action, reason = Action.NONE, _why_nothing(file_plan.state)
        length = None
        if t.platform in limits.PLATFORMS:
            length = limits.measure(t.platform, t.text)
        targets.append(
            TargetPreview(
                label=t.label,
                platform=t.platform,
                text=t.text,
                length=length,
                action=action,
                reason=reason,
                media=tuple(_media(m, root) for m in t.media),
                first_comment=t.first_comment,
                problems=tuple(p for p in post.problems if owners.get(p) == t.index),
                result=_result(records.get(t.label)),
                parts=t.parts,
                reply_to=post.reply_to,
                quote=post.quote,
                card=_card(t),
            )
        )
    named = {t.label for t in post.targets}
    for tp in file_plan.targets:
        if tp.label not in named:
            targets.append(
                TargetPreview(
                    label=tp.label,
                    platform=tp.platform,
                    text="",
                    length=None,
                    action=tp.action,
                    reason=tp.reason,
                    result=_result(records.get(tp.label)),
                    in_post=False,
                )
            )
    return PostPreview(
        rel=post.rel,
        state=file_plan.state,
        targets=targets,
        problems=[p for p in post.problems if p not in owners],
        scheduled_at=post.scheduled_iso,
        note=note,
        publish_at=publish_at,
        calendar=[asdict(e) for e in calendar([post])],
    )


def problem_targets(post: Post) -> dict[Problem, int]:
    """The target (its index in ``targets``) each problem of ``post`` is about.

    `Problem` carries no target, so it is worked out from where the problem points:
    a problem at a key or item under ``targets[i]`` (the positions of the document's
    line map) is about target ``i``. A problem about one target's text, media or
    first comment when that value is shared (the body, the top-level ``media``) points
    outside ``targets``; for those alone the checker's ``<label>: `` prefix of the
    message says which target. Problems about the post as a whole are left out.
    """
    if not post.problems:
        return {}
    index_at: dict[tuple[int, int], int] = {}
    if post.doc is not None:
        for loc, pos in post.doc.lines.items():
            if len(loc) >= 2 and loc[0] == "targets" and isinstance(loc[1], int):
                index_at.setdefault(pos, loc[1])
    prefixes = [(f"{t.label}: ", t.index) for t in post.targets]
    owners: dict[Problem, int] = {}
    for p in post.problems:
        index = index_at.get((p.line, p.col))
        if index is None:
            index = next((i for prefix, i in prefixes if p.message.startswith(prefix)), None)
        if index is not None:
            owners[p] = index
    return owners


def _result(rec: TargetRecord | None) -> ResultJson | None:
    if rec is None:
        return None
    return {
        "status": rec.status,
        "url": rec.url or web_url(rec.uri),
        "uri": rec.uri,
        "at": rec.at,
        "error": rec.error.message if rec.error else None,
    }


def _card(t: ResolvedTarget) -> CardJson | None:
    """The link card a direct Bluesky target will show: its URL (no network here)."""
    if not t.direct or t.media:
        return None
    from publisher.clients.linkcard import pick_link

    try:
        link = pick_link(t.text, card=t.extras.card, has_media=False)
    except ValueError:
        return None
    return {"url": link, "title": None, "description": None} if link else None


def _why_nothing(state: str) -> str:
    if state == "draft":
        return "draft"
    if state == "invalid":
        return "invalid: fix the errors first"
    return state


def _media(m: MediaFile, root: Path) -> MediaPreview:
    src = None
    if m.path is not None:
        try:
            src = "/media/" + quote(m.path.relative_to(root).as_posix())
        except ValueError:
            src = None
    return MediaPreview(kind=m.kind, alt=m.alt, name=m.rel or m.url or "", src=src)
