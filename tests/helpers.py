"""Small helpers shared by the end-to-end tests: a post repository on disk, and the
real `publisher` command run as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

CONFIG = """\
posts = "posts"

[accounts]
x = "twitter"
"""


def make_repo(root: Path, posts: dict[str, str], config: str = CONFIG) -> Path:
    """A folder with publisher.toml and posts/<name>.md for each item."""
    (root / "posts").mkdir(parents=True, exist_ok=True)
    (root / "publisher.toml").write_text(config)
    for name, text in posts.items():
        path = root / "posts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def post(targets: str, body: str, **keys: str) -> str:
    extra = "".join(f"{k}: {v}\n" for k, v in keys.items())
    return f"---\ntargets: {targets}\n{extra}---\n{body}\n"


def record(path: Path) -> dict[str, Any]:
    """The `published` block of a post file ({} when there is none)."""
    text = path.read_text()
    front = text.split("---\n", 2)[1]
    return (yaml.safe_load(front) or {}).get("published") or {}


def file_status(block: dict[str, Any]) -> str:
    """A record's batch status, derived from its targets as publisher derives it (the
    block does not store it)."""
    from publisher.record import batch_status

    return batch_status(block.get("targets") or {})


def cli_env(url: str, key: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LETMEPOST_", "GITHUB_"))}
    env["LETMEPOST_API_URL"] = url
    if key is not None:
        env["LETMEPOST_API_KEY"] = key
    env.update(extra)
    return env


def run_cli(
    args: list[str], cwd: Path, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "publisher", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def live_posts(sandbox: Any) -> list[dict[str, Any]]:
    """Ground truth: every post row the sandbox created (one per target)."""
    return sandbox.posts()


def per_target(rows: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """How many post rows exist per (text, platform)."""
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row.get("text") or "", row.get("platform") or "")
        counts[key] = counts.get(key, 0) + 1
    return counts
