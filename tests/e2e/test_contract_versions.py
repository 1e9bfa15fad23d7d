"""Where letmepost server versions differ on purpose (docs/letmepost-servers.md): each
behaviour asserted on the real fork at d28bf71, on the sandbox playing that fork
(`publisher sandbox --server-version fork-d28bf71`), and on the sandbox playing the
newest server; each test says which version does what."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

FAR = "2031-04-01T09:00:00Z"


@dataclass
class Version:
    name: str  # "newest" | "fork-d28bf71"
    where: str  # "sandbox" | "real"
    url: str
    live_key: str
    test_key: str
    bluesky: str  # an account id
    sandbox: Any = None
    pds: Any = None
    did: str = ""

    def call(self, method: str, path: str, key: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key or self.live_key}", **kw.pop("headers", {})}
        return httpx.request(  # plain HTTP on 127.0.0.1: no TLS context to build per call
            method, self.url + path, headers=headers, timeout=30, verify=False, **kw
        )

    def queue(self, text: str) -> str:
        body = {"targets": [{"accountId": self.bluesky}], "text": text, "scheduledAt": FAR}
        r = self.call("POST", "/v1/posts", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
        assert r.status_code == 202, r.text
        return r.json()["results"][0]["postId"]


def _sandbox(tmp_path_factory: pytest.TempPathFactory, version: str) -> Iterator[Any]:
    from publisher.sandbox import SandboxConfig, start_sandbox

    db = tmp_path_factory.mktemp(f"sandbox-{version}") / "sandbox.db"
    handle = start_sandbox(db, config=SandboxConfig(rate_limit=None, server_version=version))
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def sandbox_newest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from _sandbox(tmp_path_factory, "newest")


@pytest.fixture(scope="module")
def sandbox_fork(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from _sandbox(tmp_path_factory, "fork-d28bf71")


@pytest.fixture(
    params=[
        "sandbox:newest",
        "sandbox:fork-d28bf71",
        pytest.param("real:fork-d28bf71", marks=pytest.mark.real_server),
    ]
)
def version(request: pytest.FixtureRequest) -> Version:
    where, name = request.param.split(":")
    if where == "real":
        real = request.getfixturevalue("letmepost_server")
        return Version(
            name,
            where,
            real.url,
            real.live_key,
            real.test_key,
            real.alice_id,
            pds=real.pds,
            did=real.alice_did,
        )
    sb = request.getfixturevalue("sandbox_newest" if name == "newest" else "sandbox_fork")
    sb.reset()
    bluesky = next(a["id"] for a in sb.accounts if a["platform"] == "bluesky")
    return Version(name, where, sb.url, sb.live_key, sb.test_key, bluesky, sandbox=sb)


def test_patch_applies_text_on_the_newest_server_and_keeps_it_on_the_fork(
    version: Version,
) -> None:
    old = f"Queued {uuid.uuid4().hex[:8]}"
    post_id = version.queue(old)
    r = version.call(
        "PATCH",
        f"/v1/posts/{post_id}",
        json={"text": "New words", "scheduledAt": "2031-04-02T09:00:00Z"},
    )
    assert r.status_code == 200, r.text  # both answer 200 ...
    answer = r.json()
    assert answer["scheduledAt"].startswith("2031-04-02T09:00:00")  # ... and move the time
    held = version.call("GET", f"/v1/posts/{post_id}").json()["text"]
    if version.name == "newest":
        assert answer["text"] == held == "New words"
    else:  # the fork reads scheduledAt only: the text stays, and its answer shows so
        assert answer["text"] == held == old
        # A PATCH without scheduledAt is refused there (its body schema requires it).
        r = version.call("PATCH", f"/v1/posts/{post_id}", json={"text": "Only text"})
        assert (r.status_code, r.json()["error"]["rule"]) == (400, "scheduledAt")


def test_retry_exists_on_the_newest_server_only(version: Version) -> None:
    post_id = version.queue(f"To cancel {uuid.uuid4().hex[:8]}")
    assert version.call("DELETE", f"/v1/posts/{post_id}").status_code == 200
    r = version.call("POST", f"/v1/posts/{post_id}/retry")
    if version.name == "newest":
        assert r.status_code == 200 and r.json()["status"] == "queued"
    else:
        assert r.status_code == 404


def test_a_test_key_publishes_on_the_fork_and_not_on_the_newest_server(
    version: Version,
) -> None:
    text = f"Test key {uuid.uuid4().hex[:8]}"
    body = {"targets": [{"platform": "bluesky"}], "text": text}
    if version.where == "real":  # two Bluesky accounts there: name one
        body = {"targets": [{"accountId": version.bluesky}], "text": text}
    r = version.call(
        "POST",
        "/v1/posts",
        key=version.test_key,
        json=body,
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 200, r.text
    result = r.json()["results"][0]
    assert result["status"] == "published"
    codes = [w["code"] for w in result.get("warnings") or []]
    if version.name == "newest":  # sandbox mode: nothing reaches a platform
        assert codes == ["sandbox.no_platform_write"]
    else:
        assert codes == []
    if version.where == "real":  # a real record on the PDS
        r = httpx.get(
            f"{version.pds.url}/xrpc/com.atproto.repo.getRecord",
            params={
                "repo": version.did,
                "collection": "app.bsky.feed.post",
                "rkey": result["uri"].rsplit("/", 1)[-1],
            },
            timeout=30,
        )
        assert r.status_code == 200 and r.json()["value"]["text"] == text
    else:
        (row,) = [p for p in version.sandbox.posts() if p["text"] == text]
        assert row["sandbox"] is (version.name == "newest")


def _jsonb_ordered(value: Any) -> bool:
    if isinstance(value, dict):
        keys = list(value)
        return keys == sorted(keys, key=lambda k: (len(k), k)) and all(
            _jsonb_ordered(v) for v in value.values()
        )
    if isinstance(value, list):
        return all(_jsonb_ordered(v) for v in value)
    return True


def test_a_stored_answer_comes_back_with_the_same_values(version: Version) -> None:
    """publisher reads answers by key: on the fork a replay has its keys in jsonb order
    (shorter first), on the newest server (the sandbox) as first sent."""
    body = {"targets": [{"accountId": version.bluesky}], "text": f"Replay {uuid.uuid4().hex[:8]}"}
    key = uuid.uuid4().hex
    first = version.call("POST", "/v1/posts", json=body, headers={"Idempotency-Key": key})
    again = version.call("POST", "/v1/posts", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 200
    assert again.headers.get("idempotency-replayed") == "true"
    assert json.loads(again.content) == json.loads(first.content)  # the same values
    assert _jsonb_ordered(json.loads(again.content)) is (version.name != "newest")


@pytest.mark.parametrize("version", ["sandbox:newest", "sandbox:fork-d28bf71"], indirect=True)
def test_two_requests_at_once_under_one_key(version: Version) -> None:
    """The newest server claims a key while its request runs (the second gets 409
    in_progress); the fork has no claim: both run, two posts. (On the sandbox, whose
    latency fault holds the first request after its claim; publisher never sends two
    at once under one key: tests/clients/test_letmepost.py.)"""
    # (not on the real server: its timing cannot be held; the sandbox plays each version)
    version.sandbox.set_faults(latency_ms=800)
    text = f"Twice {uuid.uuid4().hex[:8]}"
    body = {"targets": [{"accountId": version.bluesky}], "text": text}
    key = uuid.uuid4().hex
    statuses: list[int] = []

    def send() -> None:
        r = version.call("POST", "/v1/posts", json=body, headers={"Idempotency-Key": key})
        statuses.append(r.status_code)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = [p for p in version.sandbox.posts() if p["text"] == text]
    if version.name == "newest":
        assert sorted(statuses) == [200, 409] and len(rows) == 1
    else:
        assert statuses == [200, 200] and len(rows) == 2


@pytest.mark.parametrize("version", ["sandbox:newest", "sandbox:fork-d28bf71"], indirect=True)
def test_publisher_records_a_replayed_answer_whatever_its_key_order(tmp_path, version) -> None:
    """The answer is lost after the server stored the post (the sandbox drops the
    connection); the retry under the same key gets the stored answer: on the fork with
    its keys in jsonb order. publisher records the same post either way."""
    from tests.helpers import cli_env, make_repo, record, run_cli

    # (not on the real server: it cannot drop an answer; the sandbox plays each version)
    version.sandbox.set_faults(drop_after_store=1)
    text = f"Lost answer {uuid.uuid4().hex[:8]}"
    repo = make_repo(tmp_path, {"a.md": f"---\ntargets: [bluesky]\n---\n{text}\n"})
    done = run_cli(["publish"], repo, cli_env(version.url, version.live_key))
    assert done.returncode == 0, done.stdout + done.stderr
    (row,) = [p for p in version.sandbox.posts() if p["text"] == text]
    rec = record(repo / "posts/a.md")["targets"]["bluesky"]
    assert (rec["postId"], rec["uri"], rec["status"]) == (row["id"], row["uri"], "published")


@pytest.mark.parametrize("version", ["sandbox:newest", "sandbox:fork-d28bf71"], indirect=True)
def test_a_request_that_timed_out_is_not_sent_again_beside_itself(tmp_path, version) -> None:
    """The client gives up waiting while the server still works on the post. On the
    fork (no in-progress claim) a retry under the same key would run beside the first
    request: a second post. publisher does not retry a keyed request that timed out:
    the key stays pending, the next run resends it and gets the stored answer."""
    import time

    from publisher.apply import Runner
    from publisher.clients.letmepost import LetmepostClient, RetryPolicy
    from publisher.config import load_config
    from publisher.files import find_posts
    from publisher.plan import make_plan
    from publisher.run import Env, Run
    from publisher.validate import load_post
    from tests.helpers import cli_env, make_repo, record, run_cli

    # (not on the real server: its timing cannot be held; the sandbox plays each version)
    text = f"Slow server {uuid.uuid4().hex[:8]}"
    repo = make_repo(tmp_path, {"a.md": f"---\ntargets: [bluesky]\n---\n{text}\n"})
    version.sandbox.set_faults(latency_ms={"ms": 1500, "count": 1})
    config = load_config(repo)
    posts = [load_post(p, config) for p in find_posts([repo / "posts"])]
    run = Run(Env.LIVE, version.url)
    retry = RetryPolicy(attempts=4, base=0.05)
    with LetmepostClient(version.url, version.live_key, retry=retry, timeout=0.5) as client:
        first = Runner(run, client=client).run(make_plan(posts, run))
        assert client.stats["requests"] == 1  # not retried beside itself
    assert [o.status for o in first.outcomes] == ["error"]
    assert record(repo / "posts/a.md")["targets"]["bluesky"]["status"] == "pending"
    time.sleep(1.5)  # the first request finishes on the server meanwhile
    done = run_cli(["publish"], repo, cli_env(version.url, version.live_key))
    assert done.returncode == 0, done.stdout + done.stderr
    assert len([p for p in version.sandbox.posts() if p["text"] == text]) == 1
    assert record(repo / "posts/a.md")["targets"]["bluesky"]["status"] == "published"


def test_publisher_sandbox_server_version_plays_the_fork(tmp_path) -> None:
    """`publisher sandbox --server-version fork-d28bf71`: what a self-hosting user starts
    to try their setup against the older server."""
    import re
    import subprocess
    import sys

    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "publisher", "sandbox", "--port", "0", "--db", "sb.db"),
            *("--server-version", "fork-d28bf71"),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                break
        out = "".join(lines)
        assert "plays: fork-d28bf71" in out
        assert "publishes like the live key" in out
        url = re.search(r"on (http://\S+)", out).group(1)  # type: ignore[union-attr]
        key = re.search(r"(lmp_test_\S+)", out).group(1)  # type: ignore[union-attr]
        r = httpx.post(
            f"{url}/v1/posts/{uuid.uuid4()}/retry",
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        assert r.status_code == 404 and "error" not in r.text  # no such route there
        bad = subprocess.run(
            [sys.executable, "-m", "publisher", "sandbox", "--server-version", "v9"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert bad.returncode == 2 and "fork-d28bf71" in bad.stderr
    finally:
        proc.terminate()
        proc.wait(15)
