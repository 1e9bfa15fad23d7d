"""What the posts of one run share while they are checked: resolved folders, local
media files read once (`Snapshot`), and targets written as strings."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

from publisher.config import Account
from publisher.files import RealPaths
from publisher.rules import limits

__all__ = ["Snapshot", "Who"]


class _MediaCache:
    """Reads each local media file once, however many posts use it. Entries are keyed
    by the file's size and modification time, so an edited file is read again (watch
    mode keeps one process running)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[Path, int, int], tuple[str, int, str | None]] = {}

    def read(self, path: Path) -> tuple[str, int, str | None]:
        """(sha256 hex, size, sniffed mime) of the file at `path`."""
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise FileNotFoundError(path)  # a folder, a device...: not a media file
        key = (path, st.st_size, st.st_mtime_ns)
        hit = self._seen.get(key)
        if hit is None:
            data = path.read_bytes()
            hit = (hashlib.sha256(data).hexdigest(), len(data), limits.sniff_mime(data[:64]))
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
