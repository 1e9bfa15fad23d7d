"""Property-based tests of the answer readers and the record reader: any bytes in, a
clean error or a valid model out.

- letmepost answers (`letmepost_answers.parse` of every model, and the client's error
  envelope reader) from arbitrary bytes and from JSON shaped like real answers with
  fields mangled;
- PDS answers (`bluesky_answers.read` of every model) from arbitrary JSON;
- `published` and `release` blocks of a post file, built from the record's own keys
  with values of any type, read by `load_post`: a located problem or a typed record,
  and then `make_plan` of it never raises.

Derandomized and bounded, so a CI run is stable and takes seconds."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from publisher.clients import atproto_answers as pds
from publisher.clients import letmepost_answers as lmp
from publisher.clients.atproto import BlueskyError
from publisher.clients.letmepost import ApiError, LetmepostClient

FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)

FIELDS = [
    "results", "status", "error", "code", "message", "rule", "warnings", "uri", "cid",
    "postId", "platform", "accountId", "scheduledAt", "data", "id", "blob", "ref", "$link",
    "mimeType", "size", "value", "records", "cursor", "did", "platformUri", "platformCid",
    "firstCommentUri", "displayName",
]  # fmt: skip
STATUSES = ["published", "queued", "publishing", "failed", "rejected", "canceled", "weird", ""]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(STATUSES),
    st.just("at://did:plc:abc/app.bsky.feed.post/3kabc"),
    st.just("med_" + "a" * 22),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=8)), inner, max_size=6),
    ),
    max_leaves=25,
)


@st.composite
def shaped_answers(draw: Any) -> Any:
    """Mostly-plausible answers of each kind with a few fields mangled."""
    result = draw(
        st.fixed_dictionaries(
            {"status": st.sampled_from(STATUSES)},
            optional={
                k: st.one_of(st.text(max_size=20), json_values)
                for k in ("platform", "postId", "uri", "cid", "accountId")
            }
            | {
                "error": st.one_of(
                    json_values,
                    st.fixed_dictionaries(
                        {"code": st.text(max_size=10)},
                        optional={"message": json_values, "rule": json_values},
                    ),
                ),
                "warnings": st.lists(
                    st.one_of(json_values, st.fixed_dictionaries({"code": st.text(max_size=5)})),
                    max_size=3,
                ),
            },
        )
    )
    return draw(
        st.one_of(
            st.fixed_dictionaries(
                {"results": st.one_of(st.lists(st.just(result), max_size=3), json_values)},
                optional={"scheduledAt": json_values, "status": json_values},
            ),
            st.fixed_dictionaries({"error": st.one_of(json_values, st.just(result.get("error")))}),
            st.fixed_dictionaries({"data": st.lists(json_values, max_size=3)}),
            json_values,
        )
    )


LMP_MODELS = [
    lmp.CreateAnswer, lmp.PostAnswer, lmp.AccountsAnswer, lmp.MediaAnswer, lmp.ErrorEnvelope,
]  # fmt: skip
PDS_MODELS = [pds.StrongRef, pds.BlobAnswer, pds.RecordAnswer, pds.ListAnswer, pds.HandleAnswer]


def _read_every_way(body: bytes) -> None:
    for model in LMP_MODELS:
        try:
            got = lmp.parse(model, body, "https://api.example.test (POST /v1/posts)")
        except lmp.BadAnswer as exc:
            text = str(exc)
            assert text.startswith("https://api.example.test (POST /v1/posts) answered with")
            assert len(text) < 1200
            continue
        assert isinstance(got, model)
        json.dumps(got.model_dump(), default=str)  # what goes on: plain data


@FUZZ
@given(body=st.binary(max_size=300))
def test_any_bytes_are_a_bad_answer_or_a_model(body: bytes) -> None:
    _read_every_way(body)


@FUZZ
@given(value=shaped_answers())
def test_any_json_is_a_bad_answer_or_a_model(value: Any) -> None:
    body = json.dumps(value, allow_nan=True).encode()
    _read_every_way(body)
    for model in PDS_MODELS:
        try:
            got = pds.read(model, value, "read x", "https://pds.example.test")
        except BlueskyError as exc:
            assert exc.code == "bad_answer" and "https://pds.example.test" in str(exc)
            continue
        assert isinstance(got, model)


_client = LetmepostClient("https://api.example.test", "lmp_live_" + "F" * 32)


@FUZZ
@given(
    status=st.sampled_from([400, 401, 404, 409, 413, 422, 429, 500, 502, 503]),
    body=st.one_of(st.binary(max_size=300), shaped_answers().map(lambda v: json.dumps(v).encode())),
)
def test_any_error_answer_is_an_api_error(status: int, body: bytes) -> None:
    resp = httpx.Response(status, content=body)
    error = _client._error(resp, replayed=False)
    assert isinstance(error, ApiError)
    assert isinstance(error.code, str) and isinstance(error.message, str)
    assert error.rule is None or isinstance(error.rule, str)
    assert len(str(error)) < 3000
    error.as_record()


# --------------------------------------------------------------------------- the record

RECORD_KEYS = [
    "platform", "account", "status", "hash", "key", "attempt", "postId", "uri", "cid", "url",
    "did", "rkey", "commentRkey", "scheduledAt", "fixedHash", "gates", "at", "warnings",
    "error", "parts", "earlier", "replyRoot", "unpublishedAt",
]  # fmt: skip
record_values = st.one_of(
    json_values,
    st.sampled_from(["pending", "queued", "published", "failed", "rejected", "canceled"]),
    st.just("pub1-l-abc"),
    st.integers(min_value=0, max_value=10**31),
)


@st.composite
def post_files(draw: Any) -> bytes:
    targets = draw(
        st.dictionaries(
            st.sampled_from(["x", "bluesky", "me"]),
            st.dictionaries(st.sampled_from(RECORD_KEYS), record_values, max_size=8),
            max_size=2,
        )
    )
    block: dict[str, Any] = {
        "env": draw(st.sampled_from(["live", "sandbox", 3])),
        "targets": targets,
    }
    block.update(
        draw(
            st.dictionaries(st.sampled_from(["media", "hash", "api", "x"]), json_values, max_size=2)
        )
    )
    front: dict[str, Any] = {"targets": ["x"], "published": block}
    release = draw(
        st.one_of(
            st.none(),
            st.dictionaries(
                st.sampled_from(["x", "x#part2", "x#partx", "x#part1", "me", "x#part99999"]),
                st.one_of(st.integers(min_value=-5, max_value=10**31), json_values),
                max_size=2,
            ),
        )
    )
    if release is not None:
        front["release"] = release
    text = yaml.safe_dump(front, sort_keys=False, allow_unicode=True)
    if draw(st.booleans()) and "  x:\n" in text:
        text = text.replace("  x:\n", "  x: &a\n", 1)  # an anchor in the block
    return f"---\n{text}---\nhello\n".encode()


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzzrepo")
    (root / "posts").mkdir()
    (root / "publisher.toml").write_text(
        'posts = "posts"\n\n[accounts]\nx = "twitter"\n\n'
        '[accounts.me]\nbluesky = "alice.test"\npds = "http://127.0.0.1:9"\n'
    )
    return root


@settings(FUZZ, max_examples=200)
@given(raw=post_files())
def test_any_published_block_is_a_located_problem_or_a_record(repo: Path, raw: bytes) -> None:
    from publisher.config import load_config
    from publisher.plan import make_plan
    from publisher.record import PublishedRecord
    from publisher.run import Env, Run
    from publisher.validate import load_post

    path = repo / "posts" / "p.md"
    path.write_bytes(raw)
    post = load_post(path, load_config(repo), now=NOW)
    lines = raw.count(b"\n") + 1
    for problem in post.problems:
        assert problem.path == "posts/p.md" and 1 <= problem.line <= lines, str(problem)
    if post.record is not None:
        assert isinstance(post.record, PublishedRecord)
    for env in ("live", "sandbox"):
        plan = make_plan([post], Run(Env(env)), now=NOW)
        json.dumps(plan.as_dict(), default=str)
