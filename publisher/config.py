"""Configuration: `publisher.toml` at the repository root, or `[tool.publisher]` in
`pyproject.toml`.

```toml
posts = "posts"                       # the posts folder
api_url = "https://api.letmepost.dev" # or LETMEPOST_API_URL
profile = "<profile uuid>"            # optional default profileId
targets = ["bluesky-main"]            # default targets for posts that name none
require_alt = true                    # alt text required on every image/video
langs = ["en"]                        # default languages of direct Bluesky posts

[accounts]
bluesky-main = "6f1c2b9e-...-uuid"    # a letmepost account
x = "twitter"                         # a platform name: the one connected account there

[accounts.me]                         # a Bluesky account published to directly
bluesky = "alice.bsky.social"
pds = "https://bsky.social"
password_env = "BLUESKY_APP_PASSWORD"

[[feeds]]                             # `publisher draft`: new entries become drafts
url = "https://example.org/blog/feed.xml"
template = "{title}\n\n{summary}\n\n{link}"  # optional; the placeholders: drafts/compose.py
targets = ["bluesky-main"]            # optional; default: `targets`
folder = "posts/blog"                 # optional; default: `posts`

[release]                             # `publisher draft --release` (all keys optional)
template = "{title} is out\n\n{summary}\n\n{link}"
notes = "CHANGELOG.md"                # the release notes file read with --tag
```

The API key never comes from a file: only from `LETMEPOST_API_KEY` (or the Action input).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from publisher.errors import UsageError
from publisher.rules.platforms import PLATFORMS

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_API_URL",
    "DEFAULT_PASSWORD_ENV",
    "HOSTED_PLATFORMS",
    "MAX_CONFIG_BYTES",
    "ON_EDIT",
    "PLATFORM_NAMES",
    "Account",
    "Config",
    "ConfigError",
    "FeedConfig",
    "ReleaseConfig",
    "check_url",
    "config_schema",
    "find_root",
    "head_bytes",
    "load_config",
    "repository_of",
]

DEFAULT_API_URL = "https://api.letmepost.dev"
CONFIG_FILE = "publisher.toml"
PLATFORM_NAMES = PLATFORMS
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
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
#: The platforms the hosted letmepost service has enabled (its `platform-state.ts`, at
#: the last look); Facebook, Instagram, Threads and TikTok answer `platform_not_enabled`
#: there. A self-hosted server that has others: `platforms = [...]` in publisher.toml.
HOSTED_PLATFORMS = ("bluesky", "twitter", "linkedin", "pinterest")
ON_EDIT = ("keep", "repost")


# The variable holding a direct Bluesky account's app password, unless it names another.
DEFAULT_PASSWORD_ENV = "BLUESKY_APP_PASSWORD"


class ConfigError(UsageError):
    """The configuration is unusable (exit code 2)."""


@dataclass(frozen=True, slots=True)
class Account:
    """What an alias stands for."""

    alias: str
    account_id: str | None = None  # a letmepost account UUID
    platform: str | None = None  # a bare platform name, or the platform of a direct account
    handle: str | None = None  # direct Bluesky: the handle
    pds: str | None = None
    password_env: str | None = None

    @property
    def direct(self) -> bool:
        return self.handle is not None


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """A `[[feeds]]` entry: a feed whose new entries `publisher draft` drafts."""

    url: str
    template: str | None = None
    targets: tuple[str, ...] = ()
    folder: str | None = None


@dataclass(frozen=True, slots=True)
class ReleaseConfig:
    """`[release]`: how `publisher draft --release` drafts a release."""

    template: str | None = None
    targets: tuple[str, ...] = ()
    folder: str | None = None
    notes: str | None = None  # the release notes file (default: CHANGELOG.md, ...)


@dataclass(frozen=True)
class Config:
    root: Path
    source: Path | None = None
    posts: str = "posts"
    api_url: str = DEFAULT_API_URL
    profile: str | None = None
    targets: tuple[str, ...] = ()
    require_alt: bool = True
    on_edit: str = "keep"  # what an edit after publishing does: keep | repost
    accounts: dict[str, Account] = field(default_factory=dict)
    langs: tuple[str, ...] = ()  # default `langs` of direct Bluesky posts
    feeds: tuple[FeedConfig, ...] = ()  # `[[feeds]]`: what `publisher draft` reads
    release: ReleaseConfig | None = None  # `[release]`: what `publisher draft --release` writes
    fetch_allow: tuple[str, ...] = ()  # hosts / CIDRs link cards may fetch from (netfetch)
    platforms: tuple[str, ...] | None = None  # what the letmepost server has enabled

    def enabled_platforms(self, environ: Mapping[str, str] = os.environ) -> frozenset[str] | None:
        """The platforms the letmepost server in use publishes to: `platforms` from the
        config, else the hosted service's list when the API is the hosted one; None when
        not known (another server, e.g. a sandbox: nothing is warned about)."""
        if self.platforms is not None:
            return frozenset(self.platforms)
        from urllib.parse import urlsplit

        url = (environ.get("LETMEPOST_API_URL") or self.api_url).strip()
        try:
            host = urlsplit(url).hostname or ""
        except ValueError:
            return None
        if host == "letmepost.dev" or host.endswith(".letmepost.dev"):
            return frozenset(HOSTED_PLATFORMS)
        return None

    @property
    def posts_dir(self) -> Path:
        return self.root / self.posts

    def resolved_api_url(self, environ: Mapping[str, str] = os.environ) -> str:
        """The API base URL: LETMEPOST_API_URL, else the config's. ConfigError if unusable."""
        url = (environ.get("LETMEPOST_API_URL") or self.api_url).strip().rstrip("/")
        check_url(url, "LETMEPOST_API_URL" if environ.get("LETMEPOST_API_URL") else "api_url")
        return url


