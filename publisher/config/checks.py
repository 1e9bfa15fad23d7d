"""The checks of single settings: the API URL (no credential in any part of it), the
languages, the platforms the server has enabled, `on_edit`, `fetch_allow`."""

from __future__ import annotations

import re

from publisher.config.values import (
    DEFAULT_API_URL,
    ON_EDIT,
    PLATFORM_NAMES,
    ConfigError,
    is_str_list,
)

__all__ = ["check_url", "fetch_allow", "langs", "on_edit", "platforms"]


def check_url(url: str, name: str) -> None:
    """Raise ConfigError unless `url` is a usable http(s) base URL.

    A credential in any part of it (``user:pass@``, a query, a fragment, a path segment
    that looks like a key, a key given as the whole URL) is refused, and the URL is
    never echoed: the API URL is recorded in every post file and pushed."""
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
    return (
        len(segment) >= 24
        and re.fullmatch(r"[A-Za-z0-9_\-.~+=]+", segment) is not None
        and any(c.isdigit() for c in segment)
        and any(c.isalpha() for c in segment)
    )


def fetch_allow(value: object, where: str) -> tuple[str, ...]:
    """`fetch_allow`: hosts or CIDRs link cards may fetch from."""
    if value == []:
        return ()
    from publisher.clients.fetch import parse_allow  # sockets and all: only when set

    if not is_str_list(value):
        raise ConfigError(
            f'{where}: `fetch_allow` must be a list of hosts or CIDRs, like ["127.0.0.1"]'
        )
    try:
        parse_allow(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: `fetch_allow`: {exc}") from None
    return tuple(v.strip() for v in value if v.strip())


def platforms(value: object, where: str) -> tuple[str, ...] | None:
    """`platforms`: what the letmepost server has enabled (None: not said)."""
    if value is None:
        return None
    if value == "all":
        return tuple(PLATFORM_NAMES)
    if not is_str_list(value):
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


def langs(value: object, where: str) -> tuple[str, ...]:
    """`langs`: the default languages of direct Bluesky posts."""
    if value == []:
        return ()
    from publisher.rules.bluesky import MAX_LANGS, is_lang

    if not is_str_list(value):
        raise ConfigError(f'{where}: `langs` must be a list of language tags, like ["en"]')
    bad = [v for v in value if not is_lang(v)]
    if bad:
        raise ConfigError(
            f"{where}: `langs`: {bad[0]!r} is not a language tag (BCP 47, like en or pt-BR)"
        )
    if len(value) > MAX_LANGS:
        raise ConfigError(f"{where}: `langs` has {len(value)} languages; at most {MAX_LANGS}")
    return tuple(value)


def on_edit(value: str, where: str) -> str:
    """`on_edit`: what an edit after publishing does."""
    if value not in ON_EDIT:
        raise ConfigError(f"{where}: `on_edit` must be {' or '.join(map(repr, ON_EDIT))}")
    return value
