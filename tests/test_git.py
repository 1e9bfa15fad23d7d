"""publisher.git against real repositories: a bare remote and two clones."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from publisher.git import (
    BOT_EMAIL,
    BOT_NAME,
    ZERO_SHA,
    GitError,
    changed_posts,
    commit_files,
    file_at,
    push_with_retry,
)


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user or system git config, no inherited GIT_* variables."""
    for name in list(os.environ):
        if name.startswith("GIT_"):
            monkeypatch.delenv(name)
    home = tmp_path_factory.mktemp("home")
    config = home / "gitconfig"
    config.write_text(
        # like a runner: no identity configured, and git must not guess one
        "[user]\n\tuseConfigOnly = true\n"
        "[commit]\n\tgpgsign = false\n[init]\n\tdefaultBranch = main\n"
        "[pull]\n\trebase = false\n[advice]\n\tdetachedHead = false\n"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("HOME", str(home))


HUMAN = {
    "GIT_AUTHOR_NAME": "Test User",
    "GIT_AUTHOR_EMAIL": "test@example.org",
    "GIT_COMMITTER_NAME": "Test User",
    "GIT_COMMITTER_EMAIL": "test@example.org",
}


def git(cwd: Path, *args: str) -> str:
    """Run git as a human user (the code under test must bring its own identity)."""
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **HUMAN},
    ).stdout.strip()


def write(repo: Path, path: str, text: str) -> None:
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


POST = "---\ntargets: [bluesky]\n---\nHello {n}\n"


