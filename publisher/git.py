"""The one git module: every git command publisher runs goes through here.

- For the Action: the posts changed between two revisions (`changed_posts`), a file
  at a revision (`file_at`), the commit-back as github-actions[bot] (`commit_files`)
  and the push with rebase and retry (`push_with_retry`). These run through gitpython
  (imported inside the functions, so the CLI starts fast).
- For the user's own work tree (`watch --commit`, `sync`): whether a folder is in a
  work tree (`in_work_tree`), a commit under the user's identity and hooks
  (`commit_local`), and the post files deleted in the work tree or the history
  (`deleted_posts`). These run plain ``git -C <root>`` with the user's environment.

Every git command is run as an argument list (never through a shell), with ``--``
before paths and ``GIT_LITERAL_PATHSPECS=1``, because file names in a repository are
untrusted data; git never prompts (``GIT_TERMINAL_PROMPT=0``).
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from publisher.errors import PublisherError

if TYPE_CHECKING:
    from git import Repo

ZERO_SHA = "0" * 40
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
POST_SUFFIXES = (".md", ".markdown")

MergeFile = Callable[[str, bytes, bytes], bytes]
"""``merge_file(path, ours, theirs) -> merged``: ``ours`` is the content our run
committed, ``theirs`` the content now on the remote branch."""

# Never prompt, never read pathspec magic from file names.
_BASE_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_LITERAL_PATHSPECS": "1"}
_BOT_ENV = {
    "GIT_AUTHOR_NAME": BOT_NAME,
    "GIT_AUTHOR_EMAIL": BOT_EMAIL,
    "GIT_COMMITTER_NAME": BOT_NAME,
    "GIT_COMMITTER_EMAIL": BOT_EMAIL,
}
_CREDENTIALS_IN_URL = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


class GitError(PublisherError):
    """A git command failed in a way the caller cannot recover from."""


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
        env={**_BASE_ENV, **(env or {})},
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
        env=_BOT_ENV,
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
    env = {**_BOT_ENV, "GIT_EDITOR": "true", "GIT_SEQUENCE_EDITOR": "true"}
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


# ------------------------------------------------------------- the user's work tree


class CommitError(PublisherError):
    """`git add` or `git commit` failed (the message is git's, without the file's content)."""


def _user_git(
    root: Path, *args: str, text: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess[Any]:
    """``git -C root args`` with the user's environment (identity, hooks, config);
    raises `OSError` / `subprocess.SubprocessError` when git cannot run."""
    env = {**os.environ, **_BASE_ENV}
    return subprocess.run(
        ["git", "-C", str(root), *args],
        capture_output=True,
        text=text,
        env=env,
        check=False,
        timeout=timeout,
    )


def committed_versions(
    root: Path,
    files: Sequence[Path],
    *,
    refs: Sequence[str] = (),
    per_file: int = 30,
    born: dict[Path, int] | None = None,
) -> dict[Path, list[bytes]]:
    """The committed versions of `files` (newest first, at most `per_file` each) on
    every ref the clone has (``--all``: branches, tags, remote-tracking refs) and on
    `refs` (a push event's ``before``: fetched by its id when the clone lacks it, as
    after a force push), renames followed: a file is read under its earlier names
    too, also when the commit that renamed it dropped its `published` block (git
    sees a deletion and an addition there; publisher pairs them when the rest of
    the file is the same, or nearly). One ``git log`` and one ``git cat-file
    --batch`` for the whole run (never a process per file). Files outside a git
    work tree, or git failing, give no versions: callers go on without history.

    What a lost `published` block (a bad merge) is restored from before a target is
    ever sent as new. `born`, when given, gets each file's first commit time (Unix
    seconds, under any of its names): no post of it can be older."""
    top = user_git_output(root, "rev-parse", "--show-toplevel")
    if not top or not files:
        return {}
    repo = Path(top)
    rel: dict[str, Path] = {}
    for f in files:
        try:
            rel[Path(os.path.relpath(Path(f).resolve(), repo.resolve())).as_posix()] = Path(f)
        except ValueError:
            continue
    if not rel:
        return {}
    revs = [r for r in refs if r and r != ZERO_SHA and _safe_rev(r)]
    revs = [r for r in revs if _have_commit(repo, r)]
    folder = os.path.commonpath([os.path.dirname(p) or "." for p in rel]) or "."
    try:
        log = _user_git(
            repo,
            "-c",
            "core.quotepath=off",
            "log",
            "--all",
            *revs,
            "--format=@%H %ct",
            "--raw",
            "--no-abbrev",
            "-M",
            "--max-count=5000",
            "-z",
            "--",
            folder,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    if log.returncode != 0:
        return {}
    touched = _touched(str(log.stdout))
    try:
        blobs = _Blobs(repo)
    except (OSError, subprocess.SubprocessError):
        return {}
    out: dict[Path, list[bytes]] = {}
    owner = {name: name for name in rel}  # a name one of the files had -> that file
    seen: set[tuple[str, str]] = set()
    try:
        for when, changes in touched:  # one pass, newest first
            for change in changes:
                mine = owner.get(change.new)
                if mine is None:
                    continue
                if change.status == "R" and change.old:
                    owner.setdefault(change.old, mine)  # older versions under that name
                elif change.status == "A":
                    old = _paired(blobs, change, changes)
                    if old is not None:
                        owner.setdefault(old, mine)
            for change in changes:
                mine = owner.get(change.new)
                if mine is None or change.status == "D":
                    continue
                if born is not None:
                    born[rel[mine]] = min(born.get(rel[mine], when), when)
                versions = out.setdefault(rel[mine], [])
                if len(versions) >= per_file or (mine, change.blob) in seen:
                    continue
                seen.add((mine, change.blob))
                data = blobs.get(change.blob)
                if data is not None:
                    versions.append(data)
        out = {path: versions for path, versions in out.items() if versions}
    except (OSError, subprocess.SubprocessError, ValueError):
        return out
    finally:
        blobs.close()
    return out


class _Change:
    """One file's change in one commit of ``git log --raw``."""

    __slots__ = ("blob", "new", "old", "old_blob", "status")

    def __init__(self, status: str, old: str | None, new: str, blob: str, old_blob: str):
        self.status, self.old, self.new = status, old, new
        self.blob, self.old_blob = blob, old_blob


