"""One contract, two servers: the letmepost path of publisher against the embedded sandbox
and against the real letmepost server (the open-source fork at d28bf71, from the
``letmepost_server`` fixture), with the same assertions.

Both servers have the same accounts: Bluesky ``alice`` in the default profile, Bluesky
``bob`` in a second profile, an X and a Threads account in the default profile. The
real server publishes its Bluesky posts onto the local PDS (counted there); its X and
Threads cannot be reached (their targets fail with ``platform_unavailable``), and the
sandbox is set to fail them the same way. Where the two server versions differ on
purpose (docs/letmepost-servers.md), the test says which version does what.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.sandbox import make_png
from tests.helpers import cli_env, make_repo, record, run_cli

ALICE = str(uuid.UUID("6f1c2d3e-0000-4000-8000-00000000a11c"))
BOB = str(uuid.UUID("6f1c2d3e-0000-4000-8000-000000000b0b"))
X = str(uuid.UUID("6f1c2d3e-0000-4000-8000-0000000000e1"))
THREADS = str(uuid.UUID("6f1c2d3e-0000-4000-8000-0000000000e2"))
PROFILE2 = str(uuid.UUID("6f1c2d3e-0000-4000-8000-0000000000f2"))
UNREACHABLE = {"code": "platform_unavailable", "count": 1_000_000}
FAR = "2031-03-01T09:00:00Z"


@dataclass
class Server:
    """One server the contract runs against, seen alike from the tests."""

    version: str  # "sandbox" (plays the newest server) or "fork-d28bf71"
    url: str
    key: str
    profile: str
    alice: str
    bob: str
    x: str
    threads: str
    pds: Any = None  # the real server's PDS (LocalPds)
    sandbox: Any = None  # the sandbox's handle
    dids: dict[str, str] = field(default_factory=dict)
    fork: bool = False  # the sandbox playing the fork at d28bf71

    @property
    def real(self) -> bool:
        return self.sandbox is None

    @property
    def patch_edits_text(self) -> bool:
        """Whether `PATCH /v1/posts/{id}` applies text and media (the newest server
        does; the fork at d28bf71 reads `scheduledAt` only and answers 200)."""
        return not (self.real or self.fork)

    def config(self, extra: str = "") -> str:
        return (
            f'posts = "posts"\nprofile = "{self.profile}"\n{extra}\n[accounts]\n'
            f'bsky = {{ id = "{self.alice}", platform = "bluesky" }}\n'
            f'bob = {{ id = "{self.bob}", platform = "bluesky" }}\n'
            f'x = {{ id = "{self.x}", platform = "twitter" }}\n'
            f'threads-main = {{ id = "{self.threads}", platform = "threads" }}\n'
        )

    def env(self, **extra: str) -> dict[str, str]:
        return cli_env(self.url, self.key, **extra)

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.key}"}
        return httpx.request(  # plain HTTP on 127.0.0.1: no TLS context to build per call
            method, self.url + path, headers=headers, timeout=30, verify=False, **kw
        )

    def server_post(self, post_id: str) -> dict[str, Any]:
        r = self.api("GET", f"/v1/posts/{post_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def bluesky_out(self, account: str = "alice") -> list[dict[str, Any]]:
        """Every post that went out on Bluesky for `account`: {uri, text, parent,
        images}, the first comments among them (the ground truth: the PDS's records
        for the real server, the sandbox's published rows for the sandbox)."""
        if self.sandbox is None:
            did = self.dids[account]
            out, cursor = [], None
            while True:
                params = {"repo": did, "collection": "app.bsky.feed.post", "limit": 100}
                if cursor:
                    params["cursor"] = cursor
                r = httpx.get(
                    f"{self.pds.url}/xrpc/com.atproto.repo.listRecords",
                    params=params,
                    timeout=30,
                    verify=False,  # plain HTTP on 127.0.0.1: no TLS context per page
                )
                r.raise_for_status()
                page = r.json()
                for rec in page["records"]:
                    value = rec["value"]
                    embed = value.get("embed") or {}
                    out.append(
                        {
                            "uri": rec["uri"],
                            "text": value.get("text"),
                            "parent": ((value.get("reply") or {}).get("parent") or {}).get("uri"),
                            "root": ((value.get("reply") or {}).get("root") or {}).get("uri"),
                            "images": len(embed.get("images") or []),
                        }
                    )
                cursor = page.get("cursor")
                if not cursor or not page["records"]:
                    return out
        account_id = self.alice if account == "alice" else self.bob
        out = []
        for row in self.sandbox.posts():
            if row["platform"] != "bluesky" or row["accountId"] != account_id:
                continue
            if row["status"] != "published":
                continue
            opts = row.get("options") or {}
            out.append(
                {
                    "uri": row["uri"],
                    "text": row["text"],
                    "parent": opts.get("replyToUri"),
                    "root": opts.get("replyRootUri"),
                    "images": len(row.get("media") or []),
                }
            )
            if row.get("firstCommentUri"):
                out.append(
                    {
                        "uri": row["firstCommentUri"],
                        "text": row["firstComment"],
                        "parent": row["uri"],
                        "root": row["uri"],
                        "images": 0,
                    }
                )
        return out

    @property
    def appview(self) -> str:
        """Where Bluesky posts are read back (getRecord): the PDS the real server
        publishes to; the sandbox, which shows its emulated posts the same way."""
        return self.pds.url if self.sandbox is None else self.sandbox.url

    def texts_out(self, text: str, account: str = "alice") -> list[dict[str, Any]]:
        return [p for p in self.bluesky_out(account) if p["text"] == text]

    def due(self, seconds: float) -> str:
        """An ISO time `seconds` from now, in the server's clock."""
        now = time.time()
        if self.sandbox is not None:
            now += self.sandbox.control("GET", "clock").get("offset", 0)
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + seconds))

    def let_time_pass(self, post_id: str, seconds: float) -> dict[str, Any]:
        """Until the queued post `post_id` has gone out (the sandbox's clock is moved;
        the real server is waited for) and return it as the server shows it."""
        if self.sandbox is not None:
            self.sandbox.advance_clock(seconds + 1)
            return self.server_post(post_id)
        deadline = time.monotonic() + seconds + 60
        while True:
            post = self.server_post(post_id)
            if post["status"] not in ("queued", "publishing") or time.monotonic() > deadline:
                return post
            time.sleep(0.5)


