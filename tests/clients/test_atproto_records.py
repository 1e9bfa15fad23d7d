"""Embeds, languages, labels, gates, reposts and post references of the direct Bluesky
backend, against a REAL local PDS (the ``pds`` fixture, tests/fixtures/pds.py).

The PDS validates every ``app.bsky.*`` record against its lexicon on createRecord, so
a record of the wrong shape fails here; each test also reads its records back.
Tests without the ``pds`` mark check what is refused locally, before any request.
"""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from publisher.clients.atproto import (
    POST_COLLECTION,
    POSTGATE_COLLECTION,
    REPOST_COLLECTION,
    THREADGATE_COLLECTION,
    BlueskyAccount,
    BlueskyError,
    External,
    new_tid,
    parse_post_ref,
)
from tests.fixtures.pds import LocalPds

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c4944415408d763f8cfc000000301010018dd8db00000000049454e44ae426082"
)


@pytest.fixture
def account(pds: LocalPds) -> BlueskyAccount:
    return BlueskyAccount(pds.handle, pds.url, pds.password)


@pytest.fixture
def bob(pds: LocalPds) -> BlueskyAccount:
    b = pds.extra["bob.test"]
    return BlueskyAccount(b.handle, pds.url, b.password)


@pytest.fixture
def offline() -> BlueskyAccount:
    """An account whose PDS cannot be reached: only local checks can answer."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return BlueskyAccount("alice.test", f"http://127.0.0.1:{port}", "irrelevant")


def blob(pds: LocalPds, did: str, ref: dict[str, Any]) -> bytes:
    r = httpx.get(
        f"{pds.url}/xrpc/com.atproto.sync.getBlob",
        params={"did": did, "cid": ref["ref"]["$link"]},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return r.content


def value(account: BlueskyAccount, collection: str, rkey: str) -> dict[str, Any]:
    got = account.get_record(collection, rkey)
    assert got is not None, f"{collection}/{rkey} not found"
    return got["value"]


# ---------------------------------------------------------------------------- embeds


@pytest.mark.pds
def test_link_card_with_thumbnail(pds: LocalPds, account: BlueskyAccount) -> None:
    rkey = new_tid()
    card = External("https://example.com/page", "A page", "What it is about", PNG, "image/png")
    uri, cid = account.create_post("read https://example.com/page", rkey=rkey, external=card)

    got = account.get_post(rkey)
    assert got is not None and (got["uri"], got["cid"]) == (uri, cid)
    embed = got["value"]["embed"]
    assert embed["$type"] == "app.bsky.embed.external"
    external = embed["external"]
    assert {k: external[k] for k in ("uri", "title", "description")} == {
        "uri": "https://example.com/page",
        "title": "A page",
        "description": "What it is about",
    }
    assert external["thumb"]["mimeType"] == "image/png"
    assert external["thumb"]["size"] == len(PNG)
    assert blob(pds, pds.did, external["thumb"]) == PNG


@pytest.mark.pds
def test_link_card_without_thumbnail(account: BlueskyAccount) -> None:
    rkey = new_tid()
    account.create_post("x", rkey=rkey, external=External("https://example.org/", "Title"))
    external = value(account, POST_COLLECTION, rkey)["embed"]["external"]
    assert external == {"uri": "https://example.org/", "title": "Title", "description": ""}


@pytest.mark.pds
def test_langs_and_self_labels_on_the_record(account: BlueskyAccount) -> None:
    rkey = new_tid()
    account.create_post(
        "Olá, Welt", rkey=rkey, langs=["pt-BR", "de"], labels=["porn", "graphic-media", "porn"]
    )
    record = value(account, POST_COLLECTION, rkey)
    assert record["langs"] == ["pt-BR", "de"]
    assert record["labels"] == {
        "$type": "com.atproto.label.defs#selfLabels",
        "values": [{"val": "porn"}, {"val": "graphic-media"}],
    }


@pytest.mark.pds
def test_no_labels_no_langs_no_embed_means_none_on_the_record(account: BlueskyAccount) -> None:
    rkey = new_tid()
    account.create_post("plain", rkey=rkey)
    record = value(account, POST_COLLECTION, rkey)
    assert not {"labels", "langs", "embed"} & set(record)


@pytest.mark.pds
def test_quote_of_another_accounts_post(account: BlueskyAccount, bob: BlueskyAccount) -> None:
    quoted = bob.create_post("quote me", rkey=new_tid())
    rkey = new_tid()
    account.create_post("this!", rkey=rkey, quote=quoted)
    assert value(account, POST_COLLECTION, rkey)["embed"] == {
        "$type": "app.bsky.embed.record",
        "record": {"uri": quoted[0], "cid": quoted[1]},
    }


@pytest.mark.pds
def test_quote_with_images_is_record_with_media(pds: LocalPds, account: BlueskyAccount) -> None:
    quoted = account.create_post("original", rkey=new_tid())
    rkey = new_tid()
    account.create_post("look", rkey=rkey, quote=quoted, images=[(PNG, "image/png", "a red pixel")])
    embed = value(account, POST_COLLECTION, rkey)["embed"]
    assert embed["$type"] == "app.bsky.embed.recordWithMedia"
    assert embed["record"] == {
        "$type": "app.bsky.embed.record",
        "record": {"uri": quoted[0], "cid": quoted[1]},
    }
    media = embed["media"]
    assert media["$type"] == "app.bsky.embed.images"
    assert [i["alt"] for i in media["images"]] == ["a red pixel"]
    assert blob(pds, pds.did, media["images"][0]["image"]) == PNG


@pytest.mark.pds
def test_quote_with_link_card_is_record_with_media(account: BlueskyAccount) -> None:
    quoted = account.create_post("original", rkey=new_tid())
    rkey = new_tid()
    card = External("https://example.com/", "Example", "desc")
    account.create_post("both", rkey=rkey, quote=quoted, external=card)
    embed = value(account, POST_COLLECTION, rkey)["embed"]
    assert embed["$type"] == "app.bsky.embed.recordWithMedia"
    assert embed["record"]["record"] == {"uri": quoted[0], "cid": quoted[1]}
    assert embed["media"] == {
        "$type": "app.bsky.embed.external",
        "external": {"uri": "https://example.com/", "title": "Example", "description": "desc"},
    }


# ---------------------------------------------------------------------------- gates


@pytest.mark.pds
def test_threadgate_following_and_mentioned(account: BlueskyAccount) -> None:
    uri, _ = account.create_post("who may reply", rkey=(rkey := new_tid()))
    gate = account.create_threadgate(uri, rkey, ["following", "mentioned"])
    assert gate is not None
    assert gate[0] == f"at://{account.did}/{THREADGATE_COLLECTION}/{rkey}"
    record = value(account, THREADGATE_COLLECTION, rkey)
    assert record["post"] == uri
    assert record["allow"] == [
        {"$type": "app.bsky.feed.threadgate#followingRule"},
        {"$type": "app.bsky.feed.threadgate#mentionRule"},
    ]


@pytest.mark.pds
def test_threadgate_nobody_is_an_empty_allow_list(account: BlueskyAccount) -> None:
    uri, _ = account.create_post("no replies", rkey=(rkey := new_tid()))
    account.create_threadgate(uri, rkey, "nobody")
    assert value(account, THREADGATE_COLLECTION, rkey)["allow"] == []


@pytest.mark.pds
def test_threadgate_everyone_creates_nothing(account: BlueskyAccount) -> None:
    uri, _ = account.create_post("anyone", rkey=(rkey := new_tid()))
    assert account.create_threadgate(uri, rkey, "everyone") is None
    assert account.get_record(THREADGATE_COLLECTION, rkey) is None


@pytest.mark.pds
def test_postgate_disables_quotes(account: BlueskyAccount) -> None:
    uri, _ = account.create_post("do not quote", rkey=(rkey := new_tid()))
    gate = account.create_postgate(uri, rkey)
    assert gate is not None and gate[0].endswith(f"/{POSTGATE_COLLECTION}/{rkey}")
    record = value(account, POSTGATE_COLLECTION, rkey)
    assert record["post"] == uri
    assert record["embeddingRules"] == [{"$type": "app.bsky.feed.postgate#disableRule"}]

    other, _ = account.create_post("quote away", rkey=(other_rkey := new_tid()))
    assert account.create_postgate(other, other_rkey, quotes=True) is None
    assert account.get_record(POSTGATE_COLLECTION, other_rkey) is None


@pytest.mark.pds
def test_gate_twice_is_record_exists(account: BlueskyAccount) -> None:
    uri, _ = account.create_post("gated", rkey=(rkey := new_tid()))
    account.create_threadgate(uri, rkey, "following")
    with pytest.raises(BlueskyError) as err:
        account.create_threadgate(uri, rkey, "mentioned")
    assert err.value.code == "record_exists" and rkey in str(err.value)
    assert value(account, THREADGATE_COLLECTION, rkey)["allow"] == [
        {"$type": "app.bsky.feed.threadgate#followingRule"}
    ]


@pytest.mark.pds
def test_gate_on_someone_elses_post_is_refused(
    account: BlueskyAccount, bob: BlueskyAccount
) -> None:
    uri, _ = bob.create_post("bob's", rkey=(rkey := new_tid()))
    with pytest.raises(BlueskyError) as err:
        account.create_postgate(uri, rkey)
    assert err.value.code == "invalid_gate"
    assert account.get_record(POSTGATE_COLLECTION, rkey) is None


@pytest.mark.parametrize(
    ("allow", "rkey_ok"),
    [("anyone", True), ([], True), (["nobody", "following"], True), ("following", False)],
)
def test_threadgate_refused_locally(offline: BlueskyAccount, allow: Any, rkey_ok: bool) -> None:
    rkey = new_tid()
    uri = f"at://did:plc:alice/app.bsky.feed.post/{rkey}"
    with pytest.raises(BlueskyError) as err:  # the PDS is unreachable: no request was made
        offline.create_threadgate(uri, rkey if rkey_ok else new_tid(), allow)
    assert err.value.code == "invalid_gate"


# ---------------------------------------------------------------------------- reposts


@pytest.mark.pds
def test_repost(account: BlueskyAccount, bob: BlueskyAccount) -> None:
    subject = bob.create_post("worth sharing", rkey=new_tid())
    rkey = new_tid()
    uri, cid = account.create_repost(*subject, rkey)
    assert uri == f"at://{account.did}/{REPOST_COLLECTION}/{rkey}"
    got = account.get_record(REPOST_COLLECTION, rkey)
    assert got is not None and got["cid"] == cid
    assert got["value"]["subject"] == {"uri": subject[0], "cid": subject[1]}
    with pytest.raises(BlueskyError) as err:  # the same key again: refused, not replaced
        account.create_repost(*subject, rkey)
    assert err.value.code == "record_exists"
    again = account.get_record(REPOST_COLLECTION, rkey)
    assert again is not None and again["cid"] == cid


@pytest.mark.pds
def test_a_second_repost_of_a_subject_replaces_the_first(
    account: BlueskyAccount, bob: BlueskyAccount
) -> None:
    """What the PDS does (one repost per subject): a run that reposts again under a new
    key never leaves two reposts behind."""
    subject = bob.create_post("share twice", rkey=new_tid())
    first, second = new_tid(), new_tid()
    account.create_repost(*subject, first)
    account.create_repost(*subject, second)
    assert account.get_record(REPOST_COLLECTION, first) is None
    assert account.get_record(REPOST_COLLECTION, second) is not None


# ---------------------------------------------------------------------------- deleting


@pytest.mark.pds
def test_delete_post_and_its_gates(account: BlueskyAccount) -> None:
    uri, _ = account.create_post("going away", rkey=(rkey := new_tid()))
    account.create_threadgate(uri, rkey, "nobody")
    account.create_postgate(uri, rkey)
    for collection in (POST_COLLECTION, THREADGATE_COLLECTION, POSTGATE_COLLECTION):
        assert account.get_record(collection, rkey) is not None
        account.delete_record(collection, rkey)
        assert account.get_record(collection, rkey) is None
    account.delete_record(POST_COLLECTION, rkey)  # gone already: no error


# ---------------------------------------------------------------------------- references


@pytest.mark.pds
def test_resolve_post_from_web_url_with_handle_and_from_at_uri(
    pds: LocalPds, account: BlueskyAccount
) -> None:
    uri, cid = account.create_post("find me", rkey=(rkey := new_tid()))
    for ref in (
        f"https://bsky.app/profile/{pds.handle}/post/{rkey}",
        f"https://bsky.app/profile/@ALICE.test/post/{rkey}/?utm=x",
        f"https://bsky.app/profile/{pds.did}/post/{rkey}",
        uri,
    ):
        assert account.resolve_post(ref) == (uri, cid), ref


@pytest.mark.pds
def test_resolve_another_accounts_post(
    pds: LocalPds, account: BlueskyAccount, bob: BlueskyAccount
) -> None:
    uri, cid = bob.create_post("bob's post", rkey=(rkey := new_tid()))
    assert account.resolve_post(f"https://bsky.app/profile/bob.test/post/{rkey}") == (uri, cid)


@pytest.mark.pds
def test_resolve_nonexistent_post_is_a_clear_error(pds: LocalPds, account: BlueskyAccount) -> None:
    missing = new_tid()
    for ref, code in (
        (f"https://bsky.app/profile/{pds.handle}/post/{missing}", "post_not_found"),
        (f"at://{pds.did}/app.bsky.feed.post/{missing}", "post_not_found"),
        (f"https://bsky.app/profile/did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/post/{missing}", None),
        (f"https://bsky.app/profile/nobody-here.test/post/{missing}", "unknown_handle"),
        ("https://example.com/profile/alice.test/post/x", "invalid_post_ref"),
    ):
        with pytest.raises(BlueskyError) as err:
            account.resolve_post(ref)
        assert err.value.code == (code or "post_not_found"), (ref, err.value)
        assert not err.value.retryable
        assert ref in str(err.value) or code == "invalid_post_ref"


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("https://bsky.app/profile/alice.test/post/3kabc", ("alice.test", "3kabc")),
        ("https://bsky.app/profile/Alice.Test/post/3kabc#x", ("alice.test", "3kabc")),
        ("http://www.bsky.app/profile/did:plc:x/post/3k/", ("did:plc:x", "3k")),
        ("at://did:plc:x/app.bsky.feed.post/3k", ("did:plc:x", "3k")),
        ("  at://bob.test/app.bsky.feed.post/3k ", ("bob.test", "3k")),
    ],
)
def test_parse_post_ref(ref: str, expected: tuple[str, str]) -> None:
    assert parse_post_ref(ref) == expected


@pytest.mark.parametrize(
    "ref",
    [
        "https://bsky.app/profile/alice.test",
        "https://bsky.app/profile/alice.test/feed/3k",
        "https://evil.example/profile/alice.test/post/3k",
        "ftp://bsky.app/profile/alice.test/post/3k",
        "at://did:plc:x/app.bsky.feed.like/3k",
        "bsky.app/profile/alice.test/post/3k",
        "",
    ],
)
def test_parse_post_ref_refuses_what_is_not_a_post(ref: str) -> None:
    with pytest.raises(ValueError):
        parse_post_ref(ref)


# ---------------------------------------------------------------------------- local checks


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"labels": ["nsfw"]}, "invalid_label"),
        ({"langs": ["english"]}, "invalid_langs"),
        ({"langs": ["en", "de", "fr", "es"]}, "invalid_langs"),
        (
            {"external": External("https://x.org/", "t"), "images": [(PNG, "image/png", "")]},
            "invalid_embed",
        ),
        ({"external": External("javascript:alert(1)", "t")}, "invalid_embed"),
        ({"external": External("https://x.org/", "t" * 301)}, "invalid_embed"),
        ({"external": External("https://x.org/", "t", "", b"GIF89a", "image/png")}, "image_type"),
        (
            {"external": External("https://x.org/", "t", "", PNG + bytes(1_000_000), "image/png")},
            "image_too_large",
        ),
        ({"quote": ("https://bsky.app/profile/a/post/b", "bafy")}, "invalid_post_ref"),
        ({"quote": ("at://did:plc:x/app.bsky.feed.post/3k", "")}, "invalid_post_ref"),
    ],
)
def test_refused_before_any_request(
    offline: BlueskyAccount, kwargs: dict[str, Any], code: str
) -> None:
    with pytest.raises(BlueskyError) as err:
        offline.create_post("text", rkey=new_tid(), **kwargs)
    assert err.value.code == code


def test_repost_needs_a_tid_and_a_post_ref(offline: BlueskyAccount) -> None:
    with pytest.raises(BlueskyError) as err:
        offline.create_repost("at://did:plc:x/app.bsky.feed.post/3k", "bafy", "self")
    assert err.value.code == "invalid_rkey"
    with pytest.raises(BlueskyError) as err:
        offline.create_repost("at://did:plc:x/app.bsky.feed.like/3k", "bafy", new_tid())
    assert err.value.code == "invalid_post_ref"