def _touched(log: str) -> list[tuple[int, list[_Change]]]:
    """``git log --format='@%H %ct' --raw --no-abbrev -z`` -> each commit's time and
    changes, newest first (a rename or copy has both names; a deletion its path as
    `new`)."""
    out: list[tuple[int, list[_Change]]] = []
    tokens = iter(log.split("\0"))
    for raw in tokens:
        token = raw.strip("\n")
        if not token:
            continue
        if token.startswith("@"):
            stamp = token.split()[-1]
            out.append((int(stamp) if stamp.isdigit() else 0, []))
            continue
        if not out or not token.startswith(":"):
            continue
        fields = token[1:].split()
        if len(fields) < 5:
            continue
        old_blob, blob, status = fields[2], fields[3], fields[4][0]
        if status in "RC":
            old, new = next(tokens, ""), next(tokens, "")
            out[-1][1].append(_Change(status, old, new, blob, old_blob))
        else:
            out[-1][1].append(_Change(status, None, next(tokens, ""), blob, old_blob))
    return out


def _paired(blobs: _Blobs, added: _Change, changes: list[_Change]) -> str | None:
    """The file deleted in the same commit that `added` is, renamed: the same file but
    for its `published` block (a rename that lost the block in the same commit, which
    git cannot tell from a new file: the block is most of a short post)."""
    gone = [c for c in changes if c.status == "D"]
    if not gone:
        return None
    new = blobs.get(added.blob)
    if new is None:
        return None
    mine = _sans_block(new)
    from publisher.identity import similar

    for c in gone:
        old = blobs.get(c.old_blob)
        if old is not None and similar(_sans_block(old), mine):
            return c.new
    return None


def _sans_block(raw: bytes) -> str:
    """A post file's text without its `published` block."""
    out, skipping = [], False
    for line in raw.decode("utf-8", "replace").splitlines():
        if line.startswith("published:"):
            skipping = True
            continue
        if skipping and (line.startswith((" ", "\t")) or not line.strip()):
            continue
        skipping = False
        out.append(line)
    return "\n".join(out)


