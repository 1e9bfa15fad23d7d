"""The JSON Schema of publisher.toml, for editors and `publisher schema config`."""

from __future__ import annotations

from publisher.config.values import (
    DEFAULT_API_URL,
    ENV_NAME_RE,
    ON_EDIT,
    PLATFORM_NAMES,
    UUID_RE,
)

__all__ = ["config_schema"]


def config_schema() -> dict[str, object]:
    """JSON Schema of publisher.toml (and of `[tool.publisher]` in pyproject.toml), for
    editors (Taplo / Even Better TOML read a `#:schema URL` line) and `publisher schema
    config`. `load_config` stays the judge: it says what is wrong, at which key."""
    from publisher.model import schema_id

    uuid = {"type": "string", "pattern": UUID_RE.pattern, "description": "a letmepost account UUID"}
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
                "pattern": ENV_NAME_RE.pattern,
                "default": "BLUESKY_APP_PASSWORD",
                "description": "the NAME of the environment variable holding the app password",
            },
        },
        "required": ["bluesky"],
        "additionalProperties": False,
    }
    draft_settings: dict[str, object] = {
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
            "fetch_allow": {
                "type": "array",
                "items": {"type": "string"},
                "description": "hosts, addresses or CIDRs that link cards and feeds may be "
                'fetched from although private or loopback, like ["127.0.0.1"] '
                "(PUBLISHER_FETCH_ALLOW adds more)",
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
