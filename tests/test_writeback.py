"""The ``published`` write-back: splice exactness, refusals, atomic writes."""

from __future__ import annotations

import datetime as dt
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from publisher import writeback
from publisher.writeback import (
    WritebackError,
    check_writable,
    render_published,
    set_published,
    update_file,
    write_atomic,
)

RECORD: dict[str, Any] = {
    "env": "sandbox",
    "status": "published",
    "updatedAt": "2026-11-29T12:00:00Z",
    "targets": {
        "bluesky-main": {
            "platform": "bluesky",
            "status": "published",
            "attempt": 1,
            "uri": "at://did:plc:abc/app.bsky.feed.post/3k",
        },
    },
}
BLOCK = (
    b"published:\n"
    b"  env: sandbox\n"
    b"  status: published\n"
    b"  updatedAt: '2026-11-29T12:00:00Z'\n"
    b"  targets:\n"
    b"    bluesky-main:\n"
    b"      platform: bluesky\n"
    b"      status: published\n"
    b"      attempt: 1\n"
    b"      uri: at://did:plc:abc/app.bsky.feed.post/3k\n"
)
OTHER = {"env": "live", "status": "failed"}
OTHER_BLOCK = b"published:\n  env: live\n  status: failed\n"


def _frontmatter(raw: bytes) -> dict[str, Any]:
    text = raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8").replace("\r\n", "\n")
    return yaml.safe_load(text.split("\n---", 1)[0].removeprefix("---\n")) or {}


# --------------------------------------------------------------------------- render


def test_render_keeps_order_indents_and_drops_none() -> None:
    record = {
        "z": "last-first",
        "a": None,
        "list": ["x", "y"],
        "nested": {"b": 1, "a": None, "c": True},
        "at": dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC),
        "day": dt.date(2026, 11, 29),
        "offset": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "empty": {},
    }
    assert render_published(record) == (
        "published:\n"
        "  z: last-first\n"
        "  list:\n"
        "    - x\n"
        "    - y\n"
        "  nested:\n"
        "    b: 1\n"
        "    c: true\n"
        "  at: '2026-11-29T12:00:00Z'\n"
        "  day: '2026-11-29'\n"
        "  offset: '2026-01-02T03:04:05+02:00'\n"
        "  empty: {}\n"
    )


SPECIALS = [
    "yes", "no", "on", "NO", "null", "~", "", "true", "1.10", "012345", "0x1F", "1e3",
    "2026-11-29", "2026-11-29T12:00:00Z", "a: b", "x #y", "#tag", "- item", "[x]", "{y}",
    "'quoted'", '"dq"', " lead", "trail ", "@at", "`tick", "%pct", "!bang", "*star", "&amp",
    "|pipe", ">gt", "? q", "a\nb", "tab\there", "cr\r\nlf", "\u2028sep", "€", "...", "---",
]  # fmt: skip


@pytest.mark.parametrize("value", SPECIALS, ids=[repr(s) for s in SPECIALS])
def test_render_round_trips_strings_that_look_special(value: str) -> None:
    text = render_published({"v": value})
    assert yaml.safe_load(text) == {"published": {"v": value}}
    assert text.count("\n") == 2  # every value stays on its own single line
    as_key = render_published({"k": {value: "key"}})
    assert yaml.safe_load(as_key) == {"published": {"k": {value: "key"}}}


def test_render_keeps_unicode_and_never_wraps() -> None:
    long = "word " * 200 + "end"
    text = render_published({"emoji": "🎉 launch 😀", "cjk": "中文のテスト", "long": long})
    assert "🎉 launch 😀" in text
    assert "中文のテスト" in text
    assert text.count("\n") == 4
    assert yaml.safe_load(text)["published"]["long"] == long


