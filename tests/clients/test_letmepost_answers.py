"""The strict reader of letmepost answers (clients/letmepost_answers.py, at the
client boundary): malformed answers become one located error naming the server and
what it said (never AttributeError, never a status outside the enum in a file);
unknown harmless fields pass; answers are read as a capped stream. respx for the
exact bytes of each answer."""

from __future__ import annotations

import gzip
from typing import Any

import httpx
import pytest
import respx

from publisher.clients.letmepost import (
    MAX_ANSWER_BYTES,
    AnswerError,
    ApiError,
    LetmepostClient,
    NetworkError,
    RetryPolicy,
)

URL = "https://api.example.test"
BODY = b'{"targets":[{"platform":"bluesky","text":"hi"},{"platform":"twitter","text":"hi"}]}'


@pytest.fixture
def client() -> LetmepostClient:
    return LetmepostClient(
        URL, "lmp_live_" + "Zq7" * 10 + "xy", retry=RetryPolicy(attempts=2), sleep=lambda s: None
    )


def answer(client: LetmepostClient, status: int, **kw: Any) -> Any:
    with respx.mock:
        respx.post(f"{URL}/v1/posts").respond(status, **kw)
        return client.create_post(BODY, "pub1-l-k")


OK = {"status": "published", "platform": "bluesky", "postId": "p", "uri": "at://x/y/z"}


@pytest.mark.parametrize(
    ("json_", "where"),
    [
        ({"results": "nope"}, "results: Input should be a valid list"),
        ({"results": ["a", "b"]}, "results[0]: Input should be an object"),
        ({"results": [OK, {**OK, "status": "exploded"}]}, "results[1].status: Input should be"),
        ({"results": [OK, {**OK, "uri": 12}]}, "results[1].uri: Input should be a valid string"),
        ({"results": [OK, {**OK, "error": "bad"}]}, "results[1].error: Input should be an object"),
        ({"results": [OK, {**OK, "warnings": [1]}]}, "results[1].warnings[0]"),
        ({"nothing": 1}, "results: Field required"),
        ([1, 2], "the answer: Input should be an object"),
    ],
)
def test_malformed_2xx_answers_are_one_located_error(
    client: LetmepostClient, json_: Any, where: str
) -> None:
    with pytest.raises(AnswerError) as info:
        answer(client, 200, json=json_)
    text = str(info.value)
    assert text.startswith(f"{URL} (POST /v1/posts) answered with something publisher cannot read")
    assert where in text, text
    assert isinstance(info.value, NetworkError)  # the backend keeps the key: resend


def test_a_2xx_that_is_not_json_is_outcome_unknown(client: LetmepostClient) -> None:
    with pytest.raises(AnswerError, match="not JSON: <html>proxy says hi"):
        answer(client, 200, content=b"<html>proxy says hi</html>")


def test_a_result_missing_for_a_target_is_outcome_unknown(client: LetmepostClient) -> None:
    with pytest.raises(AnswerError, match="1 results for 2 targets: the outcome is unknown"):
        answer(client, 200, json={"results": [OK]})


def test_unknown_harmless_fields_pass(client: LetmepostClient) -> None:
    resp = answer(
        client,
        200,
        json={
            "id": "b",
            "newTopLevel": {"x": 1},
            "results": [
                {**OK, "somethingNew": [1, 2], "error": None},
                {
                    **OK,
                    "status": "failed",
                    "error": {"code": "platform_unavailable", "message": "down", "extra": 1},
                },
            ],
        },
    )
    first, second = resp.data["results"]
    assert first["status"] == "published" and "somethingNew" not in first
    assert second["error"] == {"code": "platform_unavailable", "message": "down", "rule": None}


def test_error_envelopes_are_read_strictly(client: LetmepostClient) -> None:
    with pytest.raises(ApiError) as info:
        answer(client, 400, json={"error": {"code": "preflight_failed", "rule": 5, "message": "m"}})
    assert info.value.code == "http_error" and "preflight_failed" in info.value.message
    with pytest.raises(ApiError) as info:
        answer(
            client, 400, json={"error": {"code": "preflight_failed", "rule": "a.b", "message": "m"}}
        )
    assert (info.value.code, info.value.rule) == ("preflight_failed", "a.b")


def test_answers_are_read_as_a_capped_stream(client: LetmepostClient) -> None:
    body = gzip.compress(b'{"results":[{"status":"published"},{"status":"queued","postId":"q"}]}')
    resp = answer(
        client,
        200,
        content=body,
        headers={"content-encoding": "gzip", "content-type": "application/json"},
    )
    assert [r["status"] for r in resp.data["results"]] == ["published", "queued"]
    bomb = gzip.compress(b" " * (MAX_ANSWER_BYTES + 10))
    with pytest.raises(AnswerError, match="more than 8,388,608 bytes"):
        answer(client, 200, content=bomb, headers={"content-encoding": "gzip"})
    with pytest.raises(ApiError) as info:
        answer(client, 400, content=b"x" * (3 * MAX_ANSWER_BYTES))
    assert info.value.status == 400 and len(str(info.value)) < 400


def test_other_endpoints_are_read_strictly(client: LetmepostClient) -> None:
    with respx.mock:
        respx.get(f"{URL}/v1/posts/p1").respond(200, json={"status": 7})
        respx.get(f"{URL}/v1/accounts").respond(200, json={"data": [{"id": 1}]})
        respx.post(f"{URL}/v1/media").respond(200, json={"id": "not-a-media-id"})
        with pytest.raises(AnswerError, match=r"\(GET /v1/posts/p1\).*status"):
            client.get_post("p1")
        with pytest.raises(AnswerError, match=r"data\[0\]\.id"):
            client.accounts()
        with pytest.raises(AnswerError, match="id: String should match"):
            client.upload_media("a.png", b"x", "image/png")
    with respx.mock:
        respx.get(f"{URL}/v1/accounts").respond(
            200, json={"data": [{"id": "a", "platform": "x", "pinterest": {"board": 1}}]}
        )
        (account,) = client.accounts()
        assert account["pinterest"] == {"board": 1}  # kept: handed on whole
    assert httpx  # imported for respx's transport
