"""Per-platform limits of publisher.rules.limits, with the letmepost API's rule ids."""

from __future__ import annotations

import re
import struct
import zlib
from typing import Any

import pytest

from publisher.rules.limits import (
    MAX_TARGETS,
    PLATFORMS,
    RULES,
    SCHEMA_RULES,
    Content,
    Finding,
    Media,
    check,
    check_target_count,
    fits,
    graphemes,
    is_blank,
    kind_of_mime,
    letmepost_x_length,
    measure,
    mime_from_extension,
    sniff_mime,
    utf8_length,
    utf16_length,
    x_weighted_length,
)

FAMILY = "👨‍👩‍👧"  # 5 code points, 8 UTF-16 units, 1 grapheme
E_ACUTE = "e\u0301"  # e + combining acute: 2 code points, 1 grapheme
LONG_URL = "https://example.com/" + "a" * 300
MB = 1_000_000


def img(**kw: Any) -> Media:
    return Media("image", **kw)


def vid(**kw: Any) -> Media:
    return Media("video", **kw)


def c(platform: str, text: str | None = "hello", *media: Media, **kw: Any) -> Content:
    return Content(platform, text, tuple(media), **kw)


def rules(content: Content, stage: str | None = None) -> list[str]:
    return [f.rule for f in check(content, stage=stage)]


def errors(content: Content) -> list[Finding]:
    return [f for f in check(content) if f.severity == "error"]


# --------------------------------------------------------------------- counters


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("abc", 3),
        ("a\r\nb", 3),  # CR LF is one cluster
        (FAMILY, 1),
        (E_ACUTE, 1),
        ("🇫🇷🇩🇪", 2),  # two flags (regional indicator pairs)
        ("👍🏽", 1),  # emoji + skin tone modifier
        ("日本語", 3),
    ],
)
def test_graphemes(text: str, expected: int) -> None:
    assert graphemes(text) == expected


# X's own count. Every expected value is what the official twitter-text 3.1.0
# (JavaScript, ``parseTweet(text).weightedLength``) returns for the same text.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 5),
        (E_ACUTE, 1),  # NFC: one code point
        ("a\u0301\u0302\u0303\u0304", 4),  # stacked combining marks: each counts
        ("Z\u0351\u0352\u0357\u035b", 5),
        ("日本", 4),  # CJK weighs 2
        ("\u1100\u1161", 2),  # Hangul jamo compose (NFC) to one syllable
        ("क्षि", 4),  # each Devanagari code point weighs 1
        (FAMILY, 2),  # an emoji sequence weighs 2
        ("🇫🇷", 2),
        ("👍🏽", 2),
        ("#️⃣", 2),
        ("©", 1),  # a bare © is no emoji for twitter-text
        ("©️", 2),
        ("\u200f", 2),  # right-to-left mark: outside every light range
        ("\u200e", 2),
        ("\u2014", 1),  # em dash, U+2010-201F
        ("\u2026", 2),  # ellipsis U+2026 is outside every light range
        ("a\r\nb", 4),  # CR LF: two code points
        ("https://example.com", 23),
        (LONG_URL, 23),
        ("see " + LONG_URL + " and http://x.y", 4 + 23 + 5 + 10),  # .y is no TLD: text
        ("HTTPS://EXAMPLE.COM/日本", 27),  # the link ends before the CJK
        ("https://", 8),  # no host: not a link
        ("example.org and github.com/foo", 51),  # links without a scheme count 23
        ("www.example.com", 23),
        ("t.co", 23),
        ("(example.com)", 25),
        ("example.com.", 24),
        (" ".join(["a.co"] * 12), 12 * 23 + 11),
        ("foo.-bar.com", 12),  # an invalid domain label: text
        ("https://exa_mple.com/foo", 24),
        ("user@example.com", 16),  # an e-mail address is no link
        ("@example.com", 12),
        ("日本.jp", 7),  # no ASCII domain: text
        ("http://localhost/x", 18),  # no top-level domain: text
        ("v1.5 and e.g. this", 18),
    ],
)
def test_x_weighted_length(text: str, expected: int) -> None:
    assert x_weighted_length(text) == expected


