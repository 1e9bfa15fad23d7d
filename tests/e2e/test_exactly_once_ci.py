"""Exactly once without trusting local state (issue 17), the Action's way: two
runners racing on one push, a commit-back refused by the remote, an author who never
pulled force-pushing a typo fix. Real git (a bare remote with a pre-receive hook),
`publisher ci` as a subprocess, the sandbox over real HTTP and the real PDS for the
direct Bluesky target. The servers are the ground truth: 0 duplicates; the remote's
files: 0 unrecorded."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from publisher import identity
from publisher.clients.atproto import BlueskyAccount, BlueskyError, parse_post_uri
from tests.e2e.test_ci import Harness
from tests.fixtures.pds import LocalPds

pytestmark = pytest.mark.pds

PASSWORD_ENV = "PDS_PASSWORD_FOR_CI_TEST"
DAY_AND_MORE = 25 * 3600


def config(pds: LocalPds) -> str:
    return (
        'posts = "posts"\n\n[accounts]\nx = "twitter"\n\n[accounts.me]\n'
        f'bluesky = "{pds.handle}"\npds = "{pds.url}"\npassword_env = "{PASSWORD_ENV}"\n'
    )


def md(text: str) -> str:
    return f"---\ntargets: [me, x]\n---\n{text}\n"


@pytest.fixture
def gh(tmp_path: Path, sandbox) -> Harness:
    return Harness(tmp_path, sandbox)


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def account(pds: LocalPds) -> BlueskyAccount:
    return BlueskyAccount(pds.handle, pds.url, pds.password)


def bluesky_posts(account: BlueskyAccount, needle: str) -> list[str]:
    return [
        r["value"]["text"] for r in account.list_posts(limit=5000) if needle in r["value"]["text"]
    ]


def sandbox_posts(gh: Harness, needle: str) -> list[str]:
    return [r["text"] for r in gh.sandbox.posts() if needle in (r["text"] or "")]


def ci(gh: Harness, pds: LocalPds, workspace: Path, before: str, after: str, **event):
    return gh.run(
        workspace, "push", gh.push_event(before, after, **event), **{PASSWORD_ENV: pds.password}
    )


# -- what the PDS accepts ------------------------------------------------------------------


def test_the_pds_takes_a_derived_record_key_once_and_again_after_a_delete(account, tag):
    """Measured on the real PDS: a TID derived from a hash (its time before 2020) is a
    valid key; a second create under it is refused (publisher reads that as
    `record_exists` and adopts what is there); after a delete the key can be used
    again (a post unpublished, then posted once more)."""
    rkey = identity.record_key(f"path:posts/{tag}.md")
    uri, _ = account.create_post(f"derived key {tag}", rkey=rkey)
    assert parse_post_uri(uri) == (account.did, rkey)
    with pytest.raises(BlueskyError) as info:
        account.create_post(f"a second post {tag}", rkey=rkey)
    assert info.value.code == "record_exists"
    assert account.get_post(rkey)["value"]["text"] == f"derived key {tag}"
    account.delete_post(rkey)
    again, _ = account.create_post(f"posted again {tag}", rkey=rkey)
    assert parse_post_uri(again) == (account.did, rkey)
    assert bluesky_posts(account, tag) == [f"posted again {tag}"]
    account.delete_post(rkey)


# -- two runners, one push ---------------------------------------------------------------


def test_two_runners_racing_on_one_push_make_one_post(gh, pds, account, tag):
    before, after = gh.seed({"publisher.toml": config(pds), "posts/a.md": md(f"Racing {tag}")})
    one, two = gh.clone("ws1", at=after), gh.clone("ws2", at=after)
    env = {PASSWORD_ENV: pds.password}
    started = [
        gh.start(ws, "push", gh.push_event(before, after), gh.sandbox.live_key, **env)
        for ws in (one, two)
    ]
    runs = [gh.finish(s) for s in started]
    for run in runs:
        assert run.returncode == 0, run.stdout + run.stderr
    assert bluesky_posts(account, tag) == [f"Racing {tag}"]  # 0 duplicates
    assert sandbox_posts(gh, tag) == [f"Racing {tag}"]
    rec = gh.remote_record("posts/a.md")["targets"]  # 0 unrecorded
    assert rec["me"]["status"] == "published" and rec["x"]["status"] == "published"
    (post,) = [r for r in account.list_posts(limit=5000) if tag in r["value"]["text"]]
    assert rec["me"]["uri"] == post["uri"]


# -- the commit-back refused ---------------------------------------------------------------

REFUSE_BOT = """#!/bin/sh
while read old new ref; do
  if git log -1 --format=%ae "$new" | grep -q "github-actions"; then
    echo "refusing: protected branch" >&2
    exit 1
  fi
