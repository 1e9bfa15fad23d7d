"""The sandbox's Idempotency-Key behaviour (contract §2) over real HTTP."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

BODY = json.dumps(
    {"targets": [{"platform": "bluesky"}], "text": "once"}, separators=(",", ":")
).encode()


def send(client: httpx.Client, key: str | None, body: bytes = BODY) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post("/v1/posts", content=body, headers=headers)


def wait_for_pending(sandbox, key: str) -> None:
    """Block until the sandbox holds a pending claim for ``key`` (no timing assumption)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        records = sandbox.control("GET", "idempotency")["data"]
        if any(r["key"] == key and r["state"] == "pending" for r in records):
            return
        time.sleep(0.01)
    raise AssertionError(f"no pending claim for {key}")


def test_replay_returns_the_stored_response_with_headers(sandbox, sandbox_client):
    first = send(sandbox_client, "k-1")
    assert first.status_code == 200
    assert first.headers["Idempotency-Key"] == "k-1"
    assert "Idempotency-Replayed" not in first.headers
    again = send(sandbox_client, "k-1")
    assert again.status_code == 200
    assert again.headers["Idempotency-Replayed"] == "true"
    assert again.headers["Idempotency-Key"] == "k-1"
    assert again.content == first.content
    assert len(sandbox.posts()) == 1
    assert sandbox.posts()[0]["idempotencyKey"] == "k-1"


def test_without_a_key_nothing_is_deduplicated(sandbox, sandbox_client):
    send(sandbox_client, None)
    send(sandbox_client, None)
    assert len(sandbox.posts()) == 2


def test_scope_is_the_organisation_so_test_and_live_keys_share_it(
    sandbox, sandbox_client, sandbox_live_client
):
    send(sandbox_client, "shared")
    live = send(sandbox_live_client, "shared")
    assert live.headers["Idempotency-Replayed"] == "true"
    assert live.json()["results"][0]["uri"].startswith("https://sandbox.letmepost.dev/")
    assert len(sandbox.posts()) == 1


def test_scheduled_202_is_replayed_with_the_same_status(sandbox, sandbox_client):
    body = json.dumps(
        {"targets": [{"platform": "bluesky"}], "text": "x", "scheduledAt": "2099-01-01T00:00:00Z"}
    ).encode()
    assert send(sandbox_client, "s-1", body).status_code == 202
    again = send(sandbox_client, "s-1", body)
    assert again.status_code == 202 and again.headers["Idempotency-Replayed"] == "true"
    assert len(sandbox.posts()) == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"targets": [{"platform": "bluesky"}], "text": "a" * 301}, 400, "preflight_failed"),
        (
            {"targets": [{"accountId": "00000000-0000-4000-8000-000000000000"}], "text": "x"},
            404,
            "not_found",
        ),
    ],
)
def test_4xx_is_stored_and_replayed_verbatim(sandbox, sandbox_client, body, status, code):
    raw = json.dumps(body).encode()
    first = send(sandbox_client, "bad-1", raw)
    assert (first.status_code, first.json()["error"]["code"]) == (status, code)
    again = send(sandbox_client, "bad-1", raw)
    assert again.status_code == status
    assert again.headers["Idempotency-Replayed"] == "true"
    assert again.content == first.content  # same requestId inside: verbatim
    assert again.headers["X-Request-Id"] != first.json()["error"]["requestId"]


def test_5xx_is_not_stored_so_a_retry_runs_again(sandbox, sandbox_client):
    sandbox.set_faults(fail_5xx={"count": 1, "status": 503, "path": "/v1/posts"})
    failed = send(sandbox_client, "k-5xx")
    assert failed.status_code == 503 and failed.json()["error"]["code"] == "internal_error"
    assert sandbox.posts() == []
    retry = send(sandbox_client, "k-5xx")
    assert retry.status_code == 200 and "Idempotency-Replayed" not in retry.headers
    assert len(sandbox.posts()) == 1


def test_same_key_with_a_different_body_is_body_mismatch(sandbox, sandbox_client):
    send(sandbox_client, "k-m")
    # Whitespace alone makes a different body: the fingerprint is of the raw bytes.
    r = send(sandbox_client, "k-m", BODY.replace(b",", b", "))
    assert r.status_code == 409
    err = r.json()["error"]
    assert (err["code"], err["rule"]) == ("idempotency_conflict", "idempotency_key.body_mismatch")
    assert len(sandbox.posts()) == 1


def test_duplicate_while_in_progress_is_409_in_progress(sandbox, sandbox_client):
    sandbox.set_faults(latency_ms={"ms": 1500, "count": 1})
    results: list[httpx.Response] = []
    first = threading.Thread(target=lambda: results.append(send(sandbox_client, "k-race")))
    first.start()
    wait_for_pending(sandbox, "k-race")
    second = send(sandbox_client, "k-race")
    first.join()
    assert second.status_code == 409
    assert second.json()["error"]["rule"] == "idempotency_key.in_progress"
    assert results[0].status_code == 200
    assert len(sandbox.posts()) == 1


def test_racing_clients_with_one_key_create_one_post(sandbox):
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def client() -> None:
        with httpx.Client(
            base_url=sandbox.url, headers={"Authorization": f"Bearer {sandbox.test_key}"}
        ) as c:
            barrier.wait()
            statuses.append(send(c, "k-many").status_code)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(statuses) <= {200, 409} and 200 in statuses
    assert len(sandbox.posts()) == 1


def test_a_stale_pending_claim_is_taken_over(sandbox, sandbox_client):
    sandbox.set_faults(latency_ms={"ms": 1500, "count": 1})
    worker = threading.Thread(target=send, args=(sandbox_client, "k-stale"))
    worker.start()
    wait_for_pending(sandbox, "k-stale")
    sandbox.advance_clock(61)  # the claim is now older than 60 s by the sandbox clock
    takeover = send(sandbox_client, "k-stale")
    worker.join()
    assert takeover.status_code == 200 and "Idempotency-Replayed" not in takeover.headers
    assert len(sandbox.posts()) == 2  # the contract's takeover runs the request again


def test_after_24_hours_the_key_no_longer_deduplicates(sandbox, sandbox_client):
    send(sandbox_client, "k-old")
    sandbox.advance_clock(24 * 3600 + 1)
    later = send(sandbox_client, "k-old")
    assert later.status_code == 200 and "Idempotency-Replayed" not in later.headers
    assert len(sandbox.posts()) == 2


def test_key_longer_than_255_is_rejected(sandbox, sandbox_client):
    r = send(sandbox_client, "k" * 256)
    assert r.status_code == 400 and r.json()["error"]["rule"] == "idempotency_key.length"
    assert send(sandbox_client, "k" * 255).status_code == 200


def test_drop_after_store_then_retry_replays_the_stored_post(sandbox, sandbox_client):
    sandbox.set_faults(drop_after_store=1)
    with pytest.raises(httpx.TransportError):
        send(sandbox_client, "k-drop")
    stored = sandbox.posts()
    assert len(stored) == 1 and stored[0]["idempotencyKey"] == "k-drop"
    retry = send(sandbox_client, "k-drop")
    assert retry.status_code == 200
    assert retry.headers["Idempotency-Replayed"] == "true"
    assert retry.json()["results"][0]["postId"] == stored[0]["id"]
    assert len(sandbox.posts()) == 1
