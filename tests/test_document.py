"""Reading a post file: frontmatter + body, the line of every key and item, and the
refusals that keep unsafe or ambiguous YAML away from everything downstream."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from publisher.document import MAX_DEPTH, DocumentError, load_document, parse_document


def parse(text: str | bytes) -> object:
    return parse_document(text.encode() if isinstance(text, str) else text, "p.md")


def refused(text: str | bytes) -> DocumentError:
    with pytest.raises(DocumentError) as info:
        parse(text)
    return info.value


def test_keys_and_items_know_their_lines() -> None:
    doc = parse_document(
        b"---\n# comment\ntargets:\n  - bluesky\n  - account: x\n    text: hi\nmedia:\n"
        b"  - {path: a.png, alt: A}\n---\nBody\n",
        "p.md",
    )
    assert doc.data["targets"] == ["bluesky", {"account": "x", "text": "hi"}]
    assert doc.line_of(("targets",)) == (3, 1)
    assert doc.line_of(("targets", 0)) == (4, 5)
    assert doc.line_of(("targets", 1, "text")) == (6, 5)
    assert doc.line_of(("media", 0, "alt")) == (8, 19)
    assert doc.line_of(("media", 0, "kind")) == (8, 5)  # a missing key: its parent
    assert (doc.body, doc.body_line) == ("Body\n", 10)


def test_bom_and_crlf_read_like_plain_lf() -> None:
    plain = parse("---\ntargets: [bluesky]\n---\nHello\n")
    windows = parse(b"\xef\xbb\xbf---\r\ntargets: [bluesky]\r\n---\r\nHello\r\n")
    assert (windows.data, windows.body, windows.lines) == (plain.data, plain.body, plain.lines)
    assert windows.bom and windows.crlf and not plain.bom


def test_dots_close_the_frontmatter_too() -> None:
    assert parse("---\ntargets: [bluesky]\n...\nHi\n").body == "Hi\n"


def test_an_empty_frontmatter_is_an_empty_mapping() -> None:
    assert parse("---\n---\nHi\n").data == {}


@pytest.mark.parametrize(
    ("text", "code", "line"),
    [
        ("   \n\n", "file.empty", 1),
        ("\n---\ntargets: [x]\n---\nHi\n", "frontmatter.position", 1),
        ("+++\ntitle = 'x'\n+++\nHi\n", "frontmatter.toml", 1),
        ("---\n- a\n- b\n---\nHi\n", "yaml.type", 2),
        ("---\ntargets: [x]\nmeta:\n  a: 1\n  a: 2\n---\nHi\n", "yaml.duplicate_key", 5),
        ("---\nbase: &b {x: 1}\nother:\n  <<: *b\n---\nHi\n", "yaml.merge", 4),
        ("---\n? [a, b]\n: 1\n---\nHi\n", "yaml.key", 2),
        ("---\ntargets: [x]\nwhen: !!timestamp nope\n---\nHi\n", "yaml.value", 3),
        ("---\ntargets: [x]\nmeta: !!set {a, b}\n---\nHi\n", "yaml.tag", 3),
        ("---\ntargets: [x]\nmeta: !!binary aGVsbG8=\n---\nHi\n", "yaml.tag", 3),
        ('---\ntargets: [x]\nmeta: "\x07"\n---\nHi\n', "yaml.syntax", 3),
    ],
)
def test_refusals_name_their_line(text: str, code: str, line: int) -> None:
    err = refused(text)
    assert (err.code, err.line) == (code, line)
    assert str(err).startswith(f"p.md:{line}:")


def test_a_nine_level_alias_bomb_is_refused_before_anything_expands_it() -> None:
    # 9**10 leaves: gigabytes if anything walked it. Refused at the first re-use.
    lines = ["---", "a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    err = refused("\n".join([*lines, "---", "Hi", ""]))
    assert err.code == "yaml.alias"
    assert err.line == 2


def test_a_single_alias_is_refused_too() -> None:
    assert refused("---\ntargets: &t [x]\nmore: *t\n---\nHi\n").code == "yaml.alias"


def test_deep_nesting_is_refused() -> None:
    nested = "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5)
    assert refused(f"---\nmeta: {nested}\n---\nHi\n").code == "yaml.depth"


def test_yaml_scalars_keep_their_yaml_types() -> None:
    # Strict models downstream turn these into type errors; the reader must not hide them.
    doc = parse("---\na: no\nb: 1.10\nc: 012\nd: 2030-01-01T09:00:00+01:00\ne: ~\n---\n")
    assert doc.data["a"] is False and doc.data["b"] == 1.1 and doc.data["c"] == 10
    assert doc.data["d"] == dt.datetime(2030, 1, 1, 8, 0, tzinfo=dt.UTC)
    assert doc.data["e"] is None


def test_non_utf8_names_the_byte_and_its_line() -> None:
    err = refused(b"---\ntargets: [x]\n---\nok\nna\xefve\n")
    assert (err.code, err.line, err.col) == ("file.encoding", 5, 3)
    assert "0xef" in err.message


def test_oversized_files_are_refused_without_reading_them(tmp_path: Path) -> None:
    big = tmp_path / "big.md"
    big.write_bytes(b"---\ntargets: [x]\n---\n" + b"a" * (1024 * 1024))
    with pytest.raises(DocumentError) as info:
        load_document(big, "big.md")
    assert info.value.code == "file.too_large"


def test_an_unreadable_path_is_a_document_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentError) as info:
        load_document(tmp_path, "dir.md")
    assert info.value.code == "file.unreadable"


# Pieces of frontmatter, good and bad: anchors, aliases, tags, merge keys, duplicate
# and non-string keys, dates, nesting, flow and block collections.
_YAML_LINES = [
    "targets: [bluesky]",
    "targets:",
    "  - bluesky",
    "  - account: x",
    "    text: hi",
    "a: 1",
    "a: 2",
    "b: &x 1",
    "c: *x",
    "d: &y {e: f}",
    "g: *y",
    "1: one",
    "null: nothing",
    "<<: {h: i}",
    "j: !!str 3",
    "k: !!python/name:os.system",
    "l: !custom x",
    "m: 2026-01-01",
    "n: 2026-13-45",
    "o: !!int x",
    "p: {q: [1, {r: s}], t: [u, [v, [w]]]}",
    "x: 'a*b & c'",
    "draft: !!bool maybe",
    "q: !!int ''",
    "r: !!int '+'",
    "s: !!float ''",
    "t: !!bool",
    "u: !!timestamp 2026-01-01T",
    "y: ~",
    "z: [",
    "- item",
    "",
    "# a comment",
]


def _read(text: str, lines: bool) -> object:
    from publisher.document.reader import parse_yaml

    try:
        data, line_map = parse_yaml(text, "p.md", 1, lines=lines)
    except DocumentError as exc:
        return ("refused", exc.line, exc.col, exc.code, exc.message)
    assert line_map is not None or not lines  # asked for: always there
    return ("read", data)


def test_the_quick_reading_agrees_with_the_careful_one_on_every_text() -> None:
    """Frontmatter is read without a line map when it looks plain; anything unusual is
    left to the careful reader. Both must give the same data or the same refusal."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=1500, derandomize=True, deadline=None, database=None)
    @given(st.lists(st.sampled_from(_YAML_LINES), max_size=8))
    def check(picked: list[str]) -> None:
        text = "\n".join(picked)
        assert _read(text, lines=False) == _read(text, lines=True)

    check()


