"""What several commands share: the config from the arguments, and the posts."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from publisher.config import Config, load_config
from publisher.errors import UsageError

__all__ = ["UsageError", "config_from", "load_posts", "run_from"]


def config_from(args: argparse.Namespace) -> Config:
    """`--config`, else the configuration of the repository the given paths are in
    (so `publisher validate ~/posts-repo/posts/a.md` works from anywhere), else the
    one found from the current folder. Its `fetch_allow` joins the fetch allowlist."""
    from publisher.netfetch import allow_also
    from publisher.redaction import from_environ

    config = _config_from(args)
    allow_also(config.fetch_allow)
    from_environ(names=[a.password_env for a in config.accounts.values() if a.password_env])
    return config


def _config_from(args: argparse.Namespace) -> Config:
    if getattr(args, "config", None):
        return load_config(path=args.config)
    paths = [p for p in getattr(args, "paths", None) or [] if p.exists()]
    if not paths:
        return load_config()
    from publisher.config import find_root

    roots = {find_root(p if p.is_dir() else p.parent) for p in paths}
    if len(roots) > 1:
        listed = ", ".join(sorted(str(r) for r in roots))
        raise UsageError(f"the paths are in different repositories ({listed}): give one at a time")
    return load_config(roots.pop())


def run_from(args: argparse.Namespace, config: Config) -> Any:
    """The `Run` of this command (`--sandbox`, or the key in LETMEPOST_API_KEY)."""
    from publisher.run import resolve_run

    return resolve_run(config, sandbox=bool(getattr(args, "sandbox", False)))


def load_posts(paths: list[Path], config: Config) -> list[Any]:
    from publisher.files import find_posts
    from publisher.post import load_posts as load_many

    roots = paths or [config.posts_dir]
    for path in roots:
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
    return load_many(find_posts(roots), config)
