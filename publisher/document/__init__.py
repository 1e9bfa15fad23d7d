"""Bytes of a post file -> frontmatter mapping + body, with a line for every key.

A `Document` is what a post file says, before any meaning is given to it: the YAML
frontmatter as plain Python data, the body text, and where each key and item sits in
the file, so that every later error can name ``path:line:col``.

Reading is strict where guessing would be dangerous. Refused with a `DocumentError`
(always with a line): empty, binary or over-large files, bytes that are not UTF-8, no
frontmatter or no closing line, YAML syntax errors, duplicate keys, anchors and aliases
(a "billion laughs" document expands to gigabytes in anything that walks it), merge
keys, tags other than YAML's plain types (``!!python/...`` included), and nesting
deeper than any post needs. A UTF-8 BOM and CRLF line endings are accepted: they are
ordinary on Windows, and the write-back keeps them. The YAML itself is read by
`reader.py` (strict, with a line for every key); this module finds the frontmatter,
the body and a thread's parts.

>>> doc = parse_document(b"---\\ntargets: [bluesky]\\n---\\nHello\\n", "p.md")
>>> doc.data, doc.body, doc.line_of(("targets", 0))
({'targets': ['bluesky']}, 'Hello\\n', (2, 11))
"""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from publisher.document.reader import (
    MAX_DEPTH,
    MAX_NODES,
    Builder,
    DocumentError,
    FastLoader,
    Loc,
    Yaml,
    parse_yaml,
)

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "Document",
    "DocumentError",
    "LinkedFile",
    "Loc",
    "Notice",
    "Yaml",
    "load_document",
    "parse_document",
]

MAX_BYTES = 1024 * 1024

_ODD_BREAK = re.compile("[\r\x85\u2028\u2029]")
_OPEN = re.compile(r"^(---|\+\+\+)[ \t]*$")
# A line closing YAML frontmatter (spaces after it are fine, as `str.rstrip` allows).
_CLOSER = re.compile(r"^(?:---|\.\.\.)[^\S\n]*$", re.MULTILINE)
_FRONTMATTER_KEY = re.compile(
    r"^(targets|scheduledAt|publishNow|firstComment|media|profileId|draft|published)\s*:"
)


@dataclass(frozen=True, slots=True)
class Notice:
    """Something worth saying about a readable file (never a reason to refuse it)."""

    line: int
    col: int
    code: str
    message: str


@dataclass
class Document:
    path: str
    raw: bytes
    data: dict[str, Any]  # `Yaml` values; validate/ reads them as pydantic does
    body: str
    body_line: int
    """1-based line of the file where the body starts."""
    notices: list[Notice] = field(default_factory=list)
    bom: bool = False
    crlf: bool = False
    frontmatter: str = ""
    """The YAML text between the delimiters (from line 2 of the file)."""
    parts: list[tuple[str, int]] = field(default_factory=list)
    """A thread: the body's parts, separated by lines holding only ``---``, each with
    the 1-based line it starts on (empty when the body has no such line)."""
    _lines: dict[Loc, tuple[int, int]] | None = field(default=None, repr=False, compare=False)
    _tree: tuple[yaml.MappingNode, FastLoader] | None = field(
        default=None, repr=False, compare=False
    )
    """The quick reading's composed YAML (node, loader), kept until `forget_tree`, so
    that finding lines need not parse the text again."""

    @property
    def lines(self) -> dict[Loc, tuple[int, int]]:
        """(line, col) of every key and item. Worked out when first asked for: only a
        post with a problem to report needs it, so reading a valid one skips it."""
        if self._lines is None:
            # The quick reading accepts only what the careful one accepts (tests hold
            # them to it), so its node tree (or this text, read again) builds alike.
            if self._tree is not None:
                node, loader = self._tree
                builder = Builder(loader, self.path, 1)
                builder.lines[()] = (2, 1)
                builder.build(node, (), 0)
                self._lines, self._tree = builder.lines, None
            else:
                line_map = parse_yaml(self.frontmatter, self.path, 1, lines=True)[1]
                assert line_map is not None
                self._lines = line_map
        return self._lines

    def forget_tree(self) -> None:
        """Drop the composed YAML (lines are then found by parsing again if asked)."""
        self._tree = None

    def line_of(self, loc: Loc) -> tuple[int, int]:
        """(line, col) of the key or item at ``loc``, or of its nearest parent."""
        if self._lines is None and self._tree is not None:
            return _line_in_tree(self._tree[0], loc)  # one path, not every line
        lines = self.lines
        loc = tuple(loc)
        while loc:
            hit = lines.get(loc)
            if hit:
                return hit
            loc = loc[:-1]
        return lines.get((), (1, 1))


