"""What a configuration is once read: `Config`, the `Account` an alias stands for, the
drafts' `FeedConfig` and `ReleaseConfig`, the constants the settings are checked
against, and `ConfigError`."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeGuard

from publisher.errors import UsageError
from publisher.rules.platforms import PLATFORMS

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_API_URL",
    "DEFAULT_PASSWORD_ENV",
    "ENV_NAME_RE",
    "HOSTED_PLATFORMS",
    "MAX_CONFIG_BYTES",
    "ON_EDIT",
    "PLATFORM_NAMES",
    "UUID_RE",
    "Account",
    "Config",
    "ConfigError",
    "FeedConfig",
    "ReleaseConfig",
    "is_str_list",
]

DEFAULT_API_URL = "https://api.letmepost.dev"
CONFIG_FILE = "publisher.toml"
PLATFORM_NAMES = PLATFORMS
UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: The platforms the hosted letmepost service has enabled (its `platform-state.ts`, at
#: the last look); Facebook, Instagram, Threads and TikTok answer `platform_not_enabled`
#: there. A self-hosted server that has others: `platforms = [...]` in publisher.toml.
HOSTED_PLATFORMS = ("bluesky", "twitter", "linkedin", "pinterest")
ON_EDIT = ("keep", "repost")
#: The largest configuration file read (publisher.toml, pyproject.toml).
MAX_CONFIG_BYTES = 1024 * 1024

# The variable holding a direct Bluesky account's app password, unless it names another.
DEFAULT_PASSWORD_ENV = "BLUESKY_APP_PASSWORD"


class ConfigError(UsageError):
    """The configuration is unusable (exit code 2)."""


def is_str_list(value: object) -> TypeGuard[list[str]]:
    """Whether a TOML value is a list of strings."""
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


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
        from publisher.config.checks import check_url

        url = (environ.get("LETMEPOST_API_URL") or self.api_url).strip().rstrip("/")
        check_url(url, "LETMEPOST_API_URL" if environ.get("LETMEPOST_API_URL") else "api_url")
        return url
