"""Threads, replies, quotes and reposts through a direct Bluesky account, on the real
PDS: root and parent refs, a reply to an existing post (a bsky.app URL with a
handle), a quote, a repost exactly once (its record key written before it exists)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from publisher.clients.atproto import REPOST_COLLECTION, BlueskyAccount, parse_post_uri
from tests.e2e.test_direct import config, direct_env, md, records_with
from tests.fixtures.pds import LocalPds
from tests.helpers import make_repo, record, run_cli


@pytest.fixture
def account(pds: LocalPds) -> BlueskyAccount:
    return BlueskyAccount(pds.handle, pds.url, pds.password)


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:8]


def value_of(account: BlueskyAccount, uri: str) -> dict[str, Any]:
    did, rkey = parse_post_uri(uri)
    found = account.get_record("app.bsky.feed.post", rkey, repo=did)
    assert found is not None, uri
    return found["value"]


def test_a_direct_thread_links_every_part_to_its_parent_and_root(
    tmp_path: Path, pds: LocalPds, account: BlueskyAccount, tag: str
) -> None:
    parts = [f"Direct thread {tag}, part {i}." for i in (1, 2, 3)]
    repo = make_repo(tmp_path, {"t.md": md("\n---\n".join(parts))}, config(pds))
    done = run_cli(["publish"], repo, direct_env(pds))
    assert done.returncode == 0, done.stdout + done.stderr
    rec = record(repo / "posts/t.md")["targets"]["me"]
    uris = [rec["uri"], *(p["uri"] for p in rec["parts"])]
    cids = [rec["cid"], *(p["cid"] for p in rec["parts"])]
    assert [value_of(account, u)["text"] for u in uris] == parts
    assert "reply" not in value_of(account, uris[0])
    for n in (1, 2):
        reply = value_of(account, uris[n])["reply"]
        assert reply["parent"] == {"uri": uris[n - 1], "cid": cids[n - 1]}
        assert reply["root"] == {"uri": uris[0], "cid": cids[0]}
    again = run_cli(["publish"], repo, direct_env(pds))
    assert again.returncode == 0 and "nothing to publish" in again.stdout
    assert len(records_with(account, tag)) == 3

    # a part added later replies to the last one
    path = repo / "posts/t.md"
    path.write_text(path.read_text().rstrip("\n") + f"\n---\nDirect thread {tag}, part 4.\n")
    more = run_cli(["publish"], repo, direct_env(pds))
    assert more.returncode == 0, more.stdout + more.stderr
    fourth = record(path)["targets"]["me"]["parts"][2]
    assert value_of(account, fourth["uri"])["reply"]["parent"]["uri"] == uris[2]
    assert len(records_with(account, tag)) == 4


def test_a_reply_to_an_existing_post_by_its_bsky_app_url(
    tmp_path: Path, pds: LocalPds, account: BlueskyAccount, tag: str
) -> None:
    bob = pds.extra["bob.test"]
    bob_account = BlueskyAccount(bob.handle, pds.url, bob.password)
    from publisher.clients.atproto import new_tid

    rkey = new_tid()
    parent_uri, parent_cid = bob_account.create_post(f"Bob asks {tag}", rkey=rkey)
    url = f"https://bsky.app/profile/{bob.handle}/post/{rkey}"
    text = md(f"Alice answers {tag}\n---\nAnd adds {tag}", replyTo=url)
    repo = make_repo(tmp_path, {"r.md": text}, config(pds))
    done = run_cli(["publish"], repo, direct_env(pds))
    assert done.returncode == 0, done.stdout + done.stderr
    rec = record(repo / "posts/r.md")["targets"]["me"]
    reply = value_of(account, rec["uri"])["reply"]
    assert reply["parent"] == reply["root"] == {"uri": parent_uri, "cid": parent_cid}
    second = value_of(account, rec["parts"][0]["uri"])["reply"]
    assert second["root"] == {"uri": parent_uri, "cid": parent_cid}  # the conversation's
    assert second["parent"]["uri"] == rec["uri"]

    gone = md(f"To nothing {tag}", replyTo=f"https://bsky.app/profile/{bob.handle}/post/3zzzz")
    (repo / "posts/gone.md").write_text(gone)
    failed = run_cli(["publish"], repo, direct_env(pds))
    assert failed.returncode == 1 and "gone.md" in failed.stdout
    assert not records_with(account, f"To nothing {tag}")


def test_a_quote_and_a_repost_exactly_once(
    tmp_path: Path, pds: LocalPds, account: BlueskyAccount, tag: str
) -> None:
    bob = pds.extra["bob.test"]
    bob_account = BlueskyAccount(bob.handle, pds.url, bob.password)
    from publisher.clients.atproto import new_tid

    rkey = new_tid()
    subject_uri, subject_cid = bob_account.create_post(f"Worth sharing {tag}", rkey=rkey)
    url = f"https://bsky.app/profile/{bob.did}/post/{rkey}"
    repo = make_repo(
        tmp_path,
        {
            "q.md": md(f"Quoting Bob {tag}", quote=url),
            "rp.md": f"---\ntargets: [me]\nrepost: {subject_uri}\n---\n",
        },
        config(pds),
    )
    plan = json.loads(run_cli(["plan", "--json"], repo, direct_env(pds)).stdout)
    assert {f["path"]: f["state"] for f in plan["files"]} == {
        "posts/q.md": "new",
        "posts/rp.md": "new",
    }
    for _ in range(2):
        done = run_cli(["publish"], repo, direct_env(pds))
        assert done.returncode == 0, done.stdout + done.stderr
    quote = record(repo / "posts/q.md")["targets"]["me"]
    embed = value_of(account, quote["uri"])["embed"]
    assert embed["$type"] == "app.bsky.embed.record"
    assert embed["record"] == {"uri": subject_uri, "cid": subject_cid}
    rp = record(repo / "posts/rp.md")["targets"]["me"]
    assert rp["status"] == "published" and rp["uri"].split("/")[-2] == REPOST_COLLECTION
    reposts = account.get_record(REPOST_COLLECTION, rp["rkey"])
    assert reposts is not None and reposts["value"]["subject"]["uri"] == subject_uri


def test_a_repost_with_a_body_or_through_letmepost_is_an_error(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path,
        {
            "body.md": "---\ntargets: [bluesky]\nrepost: at://did:plc:a/app.bsky.feed.post/3k\n"
            "---\nSome words.\n"
        },
    )
    done = run_cli(["validate"], repo, dict(os.environ))
    out = done.stdout + done.stderr
    assert done.returncode == 1
    assert "repost.body" in out and "repost.direct_only" in out


@pytest.mark.parametrize("at", [1, 2, 3])
def test_kill_9_after_each_part_of_a_direct_thread_then_rerun(
    tmp_path: Path, pds: LocalPds, account: BlueskyAccount, tag: str, at: int
) -> None:
    from tests.e2e.test_direct import run_killed

    parts = [f"Crash thread {tag} part {i}." for i in (1, 2, 3)]
    repo = make_repo(tmp_path, {"t.md": md("\n---\n".join(parts))}, config(pds))
    killed = run_killed(repo, direct_env(pds), at=at, on="after create_post")
    assert killed.returncode == -9, killed.stderr
    assert len(records_with(account, f"Crash thread {tag}")) == at  # created, not all recorded
    done = run_cli(["publish"], repo, direct_env(pds))
    assert done.returncode == 0, done.stdout + done.stderr
    found = records_with(account, f"Crash thread {tag}")
    assert sorted(r["value"]["text"] for r in found) == sorted(parts)  # each part once
    rec = record(repo / "posts/t.md")["targets"]["me"]
    uris = [rec["uri"], *(p["uri"] for p in rec["parts"])]
    for n in (1, 2):
        assert value_of(account, uris[n])["reply"]["parent"]["uri"] == uris[n - 1]


def test_kill_9_after_a_repost_is_created_then_rerun_reposts_once(
    tmp_path: Path, pds: LocalPds, account: BlueskyAccount, tag: str
) -> None:
    from publisher.clients.atproto import new_tid
    from tests.e2e.test_direct import run_killed

    bob = pds.extra["bob.test"]
    bob_account = BlueskyAccount(bob.handle, pds.url, bob.password)
    subject_uri, _ = bob_account.create_post(f"Repost me {tag}", rkey=new_tid())
    repo = make_repo(
        tmp_path, {"rp.md": f"---\ntargets: [me]\nrepost: {subject_uri}\n---\n"}, config(pds)
    )
    killed = run_killed(repo, direct_env(pds), at=1, on="after create_repost")
    assert killed.returncode == -9, killed.stderr
    assert record(repo / "posts/rp.md")["targets"]["me"]["status"] == "pending"
    done = run_cli(["publish"], repo, direct_env(pds))
    assert done.returncode == 0, done.stdout + done.stderr
    mine = [
        r
        for r in account.list_records(REPOST_COLLECTION, 1000)
        if r["value"]["subject"]["uri"] == subject_uri
    ]
    assert len(mine) == 1
    assert record(repo / "posts/rp.md")["targets"]["me"]["uri"] == mine[0]["uri"]


def test_unpublish_takes_back_every_part_of_a_direct_thread(
    tmp_path: Path, pds: LocalPds, account: BlueskyAccount, tag: str
) -> None:
    parts = [f"Take back {tag} part {i}." for i in (1, 2, 3)]
    repo = make_repo(tmp_path, {"t.md": md("\n---\n".join(parts))}, config(pds))
    assert run_cli(["publish"], repo, direct_env(pds)).returncode == 0
    assert len(records_with(account, f"Take back {tag}")) == 3
    path = repo / "posts/t.md"
    path.write_text(path.read_text().replace("targets: [me]", "unpublish: true\ntargets: [me]", 1))
    done = run_cli(["publish"], repo, direct_env(pds))
    assert done.returncode == 0, done.stdout + done.stderr
    assert records_with(account, f"Take back {tag}") == []
    assert record(path)["targets"]["me"]["status"] == "unpublished"


def test_a_direct_part_whose_create_failed_after_the_pds_stored_it_is_adopted_not_reposted(
    tmp_path: Path, pds: LocalPds, account: BlueskyAccount, tag: str, monkeypatch
) -> None:
    """Found in review: a timeout after the PDS wrote part 2 was recorded `failed`, and the
    next run posted part 2 again under a new record key."""
    from publisher.clients import atproto
    from publisher.clients.atproto import BlueskyError

    original = atproto.BlueskyAccount.create_post
    calls = {"n": 0}

    def flaky(self, text, **kwargs):  # stores, then "times out" once, on part 2
        out = original(self, text, **kwargs)
        calls["n"] += 1
        if calls["n"] == 2:
            raise BlueskyError("network", "read timed out (the PDS may have stored it)")
        return out

    parts = [f"Flaky part {tag} one.", f"Flaky part {tag} two."]
    repo = make_repo(tmp_path, {"t.md": md("\n---\n".join(parts))}, config(pds))
    from publisher.apply import Runner
    from publisher.config import load_config
    from publisher.plan import make_plan
    from publisher.run import Env, Run
    from publisher.validate import load_post
    from tests.e2e.test_direct import PASSWORD_ENV

    def run_once() -> None:
        post_ = load_post(repo / "posts/t.md", load_config(repo))
        plan = make_plan([post_], Run(Env.LIVE, "-"))
        Runner(Run(Env.LIVE, "-", app_passwords={PASSWORD_ENV: pds.password})).run(plan)

    monkeypatch.setattr(atproto.BlueskyAccount, "create_post", flaky)
    run_once()
    assert record(repo / "posts/t.md")["targets"]["me"]["parts"][0]["status"] == "failed"
    monkeypatch.setattr(atproto.BlueskyAccount, "create_post", original)
    run_once()
    found = records_with(account, f"Flaky part {tag}")
    assert sorted(r["value"]["text"] for r in found) == sorted(parts)  # part 2 once
    part = record(repo / "posts/t.md")["targets"]["me"]["parts"][0]
    assert part["status"] == "published" and "error" not in part


def _body(path: Path, parts: list[str]) -> None:
    text = path.read_text()
    path.write_text(text[: text.index("\n---\n", 4) + 5] + "\n---\n".join(parts) + "\n")


def test_a_direct_thread_edited_under_repost_keeps_what_it_replaces_and_unpublish_takes_all(
    tmp_path: Path, pds: LocalPds, account: BlueskyAccount, tag: str
) -> None:
    """Found in review: `onEdit: repost` kept part 1's old URI but dropped the old parts
    2..n: they stayed on the platform, recorded nowhere, out of `unpublish`'s reach."""
    parts = [f"Edit direct {tag} part {i}." for i in (1, 2, 3)]
    repo = make_repo(tmp_path, {"t.md": md("\n---\n".join(parts), onEdit="repost")}, config(pds))
    path = repo / "posts/t.md"
    assert run_cli(["publish"], repo, direct_env(pds)).returncode == 0
    old = record(path)["targets"]["me"]
    edited = [parts[0], f"Edit direct {tag} inserted.", parts[1], parts[2]]
    _body(path, edited)
    plan = run_cli(["plan"], repo, direct_env(pds))
    assert "inserted" in plan.stdout, plan.stdout
    assert "0 target posts and 3 thread replies to send" in plan.stdout, plan.stdout
    done = run_cli(["publish"], repo, direct_env(pds))
    assert done.returncode == 0, done.stdout + done.stderr
    rec = record(path)["targets"]["me"]
    uris = [rec["uri"], *(p["uri"] for p in rec["parts"])]
    assert [value_of(account, u)["text"] for u in uris] == edited
    for n in (1, 2, 3):
        assert value_of(account, uris[n])["reply"]["parent"]["uri"] == uris[n - 1]
    assert rec["earlier"] == [p["uri"] for p in old["parts"]]  # recorded, not dropped
    on_pds = {r["uri"] for r in records_with(account, f"Edit direct {tag}")}
    assert on_pds == set(uris) | set(rec["earlier"])  # 0 unrecorded
    again = run_cli(["publish"], repo, direct_env(pds))
    assert again.returncode == 0 and "nothing to publish" in again.stdout

    path.write_text(path.read_text().replace("onEdit: repost", "onEdit: repost\nunpublish: true"))
    gone = run_cli(["publish"], repo, direct_env(pds))
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert records_with(account, f"Edit direct {tag}") == []  # the earlier ones too
    assert "with the 2 posts it made before" in gone.stdout


