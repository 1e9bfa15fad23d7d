"""One run at a time per repository: `publish`, `sync`, `watch` and `ci` hold this
lock while they read posts, plan and publish, so two runs in one folder (watch and a
manual publish, say) never act on the same stale plan. A direct Bluesky post has no
server-side key to catch that; the lock does.

The lock lives in the git directory when there is one (nothing new in your work
tree), else in `.publisher/`. It is an OS file lock: a crashed run never leaves it held.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path


def lock_path(root: Path) -> Path:
    git_dir = root / ".git"
    if git_dir.is_dir():
        return git_dir / "publisher.lock"
    return root / ".publisher" / "run.lock"


@contextlib.contextmanager
def run_lock(root: Path, notify: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the repository's run lock, waiting for another run to finish first."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks here; runs are not serialised
        yield
        return
    path = lock_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if notify:
                notify("waiting for another publisher run in this repository to finish")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
