"""Releases become drafts: `publisher draft --release` from a GitHub release event,
`--tag` from a real git repository's tag and release notes file, and the Action's
`release: published` event through `publisher ci` in a clone of a bare remote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.test_ci import parse_outputs
from tests.e2e.test_init import git, git_env
from tests.helpers import cli_env, make_repo, run_cli

CONFIG = """\
posts = "posts"
targets = ["x", "bluesky"]

[accounts]
x = "twitter"
"""

NOTES = """\
# Release notes

## [Unreleased]
- Something still cooking

## [1.2.0] - 2026-11-20
### Added
- **Drafts** from feeds and [releases](https://example.org/docs)
- JSON Feed support
<!-- internal: bump the docs -->

## [1.1.0] - 2026-10-01
- Older things
"""

ENV = cli_env("http://127.0.0.1:9", None)


def release_event(action: str = "published", **release: Any) -> dict[str, Any]:
    return {
        "action": action,
        "release": {
            "tag_name": "v1.2.0",
            "name": "publisher 1.2: drafts",
            "body": "## What's new\r\n\r\n* Feeds become **drafts**\r\n* Releases too",
            "html_url": "https://github.com/acme/publisher/releases/tag/v1.2.0",
            "published_at": "2026-11-20T10:00:00Z",
            "draft": False,
            "prerelease": False,
            **release,
        },
        "repository": {"full_name": "acme/publisher", "default_branch": "main"},
    }


def front(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text().split("---\n")[1])


def body(path: Path) -> str:
    return path.read_text().split("---\n", 2)[2]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "repo", {}, config=CONFIG)
    (root / ".gitignore").write_text(".publisher/\n")
    (root / "CHANGELOG.md").write_text(NOTES)
    git(root, "init", "-q", "-b", "main")
    git(root, "remote", "add", "origin", "git@github.com:acme/publisher.git")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "1.1")
    git(root, "tag", "v1.1.0")
    (root / "README.md").write_text("now with drafts\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "1.2")
    git(root, "tag", "-a", "v1.2.0", "-m", "1.2.0")
    return root


def test_a_release_event_becomes_one_draft_and_only_once(repo, tmp_path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps(release_event()))
    done = run_cli(["draft", "--release", "--event", str(event)], repo, ENV)
    assert done.returncode == 0, done.stderr
    (path,) = (repo / "posts").glob("*.md")
    assert path.name == "2026-11-20-publisher-1-2-drafts.md"
    assert done.stdout.startswith(f"posts/{path.name}  drafted from release v1.2.0")
    meta = front(path)
    assert meta["draft"] is True and meta["targets"] == ["x", "bluesky"]
    url = "https://github.com/acme/publisher/releases/tag/v1.2.0"
    assert meta["source"] == {"id": url, "url": url, "feed": "release"}
    assert body(path) == (
        f"publisher 1.2: drafts\n\nWhat's new\n\n- Feeds become drafts\n- Releases too\n\n{url}\n"
    )
    assert run_cli(["validate", str(path)], repo, ENV).returncode == 0
    again = run_cli(["draft", "--release", "--event", str(event)], repo, ENV)
    assert again.returncode == 0 and "1 drafted before" in again.stderr
    assert len(list((repo / "posts").glob("*.md"))) == 1


@pytest.mark.parametrize(
    ("event", "says"),
    [
        (release_event("edited"), "release v1.2.0 was edited"),
        (release_event(draft=True), "release v1.2.0 is a draft release"),
    ],
)
def test_a_release_that_is_not_published_drafts_nothing(repo, tmp_path, event, says):
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    done = run_cli(["draft", "--release", "--event", str(path)], repo, ENV)
    assert done.returncode == 0 and f"nothing to draft: {says}" in done.stderr
    assert not list((repo / "posts").glob("*.md"))


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "the event is not JSON"),
        ('{"action": "published", "pull_request": {}}', "not a release event"),
        ("[1, 2]", "not a release event"),
    ],
)
def test_a_bad_event_file_is_a_clear_usage_error(repo, tmp_path, content, says):
    path = tmp_path / "event.json"
    path.write_text(content)
    done = run_cli(["draft", "--release", "--event", str(path)], repo, ENV)
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr


def test_release_without_an_event_says_what_to_give(repo):
    done = run_cli(["draft", "--release"], repo, ENV)
    assert done.returncode == 2 and "--event FILE" in done.stderr and "--tag" in done.stderr


def test_a_tag_and_its_section_of_the_release_notes(repo):
    done = run_cli(["draft", "--tag", "v1.2.0"], repo, ENV)
    assert done.returncode == 0, done.stderr
    (path,) = (repo / "posts").glob("*.md")
    url = "https://github.com/acme/publisher/releases/tag/v1.2.0"
    assert front(path)["source"]["id"] == url
    text = body(path)
    assert text.startswith("publisher v1.2.0\n\nAdded\n- Drafts from feeds and releases\n")
    assert "JSON Feed support" in text and "internal" not in text and "Older" not in text
    assert text.endswith(f"{url}\n")
    # The same release announced later by the Action's event is the same source.
    event = repo.parent / "event.json"
    event.write_text(json.dumps(release_event()))
    again = run_cli(["draft", "--release", "--event", str(event)], repo, ENV)
    assert again.returncode == 0 and "1 drafted before" in again.stderr


def test_a_missing_tag_or_section_is_a_clear_error(repo):
    done = run_cli(["draft", "--tag", "v9.9.9"], repo, ENV)
    assert done.returncode == 2 and "no tag v9.9.9 in this repository" in done.stderr
    git(repo, "tag", "v1.3.0")
    done = run_cli(["draft", "--tag", "v1.3.0"], repo, ENV)
    assert done.returncode == 2 and "CHANGELOG.md: no section whose heading names v1.3.0" in (
        done.stderr
    )


def test_release_settings_and_notes_file_from_the_config(repo):
    (repo / "docs").mkdir()
    (repo / "docs" / "news.md").write_text("Version 1.2.0\n=============\n\nShiny.\n")
    config = CONFIG.replace('x = "twitter"', 'x = "twitter"\nsite = "linkedin"')
    config += (
        '\n[release]\nnotes = "docs/news.md"\ntargets = ["site"]\nfolder = "posts/releases"\n'
        'template = "{repo} {tag} is out: {summary}\\n{link}"\n'
    )
    (repo / "publisher.toml").write_text(config)
    done = run_cli(["draft", "--tag", "v1.2.0"], repo, ENV)
    assert done.returncode == 0, done.stderr
    (path,) = (repo / "posts" / "releases").glob("*.md")
    assert front(path)["targets"] == ["site"]
    assert body(path) == (
        "acme/publisher v1.2.0 is out: Shiny.\n"
        "https://github.com/acme/publisher/releases/tag/v1.2.0\n"
    )


# --------------------------------------------------------------------------- the Action


def run_ci(
    workspace: Path, folder: Path, event_name: str, event: dict[str, Any], mode: str = ""
) -> Any:
    folder.mkdir()
    event_path, output, summary = folder / "event.json", folder / "out", folder / "summary"
    event_path.write_text(json.dumps(event))
    output.touch()
    summary.touch()
    env = {k: v for k, v in git_env().items() if not k.startswith(("GITHUB_", "LETMEPOST_"))}
    env.update(
        GITHUB_ACTIONS="true",
        GITHUB_EVENT_NAME=event_name,
        GITHUB_EVENT_PATH=str(event_path),
        GITHUB_OUTPUT=str(output),
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_WORKSPACE=str(workspace),
        GITHUB_REPOSITORY="acme/publisher",
        GITHUB_REF="refs/tags/v1.2.0",
        PUBLISHER_FETCH_ALLOW="127.0.0.1",
        PUBLISHER_MODE=mode,
    )
    env["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")
    done = subprocess.run(
        [sys.executable, "-m", "publisher", "ci"],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done, parse_outputs(output.read_text()), summary.read_text()


def test_the_action_on_a_published_release_drafts_it_in_the_workspace(tmp_path):
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(remote), str(seed))
    make_repo(seed, {}, config=CONFIG)
    (seed / ".gitignore").write_text(".publisher/\n")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "posts repository")
    git(seed, "push", "-q", "origin", "HEAD:main")
    # A first release was drafted in a pull request that was closed, its branch kept.
    git(seed, "checkout", "-q", "-b", "publisher/drafts-1")
    old = seed / "posts" / "2026-10-01-v1-1.md"
    url_old = "https://github.com/acme/publisher/releases/tag/v1.1.0"
    old.write_text(
        f"---\ntargets: [x]\ndraft: true\nsource:\n  id: {url_old}\n  url: {url_old}\n---\nv1.1\n"
    )
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "drafts")
    git(seed, "push", "-q", "origin", "publisher/drafts-1")

    work = tmp_path / "work"  # what actions/checkout leaves: the default branch, full history
    git(tmp_path, "clone", "-q", str(remote), str(work))
    head = git(work, "rev-parse", "HEAD")
    done, outputs, summary = run_ci(work, tmp_path / "run1", "release", release_event())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "publisher: draft (a release event)" in done.stdout
    drafts = json.loads(outputs["drafts"])
    assert outputs["drafted"] == "1" and len(drafts) == 1
    path = work / drafts[0]["file"]
    assert drafts[0]["file"] == "posts/2026-11-20-publisher-1-2-drafts.md"
    assert front(path)["draft"] is True
    assert "publisher 1.2: drafts" in summary and "1 new draft" in summary
    # Nothing is committed (the next step opens the pull request), no state is left.
    assert git(work, "rev-parse", "HEAD") == head
    assert (
        git(work, "status", "--porcelain", "-uall") == "?? posts/2026-11-20-publisher-1-2-drafts.md"
    )
    # The same release again (a re-run): the draft in the workspace counts.
    again, outputs, _ = run_ci(work, tmp_path / "run2", "release", release_event())
    assert again.returncode == 0 and outputs["drafted"] == "0"
    # The older release, drafted in the closed pull request's branch, is not drafted again.
    older = release_event(
        tag_name="v1.1.0", name="", html_url=url_old, published_at="2026-10-01T00:00:00Z"
    )
    third, outputs, _ = run_ci(work, tmp_path / "run3", "release", older)
    assert third.returncode == 0 and outputs["drafted"] == "0", third.stdout


def test_the_action_on_a_schedule_drafts_the_feeds_and_warns_for_a_failed_one(tmp_path):
    from tests.e2e.test_drafts import ATOM, FeedServer

    feeds = FeedServer()
    try:
        good = feeds.serve("/atom", ATOM, "application/atom+xml")
        bad = feeds.url("/gone")
        work = tmp_path / "work"
        config = CONFIG + f'\n[[feeds]]\nurl = "{bad}"\n\n[[feeds]]\nurl = "{good}"\n'
        make_repo(work, {}, config=config)
        git(work, "init", "-q", "-b", "main")
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", "init")
        done, outputs, summary = run_ci(work, tmp_path / "run", "schedule", {}, mode="draft")
    finally:
        feeds.close()
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"::warning title=publisher%3A a feed failed::{bad}: answered 404" in done.stdout
    assert outputs["drafted"] == "1"
    assert "Our talk at FOSDEM" in summary and "answered 404" in summary
    assert not (work / ".publisher" / "feeds.json").exists()