def test_render_refuses_what_it_cannot_write() -> None:
    with pytest.raises(TypeError):
        render_published(["not", "a", "mapping"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"published\.x"):
        render_published({"x": object()})
    with pytest.raises(TypeError, match="not a string"):
        render_published({1: "int key"})  # type: ignore[dict-item]


# --------------------------------------------------------------------------- splice


def test_insert_before_closing_line_and_remove_restores() -> None:
    raw = b"---\ntitle: Hello\ntags: [a, b]\n---\nBody text\n"
    new = set_published(raw, RECORD)
    assert new == b"---\ntitle: Hello\ntags: [a, b]\n" + BLOCK + b"---\nBody text\n"
    assert set_published(new, None) == raw


def test_insert_is_idempotent_and_replace_changes_only_the_block() -> None:
    raw = b"---\ntitle: Hello\n---\nBody\n"
    once = set_published(raw, RECORD)
    assert set_published(once, RECORD) == once
    assert set_published(once, OTHER) == b"---\ntitle: Hello\n" + OTHER_BLOCK + b"---\nBody\n"


def test_replace_in_the_middle_keeps_the_next_keys_comment() -> None:
    raw = (
        b"---\n"
        b"title: Hello  # trailing comment\n"
        b"published:\n"
        b"  env: live\n"
        b"  # a note inside the block\n"
        b"  status: queued\n"
        b"\n"
        b"# about the targets below\n"
        b"targets:\n"
        b"  - bluesky   # main\n"
        b"---\n"
        b"Body\n"
    )
    new = set_published(raw, OTHER)
    assert new == (
        b"---\n"
        b"title: Hello  # trailing comment\n"
        + OTHER_BLOCK
        + b"\n# about the targets below\ntargets:\n  - bluesky   # main\n---\nBody\n"
    )
    assert set_published(new, None) == (
        b"---\ntitle: Hello  # trailing comment\n\n"
        b"# about the targets below\ntargets:\n  - bluesky   # main\n---\nBody\n"
    )


def test_indented_comment_after_the_block_is_kept() -> None:
    raw = b"---\npublished:\n  status: queued\n  # keep me\nnext: 1\n---\n"
    assert set_published(raw, OTHER) == b"---\n" + OTHER_BLOCK + b"  # keep me\nnext: 1\n---\n"


def test_replace_as_last_key_keeps_trailing_comment_and_blank_lines() -> None:
    raw = b"---\ntitle: x\npublished:\n  status: queued\n\n# end of frontmatter\n---\nBody\n"
    new = set_published(raw, OTHER)
    assert new == b"---\ntitle: x\n" + OTHER_BLOCK + b"\n# end of frontmatter\n---\nBody\n"


def test_replace_block_scalar_with_comment_looking_lines() -> None:
    raw = b"---\npublished:\n  note: |\n    text\n    # not a comment\nnext: 1\n---\n"
    assert set_published(raw, OTHER) == b"---\n" + OTHER_BLOCK + b"next: 1\n---\n"


def test_replace_multiline_flow_quoted_and_indentless_values() -> None:
    flow = b"---\npublished: {status: queued,\n  env: live}\nnext: 1\n---\n"
    assert set_published(flow, OTHER) == b"---\n" + OTHER_BLOCK + b"next: 1\n---\n"
    scalar = b"---\npublished: false\nnext: 1\n---\n"
    assert set_published(scalar, None) == b"---\nnext: 1\n---\n"
    quoted = b'---\npublished: "a\nb # c"\nnext: 1\n---\n'
    assert set_published(quoted, OTHER) == b"---\n" + OTHER_BLOCK + b"next: 1\n---\n"
    indentless = b"---\npublished:\n- a\n- b\nnext: 1\n---\n"
    assert set_published(indentless, OTHER) == b"---\n" + OTHER_BLOCK + b"next: 1\n---\n"


def test_comments_around_and_inside_frontmatter_are_kept() -> None:
    raw = (
        b"---\n"
        b"# leading comment\n"
        b"title: 'single'   # why\n"
        b'desc: "double"\n'
        b"date: 2024-01-02\n"
        b"nested:\n"
        b"  # inside\n"
        b"  a: 1\n"
        b"# trailing comment\n"
        b"---\n"
        b"\n"
        b"# Markdown heading\n"
    )
    new = set_published(raw, RECORD)
    assert new.replace(BLOCK, b"", 1) == raw
    assert new.index(BLOCK) == raw.index(b"---\n\n# Markdown")
    assert _frontmatter(new)["date"] == dt.date(2024, 1, 2)


def test_crlf_file_stays_crlf_byte_for_byte() -> None:
    raw = b"---\r\ntitle: Hello\r\n# c\r\n---\r\nBody\r\nline 2\r\n"
    new = set_published(raw, RECORD)
    assert new == b"---\r\ntitle: Hello\r\n# c\r\n" + BLOCK.replace(b"\n", b"\r\n") + (
        b"---\r\nBody\r\nline 2\r\n"
    )
    assert new.count(b"\n") == new.count(b"\r\n")
    replaced = set_published(new, OTHER)
    assert OTHER_BLOCK.replace(b"\n", b"\r\n") in replaced
    assert set_published(replaced, None) == raw


def test_bom_is_kept() -> None:
    raw = b"\xef\xbb\xbf---\ntitle: Hello\n---\nBody\n"
    new = set_published(raw, OTHER)
    assert new == b"\xef\xbb\xbf---\ntitle: Hello\n" + OTHER_BLOCK + b"---\nBody\n"
    assert set_published(new, None) == raw


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"---\n---\n", b"---\n" + OTHER_BLOCK + b"---\n"),
        (b"---\n---\nBody", b"---\n" + OTHER_BLOCK + b"---\nBody"),
        (b"---\ntitle: x\n---", b"---\ntitle: x\n" + OTHER_BLOCK + b"---"),
        (b"---\ntitle: x\n---\nBody without newline", None),
        (b"---\n# only a comment\n---\n", None),
        (b"---\ntitle: x\n...\nBody\n", b"---\ntitle: x\n" + OTHER_BLOCK + b"...\nBody\n"),
        (b"---  \ntitle: x\n--- \nBody\n", b"---  \ntitle: x\n" + OTHER_BLOCK + b"--- \nBody\n"),
        (b"---\ntitle: x\n---\n---\nmore\n---\n", None),
    ],
    ids=["empty", "empty-no-nl", "no-body", "no-final-nl", "comment-only", "dots", "ws", "hr"],
)
def test_edge_shapes_round_trip(raw: bytes, expected: bytes | None) -> None:
    new = set_published(raw, OTHER)
    if expected is not None:
        assert new == expected
    assert new.replace(OTHER_BLOCK, b"", 1) == raw
    assert set_published(new, None) == raw


