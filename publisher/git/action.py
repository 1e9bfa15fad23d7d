"""The Action's git: the posts changed between two revisions (`changed_posts`), a file
at a revision (`file_at`), the commit-back as github-actions[bot] (`commit_files`) and
the push with rebase and retry (`push_with_retry`), and the work tree a folder is in
(`work_tree_root`). These run through gitpython (imported inside the functions, so the
CLI starts fast).
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from publisher.git.common import BASE_ENV, BOT_ENV, POST_SUFFIXES, ZERO_SHA, GitError

if TYPE_CHECKING:
    from git import Repo

MergeFile = Callable[[str, bytes, bytes], bytes]
"""``merge_file(path, ours, theirs) -> merged``: ``ours`` is the content our run
committed, ``theirs`` the content now on the remote branch."""

_CREDENTIALS_IN_URL = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


@dataclass
class ChangeSet:
    """Posts touched between two revisions.

    ``changed`` holds added, modified and renamed-to paths (relative to the repository
    root, existing at ``after``); ``renamed`` the ``(old, new)`` pairs; ``deleted`` the
    paths gone at ``after``. When ``full_scan`` is true the lists are empty and the
    caller must consider every post without a live record; ``reason`` says why.
    """

    changed: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    full_scan: bool = False
    reason: str = ""
    other: list[str] = field(default_factory=list)  # every other path the change touched


@dataclass
class PushResult:
    """Outcome of :func:`push_with_retry`. ``merged_files`` lists conflicts resolved."""

    ok: bool
    attempts: int
    sha: str | None
    error: str | None
    merged_files: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------ helpers


def work_tree_root(folder: Path) -> Path | None:
    """The work tree root of the git repository containing ``folder``, or None."""
    import git

    try:
        repo = git.Repo(folder, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    return Path(repo.working_tree_dir).resolve() if repo.working_tree_dir else None


def _open(repo_dir: Path | str) -> Repo:
    import git

    try:
        return git.Repo(repo_dir)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise GitError(f"not a git repository: {repo_dir}") from exc


def _run(
    repo: Repo,
    *args: str,
    env: dict[str, str] | None = None,
    config: Sequence[str] = (),
) -> tuple[int, bytes, bytes]:
    """Run ``git [-c k=v ...] args`` in the work tree; returns (status, stdout, stderr)."""
    argv = ["git"]
    for item in config:
        argv += ["-c", item]
    argv += list(args)
    status, out, err = repo.git.execute(
        argv,
        with_extended_output=True,
        with_exceptions=False,
        stdout_as_string=False,
        strip_newline_in_stdout=False,
        env={**BASE_ENV, **(env or {})},
    )
    return int(status or 0), _as_bytes(out), _as_bytes(err)


def _as_bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")


def _check(
    repo: Repo, *args: str, env: dict[str, str] | None = None, config: Sequence[str] = ()
) -> bytes:
    status, out, err = _run(repo, *args, env=env, config=config)
    if status != 0:
        raise GitError(f"git {args[0]} failed: {_message(err)}")
    return out


def _message(err: bytes) -> str:
    """Last meaningful lines of git's stderr, with any URL credentials removed."""
    text = err.decode("utf-8", "replace").strip()
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("hint:")]
    return _CREDENTIALS_IN_URL.sub(r"\1***@", " | ".join(lines[-4:])) or "no error output"


def _not_option(value: str, what: str) -> str:
    if not value or value.startswith("-") or any(c.isspace() or c == "\0" for c in value):
        raise GitError(f"invalid {what}: {value!r}")
    return value


def _normalise_dir(posts_dir: str) -> str:
    parts = [p for p in PurePosixPath(posts_dir.replace("\\", "/")).parts if p not in ("", ".")]
    if any(p == ".." for p in parts) or posts_dir.startswith("/"):
        raise GitError(f"posts folder must be inside the repository: {posts_dir!r}")
    return "/".join(parts)


def _is_post(path: str, posts_dir: str) -> bool:
    inside = not posts_dir or path.startswith(posts_dir + "/")
    return inside and path.lower().endswith(POST_SUFFIXES)


def _is_commit(repo: Repo, rev: str) -> bool:
    status, _, _ = _run(repo, "cat-file", "-e", f"{rev}^{{commit}}")
    return status == 0


def _head(repo: Repo) -> str:
    return _check(repo, "rev-parse", "--verify", "HEAD").decode().strip()


# -------------------------------------------------------------------- change set


