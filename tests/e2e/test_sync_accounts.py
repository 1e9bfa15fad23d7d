"""`publisher accounts` and `publisher sync` for deleted files, against the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import tomllib

from tests.helpers import cli_env, make_repo, post, record, run_cli


def git(repo, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def test_accounts_appended_to_publisher_toml_is_valid_and_usable(tmp_path, sandbox):
    """The README's recipe, `publisher accounts >> publisher.toml`: stdout is only TOML
    (the table goes to stderr), valid after a config that already has `[accounts]`."""
    repo = make_repo(tmp_path, {})
    done = run_cli(["accounts"], repo, cli_env(sandbox.url, sandbox.live_key))
    assert done.returncode == 0, done.stderr
    for account in sandbox.accounts:
        assert account["id"] in done.stderr
    with (repo / "publisher.toml").open("a") as config:
        config.write(done.stdout)
    parsed = tomllib.loads((repo / "publisher.toml").read_text())["accounts"]
    # `x = "twitter"` was there already: the one X account is not added again
    assert parsed["x"] == "twitter" and "skipped twitter" in done.stderr
    assert len(parsed) == len(sandbox.accounts)
    assert (
        sum(1 for a in parsed.values() if isinstance(a, dict) and a["platform"] == "linkedin") == 2
    )

    # The block works as configuration: a post can target an alias from it.
    alias = next(
        n for n, a in parsed.items() if isinstance(a, dict) and a["platform"] == "linkedin"
    )
    (repo / "posts" / "l.md").write_text(post(f"[{alias}]", "To one of two LinkedIn accounts."))
    published = run_cli(["publish"], repo, cli_env(sandbox.url, sandbox.live_key))
    assert published.returncode == 0, published.stdout + published.stderr
    assert record(repo / "posts/l.md")["targets"][alias]["account"] == parsed[alias]["id"]

    # Run again: nothing new to append, and the file stays valid
    again = run_cli(["accounts"], repo, cli_env(sandbox.url, sandbox.live_key))
    assert again.returncode == 0 and again.stdout == ""
    assert "already has an alias" in again.stderr


def test_accounts_without_a_key_is_a_usage_error(tmp_path):
    repo = make_repo(tmp_path, {})
    done = run_cli(["accounts"], repo, cli_env("http://127.0.0.1:9", None))
    assert done.returncode == 2
    assert "LETMEPOST_API_KEY" in done.stderr and "Traceback" not in done.stderr


def test_sync_cancels_the_queued_post_of_a_deleted_file(tmp_path, sandbox):
    repo = make_repo(
        tmp_path,
        {
            "gone.md": post("[bluesky]", "Will be deleted.", scheduledAt="2031-02-01T10:00:00Z"),
            "kept.md": post("[bluesky]", "Stays queued.", scheduledAt="2031-02-01T10:00:00Z"),
        },
    )
    git(repo, "init", "-q", "-b", "main")
    assert run_cli(["publish"], repo, cli_env(sandbox.url, sandbox.live_key)).returncode == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "posts")
    git(repo, "rm", "-q", "posts/gone.md")
    git(repo, "commit", "-qm", "drop a post")
    done = run_cli(["sync"], repo, cli_env(sandbox.url, sandbox.live_key))
    assert done.returncode == 0, done.stdout + done.stderr
    status = {row["text"]: row["status"] for row in sandbox.posts()}
    assert status == {"Will be deleted.": "canceled", "Stays queued.": "queued"}
    assert record(repo / "posts/kept.md")["targets"]["bluesky"]["status"] == "queued"


def test_publish_and_its_dry_run_cancel_a_deleted_files_queued_post_too(tmp_path, sandbox):
    """Cancel-on-delete is a step of the plan: sync, publish and the Action alike."""
    repo = make_repo(
        tmp_path,
        {"gone.md": post("[bluesky]", "Deleted later.", scheduledAt="2031-02-01T10:00:00Z")},
    )
    env = cli_env(sandbox.url, sandbox.live_key)
    git(repo, "init", "-q", "-b", "main")
    assert run_cli(["publish"], repo, env).returncode == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "posts")
    git(repo, "rm", "-q", "posts/gone.md")
    git(repo, "commit", "-qm", "drop it")
    (repo / "posts").mkdir(exist_ok=True)
    (repo / "posts/new.md").write_text(post("[bluesky]", "A new one."))
    dry = json.loads(run_cli(["publish", "--dry-run", "--json"], repo, env).stdout)
    assert [(r["method"], r["file"]) for r in dry["requests"]] == [
        ("POST", "posts/new.md"),
        ("DELETE", "posts/gone.md"),
    ]
    done = run_cli(["publish"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    status = {row["text"]: row["status"] for row in sandbox.posts()}
    assert status == {"Deleted later.": "canceled", "A new one.": "published"}
    again = run_cli(["publish"], repo, env)  # an old deletion says nothing more
    assert again.returncode == 0 and "nothing to publish" in again.stdout
