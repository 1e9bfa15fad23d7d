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

import argparse
import datetime as dt
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from publisher import __version__
from publisher.commands.common import UsageError
from publisher.errors import PublisherError

__all__ = [
    "ACTION_REPOSITORY",
    "CHECKOUT",
    "CREATE_PR",
    "DEPENDABOT",
    "DEPENDABOT_TEXT",
    "DIRECT_EXAMPLE",
    "DRAFTS_CRON",
    "DRAFTS_JOB",
    "EXAMPLE_POST",
    "HEADER",
    "IGNORE_LINE",
    "PLACEHOLDER",
    "WORKFLOW",
    "WORKFLOW_TEXT",
    "Step",
    "action_ref",
    "config_text",
    "create_new",
    "default_branch",
    "git_root",
    "main",
    "replace_file",
    "workflow_text",
]

#: The repository this action and package are released from. `uses:` names it.
ACTION_REPOSITORY = "publisher-dev/publisher"
WORKFLOW = Path(".github/workflows/publisher.yml")
DEPENDABOT = Path(".github/dependabot.yml")
CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2"
# peter-evans/create-pull-request 5f6978faf089d4d20b00c7766989d076bb2fc7f1 = v8.1.1: the
# tags v8.1.1 and v8 of the action's repository point to this commit (2026-04-10).
CREATE_PR = "peter-evans/create-pull-request@5f6978faf089d4d20b00c7766989d076bb2fc7f1 # v8.1.1"
DRAFTS_CRON = "41 6 * * *"
IGNORE_LINE = ".publisher/"


# -- files: created atomically, never overwritten ------------------------------------


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


#: What `init` writes in `uses:` when it knows no release commit for this version (a
#: development build, offline): not a SHA, so zizmor flags it and GitHub refuses to run
#: the workflow ("unable to find version") until a person pins a real release.
PLACEHOLDER = "REPLACE-WITH-A-RELEASE-COMMIT-SHA"


def _version_key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return ()


def action_ref(version: str = __version__) -> tuple[str, str]:
    """(`uses:` value, comment) pinning publisher's action to a commit that exists:

    1. the commit of this version's release as recorded in the package
       (`publisher.releases`, written at release time): offline, and exact;
    2. else the commit of tag v<version>, looked up with `git ls-remote`
       ($PUBLISHER_ACTION_URL overrides where; tests use a local repository);
    3. else the newest older release the package records;
    4. else `PLACEHOLDER`, which fails loudly until a person pins a release.

    Never a tag: a tag can be moved (or, as `v0.1.0` was, not exist)."""
    from publisher.releases import RELEASES

    tag = f"v{version}"
    if sha := RELEASES.get(version):
        return f"{ACTION_REPOSITORY}@{sha}", f"# {tag}"
    url = os.environ.get("PUBLISHER_ACTION_URL") or f"https://github.com/{ACTION_REPOSITORY}"
    out = _git(
        Path.cwd(),
        "ls-remote",
        "--tags",
        url,
        f"refs/tags/{tag}",
        f"refs/tags/{tag}^{{}}",
        timeout=15,
    )
    found = None
    for line in (out or "").splitlines():
        commit, _, ref = line.partition("\t")
        if ref.endswith("^{}") or found is None:  # an annotated tag: the commit it points to
            found = commit
    if found and len(found) == 40:
        return f"{ACTION_REPOSITORY}@{found}", f"# {tag}"
    older = sorted(
        (v for v in RELEASES if _version_key(v) < _version_key(version)), key=_version_key
    )
    if older:
        return (
            f"{ACTION_REPOSITORY}@{RELEASES[older[-1]]}",
            f"# v{older[-1]} (the newest release this publisher {version} knows the commit of)",
        )
    return (
        f"{ACTION_REPOSITORY}@{PLACEHOLDER}",
        "# pin a release: its full commit SHA (docs/action.md, Pinning)",
    )


# -- what is written ------------------------------------------------------------------


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def _takes_text_only(platform: str) -> bool:
    """Whether a post with text and no media is valid on `platform` (Instagram, Pinterest
    and TikTok need media, so they are not made default targets)."""
    from publisher.rules import limits

    try:
        found = limits.check(limits.Content(platform=platform, text="Hello"))
    except ValueError:
        return False
    return not any(f.severity == "error" for f in found)


HEADER = """\
# publisher configuration: https://github.com/{repo}#configuration
# The API key never goes here: it comes from the LETMEPOST_API_KEY environment
# variable (in GitHub Actions, the `api-key` input from the LETMEPOST_API_KEY secret).
posts = {posts}
api_url = "https://api.letmepost.dev"
"""

