"""What every git call of publisher shares: the environment git runs with (never
prompting, never reading pathspec magic from file names), the bot's identity, the
errors, and ``git -C root`` run as the user.

Every git command is run as an argument list (never through a shell), with ``--``
before paths and ``GIT_LITERAL_PATHSPECS=1``, because file names in a repository are
untrusted data; git never prompts (``GIT_TERMINAL_PROMPT=0``).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Literal, overload

from publisher.errors import PublisherError

ZERO_SHA = "0" * 40
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
POST_SUFFIXES = (".md", ".markdown")

# Never prompt, never read pathspec magic from file names.
BASE_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_LITERAL_PATHSPECS": "1"}
BOT_ENV = {
    "GIT_AUTHOR_NAME": BOT_NAME,
    "GIT_AUTHOR_EMAIL": BOT_EMAIL,
    "GIT_COMMITTER_NAME": BOT_NAME,
    "GIT_COMMITTER_EMAIL": BOT_EMAIL,
}


class GitError(PublisherError):
    """A git command failed in a way the caller cannot recover from."""


class CommitError(PublisherError):
    """`git add` or `git commit` failed (the message is git's, without the file's content)."""


@overload
def user_git(
    root: Path, *args: str, text: Literal[True] = ..., timeout: float = ...
) -> subprocess.CompletedProcess[str]: ...
@overload
def user_git(
    root: Path, *args: str, text: Literal[False], timeout: float = ...
) -> subprocess.CompletedProcess[bytes]: ...
def user_git(
    root: Path, *args: str, text: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess[str] | subprocess.CompletedProcess[bytes]:
    """``git -C root args`` with the user's environment (identity, hooks, config);
    raises `OSError` / `subprocess.SubprocessError` when git cannot run."""
    env = {**os.environ, **BASE_ENV}
    return subprocess.run(
        ["git", "-C", str(root), *args],
        capture_output=True,
        text=text,
        env=env,
        check=False,
        timeout=timeout,
    )


def user_git_output(root: Path, *args: str, timeout: float = 30) -> str | None:
    """The stripped output of ``git -C root args`` as the user, or None when git
    fails or cannot run (``publisher init`` asks git about the user's repository)."""
    try:
        done = user_git(root, *args, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


__all__ = [
    "BASE_ENV",
    "BOT_EMAIL",
    "BOT_ENV",
    "BOT_NAME",
    "POST_SUFFIXES",
    "ZERO_SHA",
    "CommitError",
    "GitError",
    "user_git",
    "user_git_output",
]
