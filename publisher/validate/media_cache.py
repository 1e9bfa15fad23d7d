"""What the posts of one run share while they are checked: resolved folders, local
media files read once (`Snapshot`), and targets written as strings."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from publisher.config import Account
from publisher.files import MAX_MEDIA_BYTES, MediaTooLarge, RealPaths
from publisher.rules import limits

__all__ = ["Snapshot", "Who"]


_CHUNK = 1 << 20


class _MediaCache:
    """Reads each local media file once, however many posts use it. Entries are keyed
    by the file's size and modification time, so an edited file is read again (watch
    mode keeps one process running)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[Path, int, int], tuple[str, int, str | None]] = {}

    def read(self, path: Path) -> tuple[str, int, str | None]:
        """(sha256 hex, size, sniffed mime) of the file at `path`: sized first (a file
        over `MAX_MEDIA_BYTES` is `MediaTooLarge`, never read), then hashed in chunks
        (memory stays at one chunk, whatever the size)."""
        with open(path, "rb") as fh:  # one open: the size and the bytes are one file's
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise FileNotFoundError(path)  # a folder, a device...: not a media file
            if st.st_size > MAX_MEDIA_BYTES:
                raise MediaTooLarge(st.st_size)
            key = (path, st.st_size, st.st_mtime_ns)
            hit = self._seen.get(key)
            if hit is None:
                digest, size, head = hashlib.sha256(), 0, b""
                while chunk := fh.read(min(_CHUNK, MAX_MEDIA_BYTES + 1 - size)):
                    if not head:
                        head = chunk[:64]
                    digest.update(chunk)
                    size += len(chunk)
                    if size > MAX_MEDIA_BYTES:  # it grew while we read
                        raise MediaTooLarge(size)
                hit = (digest.hexdigest(), size, limits.sniff_mime(head))
                self._seen[key] = hit
        return hit


_MEDIA = _MediaCache()


# A resolved target: (label, platform, account id, the alias's account).
Who = tuple[str, str | None, str | None, Account | None]


class Snapshot:
    """What the posts of one run share, looked up once: resolved folders (symlinks
    followed), local media files, and targets written as strings (one configuration
    for the whole run). A single `load_post` gets a fresh one."""

    def __init__(self) -> None:
        self.paths = RealPaths()
        self._media: dict[str, tuple[Path, tuple[str, int, str | None]] | OSError] = {}
        self.targets: dict[str, Who] = {}  # targets written as strings, resolved
        #: `Config.enabled_platforms()` once known (asked once, not parsed for each post)
        self.enabled: list[frozenset[str] | None] = []

    def media(self, real: str) -> tuple[Path, tuple[str, int, str | None]]:
        """The file at resolved path `real` and its (sha256, size, mime); raises OSError."""
        hit = self._media.get(real)
        if hit is None:
            path = Path(real)
            try:
                hit = (path, _MEDIA.read(path))
            except OSError as exc:
                hit = exc
            self._media[real] = hit
        if isinstance(hit, OSError):
            raise hit.with_traceback(None)
        return hit