# letmepost's preflight count for X (letmepost-api.md section 6): graphemes, 2 outside
# the light ranges, every http(s) link 23, a link without a scheme counted as text.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 5),
        (E_ACUTE, 1),
        ("日本", 4),
        (FAMILY, 2),
        ("\u2014", 1),
        ("\u2026", 2),
        ("https://example.com", 23),
        (LONG_URL, 23),
        ("see " + LONG_URL + " and http://x.y", 4 + 23 + 5 + 23),
        ("HTTPS://EXAMPLE.COM/日本", 23),
        ("https://", 8),
        ("example.org and github.com/foo", 30),
    ],
)
def test_letmepost_x_length(text: str, expected: int) -> None:
    assert letmepost_x_length(text) == expected


@pytest.mark.parametrize(("text", "expected"), [("abc", 3), ("é", 2), (FAMILY, 18), ("日", 3)])
def test_utf8_length(text: str, expected: int) -> None:
    assert utf8_length(text) == expected


def test_fits_checks_every_count_of_a_platform() -> None:
    assert fits("twitter", "a" * 280)
    assert not fits("twitter", " ".join(["a.co"] * 12))  # X counts 287
    assert not fits("twitter", "example.com/" + "a" * 300)  # X counts 23, letmepost 312
    assert not fits("bluesky", FAMILY * 200)  # 200 graphemes, 3600 bytes
    assert fits("bluesky", FAMILY * 150 + "a" * 150)
    assert not fits("threads", "a" * 501)


@pytest.mark.parametrize(
    ("text", "expected"), [("abc", 3), ("😀", 2), (FAMILY, 8), (E_ACUTE, 2), ("日", 1)]
)
def test_utf16_length(text: str, expected: int) -> None:
    assert utf16_length(text) == expected


@pytest.mark.parametrize(
    ("text", "blank"),
    [
        (None, True),
        ("", True),
        (" \t\n\r", True),
        ("\u00a0\u3000\u2028\ufeff", True),  # JavaScript trim() whitespace
        ("\u200b", False),  # zero-width space is not whitespace for the server
        (" x ", False),
    ],
)
def test_is_blank(text: str | None, blank: bool) -> None:
    assert is_blank(text) is blank


@pytest.mark.parametrize(
    ("platform", "text", "used", "limit", "unit"),
    [
        ("bluesky", FAMILY * 3, 3, 300, "graphemes"),
        ("twitter", "日本", 4, 280, "weighted"),
        ("threads", "abc", 3, 500, "graphemes"),
        ("linkedin", "abc", 3, 3000, "graphemes"),
        ("facebook", "abc", 3, 63_206, "graphemes"),
        ("instagram", "abc", 3, 2200, "graphemes"),
        ("tiktok", "😀", 2, 2200, "utf16"),
    ],
)
def test_measure(platform: str, text: str, used: int, limit: int, unit: str) -> None:
    length = measure(platform, text)
    assert (length.used, length.limit, length.unit) == (used, limit, unit)
    assert not length.over


def test_measure_every_platform_and_over() -> None:
    for platform in PLATFORMS:
        assert measure(platform, "x").used == 1
    assert measure("bluesky", "a" * 301).over
    with pytest.raises(ValueError, match="mastodon"):
        measure("mastodon", "x")


# ------------------------------------------------------------------ text limits

# (platform, text, media) that must pass: every limit exactly reached.
AT_LIMIT = [
    ("bluesky", FAMILY * 150 + "a" * 150, ()),  # 300 graphemes, 2850 bytes
    ("bluesky", "日" * 300, ()),
    ("bluesky", E_ACUTE * 300, ()),
    ("twitter", "a" * 280, ()),
    ("twitter", "a" * 256 + " " + LONG_URL, ()),  # 256 + 1 + 23
    ("twitter", "日" * 140, ()),
    ("twitter", FAMILY * 140, ()),
    ("twitter", E_ACUTE * 280, ()),
    ("threads", "a" * 500, ()),
    ("threads", "   ", (img(),)),  # media-only post: text may be blank
    ("linkedin", FAMILY * 3000, ()),
    ("facebook", "a" * 63_206, ()),
    ("facebook", " ", (img(),)),
    ("instagram", "a" * 2200, (img(),)),
    ("instagram", " ", (img(),)),  # caption optional
    ("tiktok", "😀" * 1100, (vid(),)),
    ("tiktok", "a" * 2200, (vid(),)),
    ("tiktok", " ".join(["#tag"] * 100), (vid(),)),
    ("pinterest", "a pin", (img(),)),
]


@pytest.mark.parametrize(("platform", "text", "media"), AT_LIMIT)
def test_text_at_limit_passes(platform: str, text: str, media: tuple[Media, ...]) -> None:
    assert check(c(platform, text, *media)) == []