def check_url(url: str, name: str) -> None:
    """Raise ConfigError unless `url` is a usable http(s) base URL.

    A credential in any part of it (``user:pass@``, a query, a fragment, a path segment
    that looks like a key, a key given as the whole URL) is refused, and the URL is
    never echoed: the API URL is recorded in every post file and pushed."""
    import re
    from urllib.parse import unquote, urlsplit

    from publisher.redaction import secrets

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        parts = None
    why = (
        f"{name} must not carry credentials: the key comes from LETMEPOST_API_KEY only, "
        "and the URL is recorded in every post file (the value is not shown)"
    )
    if "@" in url.split("://", 1)[-1].split("/", 1)[0] or (
        parts is not None and (parts.username is not None or parts.password is not None)
    ):
        raise ConfigError(why.replace("credentials", "credentials (user:password@)"))
    plain = unquote(url)
    if re.search(r"lmp_(?:live|test)_", plain, re.IGNORECASE) or any(
        s in plain for s in secrets() if len(s) >= 8
    ):
        raise ConfigError(why.replace("credentials", "an API key"))
    if parts is not None and (parts.query or parts.fragment or "?" in url or "#" in url):
        raise ConfigError(why.replace("credentials", "a query or a fragment (?... or #...)"))
    if parts is not None and any(_looks_secret(seg) for seg in parts.path.split("/")):
        raise ConfigError(why.replace("credentials", "what looks like a token in its path"))
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{name} must be an http(s) URL such as {DEFAULT_API_URL} "
            "(the value is not shown: it may be a key)"
        )


def _looks_secret(segment: str) -> bool:
    """A path segment of 24+ letters and digits mixing both: a token, not a path."""
    import re

    return (
        len(segment) >= 24
        and re.fullmatch(r"[A-Za-z0-9_\-.~+=]+", segment) is not None
        and any(c.isdigit() for c in segment)
        and any(c.isalpha() for c in segment)
    )


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


#: The largest configuration file read (publisher.toml, pyproject.toml).
MAX_CONFIG_BYTES = 1024 * 1024


