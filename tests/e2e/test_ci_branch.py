"""`publisher ci` on GitHub's other events: it publishes only from the default branch,
whatever mode it is given, and a block an earlier run reported waits without failing
every scheduled run. The simulated runner of `tests/e2e/test_ci.py` (a bare remote, clones
as workspaces, the sandbox over HTTP)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_ci import REPO, TWO, Harness, executed_commands
from tests.helpers import post


@pytest.fixture
def gh(tmp_path: Path, sandbox: Any) -> Harness:
    return Harness(tmp_path, sandbox)


def dispatch_event(branch: str) -> dict[str, Any]:
    """A workflow_dispatch payload as GitHub sends it (it names the repository)."""
    return {
        "ref": f"refs/heads/{branch}",
        "inputs": {},
        "repository": {"full_name": REPO, "default_branch": "main"},
        "workflow": ".github/workflows/publisher.yml",
    }


def on_branch(gh: Harness, branch: str, files: dict[str, str]) -> tuple[str, Any]:
    """Push `files` to a new branch; (its sha, a workspace checked out there)."""
    human = gh.clone(f"human-{branch}")
    gh.git(human, "checkout", "-q", "-b", branch)
    sha = gh.commit(human, files, f"posts on {branch}")
    gh.git(human, "push", "-q", "origin", f"HEAD:{branch}")
    ws = gh.clone(f"ws-{branch}")
    gh.git(ws, "checkout", "-q", branch)
    return sha, ws


def branches(gh: Harness) -> dict[str, str]:
    out = gh.git(gh.remote, "for-each-ref", "--format=%(refname:short) %(objectname)")
    return dict(line.split() for line in out.splitlines())


# ------------------------------------------------------------- the default branch only


def test_a_manual_run_with_mode_publish_on_a_feature_branch_previews(gh: Harness) -> None:
    gh.seed({})
    _, ws = on_branch(gh, "feature", TWO)
    heads = branches(gh)
    run = gh.run(
        ws,
        "workflow_dispatch",
        dispatch_event("feature"),
        PUBLISHER_MODE="publish",
        GITHUB_REF="refs/heads/feature",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert gh.sandbox.posts() == []  # nothing sent
    assert branches(gh) == heads  # nothing pushed, to feature or anywhere
    assert "## publisher: preview" in run.summary
    assert "posts/a.md" in run.summary  # what publishing from main would do
    notices = [c for c in executed_commands(run.stdout) if c.startswith("::notice")]
    assert any("feature is not the default branch main" in c for c in notices), run.stdout
    assert run.json("published") == []


def test_a_push_to_a_feature_branch_with_mode_publish_publishes_nothing(gh: Harness) -> None:
    _, base = gh.seed({})
    sha, ws = on_branch(gh, "topic", TWO)
    event = {**gh.push_event(base, sha), "ref": "refs/heads/topic"}
    run = gh.run(ws, "push", event, PUBLISHER_MODE="publish", GITHUB_REF="refs/heads/topic")
    assert gh.sandbox.posts() == []
    assert "## publisher: preview" in run.summary
    assert run.returncode == 0, run.stdout
    assert gh.git(gh.remote, "rev-parse", "topic") == sha


def test_a_run_that_cannot_tell_the_default_branch_publishes_nothing(gh: Harness) -> None:
    _, after = gh.seed(TWO)
    event = dispatch_event("main")
    del event["repository"]  # a payload with no repository: which branch is the default?
    run = gh.run(
        gh.clone("ws", at=after),
        "workflow_dispatch",
        event,
        PUBLISHER_MODE="publish",
        GITHUB_REF="refs/heads/main",
    )
    assert gh.sandbox.posts() == []
    assert any(
        "cannot tell whether main is the default branch" in c for c in executed_commands(run.stdout)
    )


def test_a_manual_run_on_the_default_branch_publishes(gh: Harness) -> None:
    _, after = gh.seed(TWO)
    run = gh.run(
        gh.clone("ws", at=after),
        "workflow_dispatch",
        dispatch_event("main"),
        PUBLISHER_MODE="publish",
        GITHUB_REF="refs/heads/main",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert len(gh.sandbox.posts()) == 3
    assert gh.remote_log()[0].startswith("github-actions[bot]")


def test_a_schedule_publishes_on_the_default_branch_though_its_payload_names_none(
    gh: Harness,
) -> None:
    _, after = gh.seed(TWO)
    run = gh.run(
        gh.clone("ws", at=after),
        "schedule",
        {"schedule": "17 * * * *"},  # GitHub's schedule payload: no repository
        PUBLISHER_MODE="publish",
        GITHUB_REF="refs/heads/main",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert len(gh.sandbox.posts()) == 3


# ------------------------------------------------------------------ a known block


REJECTED = {"bluesky": {"code": "platform_rejected", "count": 1}}


def schedule(gh: Harness, name: str) -> Any:
    return gh.run(
        gh.clone(name),
        "schedule",
        {"schedule": "17 * * * *"},
        PUBLISHER_MODE="publish",
        GITHUB_REF="refs/heads/main",
    )


def test_a_rejected_post_fails_its_run_once_then_waits_without_failing(gh: Harness) -> None:
    gh.sandbox.set_faults(**REJECTED)
    before, after = gh.seed({"posts/a.md": post("[bluesky]", "Refused by the platform.")})
    first = gh.run(gh.clone("ws", at=after), "push", gh.push_event(before, after))
    assert first.returncode == 1  # the run in which it happened fails (one mail)
    assert gh.remote_record("posts/a.md")["targets"]["bluesky"]["status"] == "rejected"

    for hour in range(2):  # every later scheduled run: green, and says what waits
        later = schedule(gh, f"hourly{hour}")
        assert later.returncode == 0, later.stdout + later.stderr
        assert later.outputs["failed"] == "0"
        assert "### Waiting for a person (1)" in later.summary
        assert "posts/a.md · bluesky: rejected with platform\\_rejected" in later.summary
        assert "reported by an earlier run" in later.summary
        commands = executed_commands(later.stdout)
        assert not [c for c in commands if c.startswith("::error")], later.stdout
        assert any(c.startswith("::warning ") and "file=posts/a.md" in c for c in commands), (
            commands
        )
    assert len(gh.sandbox.posts()) == 1  # nothing sent again

    # A push of another post: green too (it considers what it changed, and posts with
    # no record; the hourly run lists what waits).
    human = gh.clone("human")
    head = gh.git(human, "rev-parse", "HEAD")
    sha = gh.commit(human, {"posts/b.md": post("[x]", "Another post.")}, "b")
    gh.push(human)
    other = gh.run(gh.clone("ws2"), "push", gh.push_event(head, sha))
    assert other.returncode == 0, other.stdout + other.stderr


def test_a_block_is_news_to_the_push_that_makes_it_and_to_a_config_change(gh: Harness) -> None:
    same = post("[bluesky]", "Twice the same words.")
    _, base = gh.seed({})
    human = gh.clone("human")
    sha = gh.commit(human, {"posts/c.md": same, "posts/d.md": same}, "two copies")
    gh.push(human)
    made = gh.run(gh.clone("ws1"), "push", gh.push_event(base, sha))
    assert made.returncode == 1  # the push that made the block is told
    assert made.outputs["failed"] == "2"

    hourly = schedule(gh, "hourly")
    assert hourly.returncode == 0, hourly.stdout
    assert "### Waiting for a person (2)" in hourly.summary

    head = sha
    sha = gh.commit(human, {"posts/b.md": post("[x]", "Unrelated.")}, "b")
    gh.push(human)
    other = gh.run(gh.clone("ws2"), "push", gh.push_event(head, sha))
    assert other.returncode == 0, other.stdout
    assert "### Waiting for a person (2)" in other.summary  # still listed: no record yet
    assert len(gh.sandbox.posts()) == 1  # b.md only

    gh.git(human, "pull", "-q", "--rebase", "origin", "main")  # the bot's commit of b.md
    head = gh.git(human, "rev-parse", "HEAD")
    toml = gh.remote_file("publisher.toml") + "\n# a comment\n"
    sha = gh.commit(human, {"publisher.toml": toml}, "config")
    gh.push(human)
    again = gh.run(gh.clone("ws3"), "push", gh.push_event(head, sha))
    assert again.returncode == 1  # publisher.toml changed: any block may be new
    assert again.outputs["failed"] == "2"


def test_a_pull_request_preview_lists_a_known_block_without_failing(gh: Harness) -> None:
    same = post("[bluesky]", "Twice the same words.")
    before, after = gh.seed({"posts/c.md": same, "posts/d.md": same})
    assert gh.run(gh.clone("ws", at=after), "push", gh.push_event(before, after)).returncode == 1
    sha, ws = on_branch(gh, "topic", {"posts/b.md": post("[x]", "New.")})
    run = gh.run(ws, "pull_request", gh.pr_event(after, sha), key=None)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "### Waiting for a person (2)" in run.summary
    assert "posts/b.md" in run.summary


# ------------------------------------------------------ tried in the sandbox, then live


def test_posts_tried_in_the_sandbox_are_named_before_they_go_out_for_real(gh: Harness) -> None:
    """A sandbox run commits its results (they look finished); the next live preview
    and publish say that these posts go out for real."""
    before, after = gh.seed({"posts/a.md": post("[bluesky]", "Tried first.")})
    tried = gh.run(
        gh.clone("ws", at=after),
        "push",
        gh.push_event(before, after),
        key=None,
        PUBLISHER_SANDBOX="true",
    )
    assert tried.returncode == 0, tried.stdout + tried.stderr
    assert gh.remote_record("posts/a.md")["env"] == "sandbox"
    base = gh.git(gh.remote, "rev-parse", "main")
    sha, ws = on_branch(gh, "topic", {"posts/b.md": post("[x]", "New.")})
    preview = gh.run(ws, "pull_request", gh.pr_event(base, sha), key=None)
    assert preview.returncode == 0, preview.stdout
    assert "**Tried in the sandbox only:** posts/a.md" in preview.summary
    assert "merging publishes them for real" in preview.summary
    warnings = [c for c in executed_commands(preview.stdout) if c.startswith("::warning ")]
    assert any("file=posts/a.md" in c and "sandbox results only" in c for c in warnings)

    human = gh.clone("human")
    head = gh.git(human, "rev-parse", "HEAD")
    sha = gh.commit(human, {"posts/b.md": post("[x]", "New.")}, "b")
    gh.push(human)
    live = gh.run(gh.clone("live"), "push", gh.push_event(head, sha))
    assert live.returncode == 0, live.stdout
    assert "**Tried in the sandbox only:** posts/a.md" in live.summary
    assert gh.remote_record("posts/a.md")["env"] == "live"