# ------------------------------------------------------------- the rule table

# (content, rule, field, severity, stage): check(content) reports exactly this finding.
CASES: list[tuple[Content, str, str, str, str]] = [
    # request level
    (c("bluesky", None), "targets.text.required", "text", "error", "cheap"),
    (c("instagram", "", img()), "targets.text.required", "text", "error", "cheap"),
    (
        c("twitter", first_comment="more"),
        "first_comment.ignored",
        "firstComment",
        "warning",
        "cheap",
    ),
    (
        c("bluesky", first_comment="more", scheduled=True),
        "scheduledAt.no_first_comment",
        "firstComment",
        "error",
        "cheap",
    ),
    (
        c("linkedin", first_comment="more", scheduled=True),
        "scheduledAt.no_first_comment",
        "firstComment",
        "error",
        "cheap",
    ),
    (
        c("pinterest", "x", img(source="bytes")),
        "media.bytes_inline_unsupported",
        "media[0]",
        "error",
        "deep",
    ),
    # options
    (
        c("bluesky", options={"platform": "twitter"}),
        "targets.options.platform_mismatch",
        "options.platform",
        "error",
        "cheap",
    ),
    (
        c("twitter", options={"replyToTweetId": "1"}),
        "targets.options.platform_required",
        "options.platform",
        "error",
        "cheap",
    ),
    (
        c("twitter", options={"platform": "twitter", "replyTo": "1"}),
        "targets.options.unknown_key",
        "options.replyTo",
        "error",
        "cheap",
    ),
    (
        c("tiktok", "x", vid(), options={"platform": "tiktok", "disableDuet": "yes"}),
        "targets.options.invalid",
        "options.disableDuet",
        "error",
        "cheap",
    ),
    (
        c("tiktok", "x", vid(), options={"platform": "tiktok", "privacy": "friends"}),
        "tiktok.options.privacy_enum",
        "options.privacy",
        "error",
        "cheap",
    ),
    (
        c("twitter", options={"platform": "twitter", "replyToTweetId": "1", "quoteTweetId": "2"}),
        "twitter.options.reply_quote_exclusive",
        "options.quoteTweetId",
        "error",
        "cheap",
    ),
    (
        c("bluesky", options={"platform": "bluesky", "replyToUri": "at://p"}),
        "bluesky.options.reply_pair",
        "options.replyToCid",
        "error",
        "cheap",
    ),
    (
        c(
            "bluesky",
            options={"platform": "bluesky", "replyRootUri": "at://r", "replyRootCid": "c"},
        ),
        "bluesky.options.root_needs_parent",
        "options.replyToUri",
        "error",
        "cheap",
    ),
    (
        c(
            "bluesky",
            options={"platform": "bluesky", "replyToUri": "at://p", "replyToCid": "c"},
            scheduled=True,
        ),
        "scheduledAt.no_bluesky_reply",
        "options",
        "error",
        "cheap",
    ),
    # bluesky
    (c("bluesky", " \n", img()), "bluesky.text.non_empty", "text", "error", "cheap"),
    (c("bluesky", FAMILY * 301), "bluesky.text.max_graphemes", "text", "error", "cheap"),
    (c("bluesky", E_ACUTE * 301), "bluesky.text.max_graphemes", "text", "error", "cheap"),
    (c("bluesky", "x", *[img()] * 5), "bluesky.media.count_max", "media", "error", "cheap"),
    (c("bluesky", "x", vid(), vid()), "bluesky.media.count_max", "media", "error", "cheap"),
    (
        c("bluesky", "x", img(), vid()),
        "bluesky.media.image_video_exclusive",
        "media",
        "error",
        "cheap",
    ),
    (
        c("bluesky", "x", img(alt="ok"), img(alt=FAMILY * 2001)),
        "bluesky.media.alt_text_max_graphemes",
        "media[1].alt",
        "error",
        "cheap",
    ),
    (
        c("bluesky", "x", img(mime="image/heic", size=10)),
        "bluesky.media.mime_allowed",
        "media[0]",
        "error",
        "deep",
    ),
    (
        c("bluesky", "x", vid(mime="video/quicktime", size=10)),
        "bluesky.media.mime_allowed",
        "media[0]",
        "error",
        "deep",
    ),
    (
        c("bluesky", "x", img(mime="image/png", size=1_000_001)),
        "bluesky.media.image_size_max",
        "media[0]",
        "error",
        "deep",
    ),
    (
        c("bluesky", "x", vid(mime="video/mp4", size=100 * MB + 1)),
        "bluesky.media.video_size_max",
        "media[0]",
        "error",
        "deep",
    ),
    (
        c("bluesky", first_comment="  "),
        "bluesky.first_comment.non_empty",
        "firstComment",
        "error",
        "deep",
    ),
    (
        c("bluesky", first_comment="a" * 301),
        "bluesky.first_comment.max_graphemes",
        "firstComment",
        "error",
        "deep",
    ),
    (c("bluesky", FAMILY * 200), "bluesky.text.max_bytes", "text", "error", "deep"),
    (
        c("bluesky", first_comment="\u00e9" * 1501),
        "bluesky.first_comment.max_bytes",
        "firstComment",
        "error",
        "deep",
    ),
    # twitter
    (c("twitter", "\t"), "twitter.text.non_empty", "text", "error", "cheap"),
    (c("twitter", "a" * 281), "twitter.text.max_graphemes", "text", "error", "cheap"),
    (
        c("twitter", "a" * 257 + " " + LONG_URL),
        "twitter.text.max_graphemes",
        "text",
        "error",
        "cheap",
    ),
    (c("twitter", "日" * 141), "twitter.text.max_graphemes", "text", "error", "cheap"),
    (
        c("twitter", "example.com/" + "a" * 300),  # X: 23; letmepost: 312
        "twitter.text.max_graphemes",
        "text",
        "error",
        "cheap",
    ),
    (
        c("twitter", "\ufeffHello"),  # a byte order mark pasted at the start
        "twitter.text.invalid_characters",
        "text",
        "error",
        "deep",
    ),
    (
        c("twitter", " ".join(["a.co"] * 12)),  # X: 287; letmepost: 59
        "twitter.text.max_weighted",
        "text",
        "error",
        "deep",
    ),
    (c("twitter", "x", *[img()] * 5), "twitter.media.count_max", "media", "error", "cheap"),
    (
        c("twitter", "x", img(), vid()),
        "twitter.media.image_video_exclusive",
        "media",
        "error",
        "cheap",
    ),
    (
        c("twitter", "x", img(alt="a" * 1001)),
        "twitter.media.alt_text_max_graphemes",
        "media[0].alt",
        "error",
        "cheap",
    ),
    (
        c("twitter", "x", vid(mime="video/quicktime", size=1)),
        "twitter.media.mime_allowed",
        "media[0]",
        "error",
        "deep",
    ),
    (
        c("twitter", "x", img(mime="image/jpeg", size=5 * MB + 1)),
        "twitter.media.image_size_max",
        "media[0]",
        "error",
        "deep",
    ),
    (
        c("twitter", "x", img(mime="image/gif", size=15 * MB + 1)),
        "twitter.media.gif_size_max",
        "media[0]",
        "error",
        "deep",
    ),
    (
        c("twitter", "x", vid(mime="video/mp4", size=512 * MB + 1)),
        "twitter.media.video_size_max",
        "media[0]",
        "error",
        "deep",
    ),
    # threads
    (c("threads", " "), "threads.text.required", "text", "error", "cheap"),
    (c("threads", "a" * 501), "threads.text.max_graphemes", "text", "error", "cheap"),
    (
        c("threads", "x", *[img(), vid()] * 10, img()),
        "threads.media.count_max",
        "media",
        "error",
        "cheap",
    ),
    (
        c("threads", "x", img(alt="a" * 1001)),
        "threads.media.alt_text_max_graphemes",
        "media[0].alt",
        "error",
        "cheap",
    ),
    (
        c("threads", "x", img(mime="image/gif", size=1)),
        "threads.media.mime_allowed",
        "media[0]",
        "error",
        "deep",
    ),
    (
        c("threads", "x", img(mime="image/webp", size=8 * MB + 1)),
        "threads.media.image_size_max",
        "media[0]",
        "error",
        "deep",
    ),
    (
        c("threads", "x", vid(mime="video/quicktime", size=10**9 + 1)),
        "threads.media.video_size_max",
        "media[0]",
        "error",
        "deep",
    ),
    # linkedin
    (c("linkedin", ""), "targets.text.required", "text", "error", "cheap"),
    (c("linkedin", " "), "linkedin.text.non_empty", "text", "error", "cheap"),
    (c("linkedin", "a" * 3001), "linkedin.text.max_graphemes", "text", "error", "cheap"),
    (c("linkedin", "x", img()), "linkedin.media.ignored", "media", "warning", "cheap"),
    # facebook
    (c("facebook", " "), "facebook.text.required", "text", "error", "cheap"),
    (c("facebook", "a" * 63_207), "facebook.text.max_graphemes", "text", "error", "cheap"),
    (
        c("facebook", "x", img(), vid()),
        "facebook.media.image_video_exclusive",
        "media",
        "error",
        "cheap",
    ),
    (c("facebook", "x", vid(), vid()), "facebook.media.count_max", "media", "error", "cheap"),
    (
        c("facebook", "x", img(mime="image/heic", size=1)),
        "facebook.media.mime_allowed",
        "media[0]",
        "error",
        "deep",
    ),
    (
        c("facebook", "x", img(mime="image/gif", size=4 * MB + 1)),
        "facebook.media.image_size_max",
        "media[0]",
        "error",
        "deep",
    ),
    (
        c("facebook", "x", vid(mime="video/mp4", size=4 * 10**9 + 1)),
        "facebook.media.video_size_max",
        "media[0]",
        "error",
        "deep",
    ),
    # instagram
    (c("instagram", "caption"), "instagram.media.required", "media", "error", "cheap"),
    (
        c("instagram", "a" * 2201, img()),
        "instagram.text.max_graphemes",
        "text",
        "error",
        "cheap",
    ),
    (c("instagram", "x", *[img()] * 11), "instagram.media.count_max", "media", "error", "cheap"),
    (
        c("instagram", "x", img(alt="a" * 2201)),
        "instagram.media.alt_text_max_graphemes",
        "media[0].alt",
        "error",
        "cheap",
    ),
    (
        c("instagram", "x", img(mime="image/png", size=1)),
        "instagram.media.mime_allowed",
        "media[0]",
        "error",
        "deep",
    ),
    (
        c("instagram", "x", img(mime="image/jpeg", size=8 * MB + 1)),
        "instagram.media.image_size_max",
        "media[0]",
        "error",
        "deep",
    ),
    (
        c("instagram", "x", vid(mime="video/mp4", size=10**9 + 1)),
        "instagram.media.video_size_max",
        "media[0]",
        "error",
        "deep",
    ),
    # pinterest
    (c("pinterest", "x"), "pinterest.media.required", "media", "error", "cheap"),
    (c("pinterest", "x", img(), img()), "pinterest.media.single_only", "media", "error", "deep"),
    (
        c("pinterest", "a" * 501, img()),
        "pinterest.text.max_graphemes",
        "text",
        "warning",
        "cheap",
    ),
    (
        c("pinterest", "x", img(), account={"pinterest": {"defaultBoardId": None}}),
        "pinterest.board.required",
        "options.boardId",
        "error",
        "deep",
    ),
    (
        c("pinterest", "x", vid(), options={"platform": "pinterest", "boardId": "b"}),
        "pinterest.video.cover_required",
        "options.coverImageUrl",
        "error",
        "deep",
    ),
    (
        c("pinterest", "x", img(), options={"platform": "pinterest", "destinationUrl": "nope"}),
        "pinterest.destination_url.http",
        "options.destinationUrl",
        "error",
        "cheap",
    ),
    (
        c(
            "pinterest",
            "x",
            vid(),
            options={"platform": "pinterest", "coverImageUrl": "ftp://h/c.jpg"},
        ),
        "pinterest.cover_image_url.http",
        "options.coverImageUrl",
        "error",
        "deep",
    ),
    (
        c("pinterest", "x", img(mime="image/gif", size=1)),
        "pinterest.image.mime_allowed",
        "media[0]",
        "error",
        "deep",
    ),
    (
        c("pinterest", "x", img(mime="image/png", size=20 * MB + 1)),
        "pinterest.image.size_max",
        "media[0]",
        "error",
        "deep",
    ),
    (
        c("pinterest", "x", vid(mime="video/webm", size=1)),
        "pinterest.video.mime_allowed",
        "media[0]",
        "error",
        "deep",
    ),
    (
        c("pinterest", "x", vid(mime="video/mp4", size=2 * 10**9 + 1)),
        "pinterest.video.size_max",
        "media[0]",
        "error",
        "deep",
    ),
    # tiktok
    (c("tiktok", "😀" * 1100 + "a", vid()), "tiktok.text.max_chars", "text", "error", "cheap"),
    (
        c("tiktok", " ".join(["#tag"] * 101), vid()),
        "tiktok.text.hashtag_max",
        "text",
        "error",
        "cheap",
    ),
    (c("tiktok", "x"), "tiktok.media.required", "media", "error", "cheap"),
    (c("tiktok", "x", vid(), vid()), "tiktok.media.single_only", "media", "error", "cheap"),
    (c("tiktok", "x", img()), "tiktok.media.video_required", "media[0]", "error", "cheap"),
    (
        c(
            "tiktok",
            "x",
            vid(),
            options={"platform": "tiktok", "brandContentToggle": True, "brandOrganicToggle": True},
        ),
        "tiktok.branded_content.mutual_exclusive",
        "options.brandOrganicToggle",
        "error",
        "cheap",
    ),
    (
        c("tiktok", "x", vid(), options={"platform": "tiktok", "privacy": "public_to_everyone"}),
        "tiktok.audit.self_only",
        "options.privacy",
        "warning",
        "deep",
    ),
    (
        c("tiktok", "x", vid(mime="video/x-matroska", size=1)),
        "tiktok.file_format.invalid",
        "media[0]",
        "error",
        "deep",
    ),
    (
        c("tiktok", "x", vid(mime="video/mp4", size=4 * 1024**3 + 1)),
        "tiktok.video.size_max",
        "media[0]",
        "error",
        "deep",
    ),
]


