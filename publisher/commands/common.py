"""What several commands share: the config from the arguments, the posts, and files
created atomically, never over another."""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.config import Config, load_config
from publisher.errors import UsageError

if TYPE_CHECKING:
    from publisher.post import Post
    from publisher.run import Run

__all__ = [
    "UsageError",
    "config_from",
    "create_new",
    "inside",
    "load_posts",
    "replace_file",
    "run_from",
]


def config_from(path: Path | None, paths: Sequence[Path] = ()) -> Config:
    """`--config` (`path`), else the configuration of the repository the given paths are in
    (so `publisher validate ~/posts-repo/posts/a.md` works from anywhere), else the
    one found from the current folder. A path outside that repository (or in no
    repository at all) is refused: publisher never reads a post it would not record
    in the repository, and never writes outside it. Its `fetch_allow` joins the fetch
    allowlist, and its accounts' app passwords join what is redacted."""
    from publisher.redaction import from_environ

    config = _config_from(path, paths)
    if config.fetch_allow:  # the fetch client (sockets and all) only when there is one
        from publisher.clients.fetch import allow_also

        allow_also(config.fetch_allow)
    from_environ(names=[a.password_env for a in config.accounts.values() if a.password_env])
    return config


def _config_from(path: Path | None, given: Sequence[Path]) -> Config:
    paths = [p for p in given if p.exists()]
    if path:
        config = load_config(path=path)
    elif not paths:
        return load_config()
    else:
        from publisher.config import repository_of

        roots = set()
        for p in paths:
            root = repository_of(p if p.is_dir() else p.parent)
            if root is None:
                raise UsageError(
                    f"{p}: not inside a repository (no publisher.toml, [tool.publisher] or "
                    ".git above it): publisher reads and writes posts only inside one"
                )
            roots.add(root)
        if len(roots) > 1:
            listed = ", ".join(sorted(str(r) for r in roots))
            raise UsageError(
                f"the paths are in different repositories ({listed}): give one at a time"
            )
        config = load_config(roots.pop())
    for p in paths:
        if not inside(p, config.root):
            raise UsageError(
                f"{p}: outside the repository {config.root}: publisher reads and writes "
                "posts only inside it"
            )
    return config


def inside(path: Path, root: Path) -> bool:
    """Whether `path` is in `root`, as written (a linked folder inside the repository
    belongs to it) or once resolved."""
    import os

    for candidate in (Path(os.path.abspath(path)), path.resolve()):
        if candidate == root or root in candidate.parents:
            return True
    return False


def run_from(config: Config, *, sandbox: bool = False) -> Run:
    """The `Run` of this command (`--sandbox`, or the key in LETMEPOST_API_KEY)."""
    from publisher.run import resolve_run

    return resolve_run(config, sandbox=sandbox)


def load_posts(paths: Sequence[Path], config: Config) -> list[Post]:
    from publisher.files import find_posts
    from publisher.validate import load_posts as load_many

    roots = paths or [config.posts_dir]
    for path in roots:
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
    return load_many(find_posts(roots), config)


def create_new(path: Path, data: str) -> bool:
    """Write `data` to `path` only if nothing is there: a temp file beside it, then a
    hard link (which fails when `path` exists), so a reader never sees half a file and
    an existing file is never replaced. False when `path` already exists."""
    from publisher.redaction import redact

    data = redact(data)  # an account's name the server echoed a key into, say
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    with open(tmp, "x", encoding="utf-8", newline="\n") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links
        if path.exists():
            return False
        os.replace(tmp, path)
        return True
    finally:
        if tmp.exists():
            tmp.unlink()
    return True


def replace_file(path: Path, data: str) -> None:
    """Replace `path` with `data` atomically (temp file, fsync, rename)."""
    from publisher.redaction import redact

    data = redact(data)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8", newline="") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
