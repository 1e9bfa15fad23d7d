"""The HTTP client's exact edge cases, shaped with respx (the end-to-end behaviour is
tested against the sandbox server in test_publish.py)."""

from __future__ import annotations

import socket

import httpx
import pytest
import respx

from publisher.clients.letmepost import (
    CONNECT_ATTEMPTS,
    ApiError,
    LetmepostClient,
    NetworkError,
    NotSent,
    Pacer,
    QuotaExceeded,
    RetryPolicy,
)

URL = "https://api.example.test"
KEY = "lmp_live_" + "k" * 32

OK = {"results": [{"status": "published", "platform": "bluesky"}]}  # a readable answer


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
    route = respx.post(f"{URL}/v1/posts").respond(200, json=OK)
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
            httpx.Response(200, json=OK),
        ]
    )
    assert client.create_post(b"{}", "k").data["results"][0]["status"] == "published"
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
    route = respx.get(f"{URL}/v1/posts/p1").mock(side_effect=httpx.ReadTimeout(f"slow {KEY}"))
    with pytest.raises(NetworkError) as info:
        client.get_post("p1")
    assert route.call_count == 4
    assert KEY not in str(info.value)
    assert not isinstance(info.value, NotSent)  # the request may have reached the server


@respx.mock
def test_a_keyed_request_that_timed_out_is_not_sent_again_beside_itself(client):
    """It may still run on the server, and a server without an in-progress claim (the
    open-source one at d28bf71) would run a retry under the same key beside it: two
    posts. The key stays pending; the next run resends it (docs/letmepost-servers.md)."""
    route = respx.post(f"{URL}/v1/posts").mock(side_effect=httpx.ReadTimeout(f"slow {KEY}"))
    with pytest.raises(NetworkError) as info:
        client.create_post(b"{}", "k")
    assert route.call_count == 1
    assert KEY not in str(info.value)
    assert not isinstance(info.value, NotSent)  # the request may have reached the server


@respx.mock
def test_a_refused_connection_is_tried_a_few_times_and_is_known_not_sent(client):
    route = respx.post(f"{URL}/v1/posts").mock(side_effect=httpx.ConnectError(f"refused {KEY}"))
    with pytest.raises(NotSent) as info:
        client.create_post(b"{}", "k")
    assert route.call_count == CONNECT_ATTEMPTS < client.retry.attempts
    assert "nothing was sent" in str(info.value) and KEY not in str(info.value)


@respx.mock
def test_a_name_that_does_not_resolve_is_not_retried(client, sleeps):
    def unresolved(request):
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror as exc:
            raise httpx.ConnectError("[Errno -2] Name or service not known") from exc

    route = respx.post(f"{URL}/v1/posts").mock(side_effect=unresolved)
    with pytest.raises(NotSent) as info:
        client.create_post(b"{}", "k")
    assert route.call_count == 1 and sleeps == []
    assert "api.example.test does not resolve" in str(info.value)


@respx.mock
def test_a_refusal_after_an_attempt_that_may_have_landed_is_not_not_sent(client):
    route = respx.post(f"{URL}/v1/posts").mock(
        side_effect=[httpx.ReadTimeout("slow"), *[httpx.ConnectError("refused")] * 3]
    )
    with pytest.raises(NetworkError) as info:
        client.create_post(b"{}", "k")
    # The timed-out attempt may be running still: nothing more is sent under its key.
    assert not isinstance(info.value, NotSent) and route.call_count == 1


@respx.mock
def test_409_in_progress_is_retried_but_body_mismatch_is_not(client):
    route = respx.post(f"{URL}/v1/posts").mock(
        side_effect=[
            envelope("idempotency_conflict", rule="idempotency_key.in_progress", status=409),
            httpx.Response(200, json=OK, headers={"Idempotency-Replayed": "true"}),
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
            httpx.Response(200, json=OK),
        ]
    )
    client.create_post(b"{}", "k")
    assert 7 <= sum(sleeps) <= 7.1, sleeps


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
    assert 30 <= sum(slept) <= 30.2
    assert max(slept) <= pacer.slice  # in slices, each followed by a fresh look
    waits = len(slept)
    pacer.acquire()  # a new window, nothing known: go
    assert len(slept) == waits


def rate_limited(
    retry_after: str | None, remaining: str = "0", reset: str = "50"
) -> httpx.Response:
    headers = {"RateLimit-Limit": "120", "RateLimit-Remaining": remaining, "RateLimit-Reset": reset}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return httpx.Response(
        429,
        json={"error": {"code": "rate_limited", "message": "Rate limit exceeded."}},
        headers=headers,
    )


