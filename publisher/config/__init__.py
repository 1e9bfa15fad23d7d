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

The package: `values.py` (what a configuration is: `Config`, `Account`, the drafts'
settings, `ConfigError`), `read.py` (the root, the file, the top-level settings),
`checks.py` (single settings: the API URL, languages, platforms), `accounts.py` (the
`[accounts]` aliases and the names a target may be), `drafts.py` (`[[feeds]]`,
`[release]`), `schema.py` (the JSON Schema).
"""

from __future__ import annotations

from publisher.config.checks import check_url
from publisher.config.read import _from_table as _from_table
from publisher.config.read import find_root, head_bytes, load_config, repository_of
from publisher.config.schema import config_schema
from publisher.config.values import (
    CONFIG_FILE,
    DEFAULT_API_URL,
    DEFAULT_PASSWORD_ENV,
    HOSTED_PLATFORMS,
    MAX_CONFIG_BYTES,
    ON_EDIT,
    PLATFORM_NAMES,
    UUID_RE,
    Account,
    Config,
    ConfigError,
    FeedConfig,
    ReleaseConfig,
)

_UUID = UUID_RE  # the account UUID pattern (`publisher new` reads it)

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_API_URL",
    "DEFAULT_PASSWORD_ENV",
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
    "check_url",
    "config_schema",
    "find_root",
    "head_bytes",
    "load_config",
    "repository_of",
]