class _Blobs:
    """One ``git cat-file --batch`` for the run, asked one object at a time."""

    def __init__(self, repo: Path) -> None:
        self.proc = subprocess.Popen(
            ["git", "-C", str(repo), "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **_BASE_ENV},
        )
        self.cache: dict[str, bytes | None] = {}

    def get(self, blob: str) -> bytes | None:
        if not blob or set(blob) == {"0"}:
            return None
        if blob in self.cache:
            return self.cache[blob]
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(blob.encode() + b"\n")
        self.proc.stdin.flush()
        header = self.proc.stdout.readline().split()
        data: bytes | None = None
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            data = self.proc.stdout.read(size + 1)[:size]
        self.cache[blob] = data
        return data

    def close(self) -> None:
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except (OSError, subprocess.SubprocessError):
            self.proc.kill()


def _safe_rev(rev: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in rev) and 7 <= len(rev) <= 64


def _have_commit(repo: Path, rev: str) -> bool:
    """Whether commit `rev` is in the clone, fetched from origin by its id when not
    (a force push's ``before``: GitHub serves commits no ref names)."""
    try:
        if _user_git(repo, "cat-file", "-e", f"{rev}^{{commit}}", timeout=30).returncode == 0:
            return True
        _user_git(repo, "fetch", "-q", "--no-tags", "origin", rev, timeout=60)
        return _user_git(repo, "cat-file", "-e", f"{rev}^{{commit}}", timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def user_git_output(root: Path, *args: str, timeout: float = 30) -> str | None:
    """The stripped output of ``git -C root args`` as the user, or None when git
    fails or cannot run (``publisher init`` asks git about the user's repository)."""
    try:
        done = _user_git(root, *args, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    return str(done.stdout).strip() if done.returncode == 0 else None


def in_work_tree(root: Path) -> bool:
    """Whether ``root`` is inside a git work tree (False when git is missing)."""
    try:
        done = _user_git(root, "rev-parse", "--is-inside-work-tree", timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(done.stdout.strip() == "true")


def commit_local(root: Path, files: Sequence[Path], message: str) -> str | None:
    """Commit exactly ``files`` as the user (their own git identity and hooks); return
    the short sha, or None when nothing changed. Other staged changes stay staged.
    Raises `CommitError`."""

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        try:
            return _user_git(root, *args)
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
            done = _user_git(root, *argv)
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout if done.returncode == 0 else ""

    def blob(rev_path: str) -> bytes | None:
        try:
            done = _user_git(root, "show", rev_path, text=False)
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


__all__ = [
    "BOT_EMAIL",
    "BOT_NAME",
    "ZERO_SHA",
    "ChangeSet",
    "CommitError",
    "GitError",
    "MergeFile",
    "PushResult",
    "changed_posts",
    "commit_files",
    "commit_local",
    "committed_versions",
    "deleted_posts",
    "file_at",
    "in_work_tree",
    "push_with_retry",
    "user_git_output",
    "work_tree_root",
]


def versions_mentioning(
    root: Path, folders: Sequence[str], needle: str, *, max_commits: int = 5000
) -> list[bytes]:
    """Every committed version of a file under ``folders`` (relative to ``root``) on
    any ref (``--all``: branches, remote branches, fetched pull-request heads, tags)
    that a commit added ``needle`` to or removed it from: the file as that commit
    left it and as it was before. One ``git log -S`` and one ``git cat-file --batch``
    (at most ``max_commits`` commits). Outside a work tree, or with git failing, [].

    ``publisher draft`` reads the ``source:`` of every draft ever committed here, so
    a draft that was deleted is never drafted again."""
    top = user_git_output(root, "rev-parse", "--show-toplevel")
    if not top:
        return []
    repo = Path(top)
    specs = []
    for folder in folders:
        try:
            rel = Path(os.path.relpath((root / folder).resolve(), repo.resolve())).as_posix()
        except ValueError:
            continue
        if rel == ".." or rel.startswith("../"):
            continue
        specs.append(rel)
    if not specs:
        return []
    try:
        log = _user_git(
            repo,
            "-c",
            "core.quotepath=off",
            "log",
            "--all",
            "--format=@%H",
            "--name-only",
            "--no-renames",
            f"--max-count={max_commits}",
            "-S",
            needle,
            "-z",
            "--",
            *specs,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    if log.returncode != 0:
        return []
    request: list[str] = []
    commit = ""
    for token in str(log.stdout).replace("\n", "\0").split("\0"):
        if token.startswith("@"):
            commit = token[1:]
        elif token and commit and "\n" not in token:
            request += [f"{commit}:{token}\n", f"{commit}^:{token}\n"]
    if not request:
        return []
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), "cat-file", "--batch"],
            input="".join(request).encode(),
            capture_output=True,
            env={**os.environ, **_BASE_ENV},
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    out: list[bytes] = []
    data, at = done.stdout, 0
    while at < len(data):
        end = data.find(b"\n", at)
        if end < 0:
            break
        header = data[at:end].split()
        at = end + 1
        if len(header) != 3 or header[1] != b"blob":
            continue  # "<name> missing": not in that commit (added, or a root commit)
        size = int(header[2])
        out.append(data[at : at + size])
        at += size + 1
    return out