def test_unicode_record_round_trips_through_the_file() -> None:
    record = {"status": "published", "text": "🎉 新しい投稿 — ünïcödé", "tags": ["中文", "😀"]}
    new = set_published(b"---\ntitle: x\n---\n", record)
    assert "🎉 新しい投稿".encode() in new
    assert _frontmatter(new)["published"] == record


@pytest.mark.parametrize("value", SPECIALS, ids=[repr(s) for s in SPECIALS])
def test_special_strings_round_trip_through_the_file(value: str) -> None:
    new = set_published(b"---\ntitle: x\n---\nBody\n", {"v": value, "n": [value]})
    assert _frontmatter(new)["published"] == {"v": value, "n": [value]}
    assert _frontmatter(new)["title"] == "x"


def test_removing_an_absent_block_returns_the_same_bytes() -> None:
    raw = b"---\ntitle: x\n---\nBody\n"
    assert set_published(raw, None) is raw


def test_a_splice_that_would_change_other_keys_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(writeback, "_render_plain", lambda plain: "published: {}\ntitle: evil\n")
    with pytest.raises(WritebackError, match="refusing to write"):
        set_published(b"---\ntitle: x\n---\n", {"a": 1})
    monkeypatch.setattr(writeback, "_render_plain", lambda plain: "published:\n  a: 2\n")
    with pytest.raises(WritebackError, match="does not read back"):
        set_published(b"---\ntitle: x\n---\n", {"a": 1})


