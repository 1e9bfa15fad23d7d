"""Which files are posts: Markdown files under the posts folder, minus editor noise."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

POST_SUFFIXES = (".md", ".markdown")
# Editor swap, backup and temp files; publisher's own temp files (".name.xxxx.tmp").
_NOISE = re.compile(r"(^\.|^#.*#$|~$|\.sw[a-p]$|\.tmp$|\.bak$|^4913$|\.crswap$)")


def is_post_file(path: Path) -> bool:
    name = path.name
    return name.endswith(POST_SUFFIXES) and not _NOISE.search(name)


def find_posts(paths: Iterable[Path]) -> list[Path]:
    """Every post file under `paths` (files are taken as given), sorted, without
    hidden folders (.git, .publisher, ...)."""
    found: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            for candidate in sorted(path.rglob("*")):
                rel = candidate.relative_to(path).parts
                if any(part.startswith(".") for part in rel[:-1]):
                    continue
                if candidate.is_file() and is_post_file(candidate):
                    found[candidate] = None
        else:
            found[path] = None
    return list(found)