@pytest.mark.parametrize(
    ("content", "rule", "field", "severity", "stage"),
    CASES,
    ids=[f"{case[0].platform}-{case[1]}" for case in CASES],
)
def test_rule(content: Content, rule: str, field: str, severity: str, stage: str) -> None:
    found = [f for f in check(content) if f.rule == rule]
    assert len(found) == 1, check(content)
    f = found[0]
    assert (f.field, f.severity, f.stage) == (field, severity, stage)
    assert f.message and f.rule not in f.message  # a sentence for people, not the id


# (number of targets, rules reported by check_target_count)
TARGET_COUNTS = [
    (0, ["targets.required"]),
    (1, []),
    (MAX_TARGETS, []),
    (MAX_TARGETS + 1, ["targets.max"]),
]


def test_every_rule_has_a_case() -> None:
    tested = {case[1] for case in CASES} | {r for _, rs in TARGET_COUNTS for r in rs}
    assert tested == set(RULES)


# Rule ids the API itself spells with camelCase (letmepost-api.md section 1).
API_CAMEL_IDS = {"scheduledAt.no_first_comment", "scheduledAt.no_bluesky_reply"}


def test_rule_ids_follow_the_dotted_pattern() -> None:
    pattern = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")
    assert API_CAMEL_IDS <= RULES
    assert [r for r in RULES - API_CAMEL_IDS if not pattern.match(r)] == []
    produced = {f.rule for case in CASES for f in check(case[0])}
    assert produced <= RULES
    assert SCHEMA_RULES <= RULES