DIRECT_EXAMPLE = """\
# A Bluesky account published to directly, without letmepost (target it as `me`):
# [accounts.me]
# bluesky = "alice.bsky.social"
# pds = "https://bsky.social"
# password_env = "BLUESKY_APP_PASSWORD"  # the NAME of the variable with the app password
"""


def config_text(posts: str, accounts: list[dict[str, Any]] | None) -> tuple[str, list[str]]:
    """publisher.toml and its default targets: aliases of `accounts`, or (None) a
    commented template whose default target is the one Bluesky account."""
    from publisher.commands.accounts import short_aliases

    head = HEADER.format(repo=ACTION_REPOSITORY, posts=_toml_str(posts))
    if not accounts:
        targets = ["bluesky"]
        return (
            head
            + "\n# Posts that name no `targets:` go to these.\n"
            + 'targets = ["bluesky"]\n\n'
            + "# Aliases for your connected letmepost accounts: set LETMEPOST_API_KEY and run\n"
            + "# `publisher accounts >> publisher.toml` to append them. For example:\n"
            + "# [accounts]\n"
            + '# bluesky-main = { id = "<account uuid>", platform = "bluesky" }\n'
            + '# x = "twitter"  # a platform name: the one connected account there\n\n'
            + DIRECT_EXAMPLE,
            targets,
        )
    named = short_aliases(accounts)
    targets = [alias for alias, a in named if _takes_text_only(str(a.get("platform")))]
    lines = []
    for alias, acct in named:
        platform = str(acct.get("platform") or "")
        name = " ".join(str(acct.get("displayName") or acct.get("platformAccountId") or "").split())
        comment = f"  # {name}" if name else ""
        lines.append(
            f"{alias} = {{ id = {_toml_str(str(acct['id']))}, platform = {_toml_str(platform)} }}{comment}"
        )
    listed = ", ".join(_toml_str(t) for t in targets)
    return (
        head
        + "\n# Posts that name no `targets:` go to these (Instagram, Pinterest and TikTok\n"
        + "# need media, so name them in the posts that have some).\n"
        + (f"targets = [{listed}]\n\n" if targets else "# targets = []\n\n")
        + "# Your connected letmepost accounts (GET /v1/accounts; `publisher accounts` lists\n"
        + "# them again). Rename an alias freely: posts name these.\n"
        + "[accounts]\n"
        + "\n".join(lines)
        + "\n\n"
        + DIRECT_EXAMPLE,
        targets,
    )


EXAMPLE_POST = """\
---
# An example post, written by `publisher init`. A draft is never published:
# edit the text, remove `draft: true`, commit and push. `publisher new "Title"`
# starts another one. Without `targets:`, the post goes to the default targets
# in publisher.toml.
draft: true
{targets}---
Hello! Our announcements now live in git: reviewed in pull requests, published
exactly once, and recorded in this file.
"""


WORKFLOW_TEXT = """\
# Written by `publisher init` (publisher {version}). What it does and every input:
# https://github.com/{repo}/blob/{docs_ref}/docs/action.md
#
# - push to {branch}: publishes new and changed posts, writes the results into each
#   file and commits them back as github-actions[bot] (that commit starts no run);
# - pull request: previews the posts with no secret (safe for forks);
# - every hour: publishes what is due, retries failed targets and records scheduled
#   posts that have gone out (what `publisher sync` does), and commits the results;
#   a post that waits for a person is listed in the summary, and fails only the run
#   that found it;
# - "Run workflow" by hand: on {branch} it does what the hourly run does; on any other
#   branch it only previews (publisher publishes from the default branch only);
# - every day and on each published release: new entries of the [[feeds]] in
#   publisher.toml, or the release, become draft posts in one pull request to review
#   (remove `draft: true` to publish; close it to drop them: they are not drafted again).
# The action is pinned to a commit SHA; .github/dependabot.yml proposes new releases.
name: Posts

on:
  push:
    branches: [{branch}]
    paths: [{paths}]
  pull_request:
    paths: [{paths}]
  schedule:
    - cron: "17 * * * *"
    - cron: "{drafts_cron}" # drafts from feeds
  release:
    types: [published]
  workflow_dispatch:

permissions: {{}}

jobs:
  publish:
    name: Publish
    if: >-
      github.event_name == 'push' || github.event_name == 'schedule' ||
      (github.event_name == 'workflow_dispatch' &&
      github.ref_name == github.event.repository.default_branch)
    runs-on: ubuntu-latest
    timeout-minutes: 30
    # One run at a time; never cancel one in progress (it may be mid-publish).
    concurrency:
      group: publish-${{{{ github.ref }}}}
      cancel-in-progress: false
    permissions:
      contents: write # commit the written-back results
    steps:
      - uses: {checkout}
        with: # zizmor: ignore[artipacked] publisher pushes the results with these credentials
          fetch-depth: 0
      - uses: {uses} {comment}
        with:
          api-key: ${{{{ secrets.LETMEPOST_API_KEY }}}}
          # a push publishes what it changed; the schedule and a manual run consider every post
          mode: ${{{{ github.event_name == 'push' && 'auto' || 'publish' }}}}

  preview:
    name: Preview
    if: >-
      github.event_name == 'pull_request' ||
      (github.event_name == 'workflow_dispatch' &&
      github.ref_name != github.event.repository.default_branch)
    runs-on: ubuntu-latest
    timeout-minutes: 15
    concurrency:
      group: preview-${{{{ github.ref }}}}
      cancel-in-progress: true
    permissions:
      contents: read
      pull-requests: write # one preview comment, updated in place
    steps:
      - uses: {checkout}
        with:
          fetch-depth: 0
          persist-credentials: false
      - uses: {uses} {comment}
        with:
          mode: preview
{drafts_job}"""

