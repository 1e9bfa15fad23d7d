"""The values the rules read and report: one target's `Content` and its `Media`, a
`Finding` (a broken or advisory rule), a text's `Length` against a limit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Content", "Finding", "Length", "Media"]


@dataclass(frozen=True, slots=True)
class Media:
    """One media item of a target, as far as it is known locally."""

    kind: str  # "image" | "video"
    alt: str | None = None
    mime: str | None = None  # known for local files and uploaded media; None for a URL
    size: int | None = None  # bytes; None when unknown
    source: str = "path"  # "path" | "url" | "mediaId" | "bytes"


@dataclass(frozen=True, slots=True)
class Content:
    """What ONE target will publish, after per-target overrides replaced defaults."""

    platform: str
    text: str | None
    media: tuple[Media, ...] = ()
    first_comment: str | None = None
    options: Mapping[str, object] | None = None  # the target's `options` (with "platform")
    scheduled: bool = False
    account: Mapping[str, object] | None = None  # e.g. {"pinterest": {"defaultBoardId": ...}}


@dataclass(frozen=True, slots=True)
class Finding:
    """One broken (or advisory) rule for one target."""

    rule: str  # API rule id, e.g. "bluesky.text.max_graphemes"
    message: str  # for people: the number, the limit and the unit
    field: str  # "text", "media", "media[2].alt", "media[0]", "firstComment", "options.boardId"
    severity: str = "error"  # "error" | "warning"
    stage: str = "cheap"  # "cheap" (atomic 400) | "deep" (per target inside the 200)
    api: bool = True  # False: publisher's own advice, the letmepost server never reports it


@dataclass(frozen=True, slots=True)
class Length:
    """A text's length against one platform's limit, in that platform's unit."""

    used: int
    limit: int
    unit: str  # "graphemes" | "weighted" | "utf16"

    @property
    def over(self) -> bool:
        return self.used > self.limit
