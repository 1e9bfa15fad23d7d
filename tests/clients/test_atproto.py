"""The direct Bluesky backend against a REAL local PDS (scripts/pds/start-pds.sh).

Tests marked ``pds`` need the ``pds`` fixture (tests/fixtures/pds.py); the others
check what must be refused locally, before any request, and need no server.
"""

from __future__ import annotations

import socket
import traceback
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from publisher.clients.atproto import (
    BlueskyAccount,
    BlueskyError,
    clear_sessions,
    new_tid,
    web_url,
)
from tests.fixtures.pds import LocalPds

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c4944415408d763f8cfc000000301010018dd8db00000000049454e44ae426082"
)
GIF = bytes.fromhex(
    "47494638396101000100800000ffffff00000021f90401000000002c00000000010001000002024401003b"
)


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: any request fails to connect."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def account(pds: LocalPds) -> BlueskyAccount:
    return BlueskyAccount(pds.handle, pds.url, pds.password, password_env="PDS_TEST_PASSWORD")


@pytest.fixture
def offline() -> BlueskyAccount:
    """An account whose PDS cannot be reached: only local checks can answer."""
    return BlueskyAccount("alice.test", closed_port_url(), "irrelevant")


@pytest.fixture
def count_logins(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Forget cached sessions and record every real login (createSession) from now on."""
    from atproto_client import Client

    calls: list[str] = []
    original = Client.login

    def counting(self: Client, login: str | None = None, *args: Any, **kwargs: Any) -> Any:
        calls.append(login or "")
        return original(self, login, *args, **kwargs)

    clear_sessions()
    monkeypatch.setattr(Client, "login", counting)
    yield calls
    clear_sessions()


def facet_slices(record: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(kind, the text's bytes at the facet's offsets, value) for every facet of a record."""
    raw = record["text"].encode("utf-8")
    out = []
    for facet in record.get("facets", []):
        (feature,) = facet["features"]
        kind = feature["$type"].rsplit("#", 1)[1]
        value = feature.get("uri") or feature.get("did") or feature.get("tag")
        part = raw[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode("utf-8")
        out.append((kind, part, value))
    return out


# ---------------------------------------------------------------------------- posts


@pytest.mark.pds
def test_post_with_links_mentions_tags_emoji_and_cjk(
    pds: LocalPds, account: BlueskyAccount
) -> None:
    bob = pds.extra["bob.test"]
    text = (
        "🎉👨‍👩‍👧 日本語のテキスト e\u0301 hi @bob.test, see https://example.com/a?b=1. "
        "(https://ja.wikipedia.org/wiki/東京) #テスト #python! @nobody.test #123"
    )
    rkey = new_tid()
    uri, cid = account.create_post(text, rkey=rkey, langs=["ja", "en"])

    assert uri == f"at://{pds.did}/app.bsky.feed.post/{rkey}"
    got = account.get_post(rkey)
    assert got is not None and got["cid"] == cid
    record = got["value"]
    assert record["text"] == text
    assert record["langs"] == ["ja", "en"]
    assert facet_slices(record) == [
        ("mention", "@bob.test", bob.did),
        ("link", "https://example.com/a?b=1", "https://example.com/a?b=1"),
        ("link", "https://ja.wikipedia.org/wiki/東京", "https://ja.wikipedia.org/wiki/東京"),
        ("tag", "#テスト", "テスト"),
        ("tag", "#python", "python"),
    ]
    assert web_url(uri, pds.handle) == f"https://bsky.app/profile/{pds.handle}/post/{rkey}"


@pytest.mark.pds
def test_plain_text_post_has_no_facets(account: BlueskyAccount) -> None:
    rkey = new_tid()
    account.create_post("nothing to link, @nobody.test", rkey=rkey)
    got = account.get_post(rkey)
    assert got is not None and "facets" not in got["value"]


@pytest.mark.pds
def test_images_with_alt_text(pds: LocalPds, account: BlueskyAccount) -> None:
    rkey = new_tid()
    account.create_post(
        "two images",
        rkey=rkey,
        images=[(PNG, "image/png", "one red pixel"), (GIF, "image/gif", "one white pixel")],
    )
    got = account.get_post(rkey)
    assert got is not None
    embed = got["value"]["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    assert [i["alt"] for i in embed["images"]] == ["one red pixel", "one white pixel"]
    assert [i["image"]["mimeType"] for i in embed["images"]] == ["image/png", "image/gif"]
    for image, data in zip(embed["images"], (PNG, GIF), strict=True):
        blob = httpx.get(
            f"{pds.url}/xrpc/com.atproto.sync.getBlob",
            params={"did": pds.did, "cid": image["image"]["ref"]["$link"]},
        )
        assert blob.status_code == 200 and blob.content == data


@pytest.mark.pds
def test_first_comment_is_a_reply_to_the_post(account: BlueskyAccount) -> None:
    uri, cid = account.create_post("the post", rkey=new_tid())
    reply_rkey = new_tid()
    reply_uri, _ = account.create_post(
        "the first comment", rkey=reply_rkey, reply_to=(uri, cid, uri, cid)
    )
    got = account.get_post(reply_rkey)
    assert got is not None and got["uri"] == reply_uri
    assert got["value"]["reply"] == {
        "root": {"uri": uri, "cid": cid},
        "parent": {"uri": uri, "cid": cid},
    }


# ---------------------------------------------------------------------------- record keys


@pytest.mark.pds
def test_given_record_key_is_found_and_an_unused_one_is_not(account: BlueskyAccount) -> None:
    rkey = new_tid()
    assert account.get_post(rkey) is None  # chosen, not created yet
    uri, cid = account.create_post("adopt me", rkey=rkey)
    got = account.get_post(rkey)
    assert got is not None and (got["uri"], got["cid"]) == (uri, cid)
    assert got["value"]["text"] == "adopt me"
    assert account.get_post(new_tid()) is None
    assert uri in [r["uri"] for r in account.list_posts()]


@pytest.mark.pds
def test_same_record_key_twice_is_refused_and_keeps_one_record(account: BlueskyAccount) -> None:
    rkey = new_tid()
    uri, cid = account.create_post("first", rkey=rkey)
    with pytest.raises(BlueskyError) as err:
        account.create_post("second", rkey=rkey)
    assert err.value.code == "record_exists" and not err.value.retryable
    assert rkey in str(err.value)
    same = [r for r in account.list_posts() if r["uri"] == uri]
    assert len(same) == 1 and same[0]["cid"] == cid and same[0]["value"]["text"] == "first"


@pytest.mark.pds
def test_delete_post(account: BlueskyAccount) -> None:
    rkey = new_tid()
    account.create_post("short-lived", rkey=rkey)
    account.delete_post(rkey)
    assert account.get_post(rkey) is None


# ---------------------------------------------------------------------------- sessions


@pytest.mark.pds
def test_one_login_for_many_posts(pds: LocalPds, count_logins: list[str]) -> None:
    first = BlueskyAccount(pds.handle, pds.url, pds.password)
    second = BlueskyAccount(pds.handle, pds.url, pds.password)
    for i in range(3):
        first.create_post(f"post {i}", rkey=new_tid())
    second.create_post("from another object", rkey=new_tid())
    assert second.get_post(new_tid()) is None
    assert count_logins == [pds.handle]

    bob = pds.extra["bob.test"]
    BlueskyAccount(bob.handle, pds.url, bob.password).create_post("bob", rkey=new_tid())
    assert count_logins == [pds.handle, bob.handle]


@pytest.mark.pds
def test_wrong_password_is_a_clear_error_without_the_password(
    pds: LocalPds, count_logins: list[str]
) -> None:
    secret = "wrong-secret-4f9a"
    account = BlueskyAccount(pds.handle, pds.url, secret, password_env="BLUESKY_APP_PASSWORD")
    assert secret not in repr(account)
    with pytest.raises(BlueskyError) as err:
        account.create_post("never", rkey=new_tid())
    assert err.value.code == "login_failed" and not err.value.retryable
    assert str(err.value) == (
        f"login failed for {pds.handle}: check the app password in $BLUESKY_APP_PASSWORD"
    )
    assert secret not in "".join(traceback.format_exception(err.value))
    assert secret not in repr(err.value)


@pytest.mark.pds
def test_a_4xx_is_not_retryable(account: BlueskyAccount) -> None:
    with pytest.raises(BlueskyError) as err:
        account.create_post("reply to nothing", rkey=new_tid(), reply_to=("x", "y", "x", "y"))
    assert err.value.status == 400 and not err.value.retryable


# ---------------------------------------------------------------------------- local checks


@pytest.mark.pds
def test_300_graphemes_pass_and_301_are_refused_locally(
    account: BlueskyAccount, offline: BlueskyAccount
) -> None:
    thumbs = "👍🏽"  # one grapheme, two code points, 8 bytes
    rkey = new_tid()
    account.create_post(thumbs * 300, rkey=rkey)
    got = account.get_post(rkey)
    assert got is not None and got["value"]["text"] == thumbs * 300

    with pytest.raises(BlueskyError) as err:
        offline.create_post(thumbs * 301, rkey=new_tid())
    assert err.value.code == "text_too_long" and "301" in str(err.value)


def test_301_graphemes_refused_before_any_request(offline: BlueskyAccount) -> None:
    # The PDS is unreachable: a request (even the login) would fail as "network".
    with pytest.raises(BlueskyError) as err:
        offline.create_post("x" * 301, rkey=new_tid())
    assert err.value.code == "text_too_long" and not err.value.retryable


@pytest.mark.parametrize(
    ("images", "code"),
    [
        ([(PNG, "image/png", "")] * 5, "too_many_images"),
        ([(PNG, "image/bmp", "a bitmap")], "image_type"),
        ([(PNG, "image/svg+xml", "")], "image_type"),
        ([(PNG, "image/jpeg", "a PNG called JPEG")], "image_type"),
        ([(b"not an image", "image/png", "")], "image_type"),
        ([(PNG, "image/png", "é" * 2001)], "alt_too_long"),
        ([(b"\xff\xd8\xff" + bytes(1_000_000), "image/jpeg", "")], "image_too_large"),
    ],
)
def test_images_checked_before_any_request(
    offline: BlueskyAccount, images: list[tuple[bytes, str, str]], code: str
) -> None:
    with pytest.raises(BlueskyError) as err:
        offline.create_post("pictures", rkey=new_tid(), images=images)
    assert err.value.code == code


def test_record_key_must_be_a_tid(offline: BlueskyAccount) -> None:
    with pytest.raises(BlueskyError) as err:
        offline.create_post("hello", rkey="self")
    assert err.value.code == "invalid_rkey"


def test_unreachable_pds_is_a_retryable_network_error(offline: BlueskyAccount) -> None:
    with pytest.raises(BlueskyError) as err:
        offline.get_post(new_tid())
    assert err.value.code == "network" and err.value.retryable
    assert offline.pds_url in str(err.value)