# The drafts job: its own block (the rest of the workflow is init's).
DRAFTS_JOB = """
  drafts:
    name: Drafts
    if: >-
      github.event_name == 'release' || github.event.schedule == '{drafts_cron}' ||
      (github.event_name == 'workflow_dispatch' &&
      github.ref_name == github.event.repository.default_branch)
    runs-on: ubuntu-latest
    timeout-minutes: 15
    concurrency:
      group: drafts
      cancel-in-progress: false
    permissions:
      contents: write # push the drafts' branch
      pull-requests: write # open the pull request
    steps:
      - uses: {checkout}
        with: # zizmor: ignore[artipacked] the next step fetches the pull requests' heads
          ref: ${{{{ github.event.repository.default_branch }}}}
          fetch-depth: 0
      # Drafts in every pull request (open, closed, merged) count as drafted: never twice.
      - run: git fetch --quiet --no-tags origin '+refs/pull/*/head:refs/remotes/origin/pull/*'
      - uses: {uses} {comment}
        with:
          mode: draft # a release event drafts the release; the schedule, the feeds
      # One pull request per run that found something new (a new branch each time, so
      # a draft you edited in review is never overwritten). A pull request opened with
      # the default token starts no workflow (GitHub's rule): set a secret
      # PUBLISHER_PR_TOKEN (a fine-grained token with contents and pull-requests
      # write) so the preview comment shows the drafts at once.
      - uses: {create_pr}
        with:
          token: ${{{{ secrets.PUBLISHER_PR_TOKEN || github.token }}}}
          branch: publisher/drafts
          branch-suffix: timestamp
          commit-message: New drafts from feeds and releases
          title: New drafts to review
          body: >-
            New entries of the feeds in publisher.toml, or a new release, drafted by
            publisher. Edit them here; remove `draft: true` from the ones to publish,
            delete the others (or close this pull request): they are not drafted again.
"""

DEPENDABOT_TEXT = """\
# Written by `publisher init`. Keeps the SHA pins of .github/workflows fresh: publisher's
# action (and with it the locked, hashed Python dependencies it installs from its own
# uv.lock) and actions/checkout, as one reviewed pull request a week. The cooldown
# leaves a new release 7 days to be found bad before it is proposed.
version: 2
updates:
  - package-ecosystem: github-actions
    directory: /
    schedule:
      interval: weekly
    cooldown:
      default-days: 7
    groups:
      github-actions:
        patterns: ["*"]
"""


def workflow_text(branch: str, posts: str, uses: str, comment: str) -> str:
    paths = ", ".join(_toml_str(p) for p in (f"{posts.rstrip('/')}/**", "publisher.toml"))
    sha = uses.rpartition("@")[2]
    return WORKFLOW_TEXT.format(
        version=__version__,
        repo=ACTION_REPOSITORY,
        docs_ref=sha if len(sha) == 40 else "main",
        branch=branch,
        paths=paths,
        checkout=CHECKOUT,
        uses=uses,
        comment=comment,
        drafts_cron=DRAFTS_CRON,
        drafts_job=DRAFTS_JOB.format(
            checkout=CHECKOUT,
            uses=uses,
            comment=comment,
            create_pr=CREATE_PR,
            drafts_cron=DRAFTS_CRON,
        ),
    )


def _ignores_publisher(text: str) -> bool:
    return any(
        line.strip().strip("/") == ".publisher" or line.strip() in ("/.publisher/", ".publisher/*")
        for line in text.splitlines()
    )


@dataclass
class Step:
    path: str  # relative to the repository root
    done: bool  # True: written now; False: already there
    note: str


