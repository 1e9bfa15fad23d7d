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
    one found from the current folder. A path outside that repository (or in no
    repository at all) is refused: publisher never reads a post it would not record
    in the repository, and never writes outside it. Its `fetch_allow` joins the fetch
    allowlist, and its accounts' app passwords join what is redacted."""
    from publisher.clients.fetch import allow_also
    from publisher.redaction import from_environ

    config = _config_from(args)
    allow_also(config.fetch_allow)
    from_environ(names=[a.password_env for a in config.accounts.values() if a.password_env])
    return config


def _config_from(args: argparse.Namespace) -> Config:
    paths = [p for p in getattr(args, "paths", None) or [] if p.exists()]
    if getattr(args, "config", None):
        config = load_config(path=args.config)
    elif not paths:
        return load_config()
    else:
        from publisher.config import repository_of

        roots = set()
        for p in paths:
            root = repository_of(p if p.is_dir() else p.parent)
            if root is None:
                raise UsageError(
                    f"{p}: not inside a repository (no publisher.toml, [tool.publisher] or "
                    ".git above it): publisher reads and writes posts only inside one"
                )
            roots.add(root)
        if len(roots) > 1:
            listed = ", ".join(sorted(str(r) for r in roots))
            raise UsageError(
                f"the paths are in different repositories ({listed}): give one at a time"
            )
        config = load_config(roots.pop())
    for p in paths:
        if not inside(p, config.root):
            raise UsageError(
                f"{p}: outside the repository {config.root}: publisher reads and writes "
                "posts only inside it"
            )
    return config


def inside(path: Path, root: Path) -> bool:
    """Whether `path` is in `root`, as written (a linked folder inside the repository
    belongs to it) or once resolved."""
    import os

    for candidate in (Path(os.path.abspath(path)), path.resolve()):
        if candidate == root or root in candidate.parents:
            return True
    return False


def run_from(args: argparse.Namespace, config: Config) -> Any:
    """The `Run` of this command (`--sandbox`, or the key in LETMEPOST_API_KEY)."""
    from publisher.run import resolve_run

    return resolve_run(config, sandbox=bool(getattr(args, "sandbox", False)))


def load_posts(paths: list[Path], config: Config) -> list[Any]:
    from publisher.files import find_posts
    from publisher.validate import load_posts as load_many

    roots = paths or [config.posts_dir]
    for path in roots:
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
    return load_many(find_posts(roots), config)
