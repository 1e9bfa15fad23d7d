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
ordinary on Windows, and the write-back keeps them.

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

from publisher.errors import PublisherError

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "Document",
    "DocumentError",
    "LinkedFile",
    "Loc",
    "Notice",
    "load_document",
    "parse_document",
]

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_NODES = 20_000

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
_STR, _SEQ, _MAP, _MERGE = (f"{_TAG}{t}" for t in ("str", "seq", "map", "merge"))
# The plain scalar types a post may use, with libyaml-safe constructors for each.
_SCALARS = {
    f"{_TAG}{t}": getattr(yaml.constructor.SafeConstructor, f"construct_yaml_{t}")
    for t in ("int", "float", "bool", "null", "timestamp")
}


class _FastLoader(_Loader):  # type: ignore[misc, valid-type]
    """libyaml's loader with PyYAML's tag resolution done in fewer steps (the composer
    calls it for every node). Same answers: safe loading has no wildcard and no path
    resolvers, which is checked below."""

    def resolve(
        self,
        kind: Any,
        value: Any,
        implicit: Any,
        _scalar: Any = yaml.ScalarNode,
        _sequence: Any = yaml.SequenceNode,
        _none: tuple[()] = (),
    ) -> str:
        if kind is _scalar:
            if implicit[0]:
                for tag, regexp in _IMPLICIT.get(value[:1], _none):
                    if regexp.match(value):
                        return tag
            return _STR
        return _SEQ if kind is _sequence else _MAP

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


_IMPLICIT = _Loader.yaml_implicit_resolvers
if None in _IMPLICIT or _Loader.yaml_path_resolvers:  # pragma: no cover - a PyYAML change
    _FastLoader = _Loader  # type: ignore[misc, assignment]
_ODD_BREAK = re.compile("[\r\x85\u2028\u2029]")
_OPEN = re.compile(r"^(---|\+\+\+)[ \t]*$")
# A line closing YAML frontmatter (spaces after it are fine, as `str.rstrip` allows).
_CLOSER = re.compile(r"^(?:---|\.\.\.)[^\S\n]*$", re.MULTILINE)
_FRONTMATTER_KEY = re.compile(
    r"^(targets|scheduledAt|publishNow|firstComment|media|profileId|draft|published)\s*:"
)

Loc = tuple[str | int, ...]


class DocumentError(PublisherError):
    """A post file that cannot be read as a post, with the place to fix it."""

    def __init__(self, path: str, line: int, col: int, code: str, message: str) -> None:
        super().__init__(f"{path}:{line}:{col}: {code}: {message}")
        self.path, self.line, self.col, self.code, self.message = path, line, col, code, message


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
    data: dict[str, Any]
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
    _tree: tuple[Any, Any] | None = field(default=None, repr=False, compare=False)
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
                builder = _Builder(loader, self.path, 1)
                builder.lines[()] = (2, 1)
                builder.build(node, (), 0)
                self._lines, self._tree = builder.lines, None
            else:
                line_map = _parse_yaml(self.frontmatter, self.path, 1, lines=True)[1]
                assert line_map is not None
                self._lines = line_map
        return self._lines

    def forget_tree(self) -> None:
        """Drop the composed YAML (lines are then found by parsing again if asked)."""
        self._tree = None

    def line_of(self, loc: Loc) -> tuple[int, int]:
        """(line, col) of the key or item at ``loc``, or of its nearest parent."""
        lines = self.lines
        loc = tuple(loc)
        while loc:
            hit = lines.get(loc)
            if hit:
                return hit
            loc = loc[:-1]
        return lines.get((), (1, 1))


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
    tree: list[Any] = []
    data, line_map = _parse_yaml(yaml_text, path, line_offset=1, tree=tree)
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
        _tree=(tree[0], tree[1]) if tree else None,
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


