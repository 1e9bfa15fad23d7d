"""Facets, TIDs and URLs of the direct Bluesky backend: pure functions, no server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from publisher.clients.atproto import build_facets, is_tid, new_tid, web_url

ROOT = Path(__file__).resolve().parents[2]

DIDS = {"bob.test": "did:plc:bob", "alice.bsky.social": "did:plc:alice"}


def resolve(handle: str) -> str | None:
    return DIDS.get(handle)


def spans(text: str) -> list[tuple[str, str, str]]:
    """(kind, exact UTF-8 slice of the text, value) for each facet, in order."""
    raw = text.encode("utf-8")
    out = []
    for facet in build_facets(text, resolve):
        index = facet["index"]
        (feature,) = facet["features"]
        kind = feature["$type"].rsplit("#", 1)[1]
        value = feature.get("uri") or feature.get("did") or feature.get("tag")
        out.append((kind, raw[index["byteStart"] : index["byteEnd"]].decode("utf-8"), value))
    return out


def test_link_mention_and_tag_in_one_post() -> None:
    text = "Hi @bob.test, read https://example.com/a?b=1 #python"
    assert spans(text) == [
        ("mention", "@bob.test", "did:plc:bob"),
        ("link", "https://example.com/a?b=1", "https://example.com/a?b=1"),
        ("tag", "#python", "python"),
    ]
    facet = build_facets(text, resolve)[0]
    assert facet["$type"] == "app.bsky.richtext.facet"
    assert facet["index"] == {"byteStart": 3, "byteEnd": 12}


@pytest.mark.parametrize(
    ("text", "link"),
    [
        ("see https://example.com.", "https://example.com"),
        ("see https://example.com/x, then", "https://example.com/x"),
        ("really? https://example.com/x!", "https://example.com/x"),
        ("(see https://example.com/x)", "https://example.com/x"),
        ("(https://example.com/x).", "https://example.com/x"),
        ("https://en.wikipedia.org/wiki/Python_(language)", None),
        ("HTTP://EXAMPLE.COM/Path", None),
        ("http://127.0.0.1:8080/a#frag", None),
    ],
)
def test_links_leave_out_trailing_punctuation(text: str, link: str | None) -> None:
    expected = link or text
    assert spans(text) == [("link", expected, expected)]


def test_text_that_only_looks_like_links_gets_no_facet() -> None:
    assert spans("ftp://example.com www.example.com xhttps://example.com https://") == []


@pytest.mark.parametrize(
    ("prefix", "start"),
    [
        ("", 0),
        ("🎉 ", 5),  # 4-byte emoji
        ("👨‍👩‍👧 ", 19),  # ZWJ sequence: 3 emoji + 2 joiners
        ("日本語 ", 10),  # CJK: 3 bytes each
        ("e\u0301 ", 4),  # combining acute accent
        ("Ünïcödé ", 12),
    ],
)
def test_byte_offsets_after_multibyte_text(prefix: str, start: int) -> None:
    text = prefix + "@bob.test https://x.org #tag"
    facets = build_facets(text, resolve)
    assert [f["index"]["byteStart"] for f in facets] == [start, start + 10, start + 24]
    assert spans(text) == [
        ("mention", "@bob.test", "did:plc:bob"),
        ("link", "https://x.org", "https://x.org"),
        ("tag", "#tag", "tag"),
    ]


def test_unresolvable_mentions_stay_plain_text_and_are_resolved_once() -> None:
    asked: list[str] = []

    def counting(handle: str) -> str | None:
        asked.append(handle)
        return resolve(handle)

    text = "@nobody.test and @Bob.Test and @bob.test"
    facets = build_facets(text, counting)
    assert [f["features"][0]["did"] for f in facets] == ["did:plc:bob", "did:plc:bob"]
    assert asked == ["nobody.test", "bob.test"]


@pytest.mark.parametrize(
    "text",
    [
        "mail bob@bob.test",  # an e-mail address, not a mention
        "@bob",  # not a domain
        "@-bob.test",  # not a valid handle
        "@bob.123",  # the TLD must start with a letter
    ],
)
def test_non_mentions(text: str) -> None:
    assert spans(text) == []


def test_mention_boundaries() -> None:
    assert spans("(@bob.test) @alice.bsky.social.") == [
        ("mention", "@bob.test", "did:plc:bob"),
        ("mention", "@alice.bsky.social", "did:plc:alice"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#python", [("#python", "python")]),
        ("ends with #tag.", [("#tag", "tag")]),
        ("#tag!? and #two", [("#tag", "tag"), ("#two", "two")]),
        ("#123", []),  # digits only
        ("#123abc", [("#123abc", "123abc")]),
        ("#", []),
        ("a#tag", []),  # must start the text or follow whitespace
        ("日本語 #タグ", [("#タグ", "タグ")]),
        ("＃全角", [("＃全角", "全角")]),  # full-width number sign
        ("#café_au-lait", [("#café_au-lait", "café_au-lait")]),
        ("#\ufe0f", []),  # a keycap emoji, not a tag
        ("#" + "a" * 64, [("#" + "a" * 64, "a" * 64)]),
        ("#" + "a" * 65, []),  # longer than 64
    ],
)
def test_hashtags(text: str, expected: list[tuple[str, str]]) -> None:
    assert spans(text) == [("tag", s, v) for s, v in expected]


def test_fragment_of_a_link_is_not_a_tag() -> None:
    text = "https://example.com/#section"
    assert spans(text) == [("link", text, text)]


def test_no_facets_in_plain_text() -> None:
    assert build_facets("just words, 100% plain.", resolve) == []


# ---------------------------------------------------------------------------- TIDs

ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


def decode_tid(tid: str) -> tuple[int, int]:
    n = 0
    for ch in tid:
        n = n * 32 + ALPHABET.index(ch)
    return n >> 10, n & 1023


def test_tid_encodes_time_and_clock_id() -> None:
    assert new_tid(0, 0) == "2222222222222"
    tid = new_tid(1_700_000_000_123_456, 7)
    assert len(tid) == 13 and is_tid(tid)
    assert decode_tid(tid) == (1_700_000_000_123_456, 7)
    # a TID from the atproto specification round-trips
    assert new_tid(*decode_tid("3jzfcijpj2z2a")) == "3jzfcijpj2z2a"


def test_tids_sort_by_time_and_never_repeat() -> None:
    tids = [new_tid() for _ in range(2000)]
    assert len(set(tids)) == len(tids)
    assert tids == sorted(tids)
    assert all(is_tid(t) for t in tids)
    assert new_tid(1_000_001, 5) > new_tid(1_000_000, 1000 - 1)


@pytest.mark.parametrize(("now_us", "clock"), [(-1, 0), (1 << 53, 0), (0, 1024), (0, -1)])
def test_tid_out_of_range(now_us: int, clock: int) -> None:
    with pytest.raises(ValueError):
        new_tid(now_us, clock)


@pytest.mark.parametrize(
    "value", ["", "3jzfcijpj2z2", "3jzfcijpj2z2aa", "kjzfcijpj2z2a", "3JZFCIJPJ2Z2A"]
)
def test_not_tids(value: str) -> None:
    assert not is_tid(value)


# ---------------------------------------------------------------------------- URLs


def test_web_url() -> None:
    uri = "at://did:plc:abc/app.bsky.feed.post/3jzfcijpj2z2a"
    assert web_url(uri, "alice.test") == "https://bsky.app/profile/alice.test/post/3jzfcijpj2z2a"
    assert web_url(uri, "did:plc:abc") == (
        "https://bsky.app/profile/did:plc:abc/post/3jzfcijpj2z2a"
    )
    for bad in ("https://bsky.app/x", "at://did:plc:abc/app.bsky.feed.like/3jzf", "at://x"):
        with pytest.raises(ValueError):
            web_url(bad, "alice.test")


def test_module_imports_without_the_sdk() -> None:
    """The CLI imports publisher.clients.atproto at start-up: atproto (~0.6 s) must stay lazy."""
    code = (
        "import sys, publisher.clients.atproto;"
        "heavy = {'atproto', 'atproto_client', 'httpx', 'regex'} & set(sys.modules);"
        "print(sorted(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
