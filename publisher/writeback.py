"""Write-back of the ``published`` block: a textual splice plus an atomic write.

Only the lines of the top-level ``published`` key of a post's YAML frontmatter are
inserted, replaced or removed; every other byte of the file (BOM, line endings,
comments, quoting, key order, blank lines, the body) is kept. The result is parsed
again and compared with the original before anything is written, so an ambiguous
file is refused (:class:`WritebackError`) instead of being guessed at.

Public surface: :func:`render_published`, :func:`set_published`,
:func:`check_writable`, :func:`write_atomic`, :func:`update_file`,
:func:`remove_stale_temps`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import math
import os
import re
import secrets
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from publisher.errors import PublisherError, UsageError
from publisher.files import RealPaths
from publisher.redaction import redact

__all__ = [
    "WritebackError",
    "check_writable",
    "remove_stale_temps",
    "render_published",
    "set_published",
    "update_file",
    "write_atomic",
]

KEY = "published"
_BOM = b"\xef\xbb\xbf"
_CLOSERS = (b"---", b"...")
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Line breaks YAML knows besides LF / CRLF: our line numbers would disagree with the parser's.
_OTHER_BREAKS = re.compile("[\r\x85\u2028\u2029]")
# Strings written double-quoted so every scalar stays on one line.
_ONE_LINE = re.compile("[\n\r\x85\u2028\u2029\t]")
# The temporary files of :func:`write_atomic`: ".<name>.<12 hex digits>.tmp".
_TEMP_NAME = re.compile(r"\.(.+)\.[0-9a-f]{12}\.tmp")


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


# --------------------------------------------------------------------------- rendering


class _Dumper(yaml.SafeDumper):
    """Pure-Python SafeDumper (same output everywhere) that indents block sequences."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = '"' if _ONE_LINE.search(data) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)


