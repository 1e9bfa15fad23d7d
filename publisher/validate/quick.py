"""The frontmatter most posts have, accepted without pydantic.

Importing pydantic's models and building `PostFrontmatter`'s validator is most of what
`publisher validate` spends on one post, and validating is a fair part of checking each
post in a plan. `quick_frontmatter` accepts only values that the model accepts as they
are (plain strings, booleans, lists of strings, the common target and media mappings)
and returns them as plain frozen values with the model's field names and defaults
(`QuickPost`, `QuickTarget`, ...), which the checkers read as they read the model; for
anything else, or anything it is not sure of, it returns None and pydantic decides (and
words the errors) as before. tests/validate/test_quick.py holds it to pydantic's answers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from publisher.rules.platforms import PLATFORMS

__all__ = [
    "QuickComment",
    "QuickMedia",
    "QuickPost",
    "QuickSource",
    "QuickTarget",
    "quick_frontmatter",
]


# The models' fields, names and defaults alike (tests hold them to `publisher.model`).
@dataclass(frozen=True)
class QuickMedia:
    path: str | None = None
    url: str | None = None
    alt: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class QuickSource:
    id: str
    url: str | None = None
    feed: str | None = None


@dataclass(frozen=True)
class QuickComment:
    text: str


@dataclass(frozen=True)
class QuickTarget:
    account: str | None = None
    accountId: str | None = None
    platform: str | None = None
    text: str | None = None
    media: list[QuickMedia] | None = None
    firstComment: str | QuickComment | None = None
    options: dict[str, object] | None = None
    langs: list[str] | None = None
    labels: list[str] | None = None
    replies: object | None = None
    quotes: bool | None = None
    card: object | None = None


@dataclass(frozen=True)
class QuickPost:
    id: str | None = None
    targets: list[str | QuickTarget] | None = None
    scheduledAt: dt.datetime | str | None = None
    publishNow: bool | None = None
    thread: str | None = None
    replyTo: str | None = None
    quote: str | None = None
    repost: str | None = None
    firstComment: str | QuickComment | None = None
    media: list[QuickMedia] | None = None
    profileId: str | None = None
    draft: bool = False
    release: dict[str, int] | None = None
    onEdit: str | None = None
    langs: list[str] | None = None
    labels: list[str] | None = None
    replies: object | None = None
    quotes: bool | None = None
    card: object | None = None
    unpublish: bool = False
    meta: dict[str, object] | None = None
    source: QuickSource | None = None
    published: dict[str, object] | None = None
    schema_: str | None = None


class _Unsure(Exception):
    """A value pydantic should judge."""


_set = object.__setattr__


_V = TypeVar("_V")


class _Maker(Generic[_V]):
    """Builds a value from fields already known to be valid: the defaults, then the
    fields given, set straight into its `__dict__` (no `__init__` to call per field)."""

    def __init__(self, cls: type[_V]) -> None:
        self.cls = cls
        self.defaults = {f.name: f.default for f in dataclasses.fields(cls)}  # type: ignore[arg-type]

    def __call__(self, values: dict[str, object]) -> _V:
        value = self.cls.__new__(self.cls)
        data = dict(self.defaults)
        data.update(values)
        _set(value, "__dict__", data)
        return value


_POST_MODEL, _TARGET_MODEL, _MEDIA_MODEL, _SOURCE_MODEL, _COMMENT_MODEL = (
    _Maker(QuickPost),
    _Maker(QuickTarget),
    _Maker(QuickMedia),
    _Maker(QuickSource),
    _Maker(QuickComment),
)


# The model's patterns, on ASCII only: where these match, pydantic's match too
# (its `\S` and `$` differ from Python's on other characters, so those go to it).
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_POST_URL = re.compile(r"(?:https?|at)://[!-~]+")
_HTTP_URL = re.compile(r"https?://[!-~]+")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,99}")
_PLATFORMS = frozenset(PLATFORMS)


def _str(value: object) -> str:
    if type(value) is not str:
        raise _Unsure
    return value


def _text(value: object) -> str:  # NonEmpty
    if type(value) is not str or not value:
        raise _Unsure
    return value


def _bool(value: object) -> bool:
    if type(value) is not bool:
        raise _Unsure
    return value


def _matching(pattern: re.Pattern[str]) -> Callable[[object], str]:
    def check(value: object) -> str:
        if type(value) is not str or not pattern.fullmatch(value):
            raise _Unsure
        return value

    return check


def _strings(value: object) -> list[str]:
    if type(value) is not list or any(type(x) is not str for x in value):
        raise _Unsure
    return list(value)


def _mapping(value: object) -> dict[str, object]:  # dict[str, Any]
    if type(value) is not dict or any(type(k) is not str for k in value):
        raise _Unsure
    return dict(value)


def _anything(value: object) -> object:
    return value


def _choice(*choices: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        if type(value) is not str or value not in choices:
            raise _Unsure
        return value

    return check


def _moment(value: object) -> dt.datetime | str:
    if type(value) is dt.datetime or type(value) is str:
        return value
    raise _Unsure


def _release(value: object) -> dict[str, int]:
    if type(value) is not dict:
        raise _Unsure
    for key, attempt in value.items():
        if type(key) is not str or type(attempt) is not int or attempt < 1:
            raise _Unsure
    return dict(value)


def _first_comment(value: object) -> str | QuickComment:
    if type(value) is dict:
        if set(value) != {"text"}:
            raise _Unsure
        comment: QuickComment = _COMMENT_MODEL({"text": _text(value["text"])})
        return comment
    return _text(value)


def _media_item(value: object) -> QuickMedia:
    fields = _fields(value, _MEDIA)
    if (fields.get("path") is None) == (fields.get("url") is None):
        raise _Unsure
    media: QuickMedia = _MEDIA_MODEL(fields)
    return media


def _media(value: object) -> list[QuickMedia]:
    if type(value) is not list:
        raise _Unsure
    return [_media_item(item) for item in value]


def _target(value: object) -> str | QuickTarget:
    if type(value) is str:
        return _text(value)
    fields = _fields(value, _TARGET)
    account, account_id = fields.get("account"), fields.get("accountId")
    if not (account or account_id or fields.get("platform")) or (account and account_id):
        raise _Unsure
    target: QuickTarget = _TARGET_MODEL(fields)
    return target


def _targets(value: object) -> list[str | QuickTarget]:
    if type(value) is not list or not 1 <= len(value) <= 25:
        raise _Unsure
    return [_target(item) for item in value]


def _platform(value: object) -> str:
    if type(value) is not str or value not in _PLATFORMS:
        raise _Unsure
    return value


def _source(value: object) -> QuickSource:
    fields = _fields(value, _SOURCE, "source")
    if "id" not in fields:
        raise _Unsure
    source: QuickSource = _SOURCE_MODEL(fields)
    return source


_Checks = dict[str, Callable[[object], object]]

_MEDIA: _Checks = {
    "path": _text,
    "url": _matching(_HTTP_URL),
    "alt": _str,
    "kind": _choice("image", "video"),
}
_SOURCE: _Checks = {"id": _text, "url": _matching(_HTTP_URL), "feed": _text}
_TARGET: _Checks = {
    "account": _text,
    "accountId": _matching(_UUID),
    "platform": _platform,
    "text": _text,
    "media": _media,
    "firstComment": _first_comment,
    "options": _mapping,
    "langs": _strings,
    "labels": _strings,
    "replies": _anything,
    "quotes": _bool,
    "card": _anything,
}
# Every key of `PostFrontmatter` (tests hold this table to the model's fields).
_POST: _Checks = {
    "id": _matching(_ID),
    "targets": _targets,
    "scheduledAt": _moment,
    "publishNow": _bool,
    "thread": _choice("auto"),
    "replyTo": _matching(_POST_URL),
    "quote": _matching(_POST_URL),
    "repost": _matching(_POST_URL),
    "firstComment": _first_comment,
    "media": _media,
    "profileId": _matching(_UUID),
    "draft": _bool,
    "release": _release,
    "onEdit": _choice("keep", "repost"),
    "langs": _strings,
    "labels": _strings,
    "replies": _anything,
    "quotes": _bool,
    "card": _anything,
    "unpublish": _bool,
    "meta": _mapping,
    "source": _source,
    "published": _mapping,
    "$schema": _str,
}
# The keys that may not be null (`key:` with nothing after it); every other may.
_NOT_NULL = frozenset({("post", "draft"), ("post", "unpublish"), ("source", "id")})


def _fields(value: object, checks: _Checks, shape: str = "") -> dict[str, object]:
    if type(value) is not dict:
        raise _Unsure
    out: dict[str, object] = {}
    for key, item in value.items():
        check = checks.get(key)
        if check is None:
            raise _Unsure  # an unknown key (or not a string): pydantic names it
        out[key] = None if item is None and (shape, key) not in _NOT_NULL else check(item)
    return out


def quick_frontmatter(data: dict[str, object]) -> QuickPost | None:
    """`PostFrontmatter.model_validate(data)`'s values for the shapes it is sure of,
    else None."""
    try:
        fields = _fields(data, _POST, "post")
    except _Unsure:
        return None
    if "$schema" in fields:
        fields["schema_"] = fields.pop("$schema")
    return _POST_MODEL(fields)