@respx.mock
def test_429_waits_what_retry_after_says_not_the_window_reset(client, sleeps):
    """The reported bug: Retry-After: 2 with RateLimit-Reset: 50 waited 52 s."""
    route = respx.post(f"{URL}/v1/posts").mock(
        side_effect=[rate_limited("2"), httpx.Response(200, json=OK)]
    )
    assert client.create_post(b"{}", "k").data["results"][0]["status"] == "published"
    assert route.call_count == 2
    assert 2 <= sum(sleeps) <= 2.05, sleeps
    assert client.pacer.waited == pytest.approx(sum(sleeps))


@respx.mock
def test_429_retry_after_also_beats_an_earlier_exhausted_window(client, sleeps):
    respx.get(f"{URL}/v1/accounts").mock(
        side_effect=[
            httpx.Response(
                200,
                json={"data": []},
                headers={"RateLimit-Remaining": "1", "RateLimit-Reset": "50"},
            ),
            rate_limited("3", remaining="0", reset="49"),
            httpx.Response(200, json={"data": []}),
        ]
    )
    client.accounts()
    client.accounts()
    assert 3 <= sum(sleeps) <= 3.05, sleeps


@respx.mock
def test_429_without_retry_after_waits_for_the_window(client, sleeps):
    respx.post(f"{URL}/v1/posts").mock(
        side_effect=[rate_limited(None, remaining="0", reset="20"), httpx.Response(200, json=OK)]
    )
    client.create_post(b"{}", "k")
    assert 20 <= sum(sleeps) <= 20 + 0.5 + 0.1, sleeps  # the window, plus at most one backoff


@respx.mock
def test_429s_are_bounded_and_the_cap_on_retry_after_holds(client, sleeps):
    route = respx.post(f"{URL}/v1/posts").mock(return_value=rate_limited("100000"))
    with pytest.raises(ApiError) as info:
        client.create_post(b"{}", "k")
    assert info.value.code == "rate_limited" and route.call_count == 4
    assert sum(sleeps) <= 3 * client.retry.max_retry_after + 1


def test_a_retry_after_wakes_a_thread_that_waits_for_a_later_window_reset():
    """Thread B waits for a window reset 50 s away; meanwhile thread A's 429 says
    Retry-After: 2. B goes after those 2 s, not after 50."""
    now = [0.0]
    slept: list[float] = []
    pacer = Pacer(clock=lambda: now[0])

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s
        if len(slept) == 1:
            pacer.hold(2)  # thread A's 429 arrives while B sleeps its first slice

    pacer.sleep = sleep
    pacer.update({"ratelimit-remaining": "0", "ratelimit-reset": "50"})
    pacer.acquire()
    assert 2 <= now[0] <= 2.5, slept  # at most one slice (0.5 s) late


def test_answers_during_a_hold_do_not_extend_it():
    now = [0.0]
    pacer = Pacer(clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    pacer.hold(2)
    # Another thread's answer, sent before the 429, reports an exhausted window.
    pacer.update({"ratelimit-remaining": "0", "ratelimit-reset": "50"})
    pacer.acquire()
    assert now[0] == pytest.approx(2)
    pacer.hold(1)
    pacer.hold(4)  # two 429s: the later come-back time holds
    pacer.acquire()
    assert now[0] == pytest.approx(6)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2", 2.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("-3", 0.0),
        ("999", 120.0),
        ("soon", None),
        ("nan", None),
    ],
)
def test_retry_after_parsing(value, expected):
    from publisher.clients.pacing import retry_after as _retry_after

    assert _retry_after({"retry-after": value}, 120.0) == expected


def test_retry_after_as_an_http_date():
    from publisher.clients.pacing import retry_after as _retry_after

    wall = 1_700_000_000.0  # 2023-11-14T22:13:20Z
    headers = {"retry-after": "Tue, 14 Nov 2023 22:13:25 GMT"}
    assert _retry_after(headers, 120.0, wall=lambda: wall) == pytest.approx(5.0)


@respx.mock
def test_the_key_appears_in_no_log_line_or_error_of_a_rate_limited_run(sleeps):
    lines: list[str] = []
    now = [0.0]

    def sleep(s: float) -> None:
        sleeps.append(s)
        now[0] += s

    c = LetmepostClient(
        URL,
        KEY,
        sleep=sleep,
        pacer=Pacer(clock=lambda: now[0], sleep=sleep),
        retry=RetryPolicy(attempts=3),
        log=lines.append,
    )
    respx.post(f"{URL}/v1/posts").mock(
        side_effect=[
            rate_limited("1"),
            httpx.ConnectError(f"boom {KEY}"),
            envelope("unauthenticated", f"key {KEY} revoked", status=401),
        ]
    )
    with pytest.raises(ApiError) as info:
        c.create_post(b"{}", "k")
    c.close()
    assert lines and all(KEY not in line for line in lines)
    assert KEY not in str(info.value) and KEY not in repr(info.value)