REFUSALS = [
    ("no-frontmatter", b"Just a tweet\n", "no frontmatter", 1),
    ("empty-file", b"", "no frontmatter", 1),
    ("no-closing", b"---\ntitle: x\nBody\n", "no closing", 1),
    ("four-dashes", b"----\ntitle: x\n----\n", "exactly '---'", 1),
    ("blank-before", b"\n---\ntitle: x\n---\n", "blank lines before", 1),
    ("toml", b'+++\ntitle = "x"\n+++\n', "TOML", 1),
    ("opening-text", b"--- title: x\n---\n", "exactly '---'", 1),
    ("duplicate", b"---\npublished: 1\ntitle: x\npublished: 2\n---\n", "more than once", 4),
    ("anchor", b"---\nbase: &b {a: 1}\nother: *b\n---\n", "anchors", 2),
    ("alias-only", b"---\nx: &a 1\n---\n", "anchors", 2),
    ("list", b"---\n- a\n- b\n---\n", "not a mapping", 2),
    ("scalar", b"---\njust text\n---\n", "not a mapping", 2),
    ("flow-top", b"---\n{title: x, published: 1}\n---\n", "flow mapping", 2),
    ("indented", b"---\n  title: x\n  more: y\n---\n", "indented", 2),
    ("invalid", b"---\ntitle: x\n  bad: : y\n---\n", "not valid YAML", 3),
    ("unknown-tag", b"---\nx: !!python/name:os.system\n---\n", "unsupported YAML tag", 2),
    ("explicit-key", b"---\n? published\n: 1\n---\n", "not a plain top-level key", 2),
    ("lone-cr", b"---\r\ntitle: x\r\nnext: y\rpublished: 1\r\n---\r\n", "line break", 3),
    ("nel", "---\ntitle: x\u2028y\n---\n".encode(), "line break", 2),
    ("not-utf8", b"---\ntitle: \xff\n---\n", "UTF-8", 2),
    ("two-docs", b"---\ntitle: x\n--- y\n---\n", "more than one YAML document", 3),
]