def changed_posts(
    repo_dir: Path | str,
    before: str | None,
    after: str,
    posts_dir: str,
    *,
    forced: bool = False,
) -> ChangeSet:
    """Markdown posts under ``posts_dir`` that changed between ``before`` and ``after``.

    Uses ``git diff --name-status -z -M before after`` (the net change, merges
    included). Falls back to ``full_scan=True`` on a first push (``before`` empty or
    all zeros), a force push, or a ``before`` missing from the clone (shallow
    checkout, or history rewritten). A rename into the posts folder counts as an
    addition, out of it as a deletion.
    """
    repo = _open(repo_dir)
    folder = _normalise_dir(posts_dir)
    _not_option(after, "revision")
    if not _is_commit(repo, after):
        raise GitError(f"revision {after!r} is not a commit in {repo_dir}")
    if not before or before == ZERO_SHA:
        return ChangeSet(full_scan=True, reason="first push: no previous revision")
    if forced:
        return ChangeSet(
            full_scan=True, reason="force push: the previous revision is not an ancestor"
        )
    _not_option(before, "revision")
    if not _is_commit(repo, before):
        return ChangeSet(
            full_scan=True,
            reason=f"previous revision {before[:12]} is not in the clone (use fetch-depth: 0)",
        )

    raw = _check(repo, "diff", "--name-status", "-z", "-M", "--no-ext-diff", before, after, "--")
    fields = [os.fsdecode(item) for item in raw.split(b"\0")]
    result = ChangeSet(reason=f"diff {before[:12]}..{after[:12]}")
    i = 0
    while i < len(fields) and fields[i]:
        status = fields[i][0]
        if status in "RC":
            old, new = fields[i + 1], fields[i + 2]
            i += 3
            if status == "R" and _is_post(old, folder) and _is_post(new, folder):
                result.renamed.append((old, new))
                result.changed.append(new)
            else:
                if _is_post(new, folder):
                    result.changed.append(new)
                else:
                    result.other.append(new)
                if status == "R" and _is_post(old, folder):
                    result.deleted.append(old)
            continue
        path = fields[i + 1]
        i += 2
        if not _is_post(path, folder):
            result.other.append(path)
            continue
        if status == "D":
            result.deleted.append(path)
        else:  # A, M, T (type change)
            result.changed.append(path)
    return result


def file_at(repo_dir: Path | str, rev: str, path: str) -> bytes | None:
    """The bytes of ``path`` at ``rev`` (e.g. a deleted post at ``before``), or None."""
    repo = _open(repo_dir)
    _not_option(rev, "revision")
    status, out, _ = _run(repo, "cat-file", "blob", f"{rev}:{path}")
    return out if status == 0 else None


# ------------------------------------------------------------------------ commit


def commit_files(repo_dir: Path | str, files: Sequence[str], message: str) -> str | None:
    """Commit exactly ``files`` as github-actions[bot]; return the new sha or None.

    Only the given paths are staged and committed (other staged or modified files are
    left as they are). The identity is passed through the environment, the
    repository's config is not changed. Returns None when none of them changed.
    """
    repo = _open(repo_dir)
    paths = [_repo_path(repo, f) for f in files]
    if not paths:
        return None
    _check(repo, "add", "--all", "--", *paths)
    status, _, err = _run(repo, "diff", "--cached", "--quiet", "--", *paths)
    if status == 0:
        return None
    if status != 1:
        raise GitError(f"git diff failed: {_message(err)}")
    from publisher.redaction import redact

    text = redact(message.strip()) + "\n"
    _check(
        repo,
        "commit",
        "--quiet",
        "--no-verify",
        "--cleanup=verbatim",
        "-m",
        text,
        "--only",
        "--",
        *paths,
        env=BOT_ENV,
        config=("commit.gpgsign=false",),
    )
    return _head(repo)


def _repo_path(repo: Repo, path: str) -> str:
    """A path relative to the work tree root, refusing anything outside it."""
    root = Path(repo.working_tree_dir or ".").resolve()
    candidate = Path(path)
    full = (candidate if candidate.is_absolute() else root / candidate).resolve()
    try:
        return full.relative_to(root).as_posix()
    except ValueError:
        raise GitError(f"path is outside the repository: {path!r}") from None


# -------------------------------------------------------------------------- push