def test_schema_rules_are_cheap() -> None:
    # validation_failed happens before anything is stored: never a per-target result.
    stages = {(f.rule, f.stage) for case in CASES for f in check(case[0])}
    assert {stage for rule, stage in stages if rule in SCHEMA_RULES} == {"cheap"}


# ------------------------------------------------------------------ messages


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (c("bluesky", FAMILY * 312), ["312 graphemes", "Bluesky allows 300"]),
        (
            c("twitter", "a" * 281 + " " + LONG_URL),
            ["305 weighted characters", "X allows 280", "every link counts 23", "CJK count 2"],
        ),
        (c("tiktok", "😀" * 1101, vid()), ["2,202 UTF-16 units", "TikTok allows 2,200"]),
        (c("bluesky", "x", *[img()] * 6), ["6 images", "at most 4"]),
        (
            c("bluesky", "x", img(mime="image/png", size=1_234_567)),
            ["1,234,567 bytes", "1.2 MB", "1,000,000 bytes"],
        ),
        (
            c("instagram", "x", img(mime="image/png", size=1)),
            ["image/png", "image/jpeg"],
        ),
        (
            c("twitter", "x", options={"platform": "twitter", "replyToTweetID": "1"}),
            ["did you mean replyToTweetId?"],
        ),
    ],
)
def test_messages_say_number_limit_and_unit(content: Content, fragments: list[str]) -> None:
    text = " | ".join(f.message for f in check(content))
    for fragment in fragments:
        assert fragment in text


