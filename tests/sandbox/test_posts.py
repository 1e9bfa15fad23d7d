"""Contract tests of the sandbox's /v1/posts and /v1/accounts over real HTTP."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from publisher.sandbox import SandboxHandle
from tests.fixtures.sandbox import make_png

SANDBOX_CID = re.compile(r"^sandbox_[0-9a-f]{32}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def account(sandbox: SandboxHandle, platform: str, index: int = 0) -> str:
    return [a["id"] for a in sandbox.accounts if a["platform"] == platform][index]


def clock_now(sandbox: SandboxHandle) -> str:
    return sandbox.control("GET", "clock")["now"]


def in_future(sandbox: SandboxHandle, seconds: int) -> str:
    from datetime import datetime, timedelta

    now = datetime.fromisoformat(clock_now(sandbox).replace("Z", "+00:00"))
    return (now + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    return body["error"]


# -- immediate publish ---------------------------------------------------------------------


def test_immediate_publish_is_200_with_the_sandbox_branch(sandbox, sandbox_client):
    r = sandbox_client.post(
        "/v1/posts",
        json={"targets": [{"platform": "bluesky"}, {"platform": "twitter"}], "text": "hi"},
    )
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "published"
    assert UUID.match(body["id"]) and body["createdAt"].endswith("Z")
    assert "warnings" not in body
    for res, platform in zip(body["results"], ["bluesky", "twitter"], strict=True):
        assert res["platform"] == platform
        assert res["accountId"] == account(sandbox, platform)
        assert res["status"] == "published"
        assert SANDBOX_CID.match(res["cid"])
        assert res["uri"] == f"https://sandbox.letmepost.dev/{platform}/{res['cid']}"
        assert [w["code"] for w in res["warnings"]] == ["sandbox.no_platform_write"]
    rows = sandbox.posts()
    assert [(p["platform"], p["sandbox"], p["status"]) for p in rows] == [
        ("bluesky", True, "published"),
        ("twitter", True, "published"),
    ]
    # The batch id is not stored: nothing can be fetched by it.
    assert sandbox_client.get(f"/v1/posts/{body['id']}").status_code == 404


def test_first_comment_is_used_only_by_bluesky(sandbox_client):
    r = sandbox_client.post(
        "/v1/posts",
        json={
            "targets": [{"platform": "bluesky"}, {"platform": "twitter"}],
            "text": "main",
            "firstComment": {"text": "a reply"},
        },
    )
    bluesky, twitter = r.json()["results"]
    assert SANDBOX_CID.match(bluesky["firstCommentCid"])
    assert bluesky["firstCommentUri"].endswith(bluesky["firstCommentCid"])
    assert "firstCommentUri" not in twitter and "firstCommentCid" not in twitter


def test_live_key_gets_platform_native_ids(sandbox, sandbox_live_client):
    img = [{"kind": "image", "url": "https://example.com/a.jpg", "altText": "a cat"}]
    video = [{"kind": "video", "url": "https://example.com/v.mp4"}]
    targets = [
        {"platform": "bluesky"},
        {"platform": "twitter"},
        {"platform": "threads"},
        {"platform": "facebook"},
        {"platform": "instagram", "media": img},
        {"platform": "pinterest", "media": img},
        {"platform": "tiktok", "media": video},
        {"accountId": account(sandbox, "linkedin", 1)},
    ]
    r = sandbox_live_client.post("/v1/posts", json={"targets": targets, "text": "hello"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "published"  # TikTok's "publishing" counts as a success
    res = {x["platform"]: x for x in body["results"]}
    assert re.match(
        r"^at://did:plc:[a-z2-7]{24}/app\.bsky\.feed\.post/[2-7a-z]{13}$", res["bluesky"]["uri"]
    )
    assert re.match(r"^bafyrei[a-z2-7]{52}$", res["bluesky"]["cid"])
    assert re.match(r"^https://x\.com/i/status/\d{19}$", res["twitter"]["uri"])
    assert res["threads"]["uri"].startswith("https://www.threads.net/@")
    assert res["linkedin"]["uri"].startswith("https://www.linkedin.com/feed/update/urn:li:share:")
    assert res["facebook"]["uri"].startswith("https://www.facebook.com/")
    assert res["instagram"]["uri"].startswith("https://www.instagram.com/p/")
    assert res["pinterest"]["uri"].startswith("https://www.pinterest.com/pin/")
    assert res["tiktok"]["status"] == "publishing" and res["tiktok"]["cid"]
    for x in body["results"]:
        assert all(w["code"] != "sandbox.no_platform_write" for w in x.get("warnings", []))
    assert {p["sandbox"] for p in sandbox.posts()} == {False}


def test_tiktok_upload_settles_to_published_when_the_clock_moves(sandbox, sandbox_live_client):
    media = [{"kind": "video", "url": "https://example.com/v.mp4"}]
    r = sandbox_live_client.post(
        "/v1/posts", json={"targets": [{"platform": "tiktok", "media": media}], "text": "t"}
    )
    post_id = r.json()["results"][0]["postId"]
    sandbox.advance_clock(120)
    post = sandbox_live_client.get(f"/v1/posts/{post_id}").json()
    assert post["status"] == "published"
    assert post["platformUri"].startswith("https://www.tiktok.com/@")


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("platform_unavailable", "failed"),
        ("platform_rejected", "rejected"),
        ("platform_auth_failed", "rejected"),
        ("internal_error", "failed"),
    ],
)
def test_platform_fault_fails_one_target_partial_failed(sandbox, sandbox_client, code, status):
    sandbox.set_faults(bluesky={"code": code, "count": 1})
    r = sandbox_client.post(
        "/v1/posts",
        json={"targets": [{"platform": "bluesky"}, {"platform": "twitter"}], "text": "x"},
    )
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "partial_failed"
    bluesky, twitter = body["results"]
    assert bluesky["status"] == status and bluesky["error"]["code"] == code
    assert not {"docUrl", "requestId", "platform"} & set(bluesky["error"])
    assert "uri" not in bluesky
    assert twitter["status"] == "published"
    # The fault was used up: the next post succeeds.
    again = sandbox_client.post(
        "/v1/posts", json={"targets": [{"platform": "bluesky"}], "text": "y"}
    )
    assert again.json()["status"] == "published"
    errors = {p["platform"]: p["errorCode"] for p in sandbox.posts()[:2]}
    assert errors == {"bluesky": code, "twitter": None}


def test_batch_is_failed_when_no_target_succeeds(sandbox, sandbox_client):
    sandbox.set_faults(bluesky={"code": "platform_unavailable", "count": 5})
    r = sandbox_client.post("/v1/posts", json={"targets": [{"platform": "bluesky"}], "text": "x"})
    assert r.status_code == 200 and r.json()["status"] == "failed"


# -- validation, modes, accounts -----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        # As the server's zod schema says it (the fork at d28bf71, probed): the path.
        ({"text": "x"}, "targets"),
        ({"targets": [], "text": "x"}, "targets"),
        ({"targets": [{"platform": "bluesky"}] * 26, "text": "x"}, "targets.max"),
        ({"targets": [{"platform": "myspace"}], "text": "x"}, "targets.0.platform"),
        ({"targets": [{"platform": "bluesky"}], "text": ""}, "text"),
        (
            {
                "targets": [{"platform": "bluesky"}],
                "text": "x",
                "scheduledAt": "2030-01-01T00:00:00+00:00",
            },
            "scheduledAt",
        ),
        (
            {
                "targets": [{"platform": "bluesky"}],
                "text": "x",
                "media": [{"kind": "image", "mediaId": "nope"}],
            },
            "media.0.mediaId",
        ),
        (
            {
                "targets": [{"platform": "bluesky"}],
                "text": "x",
                "publishNow": True,
                "scheduledAt": "2030-01-01T00:00:00Z",
            },
            "mode_conflict",
        ),
        ({"targets": [{"platform": "bluesky"}]}, "targets.text.required"),
        (
            {"targets": [{"platform": "bluesky", "options": {"platform": "twitter"}}], "text": "x"},
            "targets.options.platform_mismatch",
        ),
    ],
)
def test_invalid_bodies_are_400_validation_failed(sandbox, sandbox_client, body, rule):
    r = sandbox_client.post("/v1/posts", json=body)
    assert r.status_code == 400
    err = error(r)
    assert (err["code"], err["rule"]) == ("validation_failed", rule)
    assert err["ruleUrl"] == "https://docs.letmepost.dev/preflight/" + rule.replace(".", "-")
    assert sandbox.posts() == []


def test_schema_errors_list_every_issue(sandbox_client):
    r = sandbox_client.post("/v1/posts", json={"targets": [{"platform": "myspace"}, {}], "text": 3})
    issues = error(r)["platformResponse"]
    assert [i["path"] for i in issues] == [["text"], ["targets", 0, "platform"], ["targets", 1]]


def test_unparseable_json_is_body_json(sandbox_client):
    r = sandbox_client.post(
        "/v1/posts", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and error(r)["rule"] == "body.json"


def test_bare_linkedin_is_ambiguous_with_candidates(sandbox, sandbox_client):
    r = sandbox_client.post("/v1/posts", json={"targets": [{"platform": "linkedin"}], "text": "x"})
    assert r.status_code == 400
    err = error(r)
    assert err["rule"] == "target.account.ambiguous"
    assert err["platformResponse"]["candidates"] == [
        account(sandbox, "linkedin", 0),
        account(sandbox, "linkedin", 1),
    ]


def test_unknown_account_is_404_not_found_without_rule(sandbox_client):
    r = sandbox_client.post(
        "/v1/posts",
        json={"targets": [{"accountId": "00000000-0000-4000-8000-000000000000"}], "text": "x"},
    )
    assert r.status_code == 404
    err = error(r)
    assert err["code"] == "not_found" and "rule" not in err


def test_account_platform_mismatch_and_not_connected(sandbox, sandbox_client):
    r = sandbox_client.post(
        "/v1/posts",
        json={
            "targets": [{"accountId": account(sandbox, "bluesky"), "platform": "twitter"}],
            "text": "x",
        },
    )
    assert error(r)["rule"] == "targets.account.platform_mismatch"
    r = sandbox_client.post(
        "/v1/posts",
        json={
            "targets": [{"platform": "bluesky"}],
            "text": "x",
            "profileId": "00000000-0000-4000-8000-000000000001",
        },
    )
    assert r.status_code == 400 and error(r)["rule"] == "target.account.not_connected"


def test_per_target_values_replace_defaults(sandbox, sandbox_client):
    r = sandbox_client.post(
        "/v1/posts",
        json={
            "targets": [{"platform": "bluesky", "text": "own"}, {"platform": "twitter"}],
            "text": "default",
        },
    )
    texts = [
        sandbox_client.get(f"/v1/posts/{x['postId']}").json()["text"] for x in r.json()["results"]
    ]
    assert texts == ["own", "default"]


# -- preflight -----------------------------------------------------------------------------


def test_cheap_preflight_failure_rejects_the_whole_batch(sandbox, sandbox_client):
    r = sandbox_client.post(
        "/v1/posts",
        json={
            "targets": [{"platform": "twitter"}, {"platform": "bluesky", "text": "a" * 301}],
            "text": "fine",
        },
    )
    assert r.status_code == 400
    err = error(r)
    assert (err["code"], err["rule"]) == ("preflight_failed", "bluesky.text.max_graphemes")
    assert sandbox.posts() == []


def test_deep_preflight_fails_only_its_target(sandbox, sandbox_client):
    big_png = make_png(1_200_000)
    media_id = sandbox_client.post(
        "/v1/media", files={"file": ("big.png", big_png, "image/png")}
    ).json()["id"]
    r = sandbox_client.post(
        "/v1/posts",
        json={
            "targets": [{"platform": "bluesky"}, {"platform": "twitter"}],
            "text": "pic",
            "media": [{"kind": "image", "mediaId": media_id, "altText": "a picture"}],
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "partial_failed"
    bluesky, twitter = body["results"]
    assert bluesky["status"] == "rejected"
    assert bluesky["error"]["code"] == "preflight_failed"
    assert bluesky["error"]["rule"] == "bluesky.media.image_size_max"
    assert twitter["status"] == "published"
    assert len(sandbox.posts()) == 2


def test_unknown_media_id_fails_the_target_with_not_found(sandbox_client):
    r = sandbox_client.post(
        "/v1/posts",
        json={
            "targets": [{"platform": "bluesky"}],
            "text": "pic",
            "media": [{"kind": "image", "mediaId": "med_" + "A" * 22, "altText": "x"}],
        },
    )
    assert r.status_code == 200
    res = r.json()["results"][0]
    assert res["status"] == "failed"
    assert (res["error"]["code"], res["error"]["rule"]) == ("not_found", "media.unknown")


# -- scheduled posts -----------------------------------------------------------------------


def test_scheduled_post_is_202_and_published_when_the_clock_moves(sandbox, sandbox_client):
    when = in_future(sandbox, 3600)
    r = sandbox_client.post(
        "/v1/posts",
        json={"targets": [{"platform": "bluesky"}], "text": "later", "scheduledAt": when},
    )
    assert r.status_code == 202
    body = r.json()
    assert (body["status"], body["scheduledAt"]) == ("queued", when)
    post_id = body["results"][0]["postId"]
    assert body["results"][0]["status"] == "queued"
    assert sandbox_client.get(f"/v1/posts/{post_id}").json()["status"] == "queued"
    assert sandbox.advance_clock(3599)["ran"] == 0
    assert sandbox.advance_clock(2)["ran"] == 1
    post = sandbox_client.get(f"/v1/posts/{post_id}").json()
    assert post["status"] == "published"
    assert SANDBOX_CID.match(post["platformCid"]) and post["publishedAt"]


@pytest.mark.parametrize(
    ("extra", "rule"),
    [
        ({"scheduledAt": "2001-01-01T00:00:00Z"}, "scheduledAt.future"),
        ({"firstComment": {"text": "c"}}, "scheduledAt.no_first_comment"),
        (
            {
                "targets": [
                    {
                        "platform": "bluesky",
                        "options": {
                            "platform": "bluesky",
                            "replyToUri": "at://x",
                            "replyToCid": "bafy",
                        },
                    }
                ]
            },
            "scheduledAt.no_bluesky_reply",
        ),
    ],
)
def test_scheduled_checks(sandbox, sandbox_client, extra, rule):
    body = {
        "targets": [{"platform": "bluesky"}],
        "text": "x",
        "scheduledAt": in_future(sandbox, 600),
        **extra,
    }
    r = sandbox_client.post("/v1/posts", json=body)
    assert r.status_code == 400 and error(r)["rule"] == rule
    assert sandbox.posts() == []


def test_scheduled_checks_run_after_preflight(sandbox_client):
    body = {
        "targets": [{"platform": "bluesky"}],
        "text": "a" * 301,
        "scheduledAt": "2001-01-01T00:00:00Z",
    }
    assert error(sandbox_client.post("/v1/posts", json=body))["code"] == "preflight_failed"


# -- GET / PATCH / DELETE / retry ----------------------------------------------------------


def _schedule(sandbox: SandboxHandle, client: httpx.Client, seconds: int = 3600) -> str:
    r = client.post(
        "/v1/posts",
        json={
            "targets": [{"platform": "bluesky"}],
            "text": "queued",
            "scheduledAt": in_future(sandbox, seconds),
        },
    )
    assert r.status_code == 202
    return r.json()["results"][0]["postId"]


def test_get_post_shape(sandbox, sandbox_client):
    post_id = sandbox_client.post(
        "/v1/posts", json={"targets": [{"platform": "bluesky"}], "text": "x"}
    ).json()["results"][0]["postId"]
    post = sandbox_client.get(f"/v1/posts/{post_id}").json()
    assert set(post) == {
        "id", "profileId", "accountId", "account", "platform", "status", "text", "mediaRefs",
        "scheduledAt", "publishedAt", "platformUri", "platformCid", "error", "sandbox",
        "createdAt", "updatedAt", "attempts",
    }  # fmt: skip
    assert post["account"]["displayName"] == "Sandbox Bluesky"
    assert post["sandbox"] is True and post["attempts"] == []


def test_environments_do_not_see_each_others_posts(sandbox_client, sandbox_live_client):
    live_id = sandbox_live_client.post(
        "/v1/posts", json={"targets": [{"platform": "bluesky"}], "text": "x"}
    ).json()["results"][0]["postId"]
    r = sandbox_client.get(f"/v1/posts/{live_id}")
    assert r.status_code == 404 and error(r)["rule"] == "api_key.environment_scope"
    assert sandbox_client.delete(f"/v1/posts/{live_id}").status_code == 404
    assert sandbox_client.get("/v1/posts").json()["data"] == []


def test_list_is_newest_first_with_cursor_pagination_and_filters(sandbox, sandbox_client):
    for i in range(5):
        sandbox_client.post(
            "/v1/posts",
            json={
                "targets": [{"platform": "bluesky" if i % 2 else "twitter"}],
                "text": f"post {i}",
            },
        )
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = sandbox_client.get("/v1/posts", params=params).json()
        assert len(page["data"]) <= 2
        seen += [p["text"] for p in page["data"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == [f"post {i}" for i in reversed(range(5))]
    twitter = sandbox_client.get("/v1/posts", params={"platform": "twitter"}).json()["data"]
    assert [p["text"] for p in twitter] == ["post 4", "post 2", "post 0"]
    both = sandbox_client.get(
        "/v1/posts", params={"platform": "twitter,bluesky", "q": "POST 3"}
    ).json()["data"]
    assert [p["text"] for p in both] == ["post 3"]
    assert sandbox_client.get("/v1/posts", params={"status": "failed"}).json()["data"] == []
    assert (
        sandbox_client.get("/v1/posts", params={"before": "2001-01-01T00:00:00Z"}).json()["data"]
        == []
    )
    for bad in ({"limit": 0}, {"limit": 201}, {"cursor": "%%%"}, {"after": "yesterday"}):
        r = sandbox_client.get("/v1/posts", params=bad)
        assert r.status_code == 400 and error(r)["code"] == "validation_failed"


def test_list_filters_by_error_code(sandbox, sandbox_client):
    sandbox.set_faults(twitter={"code": "platform_unavailable", "count": 1})
    sandbox_client.post(
        "/v1/posts",
        json={"targets": [{"platform": "bluesky"}, {"platform": "twitter"}], "text": "x"},
    )
    data = sandbox_client.get("/v1/posts", params={"errorCode": "platform_unavailable"}).json()[
        "data"
    ]
    assert [(p["platform"], p["status"]) for p in data] == [("twitter", "failed")]


def test_patch_edits_a_queued_post(sandbox, sandbox_client):
    post_id = _schedule(sandbox, sandbox_client)
    when = in_future(sandbox, 7200)
    r = sandbox_client.patch(f"/v1/posts/{post_id}", json={"text": "edited", "scheduledAt": when})
    assert r.status_code == 200
    post = sandbox_client.get(f"/v1/posts/{post_id}").json()
    assert (post["text"], post["scheduledAt"], post["status"]) == ("edited", when, "queued")
    r = sandbox_client.patch(f"/v1/posts/{post_id}", json={"text": "b" * 301})
    assert r.status_code == 400 and error(r)["rule"] == "bluesky.text.max_graphemes"
    r = sandbox_client.patch(f"/v1/posts/{post_id}", json={"scheduledAt": "2001-01-01T00:00:00Z"})
    assert r.status_code == 400 and error(r)["rule"] == "scheduledAt.future"


def test_patch_and_delete_refuse_non_queued_posts(sandbox, sandbox_client):
    post_id = sandbox_client.post(
        "/v1/posts", json={"targets": [{"platform": "bluesky"}], "text": "x"}
    ).json()["results"][0]["postId"]
    for r in (
        sandbox_client.patch(f"/v1/posts/{post_id}", json={"text": "y"}),
        sandbox_client.delete(f"/v1/posts/{post_id}"),
    ):
        assert r.status_code == 409
        assert (error(r)["code"], error(r)["rule"]) == ("validation_failed", "post.status")


def test_patch_refuses_a_due_post_outside_the_window(sandbox, sandbox_client):
    post_id = _schedule(sandbox, sandbox_client, 60)
    sandbox.configure(scheduler=False)
    sandbox.advance_clock(120)
    r = sandbox_client.patch(f"/v1/posts/{post_id}", json={"text": "late"})
    assert r.status_code == 409 and error(r)["rule"] == "post.scheduledAt.window"
    assert sandbox_client.delete(f"/v1/posts/{post_id}").status_code == 409


def test_delete_cancels_then_retry_requeues_and_publishes(sandbox, sandbox_client):
    post_id = _schedule(sandbox, sandbox_client)
    r = sandbox_client.delete(f"/v1/posts/{post_id}")
    assert r.status_code == 200 and r.json() == {"id": post_id, "status": "canceled"}
    assert error(sandbox_client.delete(f"/v1/posts/{post_id}"))["rule"] == "post.status"
    assert sandbox.advance_clock(7200)["ran"] == 0  # canceled posts are not published
    r = sandbox_client.post(f"/v1/posts/{post_id}/retry")
    assert r.status_code == 200
    assert r.json() == {"id": post_id, "status": "queued", "scheduledAt": r.json()["scheduledAt"]}
    sandbox.advance_clock(0)
    assert sandbox_client.get(f"/v1/posts/{post_id}").json()["status"] == "published"
    r = sandbox_client.post(f"/v1/posts/{post_id}/retry")
    assert r.status_code == 409 and error(r)["rule"] == "post.retry.status"


def test_retry_of_a_failed_post_with_a_schedule(sandbox, sandbox_client):
    sandbox.set_faults(bluesky={"code": "platform_unavailable", "count": 1})
    post_id = sandbox_client.post(
        "/v1/posts", json={"targets": [{"platform": "bluesky"}], "text": "x"}
    ).json()["results"][0]["postId"]
    when = in_future(sandbox, 300)
    assert (
        sandbox_client.post(f"/v1/posts/{post_id}/retry", json={"scheduledAt": when}).json()[
            "scheduledAt"
        ]
        == when
    )
    sandbox.advance_clock(301)
    post = sandbox_client.get(f"/v1/posts/{post_id}").json()
    assert (post["status"], post["error"]) == ("published", None)
    assert len(sandbox.posts()) == 1


def test_unknown_post_is_404(sandbox_client):
    r = sandbox_client.get("/v1/posts/00000000-0000-4000-8000-000000000000")
    assert r.status_code == 404 and error(r)["code"] == "not_found"


# -- accounts ------------------------------------------------------------------------------


def test_accounts_are_seeded_one_per_platform_two_on_linkedin(sandbox, sandbox_client):
    data = sandbox_client.get("/v1/accounts").json()["data"]
    platforms = sorted(a["platform"] for a in data)
    assert platforms == sorted(
        [
            "bluesky",
            "twitter",
            "threads",
            "facebook",
            "instagram",
            "pinterest",
            "tiktok",
            "linkedin",
            "linkedin",
        ]
    )
    pin = next(a for a in data if a["platform"] == "pinterest")
    assert pin["pinterest"]["defaultBoardId"]
    assert all("handle" not in a and a["displayName"] and a["platformAccountId"] for a in data)
    one = sandbox_client.get(f"/v1/accounts/{data[0]['id']}").json()
    assert one == data[0]
    assert (
        sandbox_client.get("/v1/accounts/00000000-0000-4000-8000-000000000000").status_code == 404
    )
    assert data == sandbox.accounts


def test_x_launch_cap_fails_the_51st_live_post_per_target(sandbox, sandbox_live_client):
    for i in range(50):
        r = sandbox_live_client.post(
            "/v1/posts", json={"targets": [{"platform": "twitter"}], "text": f"n{i}"}
        )
        assert r.json()["status"] == "published"
    r = sandbox_live_client.post(
        "/v1/posts",
        json={"targets": [{"platform": "twitter"}, {"platform": "bluesky"}], "text": "one more"},
    )
    assert r.status_code == 200 and r.json()["status"] == "partial_failed"
    twitter = r.json()["results"][0]
    assert twitter["status"] == "failed"
    assert (twitter["error"]["code"], twitter["error"]["rule"]) == (
        "rate_limited",
        "twitter.launch_cap.per_account",
    )


def test_first_comment_failure_is_a_warning_on_a_published_target(sandbox, sandbox_client):
    sandbox.set_faults(bluesky={"code": "first_comment_failed", "count": 1})
    r = sandbox_client.post(
        "/v1/posts",
        json={"targets": [{"platform": "bluesky"}], "text": "x", "firstComment": {"text": "c"}},
    )
    res = r.json()["results"][0]
    assert res["status"] == "published" and "firstCommentUri" not in res
    assert "first_comment_failed" in [w["code"] for w in res["warnings"]]