def _plain(value: Any, where: str) -> Any:
    """Convert ``value`` to plain dict / list / str / int / float / bool data."""
    if isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        return _plain(value.value, where)
    if isinstance(value, str):
        return redact(str.__str__(value))  # no secret is ever written into a post file
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dt.datetime):
        if value.utcoffset() == dt.timedelta(0):
            return value.replace(tzinfo=None).isoformat() + "Z"
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"published record: key {key!r} at {where} is not a string")
            if item is not None:
                out[str.__str__(key)] = _plain(item, f"{where}.{key}")
        return out
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [_plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise TypeError(
        f"published record: unsupported value of type {type(value).__name__} at {where}"
    )


def _render_plain(plain: dict[str, Any]) -> str:
    return yaml.dump(
        {KEY: plain},
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1 << 30,
        indent=2,
        line_break="\n",
    )


def render_published(record: Mapping[str, Any]) -> str:
    """Return the YAML text of the ``published`` block (LF line endings).

    Insertion order is kept, keys whose value is ``None`` are dropped, datetimes and
    dates become ISO 8601 strings (UTC as ``Z``), strings are quoted only when YAML
    would otherwise read them as something else, and every scalar stays on one line
    (a string with a line break is double-quoted with escapes; PyYAML then escapes
    characters outside the BMP, such as emoji, in that string only).
    """
    if not isinstance(record, Mapping):
        raise TypeError("published record must be a mapping")
    return _render_plain(_plain(record, KEY))


# --------------------------------------------------------------------------- analysis


@dataclass(slots=True)
class _Line:
    start: int  # offset of the line in the file
    end: int  # offset after its line break
    text: bytes  # without the line break


@dataclass(slots=True)
class _Split:
    eol: bytes  # line ending of the opening line
    lines: list[_Line]  # frontmatter lines between the delimiters
    close: _Line  # the closing delimiter line


@dataclass(slots=True)
class _Entry:
    name: str | None  # scalar key value; None for a complex key
    line: int  # 0-based line of the key in the frontmatter text
    column: int
    last: int  # last line holding part of its value


def _is_delim(text: bytes, marks: tuple[bytes, ...]) -> bool:
    return text.rstrip(b" \t") in marks


def _split(raw: bytes, path: str | None) -> _Split:
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
    lines: list[_Line] = []
    pos = nl + 1 if nl >= 0 else len(raw)
    while pos < len(raw):
        nl = raw.find(b"\n", pos)
        end = nl + 1 if nl >= 0 else len(raw)
        text = raw[pos:end].rstrip(b"\n").removesuffix(b"\r")
        line = _Line(pos, end, text)
        if _is_delim(text, _CLOSERS):
            return _Split(eol, lines, line)
        lines.append(line)
        pos = end
    raise WritebackError("no closing '---' line after the frontmatter", path=path, line=1)


def _refuse_mark(msg: str, mark: Any, path: str | None) -> WritebackError:
    line = getattr(mark, "line", None)
    return WritebackError(msg, path=path, line=None if line is None else line + 2)


def _decode(split: _Split, raw: bytes, path: str | None) -> str:
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


def _events(text: str, path: str | None) -> Iterator[Any]:
    try:
        yield from yaml.parse(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise _refuse_mark(f"frontmatter is not valid YAML: {exc.problem}", mark, path) from None
    except yaml.YAMLError:
        raise WritebackError("frontmatter is not valid YAML", path=path) from None


def _last_line(event: Any) -> int:
    """The last line an event's text occupies (block scalars end at a line start)."""
    mark = event.end_mark
    if mark.column == 0 and mark.line > event.start_mark.line:
        return mark.line - 1
    return mark.line


def _analyse(text: str, path: str | None) -> list[_Entry]:
    """The top-level keys of the frontmatter with their lines; refuse unsafe shapes."""
    entries: list[_Entry] = []
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
                mark = ev.start_mark
                entries.append(_Entry(name, mark.line, mark.column, mark.line))
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


def _load(text: str, path: str | None) -> dict[Any, Any]:
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


def _same(a: Any, b: Any) -> bool:
    """Deep equality where NaN equals NaN and bool never equals int."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _region(split: _Split, entries: list[_Entry], path: str | None) -> tuple[int, int] | None:
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


# --------------------------------------------------------------------------- splicing


def set_published(
    raw: bytes, record: Mapping[str, Any] | None, *, path: str | None = None
) -> bytes:
    """Return ``raw`` with its ``published`` block inserted, replaced or removed.

    ``record=None`` removes the block. The block is inserted just before the closing
    delimiter line, written with the file's own line ending (the opening line's),
    and a UTF-8 BOM is kept. Every other byte stays identical; the result is parsed
    again and every other top-level key must keep its value, else
    :class:`WritebackError` is raised and nothing should be written.
    """
    plain = None if record is None else _plain(record, KEY)
    if plain is not None and not isinstance(plain, dict):
        raise TypeError("published record must be a mapping")
    split = _split(raw, path)
    text = _decode(split, raw, path)
    entries = _analyse(text, path)
    region = _region(split, entries, path)
    before = _load(text, path)

    if region is None:
        if plain is None:
            return raw
        cut_start = cut_end = split.close.start
    else:
        cut_start = split.lines[region[0]].start
        cut_end = split.lines[region[1]].end
    block = b"" if plain is None else _render_plain(plain).encode("utf-8")
    if split.eol != b"\n":
        block = block.replace(b"\n", split.eol)
    result = raw[:cut_start] + block + raw[cut_end:]
    _verify(raw, result, split, before, entries, plain, cut_start, cut_end, len(block), path)
    return result


def _verify(
    raw: bytes,
    result: bytes,
    split: _Split,
    before: dict[Any, Any],
    entries: list[_Entry],
    plain: dict[str, Any] | None,
    cut_start: int,
    cut_end: int,
    size: int,
    path: str | None,
) -> None:
    """Re-parse the spliced file and refuse it unless only ``published`` changed."""

    def fail(what: str) -> WritebackError:
        return WritebackError(f"refusing to write: {what} (the file was left unchanged)", path=path)

    new_split = _split(result, path)
    new_close = split.close.start - cut_end + cut_start + size
    if (
        new_split.close.start != new_close
        or result[new_split.close.start :] != raw[split.close.start :]
    ):
        raise fail("the closing line or the body would change")
    new_text = _decode(new_split, result, path)
    after = _load(new_text, path)
    names = [e.name for e in entries if e.name != KEY]
    new_names = [e.name for e in _analyse(new_text, path) if e.name != KEY]
    if names != new_names:
        raise fail("the other frontmatter keys would change")
    if plain is None:
        if KEY in after:
            raise fail("the 'published' key would still be present")
    elif KEY not in after or not _same(after[KEY], plain):
        raise fail("the written 'published' block does not read back as the record")
    others_before = {k: v for k, v in before.items() if k != KEY}
    others_after = {k: v for k, v in after.items() if k != KEY}
    if not _same(others_before, others_after):
        raise fail("another frontmatter value would change")


def check_writable(raw: bytes, *, path: str | None = None) -> None:
    """Raise :class:`WritebackError` unless a ``published`` block can be written to ``raw``.

    Call this before sending a request, so that a file that cannot record its
    result is refused before anything is published.
    """
    set_published(raw, {"status": "pending"}, path=path)


# --------------------------------------------------------------------------- writing


def _fsync_dir(directory: Path) -> None:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(directory, flags)
    except OSError:  # e.g. Windows: directories cannot be opened
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically: readers see the old or the new file.

    Writes a hidden temporary file in the same directory, flushes and fsyncs it,
    gives it the original file's permission bits (a new file gets the umask's
    default), renames it over ``path`` and fsyncs the directory. A symlink is
    followed, so the file it points to is replaced and the link is kept. On any
    error the temporary file is removed and the error re-raised.
    """
    target = Path(os.path.realpath(path))
    try:
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        break
    try:
        with os.fdopen(fd, "wb") as handle:
            if mode is not None and hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None and not hasattr(os, "fchmod"):
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def remove_stale_temps(posts: Iterable[Path]) -> list[Path]:
    """Remove the temporary files of :func:`write_atomic` that a killed run left next
    to ``posts``.

    A run killed between writing its temporary file and renaming it leaves a hidden
    ``.<name>.<12 hex digits>.tmp`` next to the post; the post itself is intact (the
    next run resends under the same key and records the answer), so the leftover holds
    nothing needed. Only files named so after one of ``posts`` (symlinks followed, as
    :func:`write_atomic` does) are touched. Call it while holding the run lock and
    before this process writes anything, so that no live write's file is taken.
    Returns the files removed.
    """
    names: dict[str, set[str]] = {}
    paths = RealPaths()
    for post in posts:
        folder, name = os.path.split(paths.of_file(post))
        names.setdefault(folder, set()).add(name)
    removed: list[Path] = []
    for folder, ours in names.items():
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            match = _TEMP_NAME.fullmatch(entry.name)
            if match is None or match.group(1) not in ours:
                continue
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                os.unlink(entry.path)
            except OSError:
                continue
            removed.append(Path(entry.path))
    return removed


class UnwritableFolder(WritebackError, UsageError):
    """A posts folder that cannot take a write-back (read-only, full, no permission)."""

    exit_code = UsageError.exit_code


def check_folders_writable(posts: Iterable[Path]) -> None:
    """Raise `UnwritableFolder` unless a write-back's temporary file can be created
    next to each of ``posts`` (tried, then removed): a run checks this before it sends
    anything, since an answer that cannot be recorded would be resent next time."""
    seen: set[str] = set()
    for post in posts:
        folder = os.path.dirname(os.path.realpath(post))
        if folder in seen:
            continue
        seen.add(folder)
        probe = os.path.join(folder, f".publisher-probe.{secrets.token_hex(6)}.tmp")
        try:
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            os.unlink(probe)
        except OSError as exc:
            raise UnwritableFolder(
                f"{folder} cannot be written ({exc.strerror or exc}): the results of a "
                "publish are recorded in the post files, so nothing was sent"
            ) from None


def unrecorded_answers(targets: Mapping[str, Mapping[str, Any]]) -> str:
    """What the server answered for targets whose record could not be written, as a
    sentence (``x: published https://...``), or that nothing was answered."""
    said = [
        f"{label}: {rec.get('status')} {rec.get('uri') or rec.get('postId') or ''}".rstrip()
        for label, rec in targets.items()
        if rec.get("status") not in (None, "pending")
    ]
    if not said:
        return "no request was sent for it"
    return "the server answered " + ", ".join(said)


#: The largest file a write-back reads (a post is at most `document.MAX_BYTES`; this
#: leaves room for one that grew since it was read, and is still a bound).
MAX_WRITEBACK_BYTES = 16 * 1024 * 1024


def read_post_bytes(path: Path) -> bytes:
    """A post file's bytes, sized first (`files.TooLarge`, an OSError, when over
    `MAX_WRITEBACK_BYTES`)."""
    from publisher.files import read_bounded

    return read_bounded(path, MAX_WRITEBACK_BYTES)


def update_file(path: Path, record: Mapping[str, Any] | None) -> bytes:
    """Read ``path``, set (or with ``None`` remove) its ``published`` block, write it back.

    Writes only when the bytes change; returns the file's new bytes. Any problem,
    including an I/O error, is raised as :class:`WritebackError` naming the file.
    """
    name = str(path)
    try:
        raw = read_post_bytes(Path(path))
    except OSError as exc:
        raise WritebackError(f"cannot read the file: {exc.strerror or exc}", path=name) from exc
    new = set_published(raw, record, path=name)
    if new != raw:
        try:
            write_atomic(Path(path), new)
        except OSError as exc:
            raise WritebackError(
                f"cannot write the file: {exc.strerror or exc}", path=name
            ) from exc
    return new
