"""Rate limiting end to end: the sandbox's 429 answers as the real server's
(rate-limiter-flexible behind Hono), and the client waits what Retry-After says."""

from __future__ import annotations

import json
import threading
import time

from publisher.clients.letmepost import LetmepostClient, RetryPolicy

POST = {"targets": [{"platform": "bluesky"}], "text": "x"}


def test_429_has_the_real_envelope_and_headers(sandbox, sandbox_client):
    sandbox.configure(rateLimit="2/60")
    for left in ("1", "0"):
        r = sandbox_client.get("/v1/accounts")
        assert (r.status_code, r.headers["RateLimit-Remaining"]) == (200, left)
        assert "Retry-After" not in r.headers
    r = sandbox_client.post("/v1/posts", json=POST)
    assert r.status_code == 429
    assert r.headers["RateLimit-Limit"] == "2"
    assert r.headers["RateLimit-Remaining"] == "0"
    # Both come from the same msBeforeNext: Retry-After is the window's reset.
    assert r.headers["Retry-After"] == r.headers["RateLimit-Reset"]
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    err = r.json()["error"]
    assert err["code"] == "rate_limited" and "rule" not in err
    assert err["message"] == "Rate limit exceeded."
    assert "RateLimit-Reset" in err["remediation"]
    assert err["docUrl"] == "https://docs.letmepost.dev/errors/rate_limited"
    assert err["requestId"] == r.headers["X-Request-Id"]
    assert sandbox.posts() == []


def test_buckets_are_per_key_and_rejected_requests_do_not_move_the_window(
    sandbox, sandbox_client, sandbox_live_client
):
    sandbox.configure(rateLimit="1/60")
    assert sandbox_client.get("/v1/accounts").status_code == 200
    assert sandbox_client.get("/v1/accounts").status_code == 429
    assert sandbox_live_client.get("/v1/accounts").status_code == 200  # its own bucket
    sandbox.advance_clock(30)
    r = sandbox_client.get("/v1/accounts")
    assert r.status_code == 429 and 29 <= int(r.headers["Retry-After"]) <= 30
    sandbox.advance_clock(31)  # 61 s after the window began, whatever was rejected since
    r = sandbox_client.get("/v1/accounts")
    assert r.status_code == 200 and r.headers["RateLimit-Remaining"] == "0"


def test_client_waits_retry_after_not_the_window_and_does_not_stall_other_threads(sandbox):
    """The reported stall: a 429 with Retry-After: 1 while RateLimit-Reset said ~60 s
    made every thread wait for the window. Four threads now finish in about 1 s."""
    sandbox.configure(rateLimit="1000/60")
    sandbox.set_faults(burst_429={"count": 1, "retry_after": 1})
    lines: list[str] = []
    client = LetmepostClient(
        sandbox.url, sandbox.test_key, retry=RetryPolicy(attempts=4), log=lines.append
    )
    client.limit_in_flight(4)
    errors: list[BaseException] = []

    def publish(i: int) -> None:
        try:
            body = json.dumps(dict(POST, text=f"thread {i}")).encode()
            client.create_post(body, f"rl-thread-{i}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    start = time.monotonic()
    threads = [threading.Thread(target=publish, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    elapsed = time.monotonic() - start
    client.close()
    assert not errors, errors
    assert client.stats["429"] == 1
    assert elapsed < 20, f"{elapsed:.1f} s: the window's ~60 s reset won over Retry-After: 1"
    assert client.pacer.waited <= 4 * 1.5
    assert len(sandbox.posts()) == 4
    assert all(sandbox.test_key not in line for line in lines)