def test_nesting_near_the_limit_reads_the_same_both_ways() -> None:
    for depth in range(MAX_DEPTH - 3, MAX_DEPTH + 3):
        text = "a: " + "[" * depth + "x" + "]" * depth
        assert _read(text, lines=False) == _read(text, lines=True), depth


@pytest.mark.parametrize("per_item", [1, 2, 3])
def test_size_near_the_limit_reads_the_same_both_ways(per_item: int) -> None:
    """The value limit counts every key and value, in mappings and in lists of them."""
    from publisher.document import MAX_NODES

    for total in range(MAX_NODES - 4, MAX_NODES + 4):
        # `total` nodes: the root, `meta` and its list, then items of `per_item` keys.
        items, rest = divmod(total - 3, 1 + 2 * per_item)
        keys = ", ".join(f"k{j}: v" for j in range(per_item))
        text = "meta:\n" + f"  - {{{keys}}}\n" * items + "x: y\n" * (rest // 2)
        assert _read(text, lines=False) == _read(text, lines=True), (per_item, total)


def test_a_mapping_with_too_many_keys_is_refused_at_its_line() -> None:
    from publisher.document import MAX_NODES

    keys = "".join(f"  k{i}: v\n" for i in range(MAX_NODES // 2))
    error = refused(f"---\ntargets: [bluesky]\nmeta:\n{keys}---\nHello\n")
    assert error.code == "yaml.size"
    assert error.line > 4  # where the count ran over, not line 1


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("!!bool maybe", "'maybe' is not a valid !!bool"),
        ("!!bool", "'' is not a valid !!bool"),
        ("!!int ''", "'' is not a valid !!int"),
        ("!!int '+'", "'+' is not a valid !!int"),
        ("!!float ''", "'' is not a valid !!float"),
    ],
)
def test_a_value_its_explicit_tag_cannot_read_is_refused_at_its_place(
    value: str, shown: str
) -> None:
    error = refused(f"---\ntargets: [bluesky]\ndraft: {value}\n---\nHello\n")
    assert (error.line, error.col, error.code) == (3, 8, "yaml.value")
    assert shown in error.message
