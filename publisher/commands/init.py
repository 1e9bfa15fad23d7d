"""`publisher init`: make the current git repository a posts repository.

Writes what is missing and never touches what is there: `publisher.toml` (aliases of
the connected accounts when LETMEPOST_API_KEY is set, else a commented template),
`posts/` with one example draft, the workflow `.github/workflows/publisher.yml`
(push publishes, pull requests preview, a schedule records scheduled posts that went
out; the action pinned to a release's commit SHA), `.github/dependabot.yml` (keeps
that pin fresh), and `.publisher/` in `.gitignore` (appended). Run again, it changes nothing
and says so.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from publisher import __version__
from publisher.commands.common import UsageError, create_new, replace_file
from publisher.commands.init_templates import (
    ACTION_REPOSITORY,
    DEPENDABOT,
    DEPENDABOT_TEXT,
    EXAMPLE_POST,
    PLACEHOLDER,
    WORKFLOW,
    action_ref,
    config_text,
    workflow_text,
)
from publisher.errors import PublisherError

if TYPE_CHECKING:
    from publisher.commands.accounts import Account
    from publisher.config import Config

__all__ = ["IGNORE_LINE", "Step", "default_branch", "git_root", "main"]

IGNORE_LINE = ".publisher/"


@dataclass
class Step:
    path: str  # relative to the repository root
    done: bool  # True: written now; False: already there
    note: str


# -- git ------------------------------------------------------------------------------


def _git(cwd: Path, *args: str, timeout: float = 30) -> str | None:
    from publisher.git import user_git_output

    return user_git_output(cwd, *args, timeout=timeout)


def git_root(start: Path) -> Path:
    """The top folder of the git work tree holding `start`; UsageError outside one."""
    top = _git(start, "rev-parse", "--show-toplevel")
    if not top:
        raise UsageError(
            f"{start}: not inside a git repository (run `git init` first, or cd into one)"
        )
    return Path(top)


def default_branch(root: Path) -> str:
    """origin's default branch when known, else the current branch, else `main`."""
    remote = _git(root, "symbolic-ref", "-q", "--short", "refs/remotes/origin/HEAD")
    if remote and "/" in remote:
        return remote.split("/", 1)[1]
    return _git(root, "symbolic-ref", "-q", "--short", "HEAD") or "main"


# -- the steps: each writes what is missing, and says what it found -------------------


def main() -> int:
    from publisher.config import CONFIG_FILE, head_bytes, load_config

    root = git_root(Path.cwd())
    has_config = (root / CONFIG_FILE).is_file() or (
        (root / "pyproject.toml").is_file()
        and b"[tool.publisher" in head_bytes(root / "pyproject.toml")
    )
    config = load_config(root)  # an existing configuration is used as it is
    posts = config.posts
    if has_config:
        where = config.source.relative_to(root).as_posix() if config.source else CONFIG_FILE
        first = Step(where, False, "already there; left as it is")
        defaults: list[str] = list(config.targets)
    else:
        try:
            first, defaults = _config_step(root, config)
        except _AccountsError as exc:
            print(
                f"publisher: error: cannot list accounts: {exc}\n"
                "Nothing was written. Check LETMEPOST_API_KEY, or unset it to write a "
                "template without accounts.",
                file=sys.stderr,
            )
            return 1
    steps = [
        first,
        _posts_step(root, posts, defaults),
        _workflow_step(root, posts),
        _dependabot_step(root),
        _gitignore_step(root),
    ]
    _tell(steps, root)
    return 0


def _config_step(root: Path, config: Config) -> tuple[Step, list[str]]:
    """publisher.toml, with the connected accounts' aliases when a key is set; and the
    default targets it names."""
    from publisher.config import CONFIG_FILE

    accounts = _fetch_accounts(config)
    text, defaults = config_text(config.posts, accounts)
    done = create_new(root / CONFIG_FILE, text)
    note = (
        f"with {len(accounts)} account aliases from letmepost"
        if accounts
        else "a template; add account aliases with `publisher accounts`"
    )
    return Step(CONFIG_FILE, done, note if done else "already there"), defaults