# ------------------------------------------------------ combinations and edges


def test_findings_accumulate_instead_of_stopping_at_the_first() -> None:
    content = c("bluesky", "a" * 301, *[img()] * 5, vid(), vid())
    assert rules(content) == [
        "bluesky.text.max_graphemes",
        "bluesky.media.image_video_exclusive",
        "bluesky.media.count_max",
        "bluesky.media.count_max",
    ]


def test_threads_allows_mixing_and_twenty_items() -> None:
    assert check(c("threads", "x", *[img(), vid()] * 10)) == []


def test_missing_text_is_reported_once() -> None:
    assert rules(c("threads", None)) == ["targets.text.required"]
    assert rules(c("bluesky", None, img())) == ["targets.text.required"]


def test_unknown_mime_and_size_skip_the_deep_checks() -> None:
    url_media = (img(source="url"), img(source="url", alt="a view"))
    for platform in ("bluesky", "twitter", "threads", "facebook", "instagram"):
        assert check(c(platform, "x", *url_media), stage="deep") == []
    # Type known, size unknown: the type is still checked.
    assert rules(c("instagram", "x", img(mime="image/png")), stage="deep") == [
        "instagram.media.mime_allowed"
    ]
    # Size known, type unknown: the size still counts against the kind's limit.
    assert rules(c("bluesky", "x", img(size=2 * MB)), stage="deep") == [
        "bluesky.media.image_size_max"
    ]
    # X: without the type a 10 MB image might be a GIF (15 MB), so it passes.
    assert check(c("twitter", "x", img(size=10 * MB))) == []


