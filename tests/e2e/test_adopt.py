"""`publisher adopt`: posts published before publisher are recorded, so `publish`
sends nothing for them. Through letmepost (the sandbox is the judge: no new row) and
on a direct Bluesky account (the real local PDS is the judge: no new record)."""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.clients.atproto import BlueskyAccount, new_tid
from tests.e2e.test_direct import config, direct_env, md, records_with
from tests.fixtures.pds import LocalPds
from tests.helpers import cli_env, make_repo, record, run_cli


def test_adopt_an_x_thread_then_publish_sends_only_the_other_target(tmp_path: Path, sandbox):
    text = "---\ntargets: [bluesky, twitter]\n---\nMoved in.\n---\nSecond part.\n"
    repo = make_repo(tmp_path, {"old.md": text})
    path = repo / "posts/old.md"
    env = cli_env(sandbox.url, sandbox.live_key)
    done = run_cli(
        [
            "adopt",
            "posts/old.md",
            "https://x.com/someone/status/111",
            "https://twitter.com/someone/status/112",
        ],
        repo,
        env,
    )
    assert done.returncode == 0, done.stderr
    assert "adopted https://x.com/i/status/111" in done.stdout
    assert path.read_text().startswith(text.split("---\nMoved")[0])  # only the block added
    assert path.read_text().endswith("---\nMoved in.\n---\nSecond part.\n")
    x = record(path)["targets"]["twitter"]
    assert x["status"] == "published" and x["uri"] == "https://x.com/i/status/111"
    assert x["parts"][0]["uri"] == "https://x.com/i/status/112"

    published = run_cli(["publish"], repo, env)
    assert published.returncode == 0, published.stdout + published.stderr
    rows = sandbox.posts()
    assert {r["platform"] for r in rows} == {"bluesky"} and len(rows) == 2  # post + reply
    assert record(path)["targets"]["twitter"]["uri"] == "https://x.com/i/status/111"

    again = run_cli(["adopt", "posts/old.md", "https://x.com/someone/status/111"], repo, env)
    assert again.returncode == 0 and "already recorded" in again.stderr
    other = run_cli(["adopt", "posts/old.md", "https://x.com/someone/status/999"], repo, env)
    assert other.returncode == 2 and "already has a record" in other.stderr


def test_adopt_refuses_what_it_cannot_match(tmp_path: Path):
    repo = make_repo(tmp_path, {"a.md": "---\ntargets: [bluesky]\n---\nHi\n"})
    env = cli_env("http://127.0.0.1:9", None)
    before = (repo / "posts/a.md").read_bytes()
    for urls, message in (
        (["https://x.com/a/status/1"], "no twitter target"),
        (["https://example.org/post/1"], "--target"),
        (["--target", "bluesy", "https://bsky.app/profile/a.test/post/3k"], "did you mean"),
    ):
        done = run_cli(["adopt", "posts/a.md", *urls], repo, env)
        assert done.returncode == 2 and message in done.stderr, done.stderr
    assert (repo / "posts/a.md").read_bytes() == before


@pytest.mark.pds
def test_adopt_a_bluesky_post_of_a_direct_account_then_publish_creates_nothing(
    tmp_path: Path, pds: LocalPds
):
    account = BlueskyAccount(pds.handle, pds.url, pds.password)
    tag = new_tid()
    text = f"Published by hand before publisher {tag}"
    uri, cid = account.create_post(text, rkey=new_tid())
    rkey = uri.rsplit("/", 1)[1]
    repo = make_repo(tmp_path, {"old.md": md(text)}, config(pds))
    env = direct_env(pds)
    url = f"https://bsky.app/profile/{pds.handle}/post/{rkey}"
    done = run_cli(["adopt", "posts/old.md", url], repo, env)
    assert done.returncode == 0, done.stderr
    me = record(repo / "posts/old.md")["targets"]["me"]
    assert me["status"] == "published" and me["uri"] == uri and me["cid"] == cid
    assert me["rkey"] == rkey and me["did"].startswith("did:")

    published = run_cli(["publish"], repo, env)
    assert published.returncode == 0, published.stdout + published.stderr
    assert len(records_with(account, tag)) == 1  # still only the one made by hand
    verified = run_cli(["verify"], repo, env)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    missing = f"https://bsky.app/profile/{pds.handle}/post/{new_tid()}"
    (repo / "posts/new.md").write_text(md(f"never posted {tag}"))
    done = run_cli(["adopt", "posts/new.md", missing], repo, env)
    assert done.returncode == 2 and "no such post" in done.stderr
    assert "published" not in (repo / "posts/new.md").read_text()
