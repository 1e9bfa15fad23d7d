"""What several commands share: the config from the arguments, and the posts."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from publisher.config import Config, load_config
from publisher.errors import UsageError

__all__ = ["UsageError", "config_from", "load_posts", "run_from"]


def config_from(args: argparse.Namespace) -> Config:
    return load_config(path=args.config) if getattr(args, "config", None) else load_config()


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