def _line_in_tree(node: yaml.Node, loc: Loc) -> tuple[int, int]:
    """`Document.line_of` read off the quick reading's node tree (string keys, each
    once, no aliases): the line `Builder` notes for the deepest part of ``loc`` there."""
    where = (2, 1)
    for part in loc:
        if node.__class__ is yaml.MappingNode and isinstance(part, str):
            found = next((kv for kv in node.value if kv[0].value == part), None)
            if found is None:
                break
            mark, node = found[0].start_mark, found[1]
        elif node.__class__ is yaml.SequenceNode and isinstance(part, int) and part >= 0:
            if part >= len(node.value):
                break
            node = node.value[part]
            mark = node.start_mark
        else:
            break
        where = (mark.line + 2, mark.column + 1)
    return where


class LinkedFile(Exception):
    """`load_document(follow_links=False)` met a symbolic link: the caller decides."""


def load_document(path: Path, display: str | None = None, *, follow_links: bool = True) -> Document:
    """Read and parse one post file. Raises `DocumentError` for anything unusable, and
    with ``follow_links=False`` `LinkedFile` when the file is a symbolic link (opened
    with O_NOFOLLOW: no extra system call for a plain file)."""
    name = display or str(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        # O_NONBLOCK: a FIFO or device named like a post must not hang the run.
        try:
            fd = os.open(path, flags)
        except OSError as exc:
            if not follow_links and (exc.errno == errno.ELOOP or os.path.islink(path)):
                raise LinkedFile(path) from None
            raise
        with open(fd, "rb") as handle:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise DocumentError(name, 1, 1, "file.type", "not a regular file")
            # Size the read by the file (a MAX_BYTES buffer per file costs a third of a
            # 10,000-post plan); read on only if it grew since the fstat.
            raw = handle.read(min(info.st_size, MAX_BYTES) + 1)
            if len(raw) > info.st_size:
                raw += handle.read(MAX_BYTES + 1 - len(raw))
    except OSError as exc:
        raise DocumentError(name, 1, 1, "file.unreadable", exc.strerror or str(exc)) from None
    if len(raw) > MAX_BYTES:
        raise DocumentError(
            name, 1, 1, "file.too_large", "file is over 1 MiB; posts are limited to 1 MiB"
        )
    return parse_document(raw, name)


def parse_document(raw: bytes, path: str) -> Document:
    if len(raw) > MAX_BYTES:
        raise DocumentError(
            path, 1, 1, "file.too_large", f"file is {len(raw):,} bytes; posts are limited to 1 MiB"
        )
    if not raw.strip():
        raise DocumentError(path, 1, 1, "file.empty", "file is empty: a post needs frontmatter")
    if b"\x00" in raw[:8192]:
        raise DocumentError(path, 1, 1, "file.binary", "file looks binary (it contains NUL bytes)")
    bom = raw.startswith(b"\xef\xbb\xbf")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DocumentError(
            path,
            line,
            col,
            "file.encoding",
            f"byte 0x{raw[exc.start]:02x} is not valid UTF-8: save the file as UTF-8",
        ) from None
    crlf = "\r\n" in text
    if crlf:
        text = text.replace("\r\n", "\n")
    newline = text.find("\n")
    first = text if newline < 0 else text[:newline]
    if not _OPEN.match(first):
        if not first.strip() and any(_OPEN.match(x) for x in text.split("\n", 4)[1:4]):
            raise DocumentError(
                path, 1, 1, "frontmatter.position", "frontmatter must start on line 1 with '---'"
            )
        raise DocumentError(
            path,
            1,
            1,
            "frontmatter.missing",
            "no frontmatter: a post starts with a '---' line, its YAML keys "
            "(at least `targets`), and a closing '---' line",
        )
    opener = first.strip()
    if opener == "+++":
        raise DocumentError(
            path,
            1,
            1,
            "frontmatter.toml",
            "TOML frontmatter (+++) is not supported; use YAML (---)",
        )
    closing = _CLOSER.search(text, newline + 1) if newline >= 0 else None
    if closing is None:
        raise DocumentError(
            path,
            1,
            1,
            "frontmatter.unterminated",
            "the frontmatter opened on line 1 is never closed: add a '---' line after its keys",
        )

    # Sliced, not split into lines: the body can be long and is only needed whole.
    close_at = closing.start()
    close = text.count("\n", 0, close_at)  # the closing line, counted from 0
    yaml_text = text[newline + 1 : close_at - 1] if close_at > newline + 1 else ""
    odd = _ODD_BREAK.search(yaml_text)  # YAML breaks lines here, editors do not: lines drift
    if odd:
        before = yaml_text.rfind("\n", 0, odd.start())
        raise DocumentError(
            path,
            yaml_text.count("\n", 0, odd.start()) + 2,
            odd.start() - before,
            "yaml.line_break",
            f"character U+{ord(odd.group()):04X} is a line break to YAML but not to your "
            "editor: remove it (or write it as an escape in a double-quoted string)",
        )
    tree: list[tuple[yaml.MappingNode, FastLoader]] = []
    data, line_map = parse_yaml(yaml_text, path, line_offset=1, tree=tree)
    body = text[closing.end() + 1 :]  # after the closing line's "\n", if any
    parts = _thread_parts(body, close + 2, path) if "---" in body else []
    return Document(
        path=path,
        raw=raw,
        data=data,
        body=body,
        body_line=close + 2,
        parts=parts,
        bom=bom,
        crlf=crlf,
        frontmatter=yaml_text,
        _lines=line_map,
        _tree=tree[0] if tree else None,
    )


def _thread_parts(body: str, first_line: int, path: str) -> list[tuple[str, int]]:
    """A body with lines holding only '---' is a thread (the convention of
    twitter-together and nodejs/bluesky): its parts, each with its first line. A part
    that is empty, or that reads like a second frontmatter block, is refused there."""
    lines = body.split("\n")
    cuts = [i for i, line in enumerate(lines) if line.rstrip() == "---"]
    if not cuts:
        return []
    parts: list[tuple[str, int]] = []
    start = 0
    for end in [*cuts, len(lines)]:
        chunk = lines[start:end]
        lineno = first_line + start
        text = "\n".join(chunk)
        if start > 0:
            following = next((x for x in chunk[:5] if x.strip()), "")
            if _FRONTMATTER_KEY.match(following):
                raise DocumentError(
                    path,
                    lineno - 1,
                    1,
                    "body.second_frontmatter",
                    "a second frontmatter block starts here, inside the body; one file "
                    "holds one post (a thread's parts are plain text: split the file)",
                )
        if not text.strip():
            at = lineno - 1 if start > 0 else lineno
            raise DocumentError(
                path,
                max(at, first_line),
                1,
                "body.part_empty",
                "an empty thread part: every part between '---' lines needs text "
                "(remove the extra '---')",
            )
        blank = len(text) - len(text.lstrip("\n"))
        parts.append((text, lineno + text.count("\n", 0, blank)))
        start = end + 1
    return parts
