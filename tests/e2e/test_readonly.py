"""Read-only and unwritable places: one clear line, exit 2, nothing sent, nothing
claimed that did not happen. The read-only folders are real read-only bind mounts,
made in a private mount namespace of the command alone (`unshare -m`); the sandbox
server over HTTP says what was sent."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_ci import Harness
from tests.helpers import cli_env, make_repo, post, record, run_cli


def _can_unshare() -> bool:
    try:
        done = subprocess.run(
            ["unshare", "-m", "sh", "-c", "mount --bind / /tmp 2>/dev/null; true"],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


needs_mounts = pytest.mark.skipif(
    not _can_unshare(), reason="needs `unshare -m` and bind mounts (root in a container)"
)


def run_readonly(
    readonly: list[Path], args: list[str], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """`publisher args` with each of ``readonly`` mounted read-only for it alone."""
    mounts = " && ".join(
        f"mount --bind {shlex.quote(str(p))} {shlex.quote(str(p))} && "
        f"mount -o remount,ro,bind {shlex.quote(str(p))}"
        for p in readonly
    )
    return subprocess.run(
        [
            "unshare",
            "-m",
            "sh",
            "-c",
            f'{mounts} && exec "$@"',
            "sh",
            sys.executable,
            "-m",
            "publisher",
            *args,
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def one_line_error(done: subprocess.CompletedProcess[str], *needles: str) -> str:
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    assert "Traceback" not in out, out
    errors = [line for line in done.stderr.splitlines() if line.startswith("publisher: error:")]
    assert len(errors) == 1, out
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


@needs_mounts
def test_a_read_only_checkout_is_one_line_and_exit_2(tmp_path: Path, sandbox) -> None:
    repo = make_repo(tmp_path / "repo", {"a.md": post("[x]", "hello")})
    env = cli_env(sandbox.url, sandbox.live_key)
    for command in (["publish"], ["sync"]):
        done = run_readonly([repo], command, repo, env)
        one_line_error(done, "cannot take the run lock", "Read-only file system")
    assert not sandbox.posts()
    checked = run_readonly([repo], ["validate"], repo, env)  # reading needs no write
    assert checked.returncode == 0, checked.stdout + checked.stderr


@needs_mounts
def test_a_read_only_posts_folder_sends_nothing_and_claims_no_answer(
    tmp_path: Path, sandbox
) -> None:
    repo = make_repo(tmp_path / "repo", {"a.md": post("[x]", "hello"), "b.md": post("[x]", "b")})
    env = cli_env(sandbox.url, sandbox.live_key)
    done = run_readonly([repo / "posts"], ["publish"], repo, env)
    line = one_line_error(done, "posts cannot be written", "Read-only file system")
    assert "nothing was sent" in line
    assert "pending" not in done.stdout + done.stderr
    assert "answered" not in done.stdout + done.stderr
    assert not sandbox.posts()
    assert record(repo / "posts" / "a.md") == {}
    # Writable again: published once.
    again = run_cli(["publish"], repo, env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(sandbox.posts()) == 2


def test_the_record_lost_to_a_failed_write_says_what_the_server_answered() -> None:
    from publisher.writeback import unrecorded_answers

    assert unrecorded_answers({"x": {"status": "pending", "key": "k"}}) == (
        "no request was sent for it"
    )
    said = unrecorded_answers(
        {"x": {"status": "published", "uri": "https://x.com/a/1"}, "y": {"status": "pending"}}
    )
    assert said == "the server answered x: published https://x.com/a/1"
    assert "{" not in said


def test_unwritable_runner_files_are_one_error_each_and_exit_2_after_the_push(
    tmp_path: Path, sandbox
) -> None:
    h = Harness(tmp_path, sandbox)
    before, after = h.seed({"posts/a.md": post("[x]", "from the action")})
    work = h.clone("work")
    unwritable = tmp_path / "a-folder"
    unwritable.mkdir()  # opening a folder to append is an OSError like EROFS or EACCES
    run = h.run(
        work,
        "push",
        h.push_event(before, after),
        GITHUB_OUTPUT=str(unwritable),
        GITHUB_STEP_SUMMARY=str(unwritable),
    )
    out = run.stdout + run.stderr
    assert run.returncode == 2, out
    assert "Traceback" not in out
    errors = [x for x in run.stdout.splitlines() if x.startswith("::error")]
    assert len(errors) == 2, errors
    assert (
        "cannot write GITHUB_OUTPUT" in errors[0]
        and "cannot write GITHUB_STEP_SUMMARY" in errors[1]
    )
    assert len(sandbox.posts()) == 1
    assert h.remote_record("posts/a.md")["targets"]["x"]["status"] == "published"  # still pushed
