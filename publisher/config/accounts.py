"""`[accounts]`: what each alias stands for (a letmepost account UUID, a platform's one
connected account, a letmepost account table, a Bluesky account published to
directly), and which names a target may be."""

from __future__ import annotations

import re
from collections.abc import Mapping

from publisher.config.values import (
    DEFAULT_PASSWORD_ENV,
    ENV_NAME_RE,
    PLATFORM_NAMES,
    UUID_RE,
    Account,
    ConfigError,
)

__all__ = ["account", "unknown_target"]


def unknown_target(name: str, accounts: Mapping[str, Account]) -> str | None:
    """None when `name` is an alias, a platform name or an account UUID; else the
    "did you mean" suffix of the error that says it is none of them."""
    if name in accounts or name in PLATFORM_NAMES or UUID_RE.match(name):
        return None
    from publisher.hints import did_you_mean

    return did_you_mean(name, [*accounts, *PLATFORM_NAMES])


def account(alias: str, value: object, where: str) -> Account:
    """The account `[accounts]` gives `alias` (ConfigError naming `where` when unusable)."""
    found = _account_of(alias, value, where)
    # An alias may be a platform's name when it names one account of that platform
    # (`bluesky = { id = "...", platform = "bluesky" }`): then `targets: [bluesky]`
    # means that account, whatever else is connected there.
    if alias in PLATFORM_NAMES and not (
        found.platform == alias and (found.account_id or found.direct)
    ):
        raise ConfigError(
            f"{where}: alias {alias!r} is a platform name: it may only name one {alias} "
            f'account, as {alias} = {{ id = "<uuid>", platform = "{alias}" }} (or choose '
            f"another name: a bare {alias!r} target means the one connected {alias} account)"
        )
    return found


def _account_of(alias: str, value: object, where: str) -> Account:
    if isinstance(value, str):
        if UUID_RE.match(value):
            return Account(alias, account_id=value.lower())
        if value in PLATFORM_NAMES:
            return Account(alias, platform=value)
        raise ConfigError(
            f"{where}: accounts.{alias} must be an account UUID (see `publisher accounts`) "
            f"or a platform name, not {value!r}"
        )
    if isinstance(value, dict):
        if "bluesky" in value:
            return _direct(alias, value, where)
        if "id" in value:
            return _letmepost(alias, value, where)
    raise ConfigError(
        f"{where}: accounts.{alias}: expected an account UUID, a platform name, or a table with `bluesky`"
    )


def _direct(alias: str, value: Mapping[str, object], where: str) -> Account:
    """`[accounts.<alias>] bluesky = "<handle>"`: a Bluesky account published to directly."""
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
    if not isinstance(env, str) or not ENV_NAME_RE.match(env):
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


def _letmepost(alias: str, value: Mapping[str, object], where: str) -> Account:
    """`[accounts.<alias>] id = "<uuid>"`: a letmepost account, maybe with its platform."""
    extra = sorted(set(value) - {"id", "platform"})
    if extra:
        raise ConfigError(f"{where}: accounts.{alias}: unknown setting {extra[0]!r}")
    account_id, platform = value["id"], value.get("platform")
    if not isinstance(account_id, str) or not UUID_RE.match(account_id):
        raise ConfigError(f"{where}: accounts.{alias}.id must be an account UUID")
    if platform is not None and (not isinstance(platform, str) or platform not in PLATFORM_NAMES):
        raise ConfigError(
            f"{where}: accounts.{alias}.platform must be one of {', '.join(PLATFORM_NAMES)}"
        )
    return Account(alias, account_id=account_id.lower(), platform=platform)