def record(text: str, uri: str) -> str:
    """A post with a `published` block appended to its frontmatter."""
    head, body = text.split("---\n", 2)[1:]
    return f"---\n{head}published:\n  uri: {uri}\n---\n{body}"


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """A bare remote whose main holds two posts and a README."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(bare), str(seed))
    write(seed, "posts/a.md", POST.format(n="a"))
    write(seed, "posts/b.md", POST.format(n="b"))
    write(seed, "README.md", "readme\n")
    commit_all(seed, "seed")
    git(seed, "push", "-q", "origin", "HEAD:refs/heads/main")
    return bare


def clone(remote: Path, name: str) -> Path:
    path = remote.parent / name
    git(remote.parent, "clone", "-q", str(remote), str(path))
    return path


# ----------------------------------------------------------------- changed_posts


def test_changed_posts_add_modify_rename_delete(remote: Path) -> None:
    repo = clone(remote, "a")
    before = git(repo, "rev-parse", "HEAD")
    write(repo, "posts/new.md", POST.format(n="new"))
    write(repo, "posts/a.md", POST.format(n="a, edited"))
    git(repo, "mv", "posts/b.md", "posts/b-renamed.md")
    write(repo, "posts/2026/deep.md", POST.format(n="deep"))
    write(repo, "posts/notes.txt", "not a post\n")
    write(repo, "README.md", "changed\n")
    write(repo, "other/x.md", "outside the posts folder\n")
    after = commit_all(repo, "edit")

    changes = changed_posts(repo, before, after, "posts")
    assert not changes.full_scan
    assert sorted(changes.changed) == [
        "posts/2026/deep.md",
        "posts/a.md",
        "posts/b-renamed.md",
        "posts/new.md",
    ]
    assert changes.renamed == [("posts/b.md", "posts/b-renamed.md")]
    assert changes.deleted == []

    git(repo, "rm", "-q", "posts/a.md")
    later = commit_all(repo, "delete")
    deleted = changed_posts(repo, after, later, "./posts/")
    assert deleted.deleted == ["posts/a.md"] and deleted.changed == []
    # the deleted post is still readable at the previous revision
    assert file_at(repo, after, "posts/a.md") == POST.format(n="a, edited").encode()
    assert file_at(repo, later, "posts/a.md") is None


def test_changed_posts_rename_across_the_folder_boundary(remote: Path) -> None:
    repo = clone(remote, "a")
    before = git(repo, "rev-parse", "HEAD")
    (repo / "drafts").mkdir()
    git(repo, "mv", "posts/a.md", "drafts/a.md")
    write(repo, "drafts/c.md", POST.format(n="c") * 3)
    after = commit_all(repo, "move out")
    git(repo, "mv", "drafts/c.md", "posts/c.md")
    later = commit_all(repo, "move in")

    out = changed_posts(repo, before, after, "posts")
    assert out.deleted == ["posts/a.md"] and out.changed == [] and out.renamed == []
    into = changed_posts(repo, after, later, "posts")
    assert into.changed == ["posts/c.md"] and into.renamed == [] and into.deleted == []


def test_hostile_file_names_are_data(remote: Path) -> None:
    repo = clone(remote, "a")
    before = git(repo, "rev-parse", "HEAD")
    names = ["posts/$(touch pwned).md", "posts/-n.md", "posts/a b\nc.md", "posts/:(glob)x.md"]
    for name in names:
        write(repo, name, POST.format(n=name))
    after = commit_all(repo, "odd names")
    assert sorted(changed_posts(repo, before, after, "posts").changed) == sorted(names)
    assert not (repo / "pwned").exists()


@pytest.mark.parametrize("before", [None, "", ZERO_SHA])
def test_first_push_is_a_full_scan(remote: Path, before: str | None) -> None:
    repo = clone(remote, "a")
    changes = changed_posts(repo, before, "HEAD", "posts")
    assert changes.full_scan and changes.changed == [] and "first push" in changes.reason


def test_force_push_is_a_full_scan(remote: Path) -> None:
    repo = clone(remote, "a")
    before = git(repo, "rev-parse", "HEAD")
    write(repo, "posts/c.md", POST.format(n="c"))
    after = commit_all(repo, "c")
    changes = changed_posts(repo, before, after, "posts", forced=True)
    assert changes.full_scan and "force" in changes.reason


def test_missing_before_is_a_full_scan(remote: Path) -> None:
    repo = clone(remote, "a")
    changes = changed_posts(repo, "1234567" * 5 + "12345", "HEAD", "posts")
    assert changes.full_scan and "not in the clone" in changes.reason


def test_option_like_revision_is_refused(remote: Path) -> None:
    repo = clone(remote, "a")
    with pytest.raises(GitError):
        changed_posts(repo, "--output=/tmp/x", "HEAD", "posts")


# ------------------------------------------------------------------ commit_files


def test_commit_files_stages_only_the_given_files(remote: Path) -> None:
    repo = clone(remote, "a")
    write(repo, "posts/a.md", record(POST.format(n="a"), "at://a"))
    write(repo, "posts/b.md", "user edit that is not ours to commit\n")
    write(repo, "README.md", "staged by someone else\n")
    git(repo, "add", "README.md")

    sha = commit_files(repo, ["posts/a.md"], "publisher: record results\n\n- posts/a.md")
    assert sha == git(repo, "rev-parse", "HEAD")
    assert git(repo, "show", "--name-only", "--format=", "HEAD") == "posts/a.md"
    assert git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>") == (
        f"{BOT_NAME} <{BOT_EMAIL}>|{BOT_NAME} <{BOT_EMAIL}>"
    )
    assert git(repo, "log", "-1", "--format=%B") == "publisher: record results\n\n- posts/a.md"
    # the other changes are untouched: README still staged, b.md still only modified
    status = git(repo, "status", "--porcelain")
    assert "M  README.md" in status and " M posts/b.md" in status
    # the repository's config was not changed
    assert "github-actions" not in (repo / ".git" / "config").read_text()


def test_commit_files_returns_none_when_nothing_changed(remote: Path) -> None:
    repo = clone(remote, "a")
    head = git(repo, "rev-parse", "HEAD")
    assert commit_files(repo, ["posts/a.md"], "nothing") is None
    assert commit_files(repo, [], "nothing") is None
    assert git(repo, "rev-parse", "HEAD") == head


def test_commit_files_refuses_paths_outside_the_repository(remote: Path) -> None:
    repo = clone(remote, "a")
    with pytest.raises(GitError, match="outside"):
        commit_files(repo, ["../remote.git/config"], "nope")


# ---------------------------------------------------------------- push_with_retry


def no_sleep(delays: list[float]) -> Callable[[float], None]:
    """A sleep that records the delays instead of waiting."""
    return delays.append


def test_push_without_race(remote: Path) -> None:
    repo = clone(remote, "a")
    write(repo, "posts/a.md", record(POST.format(n="a"), "at://a"))
    sha = commit_files(repo, ["posts/a.md"], "record a")
    result = push_with_retry(repo, "main", sleep=no_sleep([]))
    assert result.ok and result.attempts == 1 and result.sha == sha and result.error is None
    assert git(remote, "rev-parse", "main") == sha


def test_push_rebases_over_an_unrelated_commit(remote: Path) -> None:
    a, b = clone(remote, "a"), clone(remote, "b")
    write(a, "posts/a.md", record(POST.format(n="a"), "at://a"))
    commit_files(a, ["posts/a.md"], "record a")
    write(b, "posts/b.md", POST.format(n="b, edited by a human"))
    rival = commit_all(b, "human edit")
    git(b, "push", "-q", "origin", "HEAD:main")

    delays: list[float] = []
    result = push_with_retry(a, "main", base_delay=0.5, sleep=no_sleep(delays))
    assert result.ok and result.attempts == 2 and result.merged_files == []
    assert len(delays) == 1 and 0.0 <= delays[0] <= 0.5
    # linear history: our commit sits on top of the rival's, no merge commit
    assert git(remote, "rev-parse", "main^") == rival
    assert git(remote, "rev-list", "--merges", "main") == ""
    assert result.sha == git(remote, "rev-parse", "main")
    fresh = clone(remote, "check")
    assert "at://a" in (fresh / "posts/a.md").read_text()
    assert "edited by a human" in (fresh / "posts/b.md").read_text()


def test_push_never_brings_back_commits_a_force_push_removed(remote: Path) -> None:
    a, b = clone(remote, "a"), clone(remote, "b")
    write(b, "leak.txt", "a secret\n")
    commit_all(b, "leak")
    git(b, "push", "-q", "origin", "HEAD:main")
    git(a, "pull", "-q", "origin", "main")  # the run's checkout has the leak
    write(a, "posts/a.md", record(POST.format(n="a"), "at://a"))
    commit_files(a, ["posts/a.md"], "record a")
    git(b, "reset", "-q", "--hard", "HEAD~1")  # meanwhile the leak is force-pushed away
    write(b, "posts/new.md", POST.format(n="new"))
    commit_all(b, "replacement")
    git(b, "push", "-q", "--force", "origin", "HEAD:main")

    result = push_with_retry(a, "main", sleep=no_sleep([]))
    assert result.ok, result.error
    fresh = clone(remote, "check")
    assert not (fresh / "leak.txt").exists()
    assert "at://a" in (fresh / "posts/a.md").read_text()
    assert (fresh / "posts/new.md").exists()


def test_push_merges_a_conflict_in_the_same_post(remote: Path) -> None:
    a, b = clone(remote, "a"), clone(remote, "b")
    base = POST.format(n="a")
    ours_text = record(base, "at://from-run-a")
    theirs_text = record(base, "at://from-run-b")
    write(a, "posts/a.md", ours_text)
    commit_files(a, ["posts/a.md"], "record a (run A)")
    write(b, "posts/a.md", theirs_text)
    commit_all(b, "record a (run B)")
    git(b, "push", "-q", "origin", "HEAD:main")

    calls: list[tuple[str, bytes, bytes]] = []

    def merge(path: str, ours: bytes, theirs: bytes) -> bytes:
        calls.append((path, ours, theirs))
        return record(base, "at://from-run-a+at://from-run-b").encode()

    result = push_with_retry(a, "main", merge_file=merge, sleep=no_sleep([]))
    assert result.ok, result.error
    assert calls == [("posts/a.md", ours_text.encode(), theirs_text.encode())]
    assert result.merged_files == ["posts/a.md"]
    fresh = clone(remote, "check")
    assert "at://from-run-a+at://from-run-b" in (fresh / "posts/a.md").read_text()
    assert git(remote, "rev-list", "--count", "main") == "3"


def test_merge_equal_to_remote_drops_our_commit(remote: Path) -> None:
    a, b = clone(remote, "a"), clone(remote, "b")
    base = POST.format(n="a")
    write(a, "posts/a.md", record(base, "at://x"))
    commit_files(a, ["posts/a.md"], "ours")
    write(b, "posts/a.md", record(base, "at://y"))
    rival = commit_all(b, "theirs")
    git(b, "push", "-q", "origin", "HEAD:main")

    result = push_with_retry(
        a, "main", merge_file=lambda _p, _o, theirs: theirs, sleep=no_sleep([])
    )
    assert result.ok and result.sha == rival == git(remote, "rev-parse", "main")


@pytest.mark.parametrize("callback", ["none", "raises"])
def test_unresolvable_conflict_fails_cleanly(remote: Path, callback: str) -> None:
    a, b = clone(remote, "a"), clone(remote, "b")
    base = POST.format(n="a")
    write(a, "posts/a.md", record(base, "at://x"))
    ours = commit_files(a, ["posts/a.md"], "ours")
    write(b, "posts/a.md", record(base, "at://y"))
    rival = commit_all(b, "theirs")
    git(b, "push", "-q", "origin", "HEAD:main")

    def broken(path: str, ours: bytes, theirs: bytes) -> bytes:
        raise ValueError("records disagree")

    result = push_with_retry(
        a, "main", merge_file=broken if callback == "raises" else None, sleep=no_sleep([])
    )
    assert not result.ok and result.attempts == 1  # one push, then the rebase gave up
    assert "posts/a.md" in (result.error or "")
    if callback == "raises":
        assert "records disagree" in (result.error or "")
    # no rebase left in progress, our commit intact, remote untouched
    assert not (a / ".git" / "rebase-merge").exists() and not (a / ".git" / "rebase-apply").exists()
    assert git(a, "rev-parse", "HEAD") == ours == result.sha
    assert git(a, "status", "--porcelain") == ""
    assert git(remote, "rev-parse", "main") == rival


def test_push_attempts_are_bounded(remote: Path) -> None:
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'rejected by policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    repo = clone(remote, "a")
    before = git(remote, "rev-parse", "main")
    write(repo, "posts/a.md", record(POST.format(n="a"), "at://a"))
    commit_files(repo, ["posts/a.md"], "record a")

    delays: list[float] = []
    result = push_with_retry(repo, "main", attempts=4, base_delay=1.0, sleep=no_sleep(delays))
    assert not result.ok and result.attempts == 4
    assert "after 4 attempts" in (result.error or "") and "rejected by policy" in (
        result.error or ""
    )
    assert len(delays) == 3
    assert all(0.0 <= d <= cap for d, cap in zip(delays, [1.0, 2.0, 4.0], strict=True))
    assert git(remote, "rev-parse", "main") == before


def test_push_rebases_with_unrelated_local_edits_present(remote: Path) -> None:
    """Files the workflow modified but did not commit neither block the rebase nor get pushed."""
    a, b = clone(remote, "a"), clone(remote, "b")
    write(a, "posts/a.md", record(POST.format(n="a"), "at://a"))
    commit_files(a, ["posts/a.md"], "record a")
    write(a, "posts/b.md", "local, uncommitted\n")
    write(b, "README.md", "remote edit\n")
    commit_all(b, "rival")
    git(b, "push", "-q", "origin", "HEAD:main")

    result = push_with_retry(a, "main", sleep=no_sleep([]))
    assert result.ok, result.error
    assert (a / "posts/b.md").read_text() == "local, uncommitted\n"
    fresh = clone(remote, "check")
    assert (fresh / "README.md").read_text() == "remote edit\n"
    assert "at://a" in (fresh / "posts/a.md").read_text()


def test_push_error_never_shows_url_credentials(remote: Path) -> None:
    """Credentials in a URL that git or the server prints are redacted from the error."""
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\necho 'denied, retry at https://bot:s3cr3t@git.example/r.git' >&2\nexit 1\n"
    )
    hook.chmod(0o755)
    repo = clone(remote, "a")
    write(repo, "posts/a.md", record(POST.format(n="a"), "at://a"))
    commit_files(repo, ["posts/a.md"], "record a")
    result = push_with_retry(repo, "main", attempts=1, sleep=no_sleep([]))
    assert not result.ok and result.error
    assert "denied" in result.error and "s3cr3t" not in result.error
