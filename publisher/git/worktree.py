"""The user's own work tree (`watch --commit`, `sync`, `init`): whether a folder is in
a work tree (`in_work_tree`), a commit under the user's identity and hooks
(`commit_local`), and the post files deleted in the work tree or the history
(`deleted_posts`). These run plain ``git -C <root>`` with the user's environment.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from publisher.git.common import POST_SUFFIXES, CommitError, user_git


def in_work_tree(root: Path) -> bool:
    """Whether ``root`` is inside a git work tree (False when git is missing)."""
    try:
        done = user_git(root, "rev-parse", "--is-inside-work-tree", timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(done.stdout.strip() == "true")


def commit_local(root: Path, files: Sequence[Path], message: str) -> str | None:
    """Commit exactly ``files`` as the user (their own git identity and hooks); return
    the short sha, or None when nothing changed. Other staged changes stay staged.
    Raises `CommitError`."""

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        try:
            return user_git(root, *args)
        except (OSError, subprocess.SubprocessError) as exc:  # no git, a hung hook, ...
            raise CommitError(f"git {args[0]}: {exc}") from None

    paths = [str(f.resolve()) for f in files]
    done = git("add", "--", *paths)
    if done.returncode != 0:
        raise CommitError(_first_line(done.stderr) or "git add failed")
    if git("diff", "--cached", "--quiet", "--", *paths).returncode == 0:
        return None
    from publisher.redaction import redact

    done = git("commit", "--quiet", "-m", redact(message), "--only", "--", *paths)
    if done.returncode != 0:
        raise CommitError(_first_line(done.stderr or done.stdout) or "git commit failed")
    return git("rev-parse", "--short", "HEAD").stdout.strip() or None


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def deleted_posts(root: Path, posts: str) -> list[tuple[str, bytes]]:
    """(path, last content) of Markdown files under ``posts`` deleted in the work tree
    or in the history of HEAD, and not present now. Paths are relative to the work
    tree root as git prints them; git failing (or missing) gives what was found."""

    def git(*argv: str) -> str:
        try:
            done = user_git(root, *argv)
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout if done.returncode == 0 else ""

    def blob(rev_path: str) -> bytes | None:
        try:
            done = user_git(root, "show", rev_path, text=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return bytes(done.stdout) if done.returncode == 0 else None

    found: dict[str, bytes] = {}
    for line in git("ls-files", "--deleted", "-z", "--", posts).split("\0"):
        if line.lower().endswith(POST_SUFFIXES) and not (root / line).exists():
            raw = blob(f"HEAD:{line}")
            if raw is not None:
                found[line] = raw
    log = git("log", "--diff-filter=D", "--name-only", "--format=@%H", "-z", "--", posts)
    commit = ""
    for token in log.replace("\n", "\0").split("\0"):
        if token.startswith("@"):
            commit = token[1:]
        elif (
            token.lower().endswith(POST_SUFFIXES)
            and token not in found
            and not (root / token).exists()
        ):
            raw = blob(f"{commit}^:{token}")
            if raw is not None:
                found[token] = raw
    return list(found.items())


__all__ = ["commit_local", "deleted_posts", "in_work_tree"]