def push_with_retry(
    repo_dir: Path | str,
    branch: str,
    *,
    remote: str = "origin",
    attempts: int = 5,
    base_delay: float = 1.0,
    max_delay: float = 30.0,
    merge_file: MergeFile | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PushResult:
    """Push ``HEAD`` to ``refs/heads/<branch>``, rebasing onto the remote when it moved.

    Never force-pushes. Between attempts it waits a random time in
    ``[0, min(max_delay, base_delay * 2**n))`` (exponential backoff, full jitter),
    fetches the branch and rebases onto it. A conflict in a file is resolved by
    ``merge_file(path, ours, theirs)`` (ours = what this run committed, theirs = the
    remote's version); without a callback, when it raises, or when one side deleted
    the file, the rebase is aborted and the result is a clean failure.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    repo = _open(repo_dir)
    _not_option(remote, "remote")
    _not_option(branch, "branch")
    status, _, _ = _run(repo, "check-ref-format", f"refs/heads/{branch}")
    if status != 0:
        raise GitError(f"invalid branch name: {branch!r}")

    merged: list[str] = []
    error = "push failed"
    for attempt in range(1, attempts + 1):
        status, _, err = _run(repo, "push", "--porcelain", remote, f"HEAD:refs/heads/{branch}")
        if status == 0:
            return PushResult(True, attempt, _head(repo), None, merged)
        error = _message(err)
        if attempt == attempts:
            break
        sleep(random.uniform(0.0, min(max_delay, base_delay * 2 ** (attempt - 1))))
        status, _, err = _run(
            repo, "fetch", "--quiet", "--no-tags", remote,
            f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}",
        )  # fmt: skip
        if status != 0:
            error = f"fetch failed: {_message(err)}"
            continue
        upstream = f"{remote}/{branch}"
        problem = _rebase(repo, upstream, merge_file, merged)
        if problem is not None:
            return PushResult(False, attempt, _head(repo), problem, merged)
        if _head(repo) == _check(repo, "rev-parse", "--verify", upstream).decode().strip():
            # our commit became empty: the remote already holds everything we wrote
            return PushResult(True, attempt, _head(repo), None, merged)
    return PushResult(
        False, attempts, _head(repo), f"push failed after {attempts} attempts: {error}", merged
    )


def _rebase(
    repo: Repo, upstream: str, merge_file: MergeFile | None, merged: list[str]
) -> str | None:
    """Move this run's one commit (HEAD) onto ``upstream``; returns an error message, or
    None on success. Only that commit is replayed (``--onto upstream HEAD~1``): commits
    the remote dropped meanwhile (a force push removing a leaked secret, say) are never
    pushed back."""
    env = {**BOT_ENV, "GIT_EDITOR": "true", "GIT_SEQUENCE_EDITOR": "true"}
    config = ("commit.gpgsign=false",)
    status, _, err = _run(
        repo, "rebase", "--autostash", "--onto", upstream, "HEAD~1", env=env, config=config
    )
    for _ in range(1000):  # one round per replayed commit; bounded against a wedged rebase
        if not _rebase_in_progress(repo):
            return None if status == 0 else f"rebase onto {upstream} failed: {_message(err)}"
        if _conflicted(repo):
            problem = _resolve_conflicts(repo, merge_file, merged)
            if problem is not None:
                _abort(repo)
                return problem
            status, _, err = _run(repo, "rebase", "--continue", env=env, config=config)
        elif _nothing_staged(repo):
            # the resolved content equals the remote's: our commit became empty
            status, _, err = _run(repo, "rebase", "--skip", env=env, config=config)
        else:
            _abort(repo)
            return f"rebase onto {upstream} stopped: {_message(err)}"
    _abort(repo)
    return f"rebase onto {upstream} did not finish"


def _nothing_staged(repo: Repo) -> bool:
    status, _, _ = _run(repo, "diff", "--cached", "--quiet")
    return status == 0


def _resolve_conflicts(repo: Repo, merge_file: MergeFile | None, merged: list[str]) -> str | None:
    for path in _conflicted(repo):
        if merge_file is None:
            return f"conflict in {path} while rebasing, and no way to merge it"
        # During a rebase stage 2 is the branch we rebase onto (the remote) and
        # stage 3 the commit being replayed (ours).
        theirs = _stage(repo, 2, path)
        ours = _stage(repo, 3, path)
        if ours is None or theirs is None:
            return f"conflict in {path}: deleted on one side, not merged automatically"
        try:
            result = merge_file(path, ours, theirs)
        except Exception as exc:
            return f"could not merge {path}: {type(exc).__name__}: {exc}"
        target = Path(repo.working_tree_dir or ".") / path
        if target.is_symlink():
            return f"conflict in {path}: a symbolic link, not merged"
        target.write_bytes(result)
        _check(repo, "add", "--", path)
        merged.append(path)
    return None


def _conflicted(repo: Repo) -> list[str]:
    out = _check(repo, "diff", "--name-only", "--diff-filter=U", "-z")
    return sorted({os.fsdecode(p) for p in out.split(b"\0") if p})


def _stage(repo: Repo, stage: int, path: str) -> bytes | None:
    status, out, _ = _run(repo, "cat-file", "blob", f":{stage}:{path}")
    return out if status == 0 else None


def _rebase_in_progress(repo: Repo) -> bool:
    git_dir = Path(repo.git_dir)
    return (git_dir / "rebase-merge").exists() or (git_dir / "rebase-apply").exists()


def _abort(repo: Repo) -> None:
    if _rebase_in_progress(repo):
        _run(repo, "rebase", "--abort")


__all__ = [
    "ChangeSet",
    "MergeFile",
    "PushResult",
    "changed_posts",
    "commit_files",
    "file_at",
    "push_with_retry",
    "work_tree_root",
]
