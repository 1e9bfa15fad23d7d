"""What `publisher init` writes: publisher.toml (aliases of the connected accounts, or a
commented template), the example draft, the workflow `.github/workflows/publisher.yml`
with publisher's action pinned to a release's commit SHA (`action_ref`), and
`.github/dependabot.yml` that keeps the pins fresh. Text only: `commands/init.py`
decides what is missing and writes it."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from publisher import __version__
from publisher.commands.accounts import Account

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
    "PLACEHOLDER",
    "WORKFLOW",
    "WORKFLOW_TEXT",
    "action_ref",
    "config_text",
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


# -- the action's pin ---------------------------------------------------------------


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
    from publisher.git import user_git_output

    url = os.environ.get("PUBLISHER_ACTION_URL") or f"https://github.com/{ACTION_REPOSITORY}"
    out = user_git_output(
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


def config_text(posts: str, accounts: Sequence[Account] | None) -> tuple[str, list[str]]:
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
