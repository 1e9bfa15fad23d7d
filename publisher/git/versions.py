"""Committed versions of files, read from the history on every ref: what reconcile
restores a lost `published` block from (`committed_versions`: renames followed, a
history stopping at a deletion) and the drafts ever committed (`versions_mentioning`).
One ``git log`` and one ``git cat-file --batch`` per call, never a process per file.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from publisher.git.common import BASE_ENV, ZERO_SHA, user_git, user_git_output


def committed_versions(
    root: Path,
    files: Sequence[Path],
    *,
    refs: Sequence[str] = (),
    per_file: int = 30,
    born: dict[Path, int] | None = None,
    names: dict[Path, list[Path]] | None = None,
    earlier: dict[Path, list[bytes]] | None = None,
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
    seconds, under any of its names): no post of it can be older.

    A file's history stops at a deletion: a path deleted and later added again is a
    new post there, its versions from before are another post's. `names`, when
    given, gets each file's earlier names in its current life (absolute paths: it was
    renamed from them); `earlier`, the versions of the posts that had its path before
    it was deleted (what they recorded is not this post's)."""
    top = user_git_output(root, "rev-parse", "--show-toplevel")
    if not top or not files:
        return {}
    repo = Path(top)
    rel = _relative(repo, files)
    if not rel:
        return {}
    revs = [r for r in refs if r and r != ZERO_SHA and _safe_rev(r)]
    revs = [r for r in revs if _have_commit(repo, r)]
    touched = _read_log(repo, revs, rel)
    if touched is None:
        return {}
    try:
        blobs = _Blobs(repo)
    except (OSError, subprocess.SubprocessError):
        return {}
    walk = _Walk(rel, blobs, per_file=per_file, born=born, earlier=earlier)
    try:
        for when, changes in touched:  # one pass, newest first
            walk.commit(when, changes)
        if names is not None:
            walk.former_names(repo, names)
    except (OSError, subprocess.SubprocessError, ValueError):
        return walk.out
    finally:
        blobs.close()
    return {path: versions for path, versions in walk.out.items() if versions}


def _relative(repo: Path, files: Sequence[Path]) -> dict[str, Path]:
    """Each file's path relative to the repository root (as git prints it) -> the file;
    a file on another drive is left out."""
    rel: dict[str, Path] = {}
    for f in files:
        try:
            rel[Path(os.path.relpath(Path(f).resolve(), repo.resolve())).as_posix()] = Path(f)
        except ValueError:
            continue
    return rel


def _read_log(repo: Path, revs: list[str], rel: dict[str, Path]) -> list[_Commit] | None:
    """The one ``git log`` of the run: every commit on any ref (and `revs`) touching the
    folder that holds all the files, renames detected; None when git fails."""
    folder = os.path.commonpath([os.path.dirname(p) or "." for p in rel]) or "."
    try:
        log = user_git(
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
        return None
    if log.returncode != 0:
        return None
    return _touched(str(log.stdout))


class _Walk:
    """The one pass over the log, newest first: which names each file had in its current
    life, where that life began (a deletion before it ends it), and the versions read
    on the way."""

    def __init__(
        self,
        rel: dict[str, Path],
        blobs: _Blobs,
        *,
        per_file: int,
        born: dict[Path, int] | None,
        earlier: dict[Path, list[bytes]] | None,
    ) -> None:
        self.rel, self.blobs, self.per_file = rel, blobs, per_file
        self.born, self.earlier = born, earlier
        self.out: dict[Path, list[bytes]] = {}
        self.owner = {name: name for name in rel}  # a name one of the files had -> that file
        self.ended: dict[str, str] = {}  # a name deleted before this life of the file -> file
        self.added: set[str] = set()  # names seen created (newest first): a deletion before ends
        self.seen: set[tuple[str, str]] = set()

    def commit(self, when: int, changes: list[_Change]) -> None:
        """One commit: first the names it gave the files, then the versions it left."""
        paired = self._follow_names(changes)
        for change in changes:
            self._take(when, change, paired)

    def _follow_names(self, changes: list[_Change]) -> set[str]:
        """A rename's old name, and a deleted file an addition pairs with, become names
        of the same file (older versions live under them); returns the paired names."""
        paired: set[str] = set()
        for change in changes:
            mine = self.owner.get(change.new)
            if mine is None:
                continue
            if change.status == "R" and change.old:
                self.owner.setdefault(change.old, mine)  # older versions under that name
            elif change.status == "A":
                self.added.add(change.new)
                old = _paired(self.blobs, change, changes)
                if old is not None:
                    self.owner.setdefault(old, mine)
                    paired.add(old)
        return paired

    def _take(self, when: int, change: _Change, paired: set[str]) -> None:
        """What one change means: the end of a file's life (a deletion after which it
        was added again), a version of the post that had the path before, or a version
        of one of the files."""
        name = change.new
        if change.status == "D" and name in self.owner and name in self.added:
            if name not in paired:  # deleted, then a new file there
                self.ended[name] = self.owner.pop(name)
            return
        gone = self.ended.get(name)
        if gone is not None and change.status != "D":
            self._keep_earlier(self.rel[gone], change)
            return
        mine = self.owner.get(name)
        if mine is None or change.status == "D":
            return
        self._keep_version(when, mine, change)

    def _keep_earlier(self, path: Path, change: _Change) -> None:
        """A version of the post that had `path` before it was deleted."""
        if self.earlier is None:
            return
        kept = self.earlier.setdefault(path, [])
        if len(kept) < self.per_file:
            data = self.blobs.get(change.blob)
            if data is not None:
                kept.append(data)

    def _keep_version(self, when: int, mine: str, change: _Change) -> None:
        """A committed version of the file `mine` (each blob once, at most `per_file`)."""
        path = self.rel[mine]
        if self.born is not None:
            self.born[path] = min(self.born.get(path, when), when)
        versions = self.out.setdefault(path, [])
        if len(versions) >= self.per_file or (mine, change.blob) in self.seen:
            return
        self.seen.add((mine, change.blob))
        data = self.blobs.get(change.blob)
        if data is not None:
            versions.append(data)

    def former_names(self, repo: Path, names: dict[Path, list[Path]]) -> None:
        """Each file's earlier names in its current life, as absolute paths."""
        for name, mine in self.owner.items():
            if name != mine:
                names.setdefault(self.rel[mine], []).append(repo / name)


class _Change:
    """One file's change in one commit of ``git log --raw``."""

    __slots__ = ("blob", "new", "old", "old_blob", "status")

    def __init__(self, status: str, old: str | None, new: str, blob: str, old_blob: str):
        self.status, self.old, self.new = status, old, new
        self.blob, self.old_blob = blob, old_blob


_Commit = tuple[int, list[_Change]]
"""A commit of the log: its time (Unix seconds) and its changes."""


def _touched(log: str) -> list[_Commit]:
    """``git log --format='@%H %ct' --raw --no-abbrev -z`` -> each commit's time and
    changes, newest first (a rename or copy has both names; a deletion its path as
    `new`)."""
    out: list[_Commit] = []
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
            env={**os.environ, **BASE_ENV},
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
        if user_git(repo, "cat-file", "-e", f"{rev}^{{commit}}", timeout=30).returncode == 0:
            return True
        user_git(repo, "fetch", "-q", "--no-tags", "origin", rev, timeout=60)
        return user_git(repo, "cat-file", "-e", f"{rev}^{{commit}}", timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


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
        log = user_git(
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
            env={**os.environ, **BASE_ENV},
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


__all__ = ["committed_versions", "versions_mentioning"]