def test_mime_is_compared_without_case_or_parameters() -> None:
    assert check(c("bluesky", "x", img(mime="IMAGE/PNG; q=1", size=10))) == []


def test_inline_bytes_only_refused_on_url_consuming_platforms() -> None:
    assert check(c("bluesky", "x", img(source="bytes"))) == []
    for platform in ("threads", "facebook", "instagram"):
        assert rules(c(platform, "x", img(source="bytes"))) == ["media.bytes_inline_unsupported"]


@pytest.mark.parametrize(
    ("options", "account", "board_error"),
    [
        (None, None, False),  # nothing known locally: the server knows the default board
        (None, {"pinterest": {"defaultBoardId": "123"}}, False),
        (None, {"pinterest": {"defaultBoardName": "x"}}, True),
        (None, {"displayName": "me"}, True),
        ({"platform": "pinterest", "boardId": "b1"}, {"pinterest": {}}, False),
    ],
)
def test_pinterest_board(
    options: dict[str, Any] | None, account: dict[str, Any] | None, board_error: bool
) -> None:
    content = c("pinterest", "x", img(), options=options, account=account)
    assert ("pinterest.board.required" in rules(content)) is board_error


def test_pinterest_video_with_cover_passes() -> None:
    opts = {"platform": "pinterest", "coverImageUrl": "https://cdn.example/c.jpg"}
    assert check(c("pinterest", "x", vid(), options=opts)) == []


def test_first_comment_rules() -> None:
    assert check(c("bluesky", first_comment="a" * 300)) == []
    # Scheduled: only the scheduling error, not the Bluesky reply checks.
    assert rules(c("bluesky", first_comment="", scheduled=True)) == ["scheduledAt.no_first_comment"]
    assert rules(c("twitter", first_comment="x", scheduled=True)) == [
        "scheduledAt.no_first_comment"
    ]


def test_valid_options_pass_on_every_platform() -> None:
    good: dict[str, tuple[Content, dict[str, Any]]] = {
        "bluesky": (
            c("bluesky"),
            {
                "replyToUri": "at://p",
                "replyToCid": "c",
                "replyRootUri": "at://r",
                "replyRootCid": "d",
            },
        ),
        "twitter": (c("twitter"), {"quoteTweetId": "1"}),
        "threads": (c("threads"), {"replyToId": "1"}),
        "linkedin": (c("linkedin"), {}),
        "facebook": (c("facebook"), {}),
        "instagram": (c("instagram", "x", img()), {}),
        "pinterest": (
            c("pinterest", "x", img()),
            {"boardId": "b", "title": "t", "destinationUrl": "https://example.com/p?q=1"},
        ),
        "tiktok": (
            c("tiktok", "x", vid()),
            {"privacy": "self_only", "disableComment": True, "brandOrganicToggle": True},
        ),
    }
    assert set(good) == set(PLATFORMS)
    for platform, (content, extra) in good.items():
        opts = {"platform": platform, **extra}
        assert check(Content(platform, content.text, content.media, options=opts)) == []


def test_options_for_another_platform_are_not_key_checked() -> None:
    content = c("bluesky", options={"platform": "twitter", "replyToTweetId": "1"})
    assert rules(content) == ["targets.options.platform_mismatch"]


