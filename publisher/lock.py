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
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from publisher.errors import PublisherError, UsageError

__all__ = ["LockWaitCancelled", "UnwritableCheckout", "lock_path", "run_lock"]


def lock_path(root: Path) -> Path:
    git_dir = root / ".git"
    if git_dir.is_dir():
        return git_dir / "publisher.lock"
    return root / ".publisher" / "run.lock"


class UnwritableCheckout(UsageError):
    """The repository cannot be written (a read-only checkout or disk): nothing is sent."""


class LockWaitCancelled(PublisherError):
    """`should_stop` said stop while waiting for another run."""


@contextlib.contextmanager
def run_lock(
    root: Path,
    notify: Callable[[str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[None]:
    """Hold the repository's run lock, waiting for another run to finish first (and
    giving up with `LockWaitCancelled` as soon as `should_stop()` is true)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks here; runs are not serialised
        yield
        return
    path = lock_path(root)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UnwritableCheckout(
            f"cannot take the run lock {path}: {exc.strerror or exc}. publisher records "
            "every result in the post files: run it in a writable checkout"
        ) from None
    try:
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if should_stop is not None and should_stop():
                    raise LockWaitCancelled from None
                if notify and not told:
                    notify("waiting for another publisher run in this repository to finish")
                    told = True
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)
