"""Auth, the error envelope, request ids, rate limit, quota and 5xx faults of the sandbox."""

from __future__ import annotations

import re

import httpx
import pytest

POST = {"targets": [{"platform": "bluesky"}], "text": "x"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "lmp_test_abc",
        "Token lmp_test_abc",
        "Bearer sk_live_abc",
        "Bearer lmp_test_" + "A" * 32,
    ],
)
def test_missing_malformed_or_unknown_keys_are_401(sandbox, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    r = httpx.post(f"{sandbox.url}/v1/posts", json=POST, headers=headers)
    assert r.status_code == 401
    err = r.json()["error"]
    assert err["code"] == "unauthenticated"
    assert err["docUrl"] == "https://docs.letmepost.dev/errors/unauthenticated"
    assert err["requestId"] == r.headers["X-Request-Id"]
    assert sandbox.posts() == []


def test_request_id_is_reused_when_well_formed_else_a_uuid(sandbox_client):
    r = sandbox_client.post("/v1/posts", json={"text": "x"}, headers={"X-Request-Id": "my-req_42"})
    assert r.headers["X-Request-Id"] == "my-req_42" == r.json()["error"]["requestId"]
    r = sandbox_client.post("/v1/posts", json={"text": "x"}, headers={"X-Request-Id": "not ok!"})
    assert UUID.match(r.headers["X-Request-Id"])
    assert r.json()["error"]["requestId"] == r.headers["X-Request-Id"]
    r = sandbox_client.get("/v1/accounts", headers={"X-Request-Id": "a" * 256})
    assert UUID.match(r.headers["X-Request-Id"])


def test_unmatched_routes_get_a_plain_text_404(sandbox_client):
    r = sandbox_client.post("/v1/posts/validate", json=POST)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text == "404 Not Found"


def test_static_x_ratelimit_limit_header(sandbox_client):
    assert sandbox_client.post("/v1/posts", json=POST).headers["X-RateLimit-Limit"] == "1000"
    assert sandbox_client.get("/v1/posts").headers["X-RateLimit-Limit"] == "5000"
    assert (
        sandbox_client.post("/v1/media", files={"file": ("a", b"x")}).headers["X-RateLimit-Limit"]
        == "500"
    )


def test_rate_limit_headers_then_429_with_retry_after(sandbox, sandbox_client):
    sandbox.configure(rateLimit="3/60")
    remaining = []
    for _ in range(3):
        r = sandbox_client.get("/v1/accounts")
        assert r.status_code == 200
        assert r.headers["RateLimit-Limit"] == "3"
        assert 1 <= int(r.headers["RateLimit-Reset"]) <= 60
        remaining.append(r.headers["RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]
    # One bucket across routes, and 429s are not stored by idempotency.
    r = sandbox_client.post("/v1/posts", json=POST, headers={"Idempotency-Key": "rl"})
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert r.headers["RateLimit-Remaining"] == "0"
    assert sandbox.posts() == []
    sandbox.advance_clock(61)  # the fixed window ends
    r = sandbox_client.post("/v1/posts", json=POST, headers={"Idempotency-Key": "rl"})
    assert r.status_code == 200 and "Idempotency-Replayed" not in r.headers


def test_rate_limit_counts_replays(sandbox, sandbox_client):
    sandbox.configure(rateLimit="2/60")
    sandbox_client.post("/v1/posts", json=POST, headers={"Idempotency-Key": "r"})
    sandbox_client.post("/v1/posts", json=POST, headers={"Idempotency-Key": "r"})
    assert (
        sandbox_client.post("/v1/posts", json=POST, headers={"Idempotency-Key": "r"}).status_code
        == 429
    )


def test_rate_limit_off_sends_no_ratelimit_headers(sandbox_client):
    r = sandbox_client.get("/v1/accounts")
    assert "RateLimit-Limit" not in r.headers


def test_injected_429_burst(sandbox, sandbox_client):
    sandbox.set_faults(burst_429={"count": 2, "retry_after": 7})
    for _ in range(2):
        r = sandbox_client.post("/v1/posts", json=POST)
        assert (r.status_code, r.headers["Retry-After"]) == (429, "7")
        assert r.json()["error"]["code"] == "rate_limited"
    assert sandbox_client.post("/v1/posts", json=POST).status_code == 200
    assert len(sandbox.posts()) == 1


def test_injected_5xx_only_on_its_method_and_path(sandbox, sandbox_client):
    sandbox.set_faults(
        fail_5xx={"count": 1, "status": 502, "method": "GET", "path": "/v1/accounts"}
    )
    assert sandbox_client.get("/v1/posts").status_code == 200
    r = sandbox_client.get("/v1/accounts")
    assert r.status_code == 502 and r.json()["error"]["code"] == "internal_error"
    assert sandbox_client.get("/v1/accounts").status_code == 200


def test_quota_exceeded_for_live_keys_with_refunds(sandbox, sandbox_client, sandbox_live_client):
    sandbox.configure(quota=3)
    sandbox.set_faults(twitter={"code": "platform_unavailable", "count": 1})
    two = {"targets": [{"platform": "bluesky"}, {"platform": "twitter"}], "text": "x"}
    r = sandbox_live_client.post("/v1/posts", json=two)
    assert r.json()["status"] == "partial_failed"  # 2 charged, the failed one refunded: 1 used
    assert sandbox_live_client.post("/v1/posts", json=two).status_code == 200  # 3 used
    r = sandbox_live_client.post("/v1/posts", json=POST, headers={"Idempotency-Key": "q"})
    assert r.status_code == 429
    assert "Retry-After" not in r.headers
    err = r.json()["error"]
    assert (err["code"], err["rule"]) == ("quota_exceeded", "billing.posts.monthly_cap")
    assert err["platformResponse"]["quota"] == 3
    assert re.match(r"^\d{4}-\d{2}$", err["platformResponse"]["period"])
    assert err["platformResponse"]["resetAt"].endswith("-01T00:00:00.000Z")
    # quota_exceeded is a 4xx: stored and replayed.
    again = sandbox_live_client.post("/v1/posts", json=POST, headers={"Idempotency-Key": "q"})
    assert again.status_code == 429 and again.headers["Idempotency-Replayed"] == "true"
    # Sandbox keys skip quota.
    assert sandbox_client.post("/v1/posts", json=POST).status_code == 200
    assert len(sandbox.posts()) == 5


def test_quota_is_not_charged_when_cheap_preflight_fails(sandbox, sandbox_live_client):
    sandbox.configure(quota=1)
    bad = sandbox_live_client.post(
        "/v1/posts", json={"targets": [{"platform": "bluesky"}], "text": "a" * 301}
    )
    assert bad.json()["error"]["code"] == "preflight_failed"
    assert sandbox_live_client.post("/v1/posts", json=POST).status_code == 200


def test_sandbox_control_routes_need_no_key_and_validate_input(sandbox):
    assert httpx.get(f"{sandbox.url}/_sandbox/info").status_code == 200
    assert httpx.post(f"{sandbox.url}/_sandbox/faults", json={"nonsense": 1}).status_code == 400
    assert httpx.post(f"{sandbox.url}/_sandbox/clock", json={"set": "soon"}).status_code == 400
    sandbox.set_faults(drop_after_store=2)
    assert sandbox.control("GET", "faults") == {"drop_after_store": 2}
    sandbox.clear_faults()
    assert sandbox.control("GET", "faults") == {}