def test_a_changed_repost_url_keeps_the_first_repost_for_unpublish(
    tmp_path: Path, pds: LocalPds, account: BlueskyAccount, tag: str
) -> None:
    from publisher.clients.atproto import new_tid

    bob = pds.extra["bob.test"]
    bob_account = BlueskyAccount(bob.handle, pds.url, bob.password)
    first, _ = bob_account.create_post(f"First subject {tag}", rkey=new_tid())
    second, _ = bob_account.create_post(f"Second subject {tag}", rkey=new_tid())
    repo = make_repo(
        tmp_path,
        {"rp.md": f"---\ntargets: [me]\nonEdit: repost\nrepost: {first}\n---\n"},
        config(pds),
    )
    path = repo / "posts/rp.md"
    assert run_cli(["publish"], repo, direct_env(pds)).returncode == 0
    was = record(path)["targets"]["me"]["uri"]
    path.write_text(path.read_text().replace(first, second))
    done = run_cli(["publish"], repo, direct_env(pds))
    assert done.returncode == 0, done.stdout + done.stderr
    rec = record(path)["targets"]["me"]
    assert rec["earlier"] == [was] and rec["uri"] != was

    def mine() -> set[str]:
        return {
            r["value"]["subject"]["uri"]
            for r in account.list_records(REPOST_COLLECTION, 1000)
            if r["value"]["subject"]["uri"] in (first, second)
        }

    assert mine() == {first, second}
    path.write_text(path.read_text().replace("onEdit: repost", "onEdit: repost\nunpublish: true"))
    gone = run_cli(["publish"], repo, direct_env(pds))
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert mine() == set()


