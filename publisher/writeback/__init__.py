"""Write-back of the ``published`` block: a textual splice plus an atomic write.

Only the lines of the top-level ``published`` key of a post's YAML frontmatter are
inserted, replaced or removed; every other byte of the file (BOM, line endings,
comments, quoting, key order, blank lines, the body) is kept. The result is parsed
again and compared with the original before anything is written, so an ambiguous
file is refused (:class:`WritebackError`) instead of being guessed at.

Public surface: :func:`render_published`, :func:`set_published`,
:func:`check_writable`, :func:`write_atomic`, :func:`update_file`,
:func:`remove_stale_temps`. The splice is here; `scan.py` reads the frontmatter it
cuts into, `disk.py` writes files safely.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeAlias

import yaml

from publisher.redaction import redact
from publisher.writeback.disk import (
    MAX_WRITEBACK_BYTES,
    UnwritableFolder,
    check_folders_writable,
    read_post_bytes,
    remove_stale_temps,
    write_atomic,
)
from publisher.writeback.scan import (
    KEY,
    Entry,
    Split,
    WritebackError,
    analyse,
    decode,
    load,
    region,
    same,
    split_frontmatter,
)

__all__ = [
    "MAX_WRITEBACK_BYTES",
    "UnwritableFolder",
    "WritebackError",
    "check_folders_writable",
    "check_writable",
    "read_post_bytes",
    "remove_stale_temps",
    "render_published",
    "set_published",
    "unrecorded_answers",
    "update_file",
    "write_atomic",
]

# Strings written double-quoted so every scalar stays on one line.
_ONE_LINE = re.compile("[\n\r\x85\u2028\u2029\t]")


# --------------------------------------------------------------------------- rendering


class _Dumper(yaml.SafeDumper):
    """Pure-Python SafeDumper (same output everywhere) that indents block sequences."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = '"' if _ONE_LINE.search(data) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)


#: What a record becomes before it is dumped: YAML's plain scalars, mappings and lists.
Plain: TypeAlias = "str | int | float | bool | dict[str, Plain] | list[Plain]"


def _plain(value: object, where: str) -> Plain:
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
        return _plain_mapping(value, where)
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [_plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise TypeError(
        f"published record: unsupported value of type {type(value).__name__} at {where}"
    )


def _plain_mapping(value: Mapping[str, object], where: str) -> dict[str, Plain]:
    out: dict[str, Plain] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise TypeError(f"published record: key {key!r} at {where} is not a string")
        if item is not None:
            out[str.__str__(key)] = _plain(item, f"{where}.{key}")
    return out


def _render_plain(plain: Mapping[str, Plain]) -> str:
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


def render_published(record: Mapping[str, object]) -> str:
    """Return the YAML text of the ``published`` block (LF line endings).

    Insertion order is kept, keys whose value is ``None`` are dropped, datetimes and
    dates become ISO 8601 strings (UTC as ``Z``), strings are quoted only when YAML
    would otherwise read them as something else, and every scalar stays on one line
    (a string with a line break is double-quoted with escapes; PyYAML then escapes
    characters outside the BMP, such as emoji, in that string only).
    """
    if not isinstance(record, Mapping):
        raise TypeError("published record must be a mapping")
    return _render_plain(_plain_mapping(record, KEY))


# --------------------------------------------------------------------------- splicing


def set_published(
    raw: bytes, record: Mapping[str, object] | None, *, path: str | None = None
) -> bytes:
    """Return ``raw`` with its ``published`` block inserted, replaced or removed.

    ``record=None`` removes the block. The block is inserted just before the closing
    delimiter line, written with the file's own line ending (the opening line's),
    and a UTF-8 BOM is kept. Every other byte stays identical; the result is parsed
    again and every other top-level key must keep its value, else
    :class:`WritebackError` is raised and nothing should be written.
    """
    if record is not None and not isinstance(record, Mapping):
        raise TypeError("published record must be a mapping")
    plain = None if record is None else _plain_mapping(record, KEY)
    split = split_frontmatter(raw, path)
    text = decode(split, raw, path)
    entries = analyse(text, path)
    lines = region(split, entries, path)
    before = load(text, path)

    if lines is None:
        if plain is None:
            return raw
        cut_start = cut_end = split.close.start
    else:
        cut_start = split.lines[lines[0]].start
        cut_end = split.lines[lines[1]].end
    block = b"" if plain is None else _render_plain(plain).encode("utf-8")
    if split.eol != b"\n":
        block = block.replace(b"\n", split.eol)
    result = raw[:cut_start] + block + raw[cut_end:]
    _verify(raw, result, split, before, entries, plain, cut_start, cut_end, len(block), path)
    return result


def _verify(
    raw: bytes,
    result: bytes,
    split: Split,
    before: dict[object, object],
    entries: list[Entry],
    plain: dict[str, Plain] | None,
    cut_start: int,
    cut_end: int,
    size: int,
    path: str | None,
) -> None:
    """Re-parse the spliced file and refuse it unless only ``published`` changed."""

    def fail(what: str) -> WritebackError:
        return WritebackError(f"refusing to write: {what} (the file was left unchanged)", path=path)

    new_split = split_frontmatter(result, path)
    new_close = split.close.start - cut_end + cut_start + size
    if (
        new_split.close.start != new_close
        or result[new_split.close.start :] != raw[split.close.start :]
    ):
        raise fail("the closing line or the body would change")
    new_text = decode(new_split, result, path)
    after = load(new_text, path)
    names = [e.name for e in entries if e.name != KEY]
    new_names = [e.name for e in analyse(new_text, path) if e.name != KEY]
    if names != new_names:
        raise fail("the other frontmatter keys would change")
    if plain is None:
        if KEY in after:
            raise fail("the 'published' key would still be present")
    elif KEY not in after or not same(after[KEY], plain):
        raise fail("the written 'published' block does not read back as the record")
    others_before = {k: v for k, v in before.items() if k != KEY}
    others_after = {k: v for k, v in after.items() if k != KEY}
    if not same(others_before, others_after):
        raise fail("another frontmatter value would change")


def check_writable(raw: bytes, *, path: str | None = None) -> None:
    """Raise :class:`WritebackError` unless a ``published`` block can be written to ``raw``.

    Call this before sending a request, so that a file that cannot record its
    result is refused before anything is published.
    """
    set_published(raw, {"status": "pending"}, path=path)


def unrecorded_answers(targets: Mapping[str, Mapping[str, object]]) -> str:
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


def update_file(path: Path, record: Mapping[str, object] | None) -> bytes:
    """Read ``path``, set (or with ``None`` remove) its ``published`` block, write it back.

    Writes only when the bytes change; returns the file's new bytes. Every problem,
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
