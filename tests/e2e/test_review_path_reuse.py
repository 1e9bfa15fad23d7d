"""Adversarial review (SPEC 3: "two files never share one [identity]"): a post file
deleted after it was published, and a new post written later under the same path
(a recurring `weekly.md`). The PDS is the ground truth: the new post goes out."""

from __future__ import annotations

import uuid

import pytest

from publisher.clients.atproto import BlueskyAccount
from tests.e2e.test_direct import config, direct_env, md, records_with
from tests.fixtures.pds import LocalPds
from tests.helpers import make_repo, record, run_cli
from tests.test_history import git

pytestmark = pytest.mark.pds


@pytest.fixture
def account(pds: LocalPds) -> BlueskyAccount:
    return BlueskyAccount(pds.handle, pds.url, pds.password)


@pytest.mark.xfail(
    strict=True,
    reason="review: a new file at a deleted post's path inherits its identity: the old "
    "record is restored from history / adopted at its key, the new post never goes out",
)
def test_review_a_new_post_at_a_deleted_posts_path_is_posted(tmp_path, pds, account):
    tag = uuid.uuid4().hex[:8]
    old, new = f"Release 1.2.3 is out {tag}", f"Release 1.2.4 is out {tag}"
    repo = make_repo(tmp_path / "repo", {"weekly.md": md(old)}, config(pds))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "weekly post")
    env = direct_env(pds)
    first = run_cli(["publish"], repo, env)
    assert first.returncode == 0, first.stdout + first.stderr
    git(repo, "commit", "-qam", "publisher: results")
    git(repo, "rm", "-q", "posts/weekly.md")
    git(repo, "commit", "-qm", "done with last week")

    (repo / "posts").mkdir(exist_ok=True)
    (repo / "posts/weekly.md").write_text(md(new))  # a new post, a week later
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "this week's post")
    second = run_cli(["publish"], repo, env)
    texts = sorted(r["value"]["text"] for r in records_with(account, tag))
    assert texts == [new, old], (
        texts,
        second.stdout + second.stderr,
        record(repo / "posts/weekly.md"),
    )


def test_review_killed_after_the_create_then_renamed_posts_once(tmp_path, pds, account):
    """Held: kill -9 right after the PDS stored the post (the file holds only its
    pending record), then the file is renamed: the rerun finds the post, once."""
    import os
    import subprocess
    import sys

    from tests.e2e.test_direct import KILL_DRIVER

    tag = uuid.uuid4().hex[:8]
    repo = make_repo(tmp_path / "repo", {"a.md": md(f"Killed then moved {tag}")}, config(pds))
    env = direct_env(pds)
    killed = subprocess.run(
        [sys.executable, "-c", KILL_DRIVER, "publish"],
        cwd=repo,
        env={**env, "KILL_ON": "after create_post", "KILL_AT": "1", "PYTHONPATH": os.getcwd()},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stdout + killed.stderr
    assert len(records_with(account, tag)) == 1
    (repo / "posts/a.md").rename(repo / "posts/b.md")
    done = run_cli(["publish"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(records_with(account, tag)) == 1, done.stdout  # 0 duplicates
    rec = record(repo / "posts/b.md")["targets"]["me"]
    assert rec["status"] == "published", rec


@pytest.mark.xfail(
    strict=True,
    reason="review: giving a published file an `id:` (as publisher's own message advises) "
    "while its block is lost derives new record keys: the direct post goes out again",
)
def test_review_an_id_added_to_a_file_whose_block_was_lost_posts_nothing_again(
    tmp_path, pds, account
):
    tag = uuid.uuid4().hex[:8]
    text = f"Named later {tag}"
    repo = make_repo(tmp_path / "repo", {"a.md": md(text)}, config(pds))
    env = direct_env(pds)
    first = run_cli(["publish"], repo, env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert len(records_with(account, tag)) == 1
    # the block is lost (a refused commit-back, a bad merge) and the author names the post
    (repo / "posts/a.md").write_text(md(text, id="named-later"))
    again = run_cli(["publish"], repo, env)
    assert len(records_with(account, tag)) == 1, again.stdout + again.stderr
