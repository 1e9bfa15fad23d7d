"""Per-target options in the sandbox: stored and shown in /_sandbox/posts; replies and
quotes of posts the sandbox does not know are refused per target, as the platform
would refuse them. This is what a thread (part 2 replying to part 1) posts against."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from publisher.sandbox import SandboxHandle


def publish(client: httpx.Client, *targets: dict[str, Any], **body: Any) -> httpx.Response:
    return client.post("/v1/posts", json={"targets": list(targets), "text": "part", **body})


def first(client: httpx.Client, platform: str) -> dict[str, Any]:
    """Post part 1 on ``platform`` and return its result."""
    r = publish(client, {"platform": platform})
    assert r.status_code == 200, r.text
    result = r.json()["results"][0]
    assert result["status"] == "published"
    return result


def bluesky_reply(parent: dict[str, Any], root: dict[str, Any] | None = None) -> dict[str, Any]:
    root = root or parent
    return {
        "platform": "bluesky",
        "replyToUri": parent["uri"],
        "replyToCid": parent["cid"],
        "replyRootUri": root["uri"],
        "replyRootCid": root["cid"],
    }


def test_options_are_stored_and_shown_in_the_ground_truth(sandbox, sandbox_client):
    x, bsky, threads = (first(sandbox_client, p) for p in ("twitter", "bluesky", "threads"))
    r = publish(
        sandbox_client,
        {"platform": "twitter", "options": {"platform": "twitter", "replyToTweetId": x["cid"]}},
        {"platform": "bluesky", "options": bluesky_reply(bsky)},
        {"platform": "threads", "options": {"platform": "threads", "replyToId": threads["cid"]}},
    )
    assert r.json()["status"] == "published", r.text
    rows = sandbox.posts()
    assert [row["options"] for row in rows[:3]] == [None, None, None]
    assert rows[3]["options"] == {"platform": "twitter", "replyToTweetId": x["cid"]}
    assert rows[4]["options"] == bluesky_reply(bsky)
    assert rows[5]["options"] == {"platform": "threads", "replyToId": threads["cid"]}
    # Unknown keys are dropped, as zod does.
    publish(sandbox_client, {"platform": "bluesky", "options": {"platform": "bluesky", "x": 1}})
    assert sandbox.posts()[-1]["options"] == {"platform": "bluesky"}
    assert "options" not in sandbox_client.get(f"/v1/posts/{rows[3]['id']}").json()


def test_a_thread_on_x_threads_and_bluesky(sandbox, sandbox_client):
    """Part 2 replies to part 1's cid on X and Threads, and with a strong ref on Bluesky;
    part 3 on Bluesky keeps part 1 as the root."""
    parts = {p: first(sandbox_client, p) for p in ("twitter", "threads", "bluesky")}
    r = publish(
        sandbox_client,
        {
            "platform": "twitter",
            "options": {"platform": "twitter", "replyToTweetId": parts["twitter"]["cid"]},
        },
        {
            "platform": "threads",
            "options": {"platform": "threads", "replyToId": parts["threads"]["cid"]},
        },
        {"platform": "bluesky", "options": bluesky_reply(parts["bluesky"])},
    )
    assert r.json()["status"] == "published", r.text
    second_bsky = r.json()["results"][2]
    r = publish(
        sandbox_client,
        {"platform": "bluesky", "options": bluesky_reply(second_bsky, root=parts["bluesky"])},
    )
    assert r.json()["results"][0]["status"] == "published", r.text


@pytest.mark.parametrize("form", ["cid", "uri", "last_segment"])
def test_a_post_is_known_by_cid_uri_or_the_uris_last_segment(sandbox, sandbox_live_client, form):
    """Live keys get platform-looking uris whose last segment is not the cid."""
    parent = first(sandbox_live_client, "threads")
    ref = {
        "cid": parent["cid"],
        "uri": parent["uri"],
        "last_segment": parent["uri"].rstrip("/").rsplit("/", 1)[-1],
    }[form]
    assert form != "last_segment" or ref != parent["cid"]
    r = publish(
        sandbox_live_client,
        {"platform": "threads", "options": {"platform": "threads", "replyToId": ref}},
    )
    assert r.json()["results"][0]["status"] == "published", r.text


def test_live_bluesky_strong_ref(sandbox, sandbox_live_client):
    parent = first(sandbox_live_client, "bluesky")
    assert parent["uri"].startswith("at://")
    r = publish(sandbox_live_client, {"platform": "bluesky", "options": bluesky_reply(parent)})
    assert r.json()["results"][0]["status"] == "published", r.text


def _refused(result: dict[str, Any], option: str) -> None:
    assert result["status"] == "rejected", result
    assert result["error"]["code"] == "platform_rejected"
    assert f"options.{option}" in result["error"]["message"]
    assert result["error"]["platformResponse"]["option"] == option
    assert "uri" not in result and "cid" not in result


@pytest.mark.parametrize(
    ("platform", "options", "option"),
    [
        ("twitter", {"replyToTweetId": "1790000000000000000"}, "replyToTweetId"),
        ("twitter", {"quoteTweetId": "sandbox_" + "0" * 32}, "quoteTweetId"),
        ("threads", {"replyToId": "17890000000000000"}, "replyToId"),
        (
            "bluesky",
            {"replyToUri": "at://did:plc:nobody/app.bsky.feed.post/3k", "replyToCid": "bafy"},
            "replyToUri",
        ),
    ],
)
def test_a_reply_to_an_unknown_post_is_refused_per_target(
    sandbox, sandbox_client, platform, options, option
):
    r = publish(
        sandbox_client,
        {"platform": platform, "options": {"platform": platform, **options}},
        {"platform": "linkedin", "accountId": sandbox.accounts[-1]["id"]},
    )
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "partial_failed"
    _refused(body["results"][0], option)
    assert body["results"][1]["status"] == "published"  # the rest of the batch goes on
    rows = sandbox.posts()
    assert [(row["status"], row["errorCode"]) for row in rows] == [
        ("rejected", "platform_rejected"),
        ("published", None),
    ]
    assert rows[0]["options"] == {"platform": platform, **options}


def test_references_must_be_on_the_same_platform_and_environment(
    sandbox: SandboxHandle, sandbox_client, sandbox_live_client
):
    bsky = first(sandbox_client, "bluesky")
    x_sandbox = first(sandbox_client, "twitter")
    r = publish(
        sandbox_client,
        {"platform": "twitter", "options": {"platform": "twitter", "replyToTweetId": bsky["cid"]}},
    )
    _refused(r.json()["results"][0], "replyToTweetId")
    # A sandbox result exists on no platform: a live key cannot reply to it.
    r = publish(
        sandbox_live_client,
        {
            "platform": "twitter",
            "options": {"platform": "twitter", "quoteTweetId": x_sandbox["cid"]},
        },
    )
    _refused(r.json()["results"][0], "quoteTweetId")


def test_bluesky_strong_refs_must_name_one_post(sandbox, sandbox_client):
    a, b = first(sandbox_client, "bluesky"), first(sandbox_client, "bluesky")
    mixed = {"platform": "bluesky", "replyToUri": a["uri"], "replyToCid": b["cid"]}
    r = publish(sandbox_client, {"platform": "bluesky", "options": mixed})
    _refused(r.json()["results"][0], "replyToCid")
    assert "is not the cid" in r.json()["results"][0]["error"]["message"]
    unknown_root = dict(bluesky_reply(a), replyRootUri="at://did:plc:x/app.bsky.feed.post/1")
    r = publish(sandbox_client, {"platform": "bluesky", "options": unknown_root})
    _refused(r.json()["results"][0], "replyRootUri")
    unknown_cid = dict(bluesky_reply(a), replyToCid="bafyunknown")
    r = publish(sandbox_client, {"platform": "bluesky", "options": unknown_cid})
    _refused(r.json()["results"][0], "replyToCid")


def test_a_refused_reply_is_refunded_for_live_keys(sandbox, sandbox_live_client):
    sandbox.configure(quota=1)
    r = publish(
        sandbox_live_client,
        {"platform": "twitter", "options": {"platform": "twitter", "replyToTweetId": "404"}},
    )
    assert r.json()["status"] == "failed"
    _refused(r.json()["results"][0], "replyToTweetId")
    assert publish(sandbox_live_client, {"platform": "twitter"}).status_code == 200


@pytest.mark.parametrize(
    ("options", "rule"),
    [
        ({"replyToUri": "at://x"}, "targets.0.options.replyToCid"),
        ({"replyToCid": "bafy"}, "targets.0.options.replyToUri"),
        (
            {"replyToUri": "at://p", "replyToCid": "c", "replyRootUri": "at://r"},
            "targets.0.options.replyRootCid",
        ),
        ({"replyRootUri": "at://r", "replyRootCid": "c"}, "targets.0.options.replyToUri"),
        ({"replyToUri": "", "replyToCid": "c"}, "targets.0.options.replyToUri"),
    ],
)
def test_bluesky_reply_pairs_are_validated_like_zod(sandbox, sandbox_client, options, rule):
    r = publish(
        sandbox_client, {"platform": "bluesky", "options": {"platform": "bluesky", **options}}
    )
    assert r.status_code == 400
    err = r.json()["error"]
    assert (err["code"], err["rule"]) == ("validation_failed", rule)
    assert sandbox.posts() == []


def test_x_reply_and_quote_together_or_empty_are_400(sandbox, sandbox_client):
    both = {"platform": "twitter", "replyToTweetId": "1", "quoteTweetId": "2"}
    r = publish(sandbox_client, {"platform": "twitter", "options": both})
    assert r.json()["error"]["rule"] == "targets.0.options.replyToTweetId"
    empty = {"platform": "threads", "replyToId": ""}
    r = publish(sandbox_client, {"platform": "threads", "options": empty})
    assert (r.status_code, r.json()["error"]["rule"]) == (400, "targets.0.options.replyToId")
    assert sandbox.posts() == []


def test_scheduled_replies(sandbox, sandbox_client):
    from datetime import datetime, timedelta

    now = datetime.fromisoformat(sandbox.control("GET", "clock")["now"].replace("Z", "+00:00"))
    at = (now + timedelta(seconds=120)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    parent = first(sandbox_client, "bluesky")
    r = publish(
        sandbox_client,
        {"platform": "bluesky", "options": bluesky_reply(parent)},
        scheduledAt=at,
    )
    assert (r.status_code, r.json()["error"]["rule"]) == (400, "scheduledAt.no_bluesky_reply")
    # X replies may be scheduled; the platform refuses an unknown parent when it is due.
    r = publish(
        sandbox_client,
        {"platform": "twitter", "options": {"platform": "twitter", "replyToTweetId": "nope"}},
        scheduledAt=at,
    )
    assert r.status_code == 202
    post_id = r.json()["results"][0]["postId"]
    sandbox.advance_clock(180)
    got = sandbox_client.get(f"/v1/posts/{post_id}").json()
    assert got["status"] == "rejected"
    assert got["error"]["code"] == "platform_rejected"
