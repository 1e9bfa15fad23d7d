"""The sandbox as an exposed server: deep JSON, body size caps, empty Idempotency-Keys,
slow request headers (slowloris). Everything over real HTTP/TCP on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from publisher.sandbox import SandboxConfig, start_sandbox
from publisher.sandbox.schema import MAX_JSON_DEPTH

POST = {"targets": [{"platform": "bluesky"}], "text": "x"}


def nested(depth: int) -> str:
    """A JSON array nested ``depth`` levels deep."""
    return "[" * depth + "]" * depth


def rule_of(r: httpx.Response) -> tuple[int, str, str | None]:
    err = r.json()["error"]
    return r.status_code, err["code"], err.get("rule")


# -- JSON nested too deep ------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5_000, 200_000])
def test_json_nested_too_deep_is_400_body_json(sandbox, sandbox_client, depth):
    body = '{"targets":[{"platform":"bluesky"}],"text":"x","extra":' + nested(depth) + "}"
    for headers in ({}, {"Idempotency-Key": f"deep-{depth}"}):
        r = sandbox_client.post(
            "/v1/posts",
            content=body,
            headers={"Content-Type": "application/json", **headers},
        )
        assert rule_of(r) == (400, "validation_failed", "body.json")
        assert "nested" in r.json()["error"]["message"]
    assert sandbox.posts() == []


def test_json_at_the_depth_limit_is_parsed_and_unknown_keys_dropped(sandbox, sandbox_client):
    # The body itself is depth 1, so `extra` may take MAX_JSON_DEPTH - 1 levels.
    body = json.dumps(POST)[:-1] + ',"extra":' + nested(MAX_JSON_DEPTH - 1) + "}"
    r = sandbox_client.post("/v1/posts", content=body)
    assert r.status_code == 200, r.text
    assert len(sandbox.posts()) == 1


def test_brackets_inside_strings_do_not_count_as_depth(sandbox_client):
    text = "[" * 200 + '\\"{' * 100
    r = sandbox_client.post(
        "/v1/posts",
        content='{"targets":[{"platform":"threads"}],"text":"' + text + '"}',
    )
    assert r.status_code == 200, r.text


def test_deep_json_on_patch_retry_and_control_routes_is_400(sandbox, sandbox_client):
    deep = nested(100_000)
    post_id = "00000000-0000-4000-8000-000000000000"
    for method, path in (("PATCH", f"/v1/posts/{post_id}"), ("POST", f"/v1/posts/{post_id}/retry")):
        r = sandbox_client.request(method, path, content=deep)
        assert rule_of(r) == (400, "validation_failed", "body.json"), (method, path)
    for path in ("faults", "clock", "config"):
        r = httpx.post(f"{sandbox.url}/_sandbox/{path}", content=deep)
        assert r.status_code == 400, (path, r.text)
        assert r.json()["error"]["code"] == "validation_failed"


# -- body size -----------------------------------------------------------------------------


def test_post_body_over_the_cap_is_413_body_size_max(sandbox, sandbox_client):
    sandbox.configure(bodyMaxBytes=1024)
    big = dict(POST, text="y" * 2000)
    r = sandbox_client.post("/v1/posts", json=big, headers={"Idempotency-Key": "big"})
    assert rule_of(r) == (413, "validation_failed", "body.size_max")
    assert "1024" in r.json()["error"]["message"]
    # Not recorded under its key: the same key with a body that fits runs normally.
    r = sandbox_client.post("/v1/posts", json=POST, headers={"Idempotency-Key": "big"})
    assert r.status_code == 200 and "Idempotency-Replayed" not in r.headers
    assert len(sandbox.posts()) == 1


def test_chunked_post_body_over_the_cap_is_413(sandbox, sandbox_client):
    """No Content-Length to check up front: the cap counts the bytes as they arrive."""
    sandbox.configure(bodyMaxBytes=1024)
    raw = json.dumps(dict(POST, text="y" * 3000)).encode()

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(raw), 500):
            yield raw[i : i + 500]

    r = sandbox_client.post("/v1/posts", content=chunks(), headers={"Idempotency-Key": "c"})
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert rule_of(r) == (413, "validation_failed", "body.size_max")
    assert sandbox.posts() == []
    assert sandbox.control("GET", "idempotency")["data"] == []


def test_body_just_under_the_cap_is_accepted(sandbox, sandbox_client):
    raw = json.dumps(dict(POST, text="y" * 100)).encode()
    sandbox.configure(bodyMaxBytes=len(raw))
    assert sandbox_client.post("/v1/posts", content=raw).status_code == 200


def test_media_keeps_its_own_cap_also_when_chunked(sandbox, sandbox_client):
    sandbox.configure(mediaMaxBytes=1000, bodyMaxBytes=10)  # the JSON cap does not apply
    from tests.fixtures.sandbox import make_png

    ok = sandbox_client.post("/v1/media", files={"file": ("a.png", make_png(), "image/png")})
    assert ok.status_code == 201, ok.text
    boundary = "b0undary"
    payload = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + make_png(200_000)
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(payload), 16_384):
            yield payload[i : i + 16_384]

    r = sandbox_client.post(
        "/v1/media",
        content=chunks(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert rule_of(r) == (413, "validation_failed", "media.size_max")


def test_body_max_bytes_must_be_a_positive_integer(sandbox):
    for bad in (0, -1, "big", True):
        r = httpx.post(f"{sandbox.url}/_sandbox/config", json={"bodyMaxBytes": bad})
        assert r.status_code == 400, bad


# -- Idempotency-Key length ----------------------------------------------------------------


def test_empty_idempotency_key_is_400_and_nothing_is_stored(sandbox, sandbox_client):
    r = sandbox_client.post("/v1/posts", json=POST, headers={"Idempotency-Key": ""})
    assert rule_of(r) == (400, "validation_failed", "idempotency_key.length")
    # Blanks only (httpx refuses to send them, so over a raw socket): HTTP strips
    # them and the key arrives empty.
    body = json.dumps(POST).encode()
    with _connect(sandbox.url) as sock:
        sock.sendall(
            b"POST /v1/posts HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Authorization: Bearer " + sandbox.test_key.encode() + b"\r\n"
            b"Idempotency-Key:    \r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b'"rule":"idempotency_key.length"' in answer
    assert sandbox.posts() == []
    assert sandbox.control("GET", "idempotency")["data"] == []


def test_keys_of_1_and_255_characters_are_accepted(sandbox, sandbox_client):
    for key in ("k", "k" * 255):
        r = sandbox_client.post("/v1/posts", json=POST, headers={"Idempotency-Key": key})
        assert r.status_code == 200 and r.headers["Idempotency-Key"] == key
    r = sandbox_client.post("/v1/posts", json=POST, headers={"Idempotency-Key": "k" * 256})
    assert rule_of(r) == (400, "validation_failed", "idempotency_key.length")
    assert len(sandbox.posts()) == 2


# -- slow request headers (slowloris) ------------------------------------------------------

HEADER_TIMEOUT = 0.5


@pytest.fixture(scope="module")
def slow_sandbox(tmp_path_factory: pytest.TempPathFactory):
    config = SandboxConfig(rate_limit=None, header_timeout=HEADER_TIMEOUT)
    with start_sandbox(tmp_path_factory.mktemp("slow") / "sb.db", config=config) as sb:
        yield sb


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    assert host == "127.0.0.1"
    return socket.create_connection((host, int(port)), timeout=10)


def _trickle_until_closed(sock: socket.socket, give_up: float = 20.0) -> tuple[float, bytes]:
    """Send one header byte every 50 ms, never finishing the headers. Returns how long
    until the server closed the connection and what it sent before closing."""
    start = time.monotonic()
    sock.sendall(b"POST /v1/posts HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    sock.settimeout(0.05)
    received = b""
    while time.monotonic() - start < give_up:
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            try:
                sock.sendall(b"a")
            except OSError:  # reset by the server
                return time.monotonic() - start, received
            continue
        except OSError:
            return time.monotonic() - start, received
        if not chunk:
            return time.monotonic() - start, received
        received += chunk
    raise AssertionError(f"still connected after {give_up} s of trickled headers")


def test_slowloris_headers_are_cut_off_after_the_header_timeout(slow_sandbox):
    with _connect(slow_sandbox.url) as sock:
        elapsed, received = _trickle_until_closed(sock)
    assert HEADER_TIMEOUT * 0.9 <= elapsed < HEADER_TIMEOUT + 5
    assert received.startswith(b"HTTP/1.1 408 ")


def test_a_connection_that_sends_nothing_is_closed(slow_sandbox):
    with _connect(slow_sandbox.url) as sock:
        start = time.monotonic()
        sock.settimeout(10)
        received = sock.recv(4096)
        assert received.startswith(b"HTTP/1.1 408 ")
        assert time.monotonic() - start < HEADER_TIMEOUT + 5


def test_the_next_request_on_a_kept_alive_connection_is_timed_too(slow_sandbox):
    with _connect(slow_sandbox.url) as sock:
        sock.sendall(b"GET /_sandbox/info HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sock.settimeout(10)
        first = b""
        while b"\r\n\r\n" not in first:
            first += sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 ")
        time.sleep(HEADER_TIMEOUT * 1.5)  # idle between requests: more than the timeout
        elapsed, _ = _trickle_until_closed(sock)  # a fresh budget for the next request
    assert HEADER_TIMEOUT * 0.9 <= elapsed < HEADER_TIMEOUT + 5


def test_headers_in_time_and_a_slow_answer_are_not_cut(slow_sandbox):
    slow_sandbox.set_faults(latency_ms=int(HEADER_TIMEOUT * 3000))
    try:
        with _connect(slow_sandbox.url) as sock:
            head = b"GET /v1/accounts HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
            sock.sendall(head)
            time.sleep(HEADER_TIMEOUT / 3)  # slow, but the headers end in time
            sock.sendall(slow_sandbox.test_key.encode() + b"\r\nConnection: close\r\n\r\n")
            sock.settimeout(10)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
    finally:
        slow_sandbox.clear_faults()
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    assert b'"data"' in answer