done
exit 0
"""


def test_a_refused_commit_back_never_posts_again_on_later_pushes(gh, pds, account, tag):
    hook = gh.remote / "hooks" / "pre-receive"
    hook.write_text(REFUSE_BOT)
    hook.chmod(0o755)
    before, first = gh.seed({"publisher.toml": config(pds), "posts/a.md": md(f"Kept {tag}")})
    human = gh.root / "seed"

    run = ci(gh, pds, gh.clone("ws1", at=first), before, first)
    assert "results not pushed" in run.stdout, run.stdout
    assert bluesky_posts(account, tag) == [f"Kept {tag}"]
    assert sandbox_posts(gh, tag) == [f"Kept {tag}"]
    assert "published" not in gh.remote_file("posts/a.md")  # the record never landed

    pushes = [first]
    for n, advance in enumerate((0, DAY_AND_MORE), start=2):  # later, then a day later
        if advance:
            gh.sandbox.advance_clock(advance)  # the server forgot the Idempotency-Key
        pushes.append(gh.commit(human, {f"posts/n{n}.md": md(f"New {n} {tag}")}, f"post {n}"))
        gh.push(human)
        run = ci(gh, pds, gh.clone(f"ws{n}", at=pushes[-1]), pushes[-2], pushes[-1])
        assert "a.md" in run.stdout
        assert sorted(bluesky_posts(account, tag)) == sorted(
            [f"Kept {tag}", *(f"New {i} {tag}" for i in range(2, n + 1))]
        ), run.stdout
        assert sorted(sandbox_posts(gh, tag)) == sorted(
            [f"Kept {tag}", *(f"New {i} {tag}" for i in range(2, n + 1))]
        ), run.stdout

    hook.unlink()  # the branch protection lets the bot in: every result lands
    pushes.append(gh.commit(human, {"posts/n4.md": md(f"New 4 {tag}")}, "post 4"))
    gh.push(human)
    run = ci(gh, pds, gh.clone("ws4", at=pushes[-1]), pushes[-2], pushes[-1])
    assert run.returncode == 0, run.stdout + run.stderr
    assert len(bluesky_posts(account, tag)) == 4 and len(sandbox_posts(gh, tag)) == 4
    for name in ("a.md", "n2.md", "n3.md", "n4.md"):
        rec = gh.remote_record(f"posts/{name}")["targets"]
        assert rec["me"]["status"] == rec["x"]["status"] == "published", (name, rec)


# -- a force push by an author who never pulled ----------------------------------------------


def test_a_typo_fixed_and_force_pushed_over_the_bots_commit_posts_nothing(gh, pds, account, tag):
    gh.git(gh.remote, "config", "uploadpack.allowAnySHA1InWant", "true")  # as GitHub serves
    before, first = gh.seed({"publisher.toml": config(pds), "posts/a.md": md(f"Helo {tag}")})
    human = gh.root / "seed"
    run = ci(gh, pds, gh.clone("ws1", at=first), before, first)
    assert run.returncode == 0, run.stdout + run.stderr
    bot = gh.git(gh.remote, "rev-parse", "main")
    assert bot != first and "published" in gh.remote_file("posts/a.md")

    (human / "posts/a.md").write_text(md(f"Hello {tag}"))  # the author never pulled
    gh.git(human, "commit", "-qa", "--amend", "--no-edit")
    amended = gh.git(human, "rev-parse", "HEAD")
    gh.push(human, force=True)

    run = ci(gh, pds, gh.clone("ws2", at=amended), bot, amended, forced=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert bluesky_posts(account, tag) == [f"Helo {tag}"]  # nothing posted again
    assert sandbox_posts(gh, tag) == [f"Helo {tag}"]
    rec = gh.remote_record("posts/a.md")["targets"]  # the record is back on the branch
    assert rec["me"]["status"] == rec["x"]["status"] == "published"
    assert "not reposted" in run.stdout or "edited" in run.stdout, run.stdout


def test_a_refused_commit_back_then_a_typo_fixed_posts_nothing_again(gh, pds, account, tag):
    """The record never landed, and the author fixes a typo in the next push: the
    post found at its record key and in the post log is this one, edited: adopted
    (and, as any edit after publishing, not reposted)."""
    hook = gh.remote / "hooks" / "pre-receive"
    hook.write_text(REFUSE_BOT)
    hook.chmod(0o755)
    before, first = gh.seed(
        {"publisher.toml": config(pds), "posts/a.md": md(f"We shiped the new release {tag}")}
    )
    human = gh.root / "seed"
    run = ci(gh, pds, gh.clone("ws1", at=first), before, first)
    assert "results not pushed" in run.stdout, run.stdout
    fixed = gh.commit(human, {"posts/a.md": md(f"We shipped the new release {tag}")}, "typo")
    gh.push(human)
    hook.unlink()
    run = ci(gh, pds, gh.clone("ws2", at=fixed), first, fixed)
    assert run.returncode == 0, run.stdout + run.stderr
    assert bluesky_posts(account, tag) == [f"We shiped the new release {tag}"]
    assert sandbox_posts(gh, tag) == [f"We shiped the new release {tag}"]
    rec = gh.remote_record("posts/a.md")["targets"]
    assert rec["me"]["status"] == rec["x"]["status"] == "published"
    again = ci(gh, pds, gh.clone("ws3", at=gh.git(gh.remote, "rev-parse", "main")), fixed, fixed)
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(bluesky_posts(account, tag)) == 1 and len(sandbox_posts(gh, tag)) == 1


# -- kill -9, and the block lost with it ---------------------------------------------------


def test_killed_after_the_create_with_its_block_lost_adopts_on_the_rerun(
    tmp_path, pds, account, tag
):
    """kill -9 right after the PDS stored the post, before the file recorded it; then
    the file is checked out again (its pending key gone too): the rerun derives the
    same key, finds the post there and adopts it."""
    import subprocess
    import sys

    from tests.e2e.test_direct import KILL_DRIVER
    from tests.helpers import make_repo, record, run_cli
    from tests.test_history import git

    repo = make_repo(
        tmp_path / "repo",
        {"a.md": f"---\ntargets: [me]\n---\nKilled {tag}\n"},
        config(pds).replace('\n[accounts]\nx = "twitter"\n', "\n"),
    )
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a post")
    env = {
        **{k: v for k, v in __import__("os").environ.items() if not k.startswith("LETMEPOST_")},
        PASSWORD_ENV: pds.password,
        "KILL_ON": "after create_post",
        "KILL_AT": "1",
    }
    killed = subprocess.run(
        [sys.executable, "-c", KILL_DRIVER, "publish"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stdout + killed.stderr
    assert bluesky_posts(account, tag) == [f"Killed {tag}"]
    git(repo, "checkout", "--", "posts/a.md")  # the pending key is lost too
    assert record(repo / "posts/a.md") == {}
    env = {k: v for k, v in env.items() if not k.startswith("KILL_")}
    done = run_cli(["publish"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "adopted" in done.stdout, done.stdout
    assert bluesky_posts(account, tag) == [f"Killed {tag}"]  # 0 duplicates
    rec = record(repo / "posts/a.md")["targets"]["me"]  # 0 unrecorded
    (post,) = [r for r in account.list_posts(limit=5000) if tag in r["value"]["text"]]
    assert rec["status"] == "published" and rec["uri"] == post["uri"]