def _contract_sandbox(
    tmp_path_factory: pytest.TempPathFactory, version: str = "newest"
) -> Iterator[Any]:
    """A sandbox with the real server's accounts (profiles, platforms)."""
    from publisher.sandbox import SandboxConfig, start_sandbox
    from publisher.sandbox.config import normalize_accounts

    accounts = normalize_accounts(
        [
            {"id": ALICE, "platform": "bluesky", "displayName": "alice.test"},
            {"id": BOB, "platform": "bluesky", "displayName": "bob.test", "profileId": PROFILE2},
            {"id": X, "platform": "twitter", "displayName": "publisher_x"},
            {"id": THREADS, "platform": "threads", "displayName": "publisher_threads"},
        ]
    )
    db = tmp_path_factory.mktemp("contract") / "sandbox.db"
    config = SandboxConfig(rate_limit=None, accounts=accounts, server_version=version)
    handle = start_sandbox(db, config=config)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="session")
def contract_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from _contract_sandbox(tmp_path_factory)


@pytest.fixture(scope="session")
def contract_sandbox_fork(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The sandbox playing the fork at d28bf71 (`--server-version fork-d28bf71`)."""
    yield from _contract_sandbox(tmp_path_factory, "fork-d28bf71")


@pytest.fixture(params=["sandbox", pytest.param("fork-d28bf71", marks=pytest.mark.real_server)])
def server(request: pytest.FixtureRequest) -> Server:
    if request.param in ("sandbox", "sandbox-fork-d28bf71"):
        from publisher.sandbox.config import DEFAULT_PROFILE_ID

        fork = request.param != "sandbox"
        sb = request.getfixturevalue("contract_sandbox_fork" if fork else "contract_sandbox")
        sb.reset()
        sb.set_faults(twitter=UNREACHABLE, threads=UNREACHABLE)
        return Server(
            request.param,
            sb.url,
            sb.live_key,
            DEFAULT_PROFILE_ID,
            ALICE,
            BOB,
            X,
            THREADS,
            sandbox=sb,
            fork=fork,
        )
    real = request.getfixturevalue("letmepost_server")
    return Server(
        real.version,
        real.url,
        real.live_key,
        real.profile_id,
        real.alice_id,
        real.bob_id,
        real.x_id,
        real.threads_id,
        pds=real.pds,
        dids={"alice": real.alice_did, "bob": real.bob_did},
    )


def unique(words: str) -> str:
    """A text no other test (or earlier session on the same server) has used."""
    return f"{words} [{uuid.uuid4().hex[:10]}]"


def md(targets: str, body: str, **keys: str) -> str:
    extra = "".join(f"{k}: {v}\n" for k, v in keys.items())
    return f"---\ntargets: {targets}\n{extra}---\n{body}\n"


def publish(server: Server, repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(["publish", *args], repo, server.env())


# -- publishing -------------------------------------------------------------------------


def test_multi_target_with_alias_uuid_and_platform_name(tmp_path: Path, server: Server) -> None:
    text = unique("Multi-target launch.")
    targets = f"[bsky, {server.bob}, x, threads]"
    repo = make_repo(tmp_path, {"a.md": md(targets, text)}, server.config())
    done = publish(server, repo)
    assert done.returncode == 1, done.stdout + done.stderr  # X and Threads cannot be reached
    targets_rec = record(repo / "posts/a.md")["targets"]
    assert targets_rec["bsky"]["status"] == "published"
    assert targets_rec["bsky"]["account"] == server.alice
    assert targets_rec[server.bob]["status"] == "published"
    assert targets_rec[server.bob]["platform"] == "bluesky"  # learnt from the answer
    for label in ("x", "threads"):
        assert targets_rec[label]["status"] == "failed"
        assert targets_rec[label]["error"]["code"] == "platform_unavailable"
    (alice_post,) = server.texts_out(text, "alice")
    (bob_post,) = server.texts_out(text, "bob")
    assert targets_rec["bsky"]["uri"] == alice_post["uri"]
    assert targets_rec[server.bob]["uri"] == bob_post["uri"]

    # A rerun with --retry-failed tries X and Threads again; nothing published goes twice.
    again = publish(server, repo, "--retry-failed")
    assert again.returncode == 1, again.stdout + again.stderr
    assert len(server.texts_out(text, "alice")) == 1 and len(server.texts_out(text, "bob")) == 1
    assert record(repo / "posts/a.md")["targets"]["x"]["attempt"] == 2


def test_a_platform_name_picks_the_one_account_of_the_configured_profile(
    tmp_path: Path, server: Server
) -> None:
    text = unique("By platform name.")
    repo = make_repo(tmp_path, {"a.md": md("[bluesky]", text)}, server.config())
    done = publish(server, repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert record(repo / "posts/a.md")["targets"]["bluesky"]["account"] == server.alice
    assert len(server.texts_out(text)) == 1 and server.texts_out(text, "bob") == []


def test_a_thread_to_an_account_uuid_replies_part_by_part(tmp_path: Path, server: Server) -> None:
    first, second, third = unique("Thread one."), unique("Thread two."), unique("Thread three.")
    body = f"{first}\n---\n{second}\n---\n{third}"
    repo = make_repo(tmp_path, {"t.md": md(f"[{server.alice}]", body)}, server.config())
    done = publish(server, repo)
    assert done.returncode == 0, done.stdout + done.stderr
    rec = record(repo / "posts/t.md")["targets"][server.alice]
    (p1,) = server.texts_out(first)
    (p2,) = server.texts_out(second)
    (p3,) = server.texts_out(third)
    assert p2["parent"] == p1["uri"] and p3["parent"] == p2["uri"]
    assert rec["uri"] == p1["uri"]
    assert [part["uri"] for part in rec["parts"]] == [p2["uri"], p3["uri"]]


def test_first_comment_is_a_reply_to_the_post(tmp_path: Path, server: Server) -> None:
    text, comment = unique("With a comment."), unique("The comment.")
    repo = make_repo(tmp_path, {"c.md": md("[bsky]", text, firstComment=comment)}, server.config())
    done = publish(server, repo)
    assert done.returncode == 0, done.stdout + done.stderr
    rec = record(repo / "posts/c.md")["targets"]["bsky"]
    (main,) = server.texts_out(text)
    (reply,) = server.texts_out(comment)
    assert reply["parent"] == main["uri"]
    assert rec["firstCommentUri"] == reply["uri"]


def test_media_are_uploaded_once_and_go_out_with_the_post(tmp_path: Path, server: Server) -> None:
    text = unique("With a picture.")
    body = f"---\ntargets: [bsky]\nmedia:\n  - path: pic.png\n    alt: A picture\n---\n{text}\n"
    repo = make_repo(tmp_path, {"m.md": body}, server.config())
    (repo / "posts/pic.png").write_bytes(make_png(2000))
    done = publish(server, repo)
    assert done.returncode == 0, done.stdout + done.stderr
    block = record(repo / "posts/m.md")
    assert len(block["media"]) == 1 and next(iter(block["media"].values())).startswith("med_")
    (out,) = server.texts_out(text)
    assert out["images"] == 1


def test_a_draft_sends_nothing(tmp_path: Path, server: Server) -> None:
    text = unique("Not yet.")
    repo = make_repo(tmp_path, {"d.md": md("[bsky]", text, draft="true")}, server.config())
    done = publish(server, repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert record(repo / "posts/d.md") == {}
    assert server.texts_out(text) == []


# -- scheduled posts --------------------------------------------------------------------


def _queued(repo: Path, label: str = "bsky") -> dict[str, Any]:
    rec = record(repo / "posts/s.md")["targets"][label]
    assert rec["status"] == "queued", rec
    return rec


def _edit(repo: Path, old: str, new: str) -> None:
    path = repo / "posts/s.md"
    path.write_text(path.read_text().replace(old, new, 1))


@pytest.mark.parametrize(
    "server", ["sandbox", "sandbox-fork-d28bf71", "fork-d28bf71"], indirect=True
)
def test_scheduled_then_edited_in_text_time_and_media_then_canceled(
    tmp_path: Path, server: Server
) -> None:
    text = unique("Queued words.")
    repo = make_repo(tmp_path, {"s.md": md("[bsky]", text, scheduledAt=FAR)}, server.config())
    (repo / "posts/pic.png").write_bytes(make_png(1500))
    done = publish(server, repo)
    assert done.returncode == 0, done.stdout + done.stderr
    first = _queued(repo)
    assert server.server_post(first["postId"])["text"] == text

    # The text: the newest server applies it in place (PATCH); the fork at d28bf71
    # answers 200 and keeps the old text, which publisher sees, so it cancels the
    # queued post and creates it anew. Either way the server holds the new text.
    new_text = unique("Edited words.")
    _edit(repo, text, new_text)
    done = run_cli(["sync"], repo, server.env())
    assert done.returncode == 0, done.stdout + done.stderr
    after_text = _queued(repo)
    held = server.server_post(after_text["postId"])
    assert held["text"] == new_text and held["status"] == "queued"
    if server.patch_edits_text:
        assert after_text["postId"] == first["postId"]
    else:
        assert after_text["postId"] != first["postId"]
        assert server.server_post(first["postId"])["status"] == "canceled"

    # The time: a PATCH on both versions, the same post.
    later = "2031-03-02T10:30:00Z"
    _edit(repo, f"scheduledAt: {FAR}", f"scheduledAt: {later}")
    done = run_cli(["sync"], repo, server.env())
    assert done.returncode == 0, done.stdout + done.stderr
    after_time = _queued(repo)
    assert after_time["postId"] == after_text["postId"]
    assert after_time["scheduledAt"] == later
    held = server.server_post(after_time["postId"])
    assert held["scheduledAt"].startswith("2031-03-02T10:30:00") and held["text"] == new_text

    # The media: like the text.
    path = repo / "posts/s.md"
    path.write_text(
        path.read_text().replace(
            f"scheduledAt: {later}",
            f"scheduledAt: {later}\nmedia:\n  - path: pic.png\n    alt: A picture",
            1,
        )
    )
    done = run_cli(["sync"], repo, server.env())
    assert done.returncode == 0, done.stdout + done.stderr
    after_media = _queued(repo)
    held = server.server_post(after_media["postId"])
    (media_id,) = record(path)["media"].values()
    assert [m.get("mediaId") for m in held["mediaRefs"]] == [media_id]
    assert held["text"] == new_text
    assert (after_media["postId"] == after_time["postId"]) is server.patch_edits_text

    # Cancel: a draft again.
    path.write_text(path.read_text().replace("targets: [bsky]", "targets: [bsky]\ndraft: true"))
    done = run_cli(["sync"], repo, server.env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert record(path)["targets"]["bsky"]["status"] == "canceled"
    assert server.server_post(after_media["postId"])["status"] == "canceled"
    assert server.texts_out(text) == [] and server.texts_out(new_text) == []


def test_a_scheduled_post_goes_out_and_sync_records_it(tmp_path: Path, server: Server) -> None:
    text = unique("On time.")
    when = server.due(15)
    repo = make_repo(tmp_path, {"s.md": md("[bsky]", text, scheduledAt=when)}, server.config())
    done = publish(server, repo)
    assert done.returncode == 0, done.stdout + done.stderr
    queued = _queued(repo)
    assert server.let_time_pass(queued["postId"], 15)["status"] == "published"
    done = run_cli(["sync"], repo, server.env())
    assert done.returncode == 0, done.stdout + done.stderr
    rec = record(repo / "posts/s.md")["targets"]["bsky"]
    (out,) = server.texts_out(text)
    assert rec["status"] == "published" and rec["uri"] == out["uri"]


# -- verify, kill -9 ----------------------------------------------------------------------


def test_verify_reads_back_what_went_out(tmp_path: Path, server: Server) -> None:
    text = unique("Check me.")
    repo = make_repo(tmp_path, {"v.md": md("[bsky]", text)}, server.config())
    assert publish(server, repo).returncode == 0
    env = server.env(PUBLISHER_APPVIEW_URL=server.appview)
    done = run_cli(["verify", "--json"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    (check,) = json.loads(done.stdout)["checks"]
    assert check["state"] == "ok"
    # The post deleted upstream is drift (the real one on the PDS; the sandbox's is not
    # deletable: a record that names another post is asked for instead).
    path = repo / "posts/v.md"
    uri = record(path)["targets"]["bsky"]["uri"]
    path.write_text(path.read_text().replace(uri, uri[:-4] + "2222"))
    done = run_cli(["verify", "--json"], repo, env)
    assert done.returncode == 1
    assert json.loads(done.stdout)["checks"][0]["state"] == "deleted"


def test_a_bluesky_reply_through_letmepost_names_its_parent_and_root(
    tmp_path: Path, server: Server
) -> None:
    """`replyTo:` a Bluesky post on a letmepost Bluesky target: publisher reads the
    parent's and the thread root's uri + cid (through PUBLISHER_APPVIEW_URL) when it
    publishes, and sends them; on the real server the replies land on the PDS."""
    parent_text, reply_text, deeper_text = unique("Parent."), unique("Reply."), unique("Deeper.")
    repo = make_repo(tmp_path, {"p.md": md("[bsky]", parent_text)}, server.config())
    env = server.env(PUBLISHER_APPVIEW_URL=server.appview)
    assert run_cli(["publish"], repo, env).returncode == 0
    parent_uri = record(repo / "posts/p.md")["targets"]["bsky"]["uri"]

    (repo / "posts/r.md").write_text(md("[bsky]", reply_text, replyTo=parent_uri))
    done = run_cli(["publish", "posts/r.md"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    (reply,) = server.texts_out(reply_text)
    assert reply["parent"] == parent_uri and reply["root"] == parent_uri
    assert record(repo / "posts/r.md")["targets"]["bsky"]["uri"] == reply["uri"]

    did, _, rkey = reply["uri"].removeprefix("at://").partition("/app.bsky.feed.post/")
    web = f"https://bsky.app/profile/{did}/post/{rkey}"
    (repo / "posts/d.md").write_text(md("[bsky]", deeper_text, replyTo=web))
    done = run_cli(["publish", "posts/d.md"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    (deeper,) = server.texts_out(deeper_text)
    assert deeper["parent"] == reply["uri"] and deeper["root"] == parent_uri

    # A parent that cannot be found: nothing is sent, the run says why.
    missing = parent_uri[:-4] + "2222"
    (repo / "posts/m.md").write_text(md("[bsky]", unique("Orphan."), replyTo=missing))
    done = run_cli(["publish", "posts/m.md"], repo, env)
    assert done.returncode == 1 and "no such post" in done.stdout + done.stderr
    assert record(repo / "posts/m.md") == {}


def test_kill_9_mid_run_then_rerun_publishes_each_post_once(tmp_path: Path, server: Server) -> None:
    texts = [unique(f"Crash post {i}.") for i in range(6)]
    repo = make_repo(
        tmp_path, {f"k{i}.md": md("[bsky]", t) for i, t in enumerate(texts)}, server.config()
    )
    if server.sandbox is not None:
        server.sandbox.set_faults(latency_ms=400)
    proc = subprocess.Popen(
        [sys.executable, "-m", "publisher", "publish"],
        cwd=repo,
        env=server.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    if server.sandbox is not None:
        server.sandbox.set_faults(latency_ms=0)
    time.sleep(1)  # what the killed run left in flight lands on the server
    done = publish(server, repo)
    assert done.returncode == 0, done.stdout + done.stderr
    for i, text in enumerate(texts):
        (out,) = server.texts_out(text)
        assert record(repo / f"posts/k{i}.md")["targets"]["bsky"]["uri"] == out["uri"]