def _fetch_accounts(config: Config) -> list[Account] | None:
    """The connected accounts when LETMEPOST_API_KEY is set, else None."""
    if not os.environ.get("LETMEPOST_API_KEY", "").strip():
        return None
    from publisher.clients.letmepost import ApiError, NetworkError
    from publisher.run import resolve_run

    with resolve_run(config).connect() as api:
        if api.client is None:  # pragma: no cover - connect(need_key=True) gives a client
            return None
        try:
            return list(api.client.accounts())
        except (ApiError, NetworkError) as exc:
            raise _AccountsError(str(exc)) from None


class _AccountsError(PublisherError):
    pass


def _posts_step(root: Path, posts: str, defaults: list[str]) -> Step:
    """An example draft, unless the posts folder holds posts already."""
    from publisher.files import find_posts

    posts_dir = root / posts
    existing = find_posts([posts_dir]) if posts_dir.is_dir() else []
    if existing:
        return Step(f"{posts}/", False, f"already holds {len(existing)} post(s)")
    name = f"{dt.date.today().isoformat()}-hello.md"
    targets = "" if defaults else "targets: [bluesky]\n"
    done = create_new(posts_dir / name, EXAMPLE_POST.format(targets=targets))
    return Step(f"{posts}/{name}", done, "an example draft" if done else "already there")


def _workflow_step(root: Path, posts: str) -> Step:
    """The workflow, its action pinned to a release's commit (a loud warning when no
    release is known)."""
    workflow = root / WORKFLOW
    if workflow.exists():
        return Step(WORKFLOW.as_posix(), False, "already there; left as it is")
    uses, comment = action_ref()
    text = workflow_text(default_branch(root), posts, uses, comment)
    done = create_new(workflow, text)
    if done and PLACEHOLDER in uses:
        print(
            f"publisher: warning: no release commit is known for publisher {__version__} "
            f"(not a released version, or offline): {WORKFLOW.as_posix()} says "
            f"`uses: {uses}`, and GitHub will refuse to run it until you replace "
            f"{PLACEHOLDER} with the full commit SHA of a release of "
            f"{ACTION_REPOSITORY} (docs/action.md, Pinning)",
            file=sys.stderr,
        )
    return Step(WORKFLOW.as_posix(), done, f"uses {uses}" if done else "already there")


def _dependabot_step(root: Path) -> Step:
    bot = root / DEPENDABOT
    if bot.exists():
        return Step(DEPENDABOT.as_posix(), False, "already there; left as it is")
    done = create_new(bot, DEPENDABOT_TEXT)
    return Step(DEPENDABOT.as_posix(), done, "keeps the pins fresh")


def _ignores_publisher(text: str) -> bool:
    return any(
        line.strip().strip("/") == ".publisher" or line.strip() in ("/.publisher/", ".publisher/*")
        for line in text.splitlines()
    )


def _gitignore_step(root: Path) -> Step:
    """`.publisher/` (the sandbox's local state) appended to .gitignore."""
    ignore = root / ".gitignore"
    current = ignore.read_text(encoding="utf-8") if ignore.exists() else ""
    if _ignores_publisher(current):
        return Step(".gitignore", False, f"already ignores {IGNORE_LINE}")
    sep = "" if not current or current.endswith("\n") else "\n"
    addition = f"{sep}# publisher's local state (sandbox database)\n{IGNORE_LINE}\n"
    if ignore.exists():
        replace_file(ignore, current + addition)
    else:
        create_new(ignore, addition.lstrip("\n"))
    return Step(".gitignore", True, f"{IGNORE_LINE} added")


def _tell(steps: list[Step], root: Path) -> None:
    for step in steps:
        mark = "created" if step.done else "exists "
        if step.path == ".gitignore" and step.done:
            mark = "updated"
        print(f"  {mark}  {step.path}  ({step.note})")
    if not any(s.done for s in steps):
        print("Nothing to do: this repository is already set up for publisher.")
        return
    print(
        "\nNext steps:\n"
        "  1. Add your letmepost API key as a repository secret named LETMEPOST_API_KEY\n"
        "     (Settings -> Secrets and variables -> Actions -> New repository secret).\n"
        '  2. Write a post: `publisher new "Our first post"`, edit it, remove `draft: true`,\n'
        "     and check it with `publisher validate`.\n"
        f"  3. Commit and push to {default_branch(root)}: the workflow publishes it and "
        "commits the result.\n"
    )
