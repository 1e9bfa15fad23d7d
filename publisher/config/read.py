"""Finding and reading the configuration: the repository root, `publisher.toml` or
`[tool.publisher]` in `pyproject.toml` (read bounded), and the top-level settings
turned into a `Config`."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

from publisher.config import checks
from publisher.config.accounts import account, unknown_target
from publisher.config.drafts import feeds, release
from publisher.config.values import (
    CONFIG_FILE,
    DEFAULT_API_URL,
    MAX_CONFIG_BYTES,
    UUID_RE,
    Account,
    Config,
    ConfigError,
)

__all__ = ["find_root", "head_bytes", "load_config", "repository_of"]

_KEYS = {
    "posts",
    "api_url",
    "profile",
    "targets",
    "require_alt",
    "on_edit",
    "accounts",
    "allow_repost",
    "langs",
    "feeds",
    "release",
    "platforms",
    "fetch_allow",
}

_T = TypeVar("_T")
_D = TypeVar("_D")


def find_root(start: Path) -> Path:
    """The repository root: the nearest folder with publisher.toml, a pyproject.toml with
    [tool.publisher], or .git; else `start`. The folders are those of the path as
    written (a linked folder inside a repository belongs to that repository, wherever
    the link points); the answer is resolved."""
    return repository_of(start) or Path(os.path.abspath(start)).resolve()


def repository_of(start: Path) -> Path | None:
    """The root `find_root` finds, or None when no folder above `start` is one."""
    start = Path(os.path.abspath(start))
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder.resolve()
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and b"[tool.publisher" in head_bytes(pyproject):
            return folder.resolve()
        if (folder / ".git").exists():
            return folder.resolve()
    return None


def load_config(root: Path | None = None, path: Path | None = None) -> Config:
    """Load the configuration for the repository at `root` (found from the cwd when None)."""
    if path is not None:
        root = root or path.resolve().parent
        return _from_table(_read_toml(path), root.resolve(), path)
    root = find_root(root or Path.cwd())
    toml_file = root / CONFIG_FILE
    if toml_file.is_file():
        return _from_table(_read_toml(toml_file), root, toml_file)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        tool = _read_toml(pyproject).get("tool", {})
        if not isinstance(tool, dict):
            raise ConfigError(f"{pyproject}: `tool` must be a table")
        table = tool.get("publisher")
        if table is not None:
            if not isinstance(table, dict):
                raise ConfigError(f"{pyproject}: [tool.publisher] must be a table")
            return _from_table(table, root, pyproject)
    return Config(root=root)


def head_bytes(path: Path) -> bytes:
    """The first MAX_CONFIG_BYTES of a file (b"" when it cannot be read)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(MAX_CONFIG_BYTES)
    except OSError:
        return b""


def _read_toml(path: Path) -> dict[str, object]:
    from publisher.files import read_bounded

    try:
        return tomllib.loads(read_bounded(path, MAX_CONFIG_BYTES).decode("utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None


def _setting(
    table: Mapping[str, object], key: str, kind: type[_T], default: _D, where: str
) -> _T | _D:
    """`table[key]` when it is a `kind`, `default` when it is not set."""
    if key not in table:
        return default
    value = table[key]
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: `{key}` must be a {kind.__name__}")
    return value


def _from_table(table: Mapping[str, object], root: Path, source: Path) -> Config:
    where = str(source)
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        from publisher.hints import did_you_mean

        raise ConfigError(
            f"{where}: unknown setting {unknown[0]!r}{did_you_mean(unknown[0], _KEYS)}"
        )
    posts = _setting(table, "posts", str, "posts", where)
    if Path(posts).is_absolute() or ".." in Path(posts).parts:
        raise ConfigError(f"{where}: `posts` must be a folder inside the repository")
    api_url = _setting(table, "api_url", str, DEFAULT_API_URL, where)
    checks.check_url(api_url, f"{where}: `api_url`")
    profile = _setting(table, "profile", str, None, where)
    if profile is not None and not UUID_RE.match(profile):
        raise ConfigError(f"{where}: `profile` must be a UUID")
    targets = _targets(table, where)
    accounts = {
        alias: account(alias, value, where)
        for alias, value in _setting(table, "accounts", dict, {}, where).items()
    }
    _check_targets(targets, accounts, where)
    return Config(
        root=root,
        source=source,
        posts=posts,
        api_url=api_url,
        profile=profile,
        targets=targets,
        require_alt=_setting(table, "require_alt", bool, True, where),
        on_edit=checks.on_edit(_setting(table, "on_edit", str, "keep", where), where),
        accounts=accounts,
        langs=checks.langs(table.get("langs", []), where),
        feeds=feeds(table.get("feeds", []), where, accounts),
        release=release(table.get("release"), where, accounts),
        platforms=checks.platforms(table.get("platforms"), where),
        fetch_allow=checks.fetch_allow(table.get("fetch_allow", []), where),
    )


def _targets(table: Mapping[str, object], where: str) -> tuple[str, ...]:
    """`targets`: the default targets' names (checked against the accounts later)."""
    value = _setting(table, "targets", list, [], where)
    if not all(isinstance(t, str) and t for t in value):
        raise ConfigError(f"{where}: `targets` must be a list of alias names")
    return tuple(str(t) for t in value)


def _check_targets(targets: tuple[str, ...], accounts: Mapping[str, Account], where: str) -> None:
    """Every default target names an alias, a platform or an account, once; 25 at most."""
    for name in targets:
        hint = unknown_target(name, accounts)
        if hint is not None:
            raise ConfigError(
                f"{where}: default target {name!r} is not an alias in [accounts], a platform "
                f"name or an account UUID{hint}"
            )
    if len(set(targets)) != len(targets):
        raise ConfigError(f"{where}: `targets` lists the same target twice")
    if len(targets) > 25:
        raise ConfigError(f"{where}: `targets` has {len(targets)} items; the API takes at most 25")
