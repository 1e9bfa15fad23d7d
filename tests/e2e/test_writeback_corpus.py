"""Write-back over every real-world file in the shared corpus.

Each file whose frontmatter is YAML (a mapping) gets a ``published`` block inserted,
replaced and removed, and every byte outside the block must stay identical; every
other file must be refused with WritebackError, never written wrongly.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from publisher.writeback import WritebackError, render_published, set_published


def _corpus_dir() -> Path | None:
    for candidate in (
        Path(__file__).resolve().parents[3] / "shared" / "corpus",
        Path("/work/shared/corpus"),
    ):
        if candidate.is_dir():
            return candidate
    return None


CORPUS = _corpus_dir()
if CORPUS is None:
    pytest.skip("the shared corpus is not available", allow_module_level=True)

FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name != "MANIFEST.tsv")

# An independent reading of "YAML frontmatter": optional BOM, a '---' line, the text up
# to the first '---' or '...' line (trailing blanks allowed on both, as Jekyll does).
FRONTMATTER = re.compile(
    rb"\A(?:\xef\xbb\xbf)?---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S | re.M
)

FIRST = {
    "env": "sandbox",
    "api": "http://127.0.0.1:8765",
    "hash": "sha256:" + "9f" * 32,
    "status": "published",
    "updatedAt": "2026-11-29T12:00:00Z",
    "media": {"9f86d081884c7d659a2feaa0c55ad015": "med_0123456789abcdefghijkl"},
    "targets": {
        "bluesky-main": {
            "platform": "bluesky",
            "account": "6f1c2b1e-0000-4000-8000-000000000001",
            "status": "published",
            "key": "pub-" + "a1" * 16,
            "attempt": 1,
            "uri": "at://did:plc:abc123/app.bsky.feed.post/3kabc",
            "url": "https://bsky.app/profile/did:plc:abc123/post/3kabc",
            "note": "héllo 😀 中文のテスト",
            "at": "2026-11-29T12:00:00Z",
        },
    },
}
SECOND = {
    "env": "live",
    "status": "partial_failed",
    "targets": {
        "x-main": {
            "platform": "x",
            "status": "failed",
            "error": {"code": "platform_unavailable", "message": "try again: later # soon"},
        },
    },
}


def _writable(raw: bytes) -> bool:
    """True when the file has YAML frontmatter that parses as a mapping (or is empty)."""
    match = FRONTMATTER.match(raw)
    if match is None:
        return False
    try:
        data: Any = yaml.load(match.group(1).decode("utf-8"), Loader=yaml.CSafeLoader)
    except (yaml.YAMLError, UnicodeDecodeError):
        return False
    return data is None or isinstance(data, dict)


def _block(raw: bytes, record: dict[str, Any]) -> bytes:
    body = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    eol = b"\r\n" if body.split(b"\n", 1)[0].endswith(b"\r") else b"\n"
    return render_published(record).encode("utf-8").replace(b"\n", eol)


def _published(raw: bytes) -> Any:
    match = FRONTMATTER.match(raw)
    assert match is not None
    return yaml.load(match.group(1).decode("utf-8"), Loader=yaml.CSafeLoader)["published"]


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(CORPUS)) for p in FILES])
def test_corpus_file(path: Path) -> None:
    raw = path.read_bytes()
    if not _writable(raw):
        with pytest.raises(WritebackError):
            set_published(raw, FIRST, path=str(path))
        return

    first = set_published(raw, FIRST, path=str(path))
    block = _block(raw, FIRST)
    assert first.count(block) == 1
    assert first.replace(block, b"", 1) == raw
    assert _published(first) == FIRST

    second = set_published(first, SECOND, path=str(path))
    block2 = _block(raw, SECOND)
    assert second.count(block2) == 1
    assert second.replace(block2, b"", 1) == raw
    assert _published(second) == SECOND

    assert set_published(second, None, path=str(path)) == raw
