"""Reading a post's YAML frontmatter for a splice: its delimiters, its top-level keys
and their lines, the lines of the `published` key; every shape that would make the
splice a guess (anchors, flow style, a second document, odd line breaks) is refused
with a `WritebackError` at its line."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import yaml

from publisher.errors import PublisherError

__all__ = [
    "KEY",
    "Entry",
    "Line",
    "Split",
    "WritebackError",
    "analyse",
    "decode",
    "load",
    "region",
    "same",
    "split_frontmatter",
]

KEY = "published"
_BOM = b"\xef\xbb\xbf"
_CLOSERS = (b"---", b"...")
_Loader: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)
# Line breaks YAML knows besides LF / CRLF: our line numbers would disagree with the parser's.
_OTHER_BREAKS = re.compile("[\r\x85\u2028\u2029]")


class WritebackError(PublisherError):
    """The ``published`` block could not be written safely; the file was not changed.

    ``path`` and ``line`` (1-based, in the file) locate the problem when known. The
    message never contains the file's content.
    """

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        self.reason = message
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        elif line is not None:
            where = f"line {line}: "
        super().__init__(f"{where}{message}")


@dataclass(slots=True)
class Line:
    start: int  # offset of the line in the file
    end: int  # offset after its line break
    text: bytes  # without the line break


@dataclass(slots=True)
class Split:
    eol: bytes  # line ending of the opening line
    lines: list[Line]  # frontmatter lines between the delimiters
    close: Line  # the closing delimiter line


@dataclass(slots=True)
class Entry:
    name: str | None  # scalar key value; None for a complex key
    line: int  # 0-based line of the key in the frontmatter text
    column: int
    last: int  # last line holding part of its value


def _is_delim(text: bytes, marks: tuple[bytes, ...]) -> bool:
    return text.rstrip(b" \t") in marks


def split_frontmatter(raw: bytes, path: str | None) -> Split:
    """Locate the frontmatter delimiters; refuse anything that is not unambiguous."""
    pos = len(_BOM) if raw.startswith(_BOM) else 0
    nl = raw.find(b"\n", pos)
    first = raw[pos : nl if nl >= 0 else len(raw)]
    eol = b"\r\n" if first.endswith(b"\r") else b"\n"
    first = first.removesuffix(b"\r")
    if not _is_delim(first, (b"---",)):
        stripped = first.strip()
        if _is_delim(first, (b"+++",)):
            msg = "TOML frontmatter (+++) is not supported for write-back; use YAML (---)"
        elif stripped and not stripped.strip(b"-"):
            msg = "the opening line must be exactly '---' (found a run of dashes of another length)"
        elif not stripped and raw[pos:].lstrip(b" \t\r\n").startswith((b"---", b"+++")):
            msg = "blank lines before the opening '---' line: frontmatter must start on line 1"
        elif stripped.startswith(b"---"):
            msg = "the opening line must be exactly '---'"
        else:
            msg = "no frontmatter: the file must start with a '---' line"
        raise WritebackError(msg, path=path, line=1)
    lines: list[Line] = []
    pos = nl + 1 if nl >= 0 else len(raw)
    while pos < len(raw):
        nl = raw.find(b"\n", pos)
        end = nl + 1 if nl >= 0 else len(raw)
        text = raw[pos:end].rstrip(b"\n").removesuffix(b"\r")
        line = Line(pos, end, text)
        if _is_delim(text, _CLOSERS):
            return Split(eol, lines, line)
        lines.append(line)
        pos = end
    raise WritebackError("no closing '---' line after the frontmatter", path=path, line=1)


class _Mark(Protocol):
    """Where an event or an error is in the text (PyYAML's pure and C marks alike)."""

    @property
    def line(self) -> int: ...
    @property
    def column(self) -> int: ...


def _at(mark: _Mark | None) -> _Mark:
    """An event's mark: the parser gives every event both."""
    if mark is None:
        raise AssertionError("a YAML event without its place in the text")
    return mark


def _refuse_mark(msg: str, mark: _Mark | None, path: str | None) -> WritebackError:
    line = None if mark is None else mark.line
    return WritebackError(msg, path=path, line=None if line is None else line + 2)


def decode(split: Split, raw: bytes, path: str | None) -> str:
    if not split.lines:
        return ""
    data = raw[split.lines[0].start : split.close.start]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 2
        raise WritebackError("frontmatter is not valid UTF-8", path=path, line=line) from None
    lf = text.replace("\r\n", "\n")
    odd = _OTHER_BREAKS.search(lf)
    if odd:
        line = lf.count("\n", 0, odd.start()) + 2
        raise WritebackError(
            "frontmatter uses a line break other than LF or CRLF (a lone CR, U+0085, U+2028 "
            "or U+2029): refusing to edit it",
            path=path,
            line=line,
        )
    return text


def _events(text: str, path: str | None) -> Iterator[yaml.Event]:
    try:
        yield from yaml.parse(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise _refuse_mark(f"frontmatter is not valid YAML: {exc.problem}", mark, path) from None
    except yaml.YAMLError:
        raise WritebackError("frontmatter is not valid YAML", path=path) from None


def _last_line(event: yaml.Event) -> int:
    """The last line an event's text occupies (block scalars end at a line start)."""
    mark = _at(event.end_mark)
    if mark.column == 0 and mark.line > _at(event.start_mark).line:
        return mark.line - 1
    return mark.line


def analyse(text: str, path: str | None) -> list[Entry]:
    """The top-level keys of the frontmatter with their lines; refuse unsafe shapes."""
    entries: list[Entry] = []
    flows: list[bool] = []  # open collections below the top mapping: flow style?
    top = False  # inside the top-level mapping
    documents = 0
    expect_key = True
    for ev in _events(text, path):
        if isinstance(ev, yaml.AliasEvent) or getattr(ev, "anchor", None) is not None:
            raise _refuse_mark(
                "frontmatter uses YAML anchors or aliases: refusing to edit it",
                ev.start_mark,
                path,
            )
        if isinstance(ev, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise _refuse_mark(
                    "frontmatter holds more than one YAML document", ev.start_mark, path
                )
            continue
        if isinstance(ev, yaml.StreamStartEvent | yaml.StreamEndEvent | yaml.DocumentEndEvent):
            continue
        if not top:
            if not isinstance(ev, yaml.MappingStartEvent):
                raise _refuse_mark("frontmatter is not a mapping of keys", ev.start_mark, path)
            if ev.flow_style:
                raise _refuse_mark(
                    "frontmatter is a flow mapping ({...}): only block style can be edited",
                    ev.start_mark,
                    path,
                )
            if ev.start_mark is not None and ev.start_mark.column != 0:
                raise _refuse_mark(
                    "frontmatter keys are indented: top-level keys must start in column 1",
                    ev.start_mark,
                    path,
                )
            top = True
            continue
        if not flows:
            if isinstance(ev, yaml.MappingEndEvent):
                top = False
                continue
            if expect_key:
                name = ev.value if isinstance(ev, yaml.ScalarEvent) else None
                mark = _at(ev.start_mark)
                entries.append(Entry(name, mark.line, mark.column, mark.line))
            expect_key = not expect_key
        entry = entries[-1]
        if isinstance(ev, yaml.CollectionStartEvent):
            flows.append(bool(ev.flow_style))
            if ev.start_mark is not None:
                entry.last = max(entry.last, ev.start_mark.line)
        elif isinstance(ev, yaml.CollectionEndEvent):
            if flows.pop() and ev.end_mark is not None:
                entry.last = max(entry.last, ev.end_mark.line)
        else:
            entry.last = max(entry.last, _last_line(ev))
    return entries


def load(text: str, path: str | None) -> dict[object, object]:
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if isinstance(exc, yaml.constructor.ConstructorError):
            raise _refuse_mark("frontmatter uses an unsupported YAML tag", mark, path) from None
        raise _refuse_mark(f"frontmatter is not valid YAML: {exc.problem}", mark, path) from None
    except (yaml.YAMLError, ValueError, TypeError):
        raise WritebackError("frontmatter is not valid YAML", path=path) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise WritebackError("frontmatter is not a mapping of keys", path=path, line=2)
    return data


def same(a: object, b: object) -> bool:
    """Deep equality where NaN equals NaN and bool never equals int."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def region(split: Split, entries: list[Entry], path: str | None) -> tuple[int, int] | None:
    """Frontmatter line range [first, last] of the top-level ``published`` key, or None."""
    found = [i for i, e in enumerate(entries) if e.name == KEY]
    if not found:
        return None
    if len(found) > 1:
        lines = ", ".join(str(entries[i].line + 2) for i in found)
        raise WritebackError(
            f"the top-level 'published' key appears more than once (lines {lines})",
            path=path,
            line=entries[found[1]].line + 2,
        )
    index = found[0]
    entry = entries[index]
    if entry.column != 0:
        raise WritebackError(
            "the 'published' key is not a plain top-level key", path=path, line=entry.line + 2
        )
    stop = entries[index + 1].line if index + 1 < len(entries) else len(split.lines)
    last = entry.line
    for i in range(entry.line + 1, stop):
        text = split.lines[i].text.strip()
        if text and not text.startswith(b"#"):
            last = i
    # Comment-looking lines can be content (block scalars): never stop before the value ends.
    value_end = entry.last
    while value_end > last and not split.lines[value_end].text.strip():
        value_end -= 1
    last = max(last, value_end)
    if last >= stop:
        raise WritebackError(
            "cannot tell where the 'published' block ends", path=path, line=entry.line + 2
        )
    return entry.line, last