def _parse_yaml(
    text: str, path: str, line_offset: int, *, lines: bool = False, tree: list[Any] | None = None
) -> tuple[dict[str, Any], dict[Loc, Any] | None]:
    """The frontmatter's data, and with ``lines`` (or when the quick reading cannot
    vouch for the text) the line of every key and item; else ``None`` for the lines,
    and the composed node and its loader appended to ``tree``."""
    if not text.strip():
        return {}, {(): (line_offset + 1, 1)}
    loader = _FastLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = line_offset + (mark.line + 1 if mark else 1)
        col = mark.column + 1 if mark else 1
        problem = exc.problem or exc.context or "invalid YAML"
        at = mark.index if mark is not None else -1
        if (0 <= at < len(text) and text[at] == "\t") or "'\\t'" in problem:
            problem = (
                "a tab character: YAML indents with spaces only, never tabs "
                "(replace the tab with spaces)"
            )
        raise DocumentError(
            path, line, col, "yaml.syntax", f"YAML syntax error: {problem}"
        ) from None
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        line = line_offset + before.count("\n") + 1
        col = exc.position - (before.rfind("\n") + 1) + 1
        raise DocumentError(
            path,
            line,
            col,
            "yaml.syntax",
            f"character {exc.character!r} is not allowed in YAML (a control character)",
        ) from None
    except yaml.YAMLError as exc:
        raise DocumentError(path, line_offset + 1, 1, "yaml.syntax", f"YAML error: {exc}") from None
    finally:
        loader.dispose()
    if node is None:
        return {}, {(): (line_offset + 1, 1)}
    builder = _Builder(loader, path, line_offset)
    if not isinstance(node, yaml.MappingNode):
        raise DocumentError(
            path,
            line_offset + node.start_mark.line + 1,
            node.start_mark.column + 1,
            "yaml.type",
            "the frontmatter must be a mapping of keys (like `targets: [...]`)",
        )
    if not lines and "&" not in text and "*" not in text:  # no anchor, no alias
        try:
            data = _build_plain(node, loader, 0, [1])
            if tree is not None:
                tree += (node, loader)
            return data, None
        except _Unusual:
            pass  # the careful builder below names the problem, or accepts the text
    builder.lines[()] = (line_offset + 1, 1)
    data = builder.build(node, (), 0)
    return data, builder.lines


class _Unusual(Exception):
    """The quick builder met something only the careful one handles."""


_SCALAR_NODE, _SEQ_NODE, _MAP_NODE = yaml.ScalarNode, yaml.SequenceNode, yaml.MappingNode


def _build_plain(node: yaml.Node, loader: Any, depth: int, count: list[int]) -> Any:
    """The quick path of `_Builder.build` for the common frontmatter, without a line map:
    string keys, plain types, no anchors (the caller checked the text), well within the
    size and depth limits. Anything else raises `_Unusual` (and `_Builder` decides),
    so both give the same data for every text this accepts."""
    cls = node.__class__
    if cls is _SCALAR_NODE:
        if node.tag == _STR:
            return node.value
        construct = _SCALARS.get(node.tag)
        if construct is None:
            raise _Unusual
        try:
            return construct(loader, node)
        except Exception:
            raise _Unusual from None
    if depth >= MAX_DEPTH - 1:
        raise _Unusual
    # Nodes as `_Builder` counts them (the root is counted by the caller): every item,
    # and every key and value. Near the limit, leave the verdict to `_Builder`.
    count[0] += len(node.value) * (2 if cls is _MAP_NODE else 1)
    if count[0] >= MAX_NODES - 1:
        raise _Unusual
    if cls is _SEQ_NODE:
        if node.tag != _SEQ:
            raise _Unusual
        out = []
        for item in node.value:
            if item.__class__ is _SCALAR_NODE and item.tag == _STR:
                out.append(item.value)
            else:
                out.append(_build_plain(item, loader, depth + 1, count))
        return out
    if cls is not _MAP_NODE or node.tag != _MAP:
        raise _Unusual
    result: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if key_node.__class__ is not _SCALAR_NODE or key_node.tag != _STR:
            raise _Unusual  # a merge key, a number or a null as a key
        key = key_node.value
        if key in result:
            raise _Unusual  # a duplicate: reported with the first one's line
        if value_node.__class__ is _SCALAR_NODE and value_node.tag == _STR:
            result[key] = value_node.value
        else:
            result[key] = _build_plain(value_node, loader, depth + 1, count)
    return result


