"""Identity (SPEC section 3): what changes a post's hash and what does not, the
Idempotency-Keys derived from it, and the exact request bytes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from publisher import identity
from publisher.config import Account, Config
from publisher.post import Post
from publisher.validate import load_post
from publisher.writeback import set_published

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
UUID = "6f1c2b9e-4d2a-4c1e-9b7a-0e5d3c2b1a09"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

BASE = """\
---
targets:
  - bluesky
  - account: x
    text: Short one for X
    options: {platform: twitter, replyToTweetId: '123'}
scheduledAt: 2026-12-01T09:00:00+01:00
media:
  - path: img/a.png
    alt: A banner
---
We shipped v2 today.
"""


@pytest.fixture
def repo(tmp_path: Path) -> Config:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(PNG)
    (tmp_path / "img" / "b.png").write_bytes(PNG + b"\x01")
    accounts = {
        "x": Account("x", platform="twitter"),
        "main": Account("main", account_id=UUID, platform="bluesky"),
        "me": Account(
            "me", platform="bluesky", handle="alice.bsky.social", pds="https://bsky.social"
        ),
    }
    return Config(root=tmp_path, accounts=accounts)


def load(config: Config, content: str | bytes, name: str = "post.md") -> Post:
    path = config.root / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    post = load_post(path, config, now=NOW)
    assert post.valid, [str(p) for p in post.errors]
    return post


def test_the_base_post_is_valid_and_hashed(repo: Config) -> None:
    post = load(repo, BASE)
    assert post.hash is not None and post.hash.startswith("sha256:")
    assert len({t.hash for t in post.targets}) == 2


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(BASE.replace("\n", "\r\n"), id="crlf"),
        pytest.param("\ufeff" + BASE, id="bom"),
        pytest.param(BASE.replace("today.\n", "today.   \n\n\n"), id="trailing-whitespace"),
        pytest.param(BASE.replace("---\nWe", "---\n\n\nWe"), id="leading-blank-lines"),
        pytest.param(
            BASE.replace("  - bluesky\n", "  - 'bluesky'\n").replace(
                "text: Short one for X", 'text: "Short one for X"'
            ),
            id="quoting",
        ),
        pytest.param(
            BASE.replace(
                "    options: {platform: twitter, replyToTweetId: '123'}",
                "    options:\n      replyToTweetId: '123'\n      platform: twitter",
            ),
            id="flow-vs-block",
        ),
        pytest.param(
            "---\nmedia:\n  - alt: A banner\n    path: img/a.png\nscheduledAt: 2026-12-01T08:00:00Z\n"
            "targets:\n  - bluesky\n  - text: Short one for X\n    account: x\n"
            "    options: {replyToTweetId: '123', platform: twitter}\n---\nWe shipped v2 today.\n",
            id="key-order-and-same-moment-in-utc",
        ),
        pytest.param(
            BASE.replace("---\nWe", "meta:\n  title: Launch\n  tags: [a]\n---\nWe"), id="meta"
        ),
        pytest.param(BASE.replace("---\nWe", "draft: false\n---\nWe"), id="draft"),
        pytest.param(
            BASE.replace("  - bluesky\n  - account: x", "  - account: x").replace(
                "'123'}\n", "'123'}\n  - bluesky\n"
            ),
            id="targets-reordered",
        ),
        pytest.param(BASE.replace("targets:\n", "# a comment\ntargets:  # more\n"), id="comments"),
    ],
)
def test_hash_ignores_what_is_not_published(repo: Config, variant: str) -> None:
    assert variant != BASE
    assert load(repo, variant, "variant.md").hash == load(repo, BASE).hash


def test_writing_back_the_published_block_keeps_the_hash(repo: Config) -> None:
    before = load(repo, BASE)
    record = {
        "env": "live",
        "hash": before.hash,
        "status": "queued",
        "targets": {
            t.label: {"status": "queued", "hash": t.hash, "key": "k", "postId": "p1"}
            for t in before.targets
        },
    }
    after = load(repo, set_published(BASE.encode(), record))
    assert after.hash == before.hash
    assert [t.hash for t in after.targets] == [t.hash for t in before.targets]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("We shipped v2 today.", "We shipped v2 today!"),
        ("text: Short one for X", "text: Short one for X."),
        ("  - bluesky\n", "  - main\n"),
        ("  - bluesky\n", "  - main\n"),
        ("  - bluesky\n", "  - bluesky\n  - threads\n"),
        ("path: img/a.png", "path: img/b.png"),
        ("alt: A banner", "alt: A blue banner"),
        ("09:00:00+01:00", "09:00:01+01:00"),
        ("replyToTweetId: '123'", "replyToTweetId: '124'"),
        ("media:\n", "firstComment: Slides at https://example.org\nmedia:\n"),
        ("---\nWe", "profileId: " + UUID + "\n---\nWe"),
    ],
)
def test_hash_changes_with_every_published_edit(repo: Config, old: str, new: str) -> None:
    assert old in BASE
    variant = BASE.replace(old, new, 1)
    if "firstComment" in new:  # a scheduled post takes no first comment: edit an unscheduled one
        base, variant = (
            v.replace("scheduledAt: 2026-12-01T09:00:00+01:00\n", "") for v in (BASE, variant)
        )
    else:
        base = BASE
    assert load(repo, variant, "variant.md").hash != load(repo, base).hash


def test_changing_media_bytes_changes_the_hash(repo: Config) -> None:
    before = load(repo, BASE).hash
    (repo.root / "img" / "a.png").write_bytes(PNG + b"changed")
    assert load(repo, BASE).hash != before  # noticed within one process too (watch mode)


def test_publish_now_is_part_of_the_identity(repo: Config) -> None:
    plain = "---\ntargets: [bluesky]\n---\nHi\n"
    now = "---\ntargets: [bluesky]\npublishNow: true\n---\nHi\n"
    assert load(repo, plain).hash != load(repo, now, "now.md").hash


def test_an_edit_to_one_target_changes_only_that_targets_hash(repo: Config) -> None:
    before = {t.label: t.hash for t in load(repo, BASE).targets}
    after = {
        t.label: t.hash
        for t in load(repo, BASE.replace("Short one", "A short one"), "v.md").targets
    }
    assert before["bluesky"] == after["bluesky"]
    assert before["x"] != after["x"]


def test_keys_are_short_and_distinct_per_subset_attempt_and_env(repo: Config) -> None:
    h = load(repo, BASE).hash
    assert h is not None
    keys = {
        identity.idempotency_key("live", h, ["bluesky", "x"], 1),
        identity.idempotency_key("live", h, ["bluesky"], 1),
        identity.idempotency_key("live", h, ["x"], 1),
        identity.idempotency_key("live", h, ["bluesky", "x"], 2),
        identity.idempotency_key("sandbox", h, ["bluesky", "x"], 1),
        identity.idempotency_key("live", "sha256:" + "0" * 64, ["bluesky", "x"], 1),
    }
    assert len(keys) == 6
    assert all(len(k) <= 128 and k.isascii() for k in keys)
    # the same request gets the same key, whatever the order of its targets
    assert identity.idempotency_key("live", h, ["x", "bluesky"], 1) == identity.idempotency_key(
        "live", h, ["bluesky", "x"], 1
    )


def test_body_bytes_are_deterministic(repo: Config) -> None:
    a, b = load(repo, BASE), load(repo, BASE.replace("\n", "\r\n"), "crlf.md")
    media = {t.media[0].sha256 or "": "med_1" for t in a.targets}
    first = identity.body_bytes(a.body(a.targets, media))
    assert first == identity.body_bytes(b.body(b.targets, dict(reversed(list(media.items())))))
    body = json.loads(first)
    assert body["scheduledAt"] == "2026-12-01T08:00:00Z"
    assert body["targets"][0]["text"] == "We shipped v2 today."
    assert body["targets"][1] == {
        "media": [{"altText": "A banner", "kind": "image", "mediaId": "med_1"}],
        "options": {"platform": "twitter", "replyToTweetId": "123"},
        "platform": "twitter",
        "text": "Short one for X",
    }
    assert (
        first
        == json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )


def test_text_is_normalised_the_same_way_it_is_sent() -> None:
    assert identity.normalize_text("\n\r\nCafe\u0301  \r\nline 2\t\n\n") == "Café\nline 2"
