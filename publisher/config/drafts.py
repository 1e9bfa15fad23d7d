"""`[[feeds]]` and `[release]`: what `publisher draft` reads and how it writes drafts."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TypedDict

from publisher.config.accounts import unknown_target
from publisher.config.values import Account, ConfigError, FeedConfig, ReleaseConfig

__all__ = ["feeds", "release"]


class _DraftFields(TypedDict, total=False):
    """The settings a feed and the release share."""

    template: str
    targets: tuple[str, ...]
    folder: str


def _draft_targets(value: object, where: str, accounts: Mapping[str, Account]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(t, str) and t for t in value):
        raise ConfigError(f"{where}.targets must be a list of alias names")
    names = tuple(str(t) for t in value)
    for name in names:
        hint = unknown_target(name, accounts)
        if hint is not None:
            raise ConfigError(
                f"{where}.targets: {name!r} is not an alias in [accounts], a platform name or "
                f"an account UUID{hint}"
            )
    if len(set(names)) != len(names) or len(names) > 25:
        raise ConfigError(f"{where}.targets: 1 to 25 different targets")
    return names


def _draft_folder(value: object, where: str, key: str = "folder") -> str:
    if (
        not isinstance(value, str)
        or not value
        or Path(value).is_absolute()
        or ".." in Path(value).parts
    ):
        what = "a file" if key == "notes" else "a folder"
        raise ConfigError(f"{where}.{key} must be {what} inside the repository")
    return value


def _draft_template(value: object, where: str) -> str:
    from publisher.drafts.compose import check_template

    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}.template must be a text with placeholders like {{title}}")
    why = check_template(value)
    if why:
        raise ConfigError(f"{where}.template: {why}")
    return value


def _draft_table(
    item: object, where: str, allowed: set[str], accounts: Mapping[str, Account]
) -> tuple[Mapping[str, object], _DraftFields]:
    """The table (checked to be one, without unknown keys) and its checked shared
    settings."""
    if not isinstance(item, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = sorted(set(item) - allowed)
    if unknown:
        from publisher.hints import did_you_mean

        raise ConfigError(
            f"{where}: unknown setting {unknown[0]!r}{did_you_mean(unknown[0], allowed)}"
        )
    out: _DraftFields = {}
    if "template" in item:
        out["template"] = _draft_template(item["template"], where)
    if "targets" in item:
        out["targets"] = _draft_targets(item["targets"], where, accounts)
    if "folder" in item:
        out["folder"] = _draft_folder(item["folder"], where)
    return item, out


def feeds(value: object, where: str, accounts: Mapping[str, Account]) -> tuple[FeedConfig, ...]:
    """`[[feeds]]`, each checked (its URL one publisher may fetch, listed once)."""
    if not isinstance(value, list):
        raise ConfigError(f"{where}: `feeds` must be an array of tables: [[feeds]] url = ...")
    found: list[FeedConfig] = []
    for n, entry in enumerate(value, 1):
        here = f"{where}: feeds[{n}]"
        item, fields = _draft_table(entry, here, {"url", "template", "targets", "folder"}, accounts)
        url = item.get("url")
        if not isinstance(url, str) or not url.strip():
            raise ConfigError(f"{here}.url is missing: the feed's address (RSS, Atom or JSON)")
        from publisher.drafts.fetch import check_feed_url

        why = check_feed_url(url.strip())
        if why:
            raise ConfigError(f"{here}.url: {why}")
        if any(f.url == url.strip() for f in found):
            raise ConfigError(f"{here}.url: the same feed is listed twice")
        found.append(FeedConfig(url=url.strip(), **fields))
    return tuple(found)


def release(value: object, where: str, accounts: Mapping[str, Account]) -> ReleaseConfig | None:
    """`[release]`, when there is one."""
    if value is None:
        return None
    here = f"{where}: release"
    item, fields = _draft_table(value, here, {"template", "targets", "folder", "notes"}, accounts)
    notes = item.get("notes")
    return ReleaseConfig(
        **fields, notes=None if notes is None else _draft_folder(notes, here, "notes")
    )
