"""Ask before creating (issue 17, point 2): a target with no usable record is looked
up before it is sent as new: in the file's git history (every ref, renames followed)
and on the server (the letmepost post log). Each test loses the local state the way a
user does, moves the sandbox clock 25 h (the server has forgotten every
Idempotency-Key), and counts: 0 duplicates, 0 unrecorded. Real git, the sandbox over
real HTTP."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from publisher.writeback import set_published
from tests.helpers import cli_env, make_repo, post, record, run_cli
from tests.test_history import _repo, _strip_block, git

DAY_AND_MORE = 25 * 3600


def thread(*parts: str, targets: str = "[x]") -> str:
    return f"---\ntargets: {targets}\n---\n" + "\n---\n".join(parts) + "\n"


def rows_of(sandbox) -> list[tuple[str, str]]:
    return sorted((r["platform"], r["text"]) for r in sandbox.posts())


def publish(repo: Path, env: dict[str, str]):
    done = run_cli(["publish"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


# -- the server: the letmepost post log ------------------------------------------------


def test_a_record_never_committed_is_found_in_the_post_log_after_the_key_is_forgotten(
    tmp_path, sandbox
):
    """Published, then the block thrown away before it was ever committed (a
    `git checkout`, a second clone): after 25 h only the server knows."""
    parts = ["A thread the server remembers.", "Its second part.", "Its third part."]
    repo = _repo(tmp_path, {"a.md": thread(*parts, targets="[bluesky, x]")})
    path = repo / "posts/a.md"
    env = cli_env(sandbox.url, sandbox.live_key)
    publish(repo, env)
    before = rows_of(sandbox)
    assert len(before) == 6
    kept = record(path)
    git(repo, "checkout", "--", "posts/a.md")  # the results were never committed
    sandbox.advance_clock(DAY_AND_MORE)

    offline = json.loads(run_cli(["plan", "--json"], repo, env).stdout)
    assert {t["action"] for t in offline["files"][0]["targets"]} == {"publish"}
    refreshed = run_cli(["plan", "--json", "--refresh"], repo, env)
    assert refreshed.returncode == 0, refreshed.stderr
    (f,) = json.loads(refreshed.stdout)["files"]
    assert {t["action"] for t in f["targets"]} == {"restore"}, f
    assert all("letmepost post log" in t["reason"] for t in f["targets"])

    done = publish(repo, env)
    assert "from the letmepost post log" in done.stdout, done.stdout
    assert rows_of(sandbox) == before  # 0 duplicates
    got = record(path)["targets"]
    for label in ("bluesky", "x"):  # 0 unrecorded: the post and every part
        assert got[label]["postId"] == kept["targets"][label]["postId"]
        assert [p["postId"] for p in got[label]["parts"]] == [
            p["postId"] for p in kept["targets"][label]["parts"]
        ]
    assert "nothing to publish" in publish(repo, env).stdout
    assert rows_of(sandbox) == before


def test_the_post_log_is_read_once_per_run_whatever_the_number_of_files(tmp_path, sandbox):
    posts = {f"p{i}.md": post("[x]", f"Lost post number {i}.") for i in range(5)}
    repo = _repo(tmp_path, posts)
    env = cli_env(sandbox.url, sandbox.live_key)
    publish(repo, env)
    git(repo, "checkout", "--", "posts")
    (repo / "posts/new.md").write_text(post("[x]", "A really new one."))
    sandbox.advance_clock(DAY_AND_MORE)
    done = run_cli(["publish", "--verbose"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    listings = [line for line in done.stderr.splitlines() if "GET /v1/posts " in line]
    assert len(listings) == 1, done.stderr
    assert sorted(t for _, t in rows_of(sandbox)) == sorted(
        [*(f"Lost post number {i}." for i in range(5)), "A really new one."]
    )
    for name in posts:
        assert record(repo / "posts" / name)["targets"]["x"]["status"] == "published"


def test_a_post_two_files_could_claim_is_claimed_by_neither(tmp_path, sandbox):
    """Two new files open with the words of a logged post nobody records: adopting it
    for one of them would be a guess; each goes its own way."""
    repo = _repo(tmp_path, {"old.md": post("[x]", "Same words.")})
    env = cli_env(sandbox.url, sandbox.live_key)
    publish(repo, env)
    git(repo, "checkout", "--", "posts")
    (repo / "posts/old.md").unlink()
    (repo / "posts/a.md").write_text(thread("Same words.", "A goes on."))
    (repo / "posts/b.md").write_text(thread("Same words.", "B goes on."))
    sandbox.advance_clock(DAY_AND_MORE)
    publish(repo, env)
    assert [t for _, t in rows_of(sandbox)].count("Same words.") == 3
    assert (
        record(repo / "posts/a.md")["targets"]["x"]["postId"]
        != (record(repo / "posts/b.md")["targets"]["x"]["postId"])
    )


# -- git history: lost-record shapes -----------------------------------------------------


def _published_and_committed(tmp_path, sandbox, text: str, **more: str):
    repo = _repo(tmp_path, {"a.md": text, **more})
    env = cli_env(sandbox.url, sandbox.live_key)
    publish(repo, env)
    git(repo, "commit", "-qam", "publisher: results")
    return repo, env


def _restored_from_history(repo: Path, env, sandbox, before) -> str:
    sandbox.advance_clock(DAY_AND_MORE)
    done = publish(repo, env)
    assert "from git history" in done.stdout, done.stdout
    assert rows_of(sandbox) == before  # 0 duplicates
    assert "nothing to publish" in publish(repo, env).stdout
    return done.stdout


def test_a_rename_that_loses_the_block_in_the_same_commit(tmp_path, sandbox):
    repo, env = _published_and_committed(tmp_path, sandbox, post("[bluesky, x]", "Renamed."))
    kept = record(repo / "posts/a.md")
    before = rows_of(sandbox)
    git(repo, "mv", "posts/a.md", "posts/renamed.md")
    _strip_block(repo / "posts/renamed.md")
    git(repo, "commit", "-qam", "rename, and a bad merge")
    _restored_from_history(repo, env, sandbox, before)
    assert record(repo / "posts/renamed.md")["targets"] == kept["targets"]


def test_a_lost_parts_list(tmp_path, sandbox):
    repo, env = _published_and_committed(
        tmp_path, sandbox, thread("Thread, one.", "Thread, two.", "Thread, three.")
    )
    path = repo / "posts/a.md"
    kept = record(path)
    before = rows_of(sandbox)
    block = record(path)
    del block["targets"]["x"]["parts"]
    path.write_bytes(set_published(path.read_bytes(), block, path=str(path)))
    git(repo, "commit", "-qam", "a merge that lost the parts")
    _restored_from_history(repo, env, sandbox, before)
    assert record(path)["targets"]["x"]["parts"] == kept["targets"]["x"]["parts"]


def test_an_older_retryable_failure_merged_back_over_the_newer_success(tmp_path, sandbox):
    sandbox.set_faults(twitter={"code": "platform_unavailable", "count": 1})
    repo = _repo(tmp_path, {"a.md": post("[x]", "Failed once, then out.")})
    path = repo / "posts/a.md"
    env = cli_env(sandbox.url, sandbox.live_key)
    run_cli(["publish"], repo, env)
    assert record(path)["targets"]["x"]["status"] == "failed"
    git(repo, "commit", "-qam", "publisher: failed")
    failed = git(repo, "rev-parse", "HEAD").strip()
    sandbox.advance_clock(120)  # the retry is a moment later
    publish(repo, env)
    kept = record(path)
    assert kept["targets"]["x"]["status"] == "published"
    git(repo, "commit", "-qam", "publisher: published")
    before = rows_of(sandbox)
    assert sorted(r["status"] for r in sandbox.posts()) == ["failed", "published"]
    git(repo, "checkout", failed, "--", "posts/a.md")  # the old version merged back
    git(repo, "commit", "-qam", "merge brought the old failure back")
    assert record(path)["targets"]["x"]["status"] == "failed"
    _restored_from_history(repo, env, sandbox, before)
    assert record(path)["targets"]["x"] == kept["targets"]["x"]


def test_a_developers_sandbox_block_committed_over_the_live_one(tmp_path, sandbox):
    repo, env = _published_and_committed(tmp_path, sandbox, post("[bluesky, x]", "Live one."))
    path = repo / "posts/a.md"
    kept = record(path)
    before = rows_of(sandbox)
    sandboxed = {
        "env": "sandbox",
        "api": "sandbox",
        "updatedAt": "2026-12-06T10:00:00Z",
        "targets": {
            "bluesky": {"status": "published", "uri": "https://sandbox.letmepost.dev/b/1"},
            "x": {"platform": "twitter", "status": "published", "uri": "https://s.example/x/1"},
        },
    }
    path.write_bytes(set_published(path.read_bytes(), sandboxed, path=str(path)))
    git(repo, "commit", "-qam", "oops: my sandbox results")
    _restored_from_history(repo, env, sandbox, before)
    assert record(path)["targets"] == kept["targets"] and record(path)["env"] == "live"


def test_a_lost_record_on_another_branch_is_found(tmp_path, sandbox):
    """The results were committed on a branch the run can see (not HEAD's history)."""
    repo = _repo(tmp_path, {"a.md": post("[x]", "Recorded on a branch.")})
    env = cli_env(sandbox.url, sandbox.live_key)
    git(repo, "checkout", "-qb", "results")
    publish(repo, env)
    git(repo, "commit", "-qam", "publisher: results on a branch")
    git(repo, "checkout", "-q", "main")
    before = rows_of(sandbox)
    _restored_from_history(repo, env, sandbox, before)
    assert record(repo / "posts/a.md")["targets"]["x"]["status"] == "published"


def test_a_record_found_nowhere_is_posted_once(tmp_path, sandbox):
    """Nothing anywhere: the post goes out (reconciling never blocks a new post)."""
    repo = make_repo(tmp_path, {"a.md": post("[x]", "Brand new.")})
    publish(repo, cli_env(sandbox.url, sandbox.live_key))
    assert rows_of(sandbox) == [("twitter", "Brand new.")]


def test_a_new_file_saying_what_an_old_post_said_is_posted(tmp_path, sandbox, monkeypatch):
    """A weekly notice: last week's post is in the log, with the same words, but it is
    older than this week's file: this is a new post, not a lost one."""
    repo = _repo(tmp_path, {"week1.md": post("[x]", "Office hours are open today.")})
    env = cli_env(sandbox.url, sandbox.live_key)
    publish(repo, env)
    git(repo, "commit", "-qam", "publisher: results")
    (repo / "posts/week1.md").unlink()  # archived elsewhere: its record goes with it
    git(repo, "commit", "-qam", "archive last week")
    sandbox.advance_clock(7 * 24 * 3600)  # a week later, for the server and for git
    week = dt.datetime.now(dt.UTC) + dt.timedelta(days=7)
    monkeypatch.setenv("GIT_COMMITTER_DATE", week.strftime("%Y-%m-%dT%H:%M:%SZ"))
    (repo / "posts/week2.md").write_text(post("[x]", "Office hours are open today."))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "next week")
    publish(repo, env)
    assert rows_of(sandbox) == [("twitter", "Office hours are open today.")] * 2
