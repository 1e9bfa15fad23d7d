"""Which files are posts: Markdown files under the posts folder, minus editor noise."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

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
        posts = []
        for folder, subfolders, names in os.walk(path):
            subfolders[:] = [d for d in subfolders if not d.startswith(".")]
            for name in names:
                if is_post_name(name):
                    candidate = os.path.join(folder, name)
                    if os.path.isfile(candidate):
                        posts.append(Path(candidate))
        posts.sort(key=lambda p: p.parts)
        found.update(dict.fromkeys(posts))
    return list(found)