def test_warnings_are_not_errors() -> None:
    content = c("linkedin", "x", img(), first_comment="hi")
    assert errors(content) == []
    assert {(f.rule, f.api) for f in check(content)} == {
        ("linkedin.media.ignored", False),
        ("first_comment.ignored", False),
    }


def test_tiktok_self_only_privacy_has_no_warning() -> None:
    assert (
        check(c("tiktok", "x", vid(), options={"platform": "tiktok", "privacy": "self_only"})) == []
    )


# ------------------------------------------------------------------ stages


def test_stage_filtering() -> None:
    content = c("bluesky", "a" * 301, img(mime="image/tiff", size=2 * MB), first_comment=" ")
    cheap, deep = check(content, stage="cheap"), check(content, stage="deep")
    assert [f.rule for f in cheap] == ["bluesky.text.max_graphemes"]
    assert [f.rule for f in deep] == [
        "bluesky.media.mime_allowed",
        "bluesky.first_comment.non_empty",
    ]
    assert sorted(check(content), key=repr) == sorted(cheap + deep, key=repr)


def test_bad_stage_or_platform_raise() -> None:
    with pytest.raises(ValueError, match="stage"):
        check(c("bluesky"), stage="atomic")
    with pytest.raises(ValueError, match="mastodon"):
        check(c("mastodon"))


@pytest.mark.parametrize(("count", "expected"), TARGET_COUNTS)
def test_target_count(count: int, expected: list[str]) -> None:
    assert [f.rule for f in check_target_count(count)] == expected


# --------------------------------------------------------------- media types


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + chunk(b"IEND", b"")
    )


def _ftyp(brand: bytes) -> bytes:
    return struct.pack(">I", 24) + b"ftyp" + brand + b"\x00\x00\x02\x00" + brand + b"mp41"


HEADERS = [
    (_png(), "image/png"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", "image/jpeg"),
    (b"\xff\xd8\xff\xe1\x00\x18Exif\x00\x00", "image/jpeg"),
    (b"GIF89a\x01\x00\x01\x00\x80\x00\x00", "image/gif"),
    (b"GIF87a\x01\x00\x01\x00", "image/gif"),
    (b"RIFF" + struct.pack("<I", 26) + b"WEBPVP8 \x0e\x00\x00\x00", "image/webp"),
    (_ftyp(b"isom"), "video/mp4"),
    (_ftyp(b"mp42"), "video/mp4"),
    (_ftyp(b"qt  "), "video/quicktime"),
    (struct.pack(">I", 8) + b"wide" + struct.pack(">I", 100) + b"mdat", "video/quicktime"),
    (_ftyp(b"heic"), "image/heic"),
    (_ftyp(b"M4A "), None),  # audio
    (b"RIFF" + struct.pack("<I", 26) + b"WAVEfmt ", None),
    (b"%PDF-1.7\n", None),
    (b"hello world", None),
    (b"", None),
]


@pytest.mark.parametrize(("head", "mime"), HEADERS)
def test_sniff_mime(head: bytes, mime: str | None) -> None:
    assert sniff_mime(head) == mime


@pytest.mark.parametrize(
    ("name", "mime"),
    [
        ("img/launch.PNG", "image/png"),
        ("photo.jpeg", "image/jpeg"),
        ("a.b/clip.mov", "video/quicktime"),
        ("https://cdn.example/v/clip.mp4?sig=a.b#t=1", "video/mp4"),
        ("anim.gif", "image/gif"),
        ("notes.txt", None),
        ("README", None),
        ("https://example.com/", None),
    ],
)
def test_mime_from_extension(name: str, mime: str | None) -> None:
    assert mime_from_extension(name) == mime


@pytest.mark.parametrize(
    ("mime", "kind"),
    [
        ("image/webp", "image"),
        ("video/mp4", "video"),
        ("Video/QuickTime", "video"),
        ("audio/mpeg", None),
        ("application/pdf", None),
    ],
)
def test_kind_of_mime(mime: str, kind: str | None) -> None:
    assert kind_of_mime(mime) == kind


def test_unknown_option_key_is_local_advice() -> None:
    # The server's schema drops unknown keys silently; only publisher reports them.
    (finding,) = check(c("threads", options={"platform": "threads", "replyTold": "1"}))
    assert finding.rule == "targets.options.unknown_key"
    assert finding.api is False
    assert "did you mean replyToId?" in finding.message