def head_bytes(path: Path) -> bytes:
    """The first MAX_CONFIG_BYTES of a file (b"" when it cannot be read)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(MAX_CONFIG_BYTES)
    except OSError:
        return b""


def _read_toml(path: Path) -> dict[str, Any]:
    from publisher.files import read_bounded

    try:
        return tomllib.loads(read_bounded(path, MAX_CONFIG_BYTES).decode("utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None


def _from_table(table: dict[str, Any], root: Path, source: Path) -> Config:
    where = str(source)
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        from publisher.hints import did_you_mean

        raise ConfigError(
            f"{where}: unknown setting {unknown[0]!r}{did_you_mean(unknown[0], _KEYS)}"
        )

    def typed(key: str, kind: type, default: Any) -> Any:
        value = table.get(key, default)
        if value is not default and not isinstance(value, kind):
            raise ConfigError(f"{where}: `{key}` must be a {kind.__name__}")
        return value

    posts = typed("posts", str, "posts")
    if Path(posts).is_absolute() or ".." in Path(posts).parts:
        raise ConfigError(f"{where}: `posts` must be a folder inside the repository")
    api_url = typed("api_url", str, DEFAULT_API_URL)
    check_url(api_url, f"{where}: `api_url`")
    profile = typed("profile", str, None)
    if profile is not None and not _UUID.match(profile):
        raise ConfigError(f"{where}: `profile` must be a UUID")
    targets = typed("targets", list, [])
    if not all(isinstance(t, str) and t for t in targets):
        raise ConfigError(f"{where}: `targets` must be a list of alias names")
    accounts = {
        alias: _account(alias, value, where) for alias, value in typed("accounts", dict, {}).items()
    }
    for name in targets:
        if name not in accounts and name not in PLATFORM_NAMES and not _UUID.match(name):
            from publisher.hints import did_you_mean

            raise ConfigError(
                f"{where}: default target {name!r} is not an alias in [accounts], a platform "
                f"name or an account UUID{did_you_mean(name, [*accounts, *PLATFORM_NAMES])}"
            )
    if len(set(targets)) != len(targets):
        raise ConfigError(f"{where}: `targets` lists the same target twice")
    if len(targets) > 25:
        raise ConfigError(f"{where}: `targets` has {len(targets)} items; the API takes at most 25")
    return Config(
        root=root,
        source=source,
        posts=posts,
        api_url=api_url,
        profile=profile,
        targets=tuple(targets),
        require_alt=typed("require_alt", bool, True),
        on_edit=_on_edit(typed("on_edit", str, "keep"), where),
        accounts=accounts,
        langs=_langs(table.get("langs", []), where),
        feeds=_feeds(table.get("feeds", []), where, accounts),
        release=_release(table.get("release"), where, accounts),
        platforms=_platforms(table.get("platforms"), where),
        fetch_allow=_fetch_allow(table.get("fetch_allow", []), where),
    )


def _fetch_allow(value: Any, where: str) -> tuple[str, ...]:
    if value == []:
        return ()
    from publisher.clients.fetch import parse_allow  # sockets and all: only when set

    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            f'{where}: `fetch_allow` must be a list of hosts or CIDRs, like ["127.0.0.1"]'
        )
    try:
        parse_allow(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: `fetch_allow`: {exc}") from None
    return tuple(v.strip() for v in value if v.strip())


def _platforms(value: Any, where: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if value == "all":
        return tuple(PLATFORM_NAMES)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            f'{where}: `platforms` must be a list of platform names (or "all"): the platforms '
            "your letmepost server has enabled"
        )
    for name in value:
        if name not in PLATFORM_NAMES:
            from publisher.hints import did_you_mean

            raise ConfigError(
                f"{where}: `platforms`: {name!r} is not a platform"
                f"{did_you_mean(name, PLATFORM_NAMES)}"
            )
    return tuple(value)


def _langs(value: Any, where: str) -> tuple[str, ...]:
    if value == []:
        return ()
    from publisher.rules.bluesky import MAX_LANGS, is_lang

    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f'{where}: `langs` must be a list of language tags, like ["en"]')
    bad = [v for v in value if not is_lang(v)]
    if bad:
        raise ConfigError(
            f"{where}: `langs`: {bad[0]!r} is not a language tag (BCP 47, like en or pt-BR)"
        )
    if len(value) > MAX_LANGS:
        raise ConfigError(f"{where}: `langs` has {len(value)} languages; at most {MAX_LANGS}")
    return tuple(value)


def _on_edit(value: str, where: str) -> str:
    if value not in ON_EDIT:
        raise ConfigError(f"{where}: `on_edit` must be {' or '.join(map(repr, ON_EDIT))}")
    return value


def _account(alias: str, value: Any, where: str) -> Account:
    account = _account_of(alias, value, where)
    # An alias may be a platform's name when it names one account of that platform
    # (`bluesky = { id = "...", platform = "bluesky" }`): then `targets: [bluesky]`
    # means that account, whatever else is connected there.
    if alias in PLATFORM_NAMES and not (
        account.platform == alias and (account.account_id or account.direct)
    ):
        raise ConfigError(
            f"{where}: alias {alias!r} is a platform name: it may only name one {alias} "
            f'account, as {alias} = {{ id = "<uuid>", platform = "{alias}" }} (or choose '
            f"another name: a bare {alias!r} target means the one connected {alias} account)"
        )
    return account


def _account_of(alias: str, value: Any, where: str) -> Account:
    if isinstance(value, str):
        if _UUID.match(value):
            return Account(alias, account_id=value.lower())
        if value in PLATFORM_NAMES:
            return Account(alias, platform=value)
        raise ConfigError(
            f"{where}: accounts.{alias} must be an account UUID (see `publisher accounts`) "
            f"or a platform name, not {value!r}"
        )
    if isinstance(value, dict):
        if "bluesky" in value:
            extra = sorted(set(value) - {"bluesky", "pds", "password_env"})
            if extra:
                raise ConfigError(f"{where}: accounts.{alias}: unknown setting {extra[0]!r}")
            handle, pds = value["bluesky"], value.get("pds", "https://bsky.social")
            env = value.get("password_env", DEFAULT_PASSWORD_ENV)
            if not isinstance(handle, str) or not re.match(
                r"^[A-Za-z0-9.-]+\.[A-Za-z0-9-]+$", handle.lstrip("@")
            ):
                raise ConfigError(
                    f"{where}: accounts.{alias}.bluesky must be a handle like alice.bsky.social"
                )
            if not isinstance(pds, str) or not re.match(r"^https?://", pds):
                raise ConfigError(f"{where}: accounts.{alias}.pds must be an http(s) URL")
            if not isinstance(env, str) or not _ENV_NAME.match(env):
                raise ConfigError(
                    f"{where}: accounts.{alias}.password_env must be the NAME of an environment "
                    "variable (the password itself never goes in a file)"
                )
            return Account(
                alias,
                platform="bluesky",
                handle=handle.lstrip("@"),
                pds=pds.rstrip("/"),
                password_env=env,
            )
        if "id" in value:
            extra = sorted(set(value) - {"id", "platform"})
            if extra:
                raise ConfigError(f"{where}: accounts.{alias}: unknown setting {extra[0]!r}")
            account_id, platform = value["id"], value.get("platform")
            if not isinstance(account_id, str) or not _UUID.match(account_id):
                raise ConfigError(f"{where}: accounts.{alias}.id must be an account UUID")
            if platform is not None and platform not in PLATFORM_NAMES:
                raise ConfigError(
                    f"{where}: accounts.{alias}.platform must be one of {', '.join(PLATFORM_NAMES)}"
                )
            return Account(alias, account_id=account_id.lower(), platform=platform)
    raise ConfigError(
        f"{where}: accounts.{alias}: expected an account UUID, a platform name, or a table with `bluesky`"
    )


# -- drafts: [[feeds]] and [release] --------------------------------------------------


def _draft_targets(value: Any, where: str, accounts: Mapping[str, Account]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(t, str) and t for t in value):
        raise ConfigError(f"{where}.targets must be a list of alias names")
    for name in value:
        if name not in accounts and name not in PLATFORM_NAMES and not _UUID.match(name):
            from publisher.hints import did_you_mean

            raise ConfigError(
                f"{where}.targets: {name!r} is not an alias in [accounts], a platform name or "
                f"an account UUID{did_you_mean(name, [*accounts, *PLATFORM_NAMES])}"
            )
    if len(set(value)) != len(value) or len(value) > 25:
        raise ConfigError(f"{where}.targets: 1 to 25 different targets")
    return tuple(value)


def _draft_folder(value: Any, where: str, key: str = "folder") -> str:
    if (
        not isinstance(value, str)
        or not value
        or Path(value).is_absolute()
        or ".." in Path(value).parts
    ):
        what = "a file" if key == "notes" else "a folder"
        raise ConfigError(f"{where}.{key} must be {what} inside the repository")
    return value


def _draft_template(value: Any, where: str) -> str:
    from publisher.drafts.compose import check_template

    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}.template must be a text with placeholders like {{title}}")
    why = check_template(value)
    if why:
        raise ConfigError(f"{where}.template: {why}")
    return value


def _draft_table(
    item: Any, where: str, allowed: set[str], accounts: Mapping[str, Account]
) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = sorted(set(item) - allowed)
    if unknown:
        from publisher.hints import did_you_mean

        raise ConfigError(
            f"{where}: unknown setting {unknown[0]!r}{did_you_mean(unknown[0], allowed)}"
        )
    out: dict[str, Any] = {}
    if "template" in item:
        out["template"] = _draft_template(item["template"], where)
    if "targets" in item:
        out["targets"] = _draft_targets(item["targets"], where, accounts)
    if "folder" in item:
        out["folder"] = _draft_folder(item["folder"], where)
    return out


def _feeds(value: Any, where: str, accounts: Mapping[str, Account]) -> tuple[FeedConfig, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: `feeds` must be an array of tables: [[feeds]] url = ...")
    feeds: list[FeedConfig] = []
    for n, item in enumerate(value, 1):
        here = f"{where}: feeds[{n}]"
        fields = _draft_table(item, here, {"url", "template", "targets", "folder"}, accounts)
        url = item.get("url")
        if not isinstance(url, str) or not url.strip():
            raise ConfigError(f"{here}.url is missing: the feed's address (RSS, Atom or JSON)")
        from publisher.drafts.fetch import check_feed_url

        why = check_feed_url(url.strip())
        if why:
            raise ConfigError(f"{here}.url: {why}")
        if any(f.url == url.strip() for f in feeds):
            raise ConfigError(f"{here}.url: the same feed is listed twice")
        feeds.append(FeedConfig(url=url.strip(), **fields))
    return tuple(feeds)


def _release(value: Any, where: str, accounts: Mapping[str, Account]) -> ReleaseConfig | None:
    if value is None:
        return None
    here = f"{where}: release"
    fields = _draft_table(value, here, {"template", "targets", "folder", "notes"}, accounts)
    notes = value.get("notes")
    if notes is not None:
        fields["notes"] = _draft_folder(notes, here, "notes")
    return ReleaseConfig(**fields)


def config_schema() -> dict[str, Any]:
    """JSON Schema of publisher.toml (and of `[tool.publisher]` in pyproject.toml), for
    editors (Taplo / Even Better TOML read a `#:schema URL` line) and `publisher schema
    config`. `load_config` stays the judge: it says what is wrong, at which key."""
    from publisher.model import schema_id

    uuid = {"type": "string", "pattern": _UUID.pattern, "description": "a letmepost account UUID"}
    platform = {"enum": list(PLATFORM_NAMES)}
    letmepost_account = {
        "type": "object",
        "description": "A letmepost account: its UUID (from `publisher accounts`) and platform.",
        "properties": {"id": uuid, "platform": platform},
        "required": ["id"],
        "additionalProperties": False,
    }
    direct_account = {
        "type": "object",
        "description": "A Bluesky account published to directly, without letmepost.",
        "properties": {
            "bluesky": {
                "type": "string",
                "pattern": r"^@?[A-Za-z0-9.-]+\.[A-Za-z0-9-]+$",
                "description": "the handle, like alice.bsky.social",
            },
            "pds": {
                "type": "string",
                "pattern": "^https?://",
                "default": "https://bsky.social",
                "description": "the account's PDS",
            },
            "password_env": {
                "type": "string",
                "pattern": _ENV_NAME.pattern,
                "default": "BLUESKY_APP_PASSWORD",
                "description": "the NAME of the environment variable holding the app password",
            },
        },
        "required": ["bluesky"],
        "additionalProperties": False,
    }
    draft_settings: dict[str, Any] = {
        "template": {
            "type": "string",
            "description": "the draft's text: {title}, {link}, {summary}, {author}, {date}, "
            "{feed}, {tag}, {repo}; default {title}, {summary}, {link}",
        },
        "targets": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "minItems": 1,
            "maxItems": 25,
            "uniqueItems": True,
            "description": "the drafts' targets (default: `targets`)",
        },
        "folder": {"type": "string", "description": "where drafts go (default: `posts`)"},
    }
    account = {
        "description": "An alias: an account UUID, a platform name (the one connected "
        "account there), a letmepost account table, or a direct Bluesky account.",
        "anyOf": [uuid, platform, letmepost_account, direct_account],
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_id("config.schema.json"),
        "title": "publisher.toml",
        "description": "publisher's configuration: publisher.toml at the repository root, "
        "or [tool.publisher] in pyproject.toml. The API key never goes here.",
        "type": "object",
        "properties": {
            "posts": {
                "type": "string",
                "default": "posts",
                "description": "the posts folder, inside the repository",
            },
            "api_url": {
                "type": "string",
                "pattern": "^https?://",
                "default": DEFAULT_API_URL,
                "description": "the letmepost API (LETMEPOST_API_URL overrides it)",
            },
            "profile": {**uuid, "description": "the default letmepost profileId"},
            "targets": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "maxItems": 25,
                "uniqueItems": True,
                "description": "default targets of posts that name none: aliases, "
                "platform names or account UUIDs",
            },
            "require_alt": {
                "type": "boolean",
                "default": True,
                "description": "alt text required on every image and video",
            },
            "on_edit": {
                "enum": list(ON_EDIT),
                "default": "keep",
                "description": "an edit after publishing: keep (nothing sent) or repost",
            },
            "allow_repost": {"type": "boolean"},
            "langs": {
                "type": "array",
                "items": {"type": "string"},
                "maxItems": 3,
                "description": 'default languages of direct Bluesky posts, like ["en"]',
            },
            "platforms": {
                "description": "the platforms your letmepost server has enabled (a "
                'self-hosted one), or "all"; validate warns at a target on another. Unset: the '
                "hosted service's list (Bluesky, X, LinkedIn, Pinterest)",
                "anyOf": [
                    {"type": "array", "items": platform, "uniqueItems": True},
                    {"const": "all"},
                ],
            },
            "accounts": {
                "type": "object",
                "description": "aliases for accounts: `publisher accounts >> publisher.toml` "
                "adds those of your letmepost key",
                "additionalProperties": account,
            },
            "feeds": {
                "type": "array",
                "description": "[[feeds]]: feeds whose new entries `publisher draft` drafts",
                "items": {
                    "type": "object",
                    "properties": {
                        "url": {
                            "type": "string",
                            "pattern": "^https?://",
                            "description": "the feed: RSS, Atom or JSON Feed",
                        },
                        **draft_settings,
                    },
                    "required": ["url"],
                    "additionalProperties": False,
                },
            },
            "release": {
                "type": "object",
                "description": "how `publisher draft --release` / `--tag` drafts a release",
                "properties": {
                    **draft_settings,
                    "notes": {
                        "type": "string",
                        "description": "the release notes file read with --tag "
                        "(default: CHANGELOG.md, CHANGES.md, NEWS.md, ...)",
                    },
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    }