@pytest.mark.parametrize(
    ("raw", "needle", "line"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_refusals_are_clear_and_leave_the_file_untouched(
    tmp_path: Path, raw: bytes, needle: str, line: int
) -> None:
    post = tmp_path / "post.md"
    post.write_bytes(raw)
    before = os.stat(post)
    with pytest.raises(WritebackError) as info:
        update_file(post, RECORD)
    err = info.value
    assert err.path == str(post)
    assert str(err).startswith(str(post))
    assert needle in str(err)
    assert err.line == line
    assert post.read_bytes() == raw
    after = os.stat(post)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert os.listdir(tmp_path) == ["post.md"]
    with pytest.raises(WritebackError):
        check_writable(raw)


def test_error_messages_never_quote_the_file() -> None:
    secret = b"sk_live_SECRET_VALUE"
    for raw in (
        b"---\nkey: " + secret + b"\n  bad: : y\n---\n",
        b"---\nkey: &a " + secret + b"\n---\n",
        b"---\n" + secret + b"\n---\n",
    ):
        with pytest.raises(WritebackError) as info:
            set_published(raw, RECORD, path="p.md")
        assert "SECRET" not in str(info.value)


# --------------------------------------------------------------------------- files


def test_update_file_writes_and_keeps_permissions(tmp_path: Path) -> None:
    post = tmp_path / "post.md"
    post.write_bytes(b"---\ntitle: x\n---\nBody\n")
    post.chmod(0o640)
    new = update_file(post, OTHER)
    assert post.read_bytes() == new == b"---\ntitle: x\n" + OTHER_BLOCK + b"---\nBody\n"
    assert stat.S_IMODE(post.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["post.md"]


def test_update_file_does_not_touch_an_unchanged_file(tmp_path: Path) -> None:
    post = tmp_path / "post.md"
    post.write_bytes(b"---\ntitle: x\n---\n")
    before = os.stat(post)
    assert update_file(post, None) == b"---\ntitle: x\n---\n"
    after = os.stat(post)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_update_file_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WritebackError, match=r"gone\.md: cannot read"):
        update_file(tmp_path / "gone.md", OTHER)


def test_update_file_follows_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.md"
    real.write_bytes(b"---\ntitle: x\n---\n")
    link = tmp_path / "link.md"
    link.symlink_to(real)
    update_file(link, OTHER)
    assert link.is_symlink()
    assert real.read_bytes() == b"---\ntitle: x\n" + OTHER_BLOCK + b"---\n"


def test_write_atomic_new_file_gets_default_mode(tmp_path: Path) -> None:
    target = tmp_path / "new.md"
    write_atomic(target, b"data")
    mask = os.umask(0o022)
    os.umask(mask)
    assert target.read_bytes() == b"data"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask


def test_failed_rename_leaves_original_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    post = tmp_path / "post.md"
    post.write_bytes(b"original")

    def broken(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="No space"):
        write_atomic(post, b"new content")
    assert post.read_bytes() == b"original"
    assert os.listdir(tmp_path) == ["post.md"]


def test_rename_onto_a_directory_fails_clean(tmp_path: Path) -> None:
    target = tmp_path / "post.md"
    target.mkdir()
    with pytest.raises(OSError):
        write_atomic(target, b"new content")
    assert target.is_dir()
    assert os.listdir(tmp_path) == ["post.md"]


def test_update_file_wraps_write_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    post = tmp_path / "post.md"
    post.write_bytes(b"---\ntitle: x\n---\n")

    def broken(src: Any, dst: Any) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(WritebackError, match=r"post\.md: cannot write the file: Permission denied"):
        update_file(post, OTHER)
    assert post.read_bytes() == b"---\ntitle: x\n---\n"
    assert os.listdir(tmp_path) == ["post.md"]


def test_readers_see_the_old_or_the_new_file_never_a_mix(tmp_path: Path) -> None:
    post = tmp_path / "post.md"
    body = b"".join(b"line %d of a long body\n" % i for i in range(60_000))  # ~1.4 MB
    old = b"---\ntitle: x\n---\n" + body
    post.write_bytes(old)
    versions = {old}
    for i in range(2):
        versions.add(set_published(old, {"status": "published", "attempt": i}))
    done = threading.Event()
    seen: list[bytes] = []
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not done.is_set():
                data = post.read_bytes()
                if data not in versions:
                    raise AssertionError(f"read a partial file of {len(data)} bytes")
                _frontmatter(data)
                seen.append(data[:60])
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(40):
            update_file(post, {"status": "published", "attempt": i % 2})
    finally:
        done.set()
        thread.join()
    assert not errors, errors[0]
    assert seen
    assert os.listdir(tmp_path) == ["post.md"]


def test_stale_temps_are_found_where_write_atomic_puts_them(tmp_path: Path) -> None:
    """A killed write leaves its temp file next to the file it replaces: for a symlinked
    post, next to the link's target. Only those are removed, never a look-alike."""
    from publisher.writeback import remove_stale_temps

    posts, drafts = tmp_path / "posts", tmp_path / "drafts"
    posts.mkdir()
    drafts.mkdir()
    (posts / "plain.md").write_text("---\ntargets: [bluesky]\n---\nA\n")
    (drafts / "real.md").write_text("---\ntargets: [bluesky]\n---\nB\n")
    (posts / "linked.md").symlink_to(drafts / "real.md")
    stale = [posts / ".plain.md.00112233aabb.tmp", drafts / ".real.md.ffeeddccbbaa.tmp"]
    kept = [
        posts / ".linked.md.00112233aabb.tmp",  # write_atomic never writes here for a link
        posts / ".other.md.00112233aabb.tmp",  # not a post of this run
        posts / ".plain.md.00112233AABB.tmp",  # not write_atomic's name
        drafts / ".plain.md.00112233aabb.tmp",  # plain.md does not live here
    ]
    for path in stale + kept:
        path.write_text("partial")

    removed = remove_stale_temps([posts / "plain.md", posts / "linked.md"])

    assert sorted(removed) == sorted(stale)
    assert not any(p.exists() for p in stale)
    assert all(p.read_text() == "partial" for p in kept)
    # A real write afterwards works and leaves nothing behind.
    before = sorted(p.name for p in drafts.iterdir())
    writeback.write_atomic(posts / "linked.md", b"---\ntargets: [bluesky]\n---\nC\n")
    assert (drafts / "real.md").read_bytes().endswith(b"C\n")
    assert sorted(p.name for p in drafts.iterdir()) == before
