"""What several commands share: loading config and posts, and choosing the API."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from publisher.config import Config, load_config


class UsageError(Exception):
    """Bad arguments or configuration: exit code 2."""


def config_from(args: argparse.Namespace) -> Config:
    return load_config(path=args.config) if getattr(args, "config", None) else load_config()


def load_posts(paths: list[Path], config: Config) -> list[Any]:
    from publisher.files import find_posts
    from publisher.post import load_posts as load_many

    roots = paths or [config.posts_dir]
    for path in roots:
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
    return load_many(find_posts(roots), config)


@dataclass
class Api:
    """Where requests go: a live/test key from the environment, or an embedded sandbox."""

    client: Any  # LetmepostClient | None
    env: str  # "live" | "sandbox"
    api: str  # the base URL recorded in `published.api`
    sandbox: Any = None  # the embedded SandboxHandle, when there is one


@contextlib.contextmanager
def open_api(
    config: Config,
    *,
    sandbox: bool,
    need_key: bool = True,
    verbose: bool = False,
) -> Iterator[Api]:
    """Yield the API to talk to. `--sandbox` starts an embedded local sandbox on a free
    loopback port with its state under .publisher/; otherwise the key comes from
    LETMEPOST_API_KEY only (never from a file) and the URL from the config or
    LETMEPOST_API_URL."""
    from publisher.client import LetmepostClient

    log = (lambda line: print(f"  {line}", file=sys.stderr)) if verbose else None
    if sandbox:
        from publisher.sandbox import start_sandbox

        db = config.root / ".publisher" / "sandbox.db"
        db.parent.mkdir(parents=True, exist_ok=True)
        handle = start_sandbox(db)
        try:
            with LetmepostClient(handle.url, handle.test_key, log=log) as client:
                yield Api(client, "sandbox", "sandbox", handle)
        finally:
            handle.stop()
        return
    key = os.environ.get("LETMEPOST_API_KEY", "").strip()
    if key and not (key.isascii() and key.isprintable() and " " not in key):
        raise UsageError(
            "LETMEPOST_API_KEY contains characters an API key cannot have "
            "(spaces, line breaks or non-ASCII): check how it is set"
        )
    url = config.resolved_api_url()
    if not key:
        if need_key:
            raise UsageError(
                "LETMEPOST_API_KEY is not set. Set it to your letmepost API key, or add "
                "--sandbox to try everything against a local sandbox with no account"
            )
        yield Api(None, "live", url)
        return
    env = "sandbox" if key.startswith("lmp_test_") else "live"
    with LetmepostClient(url, key, log=log) as client:
        yield Api(client, env, url)
