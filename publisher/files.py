"""Which files are posts: Markdown files under the posts folder, minus editor noise."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "MAX_MEDIA_BYTES",
    "POST_SUFFIXES",
    "MediaTooLarge",
    "RealPaths",
    "TooLarge",
    "find_posts",
    "is_post_file",
    "is_post_name",
    "read_bounded",
    "read_media",
]

POST_SUFFIXES = (".md", ".markdown")
# Editor swap, backup and temp files; publisher's own temp files (".name.xxxx.tmp").
_NOISE = re.compile(r"(^\.|^#.*#$|~$|\.sw[a-p]$|\.tmp$|\.bak$|^4913$|\.crswap$)")


def is_post_name(name: str) -> bool:
    """Whether a file called `name` is a post (not editor noise or a temp file)."""
    return name.endswith(POST_SUFFIXES) and not _NOISE.search(name)


def is_post_file(path: Path) -> bool:
    return is_post_name(path.name)


def find_posts(paths: Iterable[Path]) -> list[Path]:
    """Every post file under `paths` (files are taken as given), without hidden folders
    (.git, .publisher, ...); folders' posts sorted by path, after the files given."""
    found: dict[Path, None] = {}
    for path in paths:
        if not path.is_dir():
            found[path] = None
            continue
        posts: list[tuple[list[str], str]] = []
        _walk(str(path), [], posts)
        posts.sort()
        found.update(dict.fromkeys(Path(p) for _, p in posts))
    return list(found)


def _walk(folder: str, parts: list[str], out: list[tuple[list[str], str]]) -> None:
    """Post files under `folder` as (path parts, path), without following folder links
    (as `os.walk` does); the directory entries tell file from folder without a stat."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return  # unreadable or vanished: as os.walk, skip it
    for entry in entries:
        name = entry.name
        try:
            if entry.is_dir(follow_symlinks=False):
                if not name.startswith("."):
                    _walk(entry.path, [*parts, name], out)
            elif is_post_name(name) and entry.is_file():
                out.append(([*parts, name], entry.path))
        except OSError:
            continue


class RealPaths:
    """`os.path.realpath` with every answer remembered: the posts of one run share a
    few folders (and media), so each is resolved once. For one run only: a symlink
    changed meanwhile is not seen."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}

    def resolve(self, path: str) -> str:
        real = self._seen.get(path)
        if real is None:
            real = self._seen[path] = os.path.realpath(path)
        return real

    def of_file(self, path: str | os.PathLike[str]) -> str:
        """Where the file at `path` really is (where a write to it lands): its folder
        resolved once per folder, and the file itself when it is a symlink."""
        here = os.path.abspath(path)
        if os.path.islink(here):
            return os.path.realpath(here)
        folder, name = os.path.split(here)
        return os.path.join(self.resolve(folder), name)


class TooLarge(OSError):
    """A file over the size it may have: refused by its size, before it is read."""


def read_bounded(path: Path | str, limit: int) -> bytes:
    """The bytes of ``path``, sized first: a file over ``limit`` bytes is `TooLarge`
    (nothing read), and no more than ``limit`` + 1 bytes are ever read (a file that
    grows meanwhile is refused too)."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            raise TooLarge(f"{size:,} bytes; at most {limit:,} are read")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"more than {limit:,} bytes; at most {limit:,} are read")
    return data


#: The largest local media file any upload takes (letmepost's POST /v1/media refuses
#: more than 200 MB with 413; a direct Bluesky video is at most 100 MB).
MAX_MEDIA_BYTES = 200 * 1024 * 1024


class MediaTooLarge(OSError):
    """A media file over `MAX_MEDIA_BYTES`: refused by its size, before a byte is read."""

    def __init__(self, size: int) -> None:
        super().__init__(f"{size:,} bytes")
        self.size = size


def read_media(path: Path, size: int) -> bytes:
    """The bytes of a media file checked at `size` when the post was read: at most that
    many are read, and a file that changed size since is an OSError."""
    with open(path, "rb") as fh:
        data = fh.read(size + 1)
    if len(data) != size:
        raise OSError(f"{path.name} changed since it was checked ({size:,} bytes then)")
    return data