class _Builder:
    """Turns a composed YAML node tree into Python data in one pass, refusing what is
    unsafe (aliases, unknown tags, duplicate keys, merge keys, deep nesting) and noting
    the line of every key and item. Work is bounded by the size of the source text:
    a node seen twice (an alias) is refused before it could be expanded."""

    def __init__(self, loader: Any, path: str, line_offset: int) -> None:
        self.loader = loader
        self.path = path
        self.offset = line_offset
        self.seen: set[int] = set()
        self.lines: dict[Loc, tuple[int, int]] = {}

    def _where(self, node: yaml.Node) -> tuple[int, int]:
        return self.offset + node.start_mark.line + 1, node.start_mark.column + 1

    def _fail(self, node: yaml.Node, code: str, message: str) -> DocumentError:
        line, col = self._where(node)
        return DocumentError(self.path, line, col, code, message)

    def build(self, node: yaml.Node, loc: Loc, depth: int) -> Any:
        seen = self.seen
        if id(node) in seen:
            raise self._fail(
                node,
                "yaml.alias",
                "YAML anchors and aliases (&name / *name) are not allowed in posts; "
                "this anchor is used more than once",
            )
        seen.add(id(node))
        if len(seen) > MAX_NODES:
            raise self._fail(node, "yaml.size", f"frontmatter has more than {MAX_NODES} values")
        if depth > MAX_DEPTH:
            raise self._fail(node, "yaml.depth", f"frontmatter is nested deeper than {MAX_DEPTH}")
        tag = node.tag
        cls = node.__class__
        if cls is yaml.ScalarNode:
            if tag == _STR:  # the common case, without the constructor's bookkeeping
                return node.value
            construct = _SCALARS.get(tag)
            if construct is None:
                raise self._fail(
                    node, "yaml.tag", f"YAML tag {_short(tag)} is not allowed in posts"
                )
            try:
                return construct(self.loader, node)
            except ValueError:
                if tag != _TIMESTAMP:
                    raise self._fail(
                        node, "yaml.value", f"{node.value!r} is not a valid {_short(tag)}"
                    ) from None
                # `2027-02-30` looks like a date but is none: kept as the text written,
                # so the post's checks say so at its line, beside the file's other problems
                return node.value
            except (
                yaml.YAMLError,
                OverflowError,
                AttributeError,
                TypeError,
                KeyError,
                IndexError,
            ):
                # e.g. `!!timestamp nope`, `!!int x`, a date out of range, `!!bool maybe`
                # (KeyError), `!!int ''` or `!!int '+'` (IndexError)
                raise self._fail(
                    node, "yaml.value", f"{node.value!r} is not a valid {_short(tag)}"
                ) from None
        lines = self.lines
        offset = self.offset
        if cls is yaml.SequenceNode:
            if tag != _SEQ:
                raise self._fail(
                    node, "yaml.tag", f"YAML tag {_short(tag)} is not allowed in posts"
                )
            out = []
            for i, item in enumerate(node.value):
                mark = item.start_mark
                lines[(*loc, i)] = (offset + mark.line + 1, mark.column + 1)
                out.append(self.build(item, (*loc, i), depth + 1))
            return out
        if tag != _MAP or cls is not yaml.MappingNode:
            raise self._fail(node, "yaml.tag", f"YAML tag {_short(tag)} is not allowed in posts")
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.__class__ is not yaml.ScalarNode:
                raise self._fail(key_node, "yaml.key", "keys must be plain strings")
            if key_node.tag == _MERGE:
                raise self._fail(key_node, "yaml.merge", "YAML merge keys (<<) are not allowed")
            key = self.build(key_node, loc, depth + 1)
            if not isinstance(key, str):
                key = str(key) if not isinstance(key, bool) else str(key).lower()
            if key in result:
                first = self.lines.get((*loc, key), ("?", "?"))[0]
                raise self._fail(
                    key_node,
                    "yaml.duplicate_key",
                    f"duplicate key {key!r} (first set on line {first}); YAML would silently "
                    "keep only the last one",
                )
            self.lines[(*loc, key)] = self._where(key_node)
            result[key] = self.build(value_node, (*loc, key), depth + 1)
        return result


_TIMESTAMP = f"{_TAG}timestamp"


def _short(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag
