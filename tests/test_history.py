"""Lost records are found, not re-posted: a `published` block lost in a bad merge and
committed comes back from the file's git history (one git call per run), even after
the server has forgotten the key. Real git, the sandbox over real HTTP."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

from tests.helpers import cli_env, make_repo, post, record, run_cli

GIT = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}
GIT["GIT_COMMITTER_EMAIL"] = "t@t"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **GIT},
    )
    return done.stdout


def _strip_block(path: Path) -> None:
    """What a bad merge leaves: the post without its `published` block."""
    head, body = path.read_text().split("---\n", 2)[1:]
    kept = head.split("published:\n", 1)[0]
    path.write_text(f"---\n{kept}---\n{body}")


def _repo(tmp_path: Path, posts: dict[str, str]) -> Path:
    repo = make_repo(tmp_path / "repo", posts)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "posts")
    return repo


def test_a_lost_block_is_restored_from_history_and_never_posted_again(tmp_path, sandbox):
    repo = _repo(tmp_path, {"a.md": post("[bluesky, x]", "Published before the bad merge.")})
    path = repo / "posts/a.md"
    env = cli_env(sandbox.url, sandbox.live_key)
    assert run_cli(["publish"], repo, env).returncode == 0
    committed = record(path)
    git(repo, "commit", "-qam", "publisher: results")
    _strip_block(path)
    git(repo, "commit", "-qam", "a merge that lost the block")
    sandbox.advance_clock(25 * 3600)  # the server has forgotten the key meanwhile
    rows = len(sandbox.posts())

    plan = json.loads(run_cli(["plan", "--json"], repo, env).stdout)
    (f,) = plan["files"]
    assert f["state"] == "restored"
    assert {t["action"] for t in f["targets"]} == {"restore"}
    assert all("restored from git history" in t["reason"] for t in f["targets"])

    done = run_cli(["publish"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "restored" in done.stdout and "from git history" in done.stdout
    assert len(sandbox.posts()) == rows  # nothing posted twice
    assert record(path)["targets"] == committed["targets"]
    again = run_cli(["publish"], repo, env)
    assert again.returncode == 0 and "nothing to publish" in again.stdout
    assert len(sandbox.posts()) == rows


def test_history_is_read_with_one_git_log_per_run(tmp_path, sandbox):
    posts = {f"p{i}.md": post("[bluesky]", f"Post number {i}.") for i in range(6)}
    repo = _repo(tmp_path, posts)
    env = cli_env(sandbox.url, sandbox.live_key)
    assert run_cli(["publish"], repo, env).returncode == 0
    git(repo, "commit", "-qam", "results")
    for name in posts:
        _strip_block(repo / "posts" / name)
    (repo / "posts/new.md").write_text(post("[bluesky]", "A really new post."))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "lost them all, and a new post")

    # a git on PATH that logs each call, then runs the real one
    real = shutil.which("git")
    assert real is not None
    bindir = tmp_path / "bin"
    bindir.mkdir()
    calls = tmp_path / "calls.log"
    wrapper = bindir / "git"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexec {real} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    env = {**env, "PATH": f"{bindir}{os.pathsep}{env['PATH']}"}
    done = run_cli(["publish"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    logged = calls.read_text().splitlines()
    history = [line for line in logged if " log " in f" {line} " and "--diff-filter=D" not in line]
    assert len(history) == 1, logged  # the history of every file that needs it: one call
    assert sum(" log " in f" {line} " for line in logged) <= 2, logged  # + deleted files
    assert sum("cat-file --batch" in line for line in logged) == 1, logged
    texts = [r["text"] for r in sandbox.posts()]
    assert sorted(texts) == sorted([*(f"Post number {i}." for i in range(6)), "A really new post."])
    for name in posts:
        assert record(repo / "posts" / name)["targets"]["bluesky"]["status"] == "published"


def test_a_record_of_another_environment_is_not_restored(tmp_path, sandbox):
    """A sandbox record in history is no proof of a live post: the live run posts."""
    repo = _repo(tmp_path, {"a.md": post("[bluesky]", "Tried on the sandbox first.")})
    path = repo / "posts/a.md"
    assert run_cli(["publish"], repo, cli_env(sandbox.url, sandbox.test_key)).returncode == 0
    git(repo, "commit", "-qam", "sandbox results")
    _strip_block(path)
    git(repo, "commit", "-qam", "dropped")
    plan = json.loads(run_cli(["plan", "--json"], repo, cli_env(sandbox.url, None)).stdout)
    assert [t["action"] for t in plan["files"][0]["targets"]] == ["publish"]


def test_dry_run_lists_a_restore_as_no_request(tmp_path, sandbox):
    repo = _repo(tmp_path, {"a.md": post("[bluesky]", "Dry-run of a restore.")})
    path = repo / "posts/a.md"
    env = cli_env(sandbox.url, sandbox.live_key)
    assert run_cli(["publish"], repo, env).returncode == 0
    git(repo, "commit", "-qam", "results")
    _strip_block(path)
    git(repo, "commit", "-qam", "lost")
    dry = run_cli(["publish", "--dry-run", "--json"], repo, env)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    out = json.loads(dry.stdout)
    assert out["requests"] == []
    assert out["local"] == [
        {"file": "posts/a.md", "step": "restore the record from git history: bluesky"}
    ]


def test_history_stops_at_a_deletion_and_knows_a_files_earlier_names(tmp_path):
    """A path deleted and used again is a new post: only the new file's versions are
    its own (the old ones are `earlier`); a renamed file knows the names it had."""
    from publisher.git import committed_versions

    repo = _repo(tmp_path, {"weekly.md": post("[x]", "Last week."), "a.md": post("[x]", "Moved.")})
    git(repo, "rm", "-q", "posts/weekly.md")
    git(repo, "mv", "posts/a.md", "posts/b.md")
    git(repo, "commit", "-qm", "done with last week, tidied")
    (repo / "posts/weekly.md").write_text(post("[x]", "This week."))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "this week")
    weekly, moved = repo / "posts/weekly.md", repo / "posts/b.md"
    names: dict = {}
    earlier: dict = {}
    versions = committed_versions(repo, [weekly, moved], names=names, earlier=earlier)
    assert [b"This week." in v for v in versions[weekly]] == [True]
    assert [b"Last week." in v for v in earlier[weekly]] == [True]
    assert [p.name for p in names[moved]] == ["a.md"] and weekly not in names
    assert any(b"Moved." in v for v in versions[moved]) and moved not in earlier


def test_a_deletion_on_another_branch_keeps_the_files_history(tmp_path):
    """Only a deletion followed by a new file at that path ends a post's history."""
    from publisher.git import committed_versions

    repo = _repo(tmp_path, {"a.md": post("[x]", "Kept.")})
    git(repo, "checkout", "-qb", "tidy")
    git(repo, "rm", "-q", "posts/a.md")
    git(repo, "commit", "-qm", "an abandoned tidy-up")
    git(repo, "checkout", "-q", "main")
    path = repo / "posts/a.md"
    path.write_text(post("[x]", "Kept, with a typo fixed."))
    git(repo, "commit", "-qam", "typo")
    assert len(committed_versions(repo, [path])[path]) == 2
