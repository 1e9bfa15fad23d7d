"""Which entries were drafted already: the ``source:`` of every post file in the
folders drafts go to, of every version of such a file in git history (on every ref
the checkout has: a draft deleted in review, or still waiting in an open pull
request's branch, counts), and the ids this machine drafted (``.publisher/``).

An entry is known when its id or its link is among them: a feed that changes its ids
(http to https, a new blog engine) does not draft its whole history again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Known", "known_sources"]

NEEDLE = "source:"


@dataclass
class Known:
    ids: set[str] = field(default_factory=set)
    urls: set[str] = field(default_factory=set)

    def add(self, source: object) -> None:
        if not isinstance(source, Mapping):
            return
        sid, url = source.get("id"), source.get("url")
        if isinstance(sid, str) and sid:
            self.ids.add(sid)
        if isinstance(url, str) and url:
            self.urls.add(url)

    def __contains__(self, item: tuple[str, str | None]) -> bool:
        sid, url = item
        return sid in self.ids or (url is not None and url in self.urls)


def _source_of(raw: bytes, name: str) -> object:
    if NEEDLE.encode() not in raw:
        return None
    from publisher.document import DocumentError, parse_document

    try:
        return parse_document(raw, name).data.get("source")
    except DocumentError:
        return None


def known_sources(root: Path, folders: Iterable[Path], extra_ids: Iterable[str] = ()) -> Known:
    """Every source found under ``folders`` now and in the history of the repository
    at ``root``, plus ``extra_ids``."""
    from publisher.files import find_posts
    from publisher.git import versions_mentioning

    known = Known()
    known.ids.update(extra_ids)
    folders = [f for f in dict.fromkeys(folders)]
    for path in find_posts([f for f in folders if f.is_dir()]):
        try:
            if path.is_symlink() or not path.is_file() or path.stat().st_size > 1_048_576:
                continue
            raw = path.read_bytes()
        except OSError:
            continue
        known.add(_source_of(raw, str(path)))
    rel = []
    for f in folders:
        try:
            rel.append(f.resolve().relative_to(root.resolve()).as_posix())
        except ValueError:
            continue
    for raw in versions_mentioning(root, rel, NEEDLE):
        known.add(_source_of(raw, "(git history)"))
    return known
