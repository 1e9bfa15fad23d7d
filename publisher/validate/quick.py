"""The frontmatter most posts have, accepted without building pydantic's validator.

Building `PostFrontmatter`'s validator is most of what `publisher validate` spends on one
post after its imports, and validating is a fair part of checking each post in a plan.
`quick_frontmatter` accepts only values that the model accepts as they are (plain
strings, booleans, lists of strings, the common target and media mappings) and builds the
same model from them as `model_construct` would; for anything else, or anything it is not
sure of, it returns None and pydantic decides (and words the errors) as before.
tests/validate/test_quick.py holds it to pydantic's answers.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from publisher.model import (
    FirstCommentSpec,
    MediaSpec,
    PostFrontmatter,
    SourceSpec,
    TargetSpec,
)
from publisher.rules.platforms import PLATFORMS

__all__ = ["quick_frontmatter"]


class _Unsure(Exception):
    """A value pydantic should judge."""


_set = object.__setattr__


class _Maker:
    """Builds a model from values already known to be valid, as `model_construct` does
    (the same `__dict__`, set fields, no extra, no private attributes), without asking
    every field for its default on every call: they are read once here. A model this
    cannot build alike (default factories, mutable defaults, post-init hooks, private
    attributes, extra keys kept) turns the quick path off."""

    def __init__(self, cls: type[BaseModel]) -> None:
        self.cls = cls
        fields = cls.__pydantic_fields__
        self.defaults = {name: f.default for name, f in fields.items()}
        self.usable = (
            not cls.__pydantic_post_init__
            and not cls.__private_attributes__
            and not cls.__pydantic_root_model__
            and cls.model_config.get("extra") != "allow"
            and all(
                f.is_required() or (f.default_factory is None and f.default in (None, False))
                for f in fields.values()
            )
        )

    def __call__(self, values: dict[str, object]) -> Any:
        model = self.cls.__new__(self.cls)
        data = dict(self.defaults)  # in the fields' order, as pydantic keeps them
        data.update(values)
        _set(model, "__dict__", data)
        _set(model, "__pydantic_fields_set__", set(values))
        _set(model, "__pydantic_extra__", None)
        _set(model, "__pydantic_private__", None)
        return model


_POST_MODEL, _TARGET_MODEL, _MEDIA_MODEL, _SOURCE_MODEL, _COMMENT_MODEL = (
    _Maker(PostFrontmatter),
    _Maker(TargetSpec),
    _Maker(MediaSpec),
    _Maker(SourceSpec),
    _Maker(FirstCommentSpec),
)
_USABLE = all(
    m.usable for m in (_POST_MODEL, _TARGET_MODEL, _MEDIA_MODEL, _SOURCE_MODEL, _COMMENT_MODEL)
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


def _first_comment(value: object) -> str | FirstCommentSpec:
    if type(value) is dict:
        if set(value) != {"text"}:
            raise _Unsure
        comment: FirstCommentSpec = _COMMENT_MODEL({"text": _text(value["text"])})
        return comment
    return _text(value)


def _media_item(value: object) -> MediaSpec:
    fields = _fields(value, _MEDIA)
    if (fields.get("path") is None) == (fields.get("url") is None):
        raise _Unsure
    media: MediaSpec = _MEDIA_MODEL(fields)
    return media


def _media(value: object) -> list[MediaSpec]:
    if type(value) is not list:
        raise _Unsure
    return [_media_item(item) for item in value]


def _target(value: object) -> str | TargetSpec:
    if type(value) is str:
        return _text(value)
    fields = _fields(value, _TARGET)
    account, account_id = fields.get("account"), fields.get("accountId")
    if not (account or account_id or fields.get("platform")) or (account and account_id):
        raise _Unsure
    target: TargetSpec = _TARGET_MODEL(fields)
    return target


def _targets(value: object) -> list[str | TargetSpec]:
    if type(value) is not list or not 1 <= len(value) <= 25:
        raise _Unsure
    return [_target(item) for item in value]


def _platform(value: object) -> str:
    if type(value) is not str or value not in _PLATFORMS:
        raise _Unsure
    return value


def _source(value: object) -> SourceSpec:
    fields = _fields(value, _SOURCE, "source")
    if "id" not in fields:
        raise _Unsure
    source: SourceSpec = _SOURCE_MODEL(fields)
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


def quick_frontmatter(data: dict[str, object]) -> PostFrontmatter | None:
    """`PostFrontmatter.model_validate(data)` for the shapes it is sure of, else None."""
    if not _USABLE:
        return None
    try:
        fields = _fields(data, _POST, "post")
    except _Unsure:
        return None
    if "$schema" in fields:
        fields["schema_"] = fields.pop("$schema")
    post: PostFrontmatter = _POST_MODEL(fields)
    return post