def test_kill_9_while_a_direct_thread_is_reposted_from_an_edited_part(
    tmp_path: Path, pds: LocalPds, account: BlueskyAccount, tag: str
) -> None:
    from tests.e2e.test_direct import run_killed

    parts = [f"Kill edit {tag} part {i}." for i in (1, 2, 3)]
    repo = make_repo(tmp_path, {"t.md": md("\n---\n".join(parts), onEdit="repost")}, config(pds))
    path = repo / "posts/t.md"
    assert run_cli(["publish"], repo, direct_env(pds)).returncode == 0
    edited = [parts[0], f"Kill edit {tag} part 2, edited.", parts[2]]
    _body(path, edited)
    killed = run_killed(repo, direct_env(pds), at=1, on="after create_post")
    assert killed.returncode == -9, killed.stderr
    done = run_cli(["publish"], repo, direct_env(pds))
    assert done.returncode == 0, done.stdout + done.stderr
    rec = record(path)["targets"]["me"]
    uris = [rec["uri"], *(p["uri"] for p in rec["parts"])]
    assert [value_of(account, u)["text"] for u in uris] == edited
    on_pds = sorted(r["uri"] for r in records_with(account, f"Kill edit {tag}"))
    assert on_pds == sorted(uris + rec["earlier"])  # 0 unrecorded, each once
    assert len(on_pds) == 3 + 2