def _fetch_accounts(config: Any) -> list[dict[str, Any]] | None:
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


def main(args: argparse.Namespace) -> int:
    import sys

    from publisher.config import CONFIG_FILE, head_bytes, load_config

    root = git_root(Path.cwd())
    has_config = (root / CONFIG_FILE).is_file() or (
        (root / "pyproject.toml").is_file()
        and b"[tool.publisher" in head_bytes(root / "pyproject.toml")
    )
    config = load_config(root)  # an existing configuration is used as it is
    posts = config.posts
    steps: list[Step] = []
    defaults: list[str] = list(config.targets)

    if has_config:
        where = config.source.relative_to(root).as_posix() if config.source else CONFIG_FILE
        steps.append(Step(where, False, "already there; left as it is"))
    else:
        try:
            accounts = _fetch_accounts(config)
        except _AccountsError as exc:
            print(
                f"publisher: error: cannot list accounts: {exc}\n"
                "Nothing was written. Check LETMEPOST_API_KEY, or unset it to write a "
                "template without accounts.",
                file=sys.stderr,
            )
            return 1
        text, defaults = config_text(posts, accounts)
        done = create_new(root / CONFIG_FILE, text)
        note = (
            f"with {len(accounts)} account aliases from letmepost"
            if accounts
            else "a template; add account aliases with `publisher accounts`"
        )
        steps.append(Step(CONFIG_FILE, done, note if done else "already there"))

    posts_dir = root / posts
    from publisher.files import find_posts

    existing = find_posts([posts_dir]) if posts_dir.is_dir() else []
    if existing:
        steps.append(Step(f"{posts}/", False, f"already holds {len(existing)} post(s)"))
    else:
        name = f"{dt.date.today().isoformat()}-hello.md"
        targets = "" if defaults else "targets: [bluesky]\n"
        done = create_new(posts_dir / name, EXAMPLE_POST.format(targets=targets))
        steps.append(Step(f"{posts}/{name}", done, "an example draft" if done else "already there"))

    workflow = root / WORKFLOW
    if workflow.exists():
        steps.append(Step(WORKFLOW.as_posix(), False, "already there; left as it is"))
    else:
        uses, comment = action_ref()
        text = workflow_text(default_branch(root), posts, uses, comment)
        done = create_new(workflow, text)
        steps.append(Step(WORKFLOW.as_posix(), done, f"uses {uses}" if done else "already there"))
        if done and PLACEHOLDER in uses:
            print(
                f"publisher: warning: no release commit is known for publisher {__version__} "
                f"(not a released version, or offline): {WORKFLOW.as_posix()} says "
                f"`uses: {uses}`, and GitHub will refuse to run it until you replace "
                f"{PLACEHOLDER} with the full commit SHA of a release of "
                f"{ACTION_REPOSITORY} (docs/action.md, Pinning)",
                file=sys.stderr,
            )
    bot = root / DEPENDABOT
    if bot.exists():
        steps.append(Step(DEPENDABOT.as_posix(), False, "already there; left as it is"))
    else:
        done = create_new(bot, DEPENDABOT_TEXT)
        steps.append(Step(DEPENDABOT.as_posix(), done, "keeps the pins fresh"))

    ignore = root / ".gitignore"
    current = ignore.read_text(encoding="utf-8") if ignore.exists() else ""
    if _ignores_publisher(current):
        steps.append(Step(".gitignore", False, f"already ignores {IGNORE_LINE}"))
    else:
        sep = "" if not current or current.endswith("\n") else "\n"
        addition = f"{sep}# publisher's local state (sandbox database)\n{IGNORE_LINE}\n"
        if ignore.exists():
            replace_file(ignore, current + addition)
        else:
            create_new(ignore, addition.lstrip("\n"))
        steps.append(Step(".gitignore", True, f"{IGNORE_LINE} added"))

    for step in steps:
        mark = "created" if step.done else "exists "
        if step.path == ".gitignore" and step.done:
            mark = "updated"
        print(f"  {mark}  {step.path}  ({step.note})")
    if not any(s.done for s in steps):
        print("Nothing to do: this repository is already set up for publisher.")
        return 0
    print(
        "\nNext steps:\n"
        "  1. Add your letmepost API key as a repository secret named LETMEPOST_API_KEY\n"
        "     (Settings -> Secrets and variables -> Actions -> New repository secret).\n"
        '  2. Write a post: `publisher new "Our first post"`, edit it, remove `draft: true`,\n'
        "     and check it with `publisher validate`.\n"
        f"  3. Commit and push to {default_branch(root)}: the workflow publishes it and "
        "commits the result.\n"
    )
    return 0
