"""Writing post files safely: the atomic replace (a temporary file, fsynced, renamed
over the post), the temporary files a killed run left, and the probe that a posts
folder can take a write at all."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path

from publisher.errors import UsageError
from publisher.files import RealPaths
from publisher.writeback.scan import WritebackError

__all__ = [
    "MAX_WRITEBACK_BYTES",
    "UnwritableFolder",
    "check_folders_writable",
    "read_post_bytes",
    "remove_stale_temps",
    "write_atomic",
]

# The temporary files of :func:`write_atomic`: ".<name>.<12 hex digits>.tmp".
_TEMP_NAME = re.compile(r"\.(.+)\.[0-9a-f]{12}\.tmp")


def _fsync_dir(directory: Path) -> None:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(directory, flags)
    except OSError:  # e.g. Windows: directories cannot be opened
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically: readers see the old or the new file.

    Writes a hidden temporary file in the same directory, flushes and fsyncs it,
    gives it the original file's permission bits (a new file gets the umask's
    default), renames it over ``path`` and fsyncs the directory. A symlink is
    followed, so the file it points to is replaced and the link is kept. On any
    error the temporary file is removed and the error re-raised.
    """
    target = Path(os.path.realpath(path))
    try:
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        break
    try:
        with os.fdopen(fd, "wb") as handle:
            if mode is not None and hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None and not hasattr(os, "fchmod"):
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def remove_stale_temps(posts: Iterable[Path]) -> list[Path]:
    """Remove the temporary files of :func:`write_atomic` that a killed run left next
    to ``posts``.

    A run killed between writing its temporary file and renaming it leaves a hidden
    ``.<name>.<12 hex digits>.tmp`` next to the post; the post itself is intact (the
    next run resends under the same key and records the answer), so the leftover holds
    nothing needed. Only files named so after one of ``posts`` (symlinks followed, as
    :func:`write_atomic` does) are touched. Call it while holding the run lock and
    before this process writes anything, so that no live write's file is taken.
    Returns the files removed.
    """
    names: dict[str, set[str]] = {}
    paths = RealPaths()
    for post in posts:
        folder, name = os.path.split(paths.of_file(post))
        names.setdefault(folder, set()).add(name)
    removed: list[Path] = []
    for folder, ours in names.items():
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            match = _TEMP_NAME.fullmatch(entry.name)
            if match is None or match.group(1) not in ours:
                continue
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                os.unlink(entry.path)
            except OSError:
                continue
            removed.append(Path(entry.path))
    return removed


class UnwritableFolder(WritebackError, UsageError):
    """A posts folder that cannot take a write-back (read-only, full, no permission)."""

    exit_code = UsageError.exit_code


def check_folders_writable(posts: Iterable[Path]) -> None:
    """Raise `UnwritableFolder` unless a write-back's temporary file can be created
    next to each of ``posts`` (tried, then removed): a run checks this before it sends
    anything, since an answer that cannot be recorded would be resent next time."""
    seen: set[str] = set()
    for post in posts:
        folder = os.path.dirname(os.path.realpath(post))
        if folder in seen:
            continue
        seen.add(folder)
        probe = os.path.join(folder, f".publisher-probe.{secrets.token_hex(6)}.tmp")
        try:
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            os.unlink(probe)
        except OSError as exc:
            raise UnwritableFolder(
                f"{folder} cannot be written ({exc.strerror or exc}): the results of a "
                "publish are recorded in the post files, so nothing was sent"
            ) from None


#: The largest file a write-back reads (a post is at most `document.MAX_BYTES`; this
#: leaves room for one that grew since it was read, and is still a bound).
MAX_WRITEBACK_BYTES = 16 * 1024 * 1024


def read_post_bytes(path: Path) -> bytes:
    """A post file's bytes, sized first (`files.TooLarge`, an OSError, when over
    `MAX_WRITEBACK_BYTES`)."""
    from publisher.files import read_bounded

    return read_bounded(path, MAX_WRITEBACK_BYTES)
