"""The HTTP client's exact edge cases, shaped with respx (the end-to-end behaviour is
tested against the sandbox server in test_publish.py)."""

from __future__ import annotations

import httpx
import pytest
import respx

from publisher.client import (
    ApiError,
    LetmepostClient,
    NetworkError,
    Pacer,
    QuotaExceeded,
    RetryPolicy,
)

URL = "https://api.example.test"
KEY = "lmp_live_" + "k" * 32


def envelope(
    code: str, message: str = "no", rule: str | None = None, status: int = 400
) -> httpx.Response:
    body = {"error": {"code": code, "message": message, "requestId": "r1"}}
    if rule:
        body["error"]["rule"] = rule
    return httpx.Response(status, json=body)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps: list[float]):
    now = [1000.0]

    def sleep(seconds: float) -> None:  # a fake clock: sleeping moves it
        sleeps.append(seconds)
        now[0] += seconds

    pacer = Pacer(clock=lambda: now[0], sleep=sleep)
    retry = RetryPolicy(attempts=4, base=0.5, cap=8)
    c = LetmepostClient(URL, KEY, sleep=sleep, pacer=pacer, retry=retry)
    yield c
    c.close()


@respx.mock
def test_sends_key_only_in_the_authorization_header_and_the_body_bytes_as_given(client):
    route = respx.post(f"{URL}/v1/posts").respond(200, json={"results": []})
    body = b'{"targets":[{"platform":"bluesky","text":"hi"}]}'
    client.create_post(body, "pub1-l-abc")
    request = route.calls.last.request
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["idempotency-key"] == "pub1-l-abc"
    assert request.content == body


@respx.mock
def test_4xx_is_not_retried_and_says_what_the_server_said(client):
    route = respx.post(f"{URL}/v1/posts").mock(
        return_value=envelope("preflight_failed", "text too long", "bluesky.text.max_graphemes")
    )
    with pytest.raises(ApiError) as info:
        client.create_post(b"{}", "k")
    assert route.call_count == 1
    assert info.value.rule == "bluesky.text.max_graphemes"
    assert "text too long" in str(info.value)


@respx.mock
def test_5xx_is_retried_with_jittered_backoff_until_it_succeeds(client, sleeps):
    route = respx.post(f"{URL}/v1/posts").mock(
        side_effect=[
            envelope("internal_error", status=503),
            envelope("internal_error", status=500),
            httpx.Response(200, json={"ok": 1}),
        ]
    )
    assert client.create_post(b"{}", "k").data == {"ok": 1}
    assert route.call_count == 3
    assert len(sleeps) == 2 and 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0


@respx.mock
def test_retries_are_bounded(client):
    route = respx.post(f"{URL}/v1/posts").mock(return_value=envelope("internal_error", status=502))
    with pytest.raises(ApiError):
        client.create_post(b"{}", "k")
    assert route.call_count == 4


@respx.mock
def test_network_errors_are_retried_then_reported_without_the_key(client):
    route = respx.post(f"{URL}/v1/posts").mock(side_effect=httpx.ConnectError(f"refused {KEY}"))
    with pytest.raises(NetworkError) as info:
        client.create_post(b"{}", "k")
    assert route.call_count == 4
    assert KEY not in str(info.value)


@respx.mock
def test_409_in_progress_is_retried_but_body_mismatch_is_not(client):
    route = respx.post(f"{URL}/v1/posts").mock(
        side_effect=[
            envelope("idempotency_conflict", rule="idempotency_key.in_progress", status=409),
            httpx.Response(200, json={"ok": 1}, headers={"Idempotency-Replayed": "true"}),
        ]
    )
    resp = client.create_post(b"{}", "k")
    assert route.call_count == 2 and resp.replayed
    respx.post(f"{URL}/v1/posts").mock(
        return_value=envelope(
            "idempotency_conflict", rule="idempotency_key.body_mismatch", status=409
        )
    )
    with pytest.raises(ApiError) as info:
        client.create_post(b"{}", "k")
    assert info.value.rule == "idempotency_key.body_mismatch"


@respx.mock
def test_429_waits_for_retry_after(client, sleeps):
    respx.post(f"{URL}/v1/posts").mock(
        side_effect=[
            httpx.Response(
                429,
                json={"error": {"code": "rate_limited", "message": "slow"}},
                headers={"Retry-After": "7"},
            ),
            httpx.Response(200, json={}),
        ]
    )
    client.create_post(b"{}", "k")
    assert any(6.9 <= s <= 7.2 for s in sleeps), sleeps


@respx.mock
def test_quota_exceeded_stops_at_once(client):
    route = respx.post(f"{URL}/v1/posts").mock(
        return_value=envelope(
            "quota_exceeded", "monthly cap", "billing.posts.monthly_cap", status=429
        )
    )
    with pytest.raises(QuotaExceeded):
        client.create_post(b"{}", "k")
    assert route.call_count == 1


@respx.mock
def test_a_key_echoed_by_the_server_is_redacted(client):
    respx.get(f"{URL}/v1/accounts").mock(
        return_value=envelope("unauthenticated", f"bad key {KEY}", status=401)
    )
    with pytest.raises(ApiError) as info:
        client.accounts()
    assert KEY not in str(info.value) and "***" in str(info.value)
    assert KEY not in repr(client)


def test_pacer_waits_for_the_window_when_no_request_is_left():
    now = [100.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    pacer = Pacer(clock=lambda: now[0], sleep=sleep)
    pacer.acquire()  # nothing known yet: go
    pacer.update({"ratelimit-remaining": "1", "ratelimit-reset": "30"})
    pacer.acquire()  # the last one in this window
    assert slept == []
    pacer.acquire()  # must wait for the reset
    assert len(slept) == 1 and 30 <= slept[0] <= 30.2
    pacer.acquire()  # a new window, nothing known: go
    assert len(slept) == 1
