"""`publisher init` in real git repositories, with the sandbox as letmepost over HTTP."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from publisher import __version__
from tests.helpers import cli_env, run_cli

WORKFLOW = ".github/workflows/publisher.yml"


def git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.org",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.org",
    )
    return env


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True, env=git_env()
    )
    return done.stdout.strip()


@pytest.fixture
def action_repo(tmp_path: Path) -> tuple[Path, str]:
    """A local stand-in for the action's repository, with an annotated tag v<version>."""
    repo = tmp_path / "action-src"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "action.yml").write_text("name: x\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "release")
    git(repo, "tag", "-a", f"v{__version__}", "-m", "release")
    return repo, git(repo, "rev-parse", f"v{__version__}^{{commit}}")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A clone of a bare remote whose default branch is `trunk`."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "trunk", str(bare))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(bare), str(seed))
    (seed / "README.md").write_text("# posts\n")
    (seed / ".gitignore").write_text("node_modules")  # no final newline on purpose
    git(seed, "add", "-A")
    git(seed, "commit", "-qm", "seed")
    git(seed, "push", "-q", "origin", "HEAD:trunk")
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(bare), str(work))
    return work


def env_for(action: tuple[Path, str], url: str = "http://127.0.0.1:9", key: str | None = None):
    return {**cli_env(url, key), **git_env(), "PUBLISHER_ACTION_URL": str(action[0])}


def snapshot(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts[:1]
    }


def test_init_without_a_key_writes_a_working_repository(repo, action_repo):
    env = env_for(action_repo)
    done = run_cli(["init"], repo, env)
    assert done.returncode == 0, done.stderr
    config = tomllib.loads((repo / "publisher.toml").read_text())
    assert config["targets"] == ["bluesky"] and "accounts" not in config
    assert "# [accounts]" in (repo / "publisher.toml").read_text()
    posts = sorted((repo / "posts").glob("*.md"))
    assert len(posts) == 1
    front = yaml.safe_load(posts[0].read_text().split("---\n")[1])
    assert front["draft"] is True
    assert (repo / ".gitignore").read_text() == (
        "node_modules\n# publisher's local state (sandbox database)\n.publisher/\n"
    )
    # The workflow: pinned to this release's commit, on the remote's default branch.
    workflow = yaml.safe_load((repo / WORKFLOW).read_text())
    uses = {
        step["uses"]
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if "publisher" in step.get("uses", "")
    }
    assert uses == {f"publisher-dev/publisher@{action_repo[1]}"}
    assert f"@{action_repo[1]} # v{__version__}" in (repo / WORKFLOW).read_text()
    assert workflow[True]["push"]["branches"] == ["trunk"]  # yaml reads `on` as True
    assert set(workflow[True]) == {
        "push",
        "pull_request",
        "schedule",
        "workflow_dispatch",
        "release",
    }
    assert "secrets." not in str(workflow["jobs"]["preview"])
    # What to do next, in three steps.
    assert "LETMEPOST_API_KEY" in done.stdout and "publisher new" in done.stdout
    assert "push to trunk" in done.stdout
    # The example post validates as it is.
    checked = run_cli(["validate"], repo, env)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_init_twice_changes_nothing_and_says_what_is_there(repo, action_repo):
    env = env_for(action_repo)
    assert run_cli(["init"], repo, env).returncode == 0
    before = snapshot(repo)
    again = run_cli(["init"], repo, env)
    assert again.returncode == 0, again.stderr
    assert snapshot(repo) == before
    assert "Nothing to do" in again.stdout
    for what in ("publisher.toml", "posts/", WORKFLOW, ".github/dependabot.yml", ".gitignore"):
        assert f"exists   {what}" in again.stdout


def test_init_never_overwrites_what_is_there(repo, action_repo):
    (repo / "publisher.toml").write_text(
        'posts = "notes"\ntargets = ["x"]\n\n[accounts]\nx = "twitter"\n'
    )
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / WORKFLOW).write_text("# mine\n")
    (repo / ".gitignore").write_text("/.publisher/\n")
    before = snapshot(repo)
    done = run_cli(["init"], repo, env_for(action_repo))
    assert done.returncode == 0, done.stderr
    after = snapshot(repo)
    assert {k: v for k, v in after.items() if k in before} == before
    # Only the example post is new, in the configured folder, using the default targets
    # (and the Dependabot config, which was missing).
    added = sorted(k for k in after if k not in before)
    assert len(added) == 2 and added[1].startswith("notes/"), added
    assert added[0] == ".github/dependabot.yml"
    front = yaml.safe_load((repo / added[1]).read_text().split("---\n")[1])
    assert front == {"draft": True}
    assert run_cli(["validate"], repo, env_for(action_repo)).returncode == 0


def test_init_with_a_key_writes_short_aliases_of_the_connected_accounts(repo, action_repo, sandbox):
    env = env_for(action_repo, sandbox.url, sandbox.live_key)
    done = run_cli(["init"], repo, env)
    assert done.returncode == 0, done.stderr
    text = (repo / "publisher.toml").read_text()
    config = tomllib.loads(text)
    by_id = {a["id"]: a for a in sandbox.accounts}
    aliases = config["accounts"]
    assert len(aliases) == len(sandbox.accounts)
    assert set(by_id) == {a["id"] for a in aliases.values()}
    assert by_id[aliases["x"]["id"]]["platform"] == "twitter"
    assert "company" in by_id[aliases["linkedin-company"]["id"]]["displayName"].lower()
    assert "personal" in by_id[aliases["linkedin-personal"]["id"]]["displayName"].lower()
    bluesky = next(a for a in ("bluesky", "bluesky-main") if a in aliases)
    assert by_id[aliases[bluesky]["id"]]["platform"] == "bluesky"
    # Default targets: the accounts that take a text-only post.
    assert "x" in config["targets"] and bluesky in config["targets"]
    assert not {"instagram-main", "tiktok-main", "pinterest-main"} & set(config["targets"])
    everything = (
        done.stdout
        + done.stderr
        + "".join(p.read_text() for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts)
    )
    assert sandbox.live_key not in everything
    # The configuration loads, and the example post validates and plans against it.
    checked = run_cli(["validate"], repo, env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    planned = run_cli(["plan"], repo, env)
    assert planned.returncode == 0, planned.stdout + planned.stderr


def test_init_with_a_key_the_api_refuses_writes_nothing(repo, action_repo, sandbox):
    bad = "lmp_live_" + "0" * 32
    before = snapshot(repo)
    done = run_cli(["init"], repo, env_for(action_repo, sandbox.url, bad))
    assert done.returncode == 1
    assert "cannot list accounts" in done.stderr and "Traceback" not in done.stderr
    assert bad not in done.stdout + done.stderr
    assert snapshot(repo) == before


def test_init_outside_a_git_repository_is_a_usage_error(tmp_path, action_repo):
    outside = tmp_path / "plain"
    outside.mkdir()
    env = {**env_for(action_repo), "GIT_CEILING_DIRECTORIES": str(tmp_path)}
    done = run_cli(["init"], outside, env)
    assert done.returncode == 2
    assert "not inside a git repository" in done.stderr and str(outside) in done.stderr
    assert "Traceback" not in done.stderr
    assert list(outside.iterdir()) == []


def test_init_offline_pins_nothing_it_cannot_name_and_says_so(repo, tmp_path):
    """No release commit recorded for this version and no way to look the tag up: the
    workflow names a placeholder that GitHub refuses to run (never a movable tag)."""
    env = {**cli_env("http://127.0.0.1:9", None), **git_env()}
    env["PUBLISHER_ACTION_URL"] = str(tmp_path / "no-such-repo")
    done = run_cli(["init"], repo, env)
    assert done.returncode == 0, done.stderr
    text = (repo / WORKFLOW).read_text()
    assert "publisher-dev/publisher@REPLACE-WITH-A-RELEASE-COMMIT-SHA" in text
    assert "@v" not in text
    assert "GitHub will refuse to run it until you replace" in done.stderr


def test_init_pins_a_recorded_release_offline(monkeypatch, tmp_path):
    """A released package knows its tag's commit (publisher.releases): no network."""
    from publisher import releases
    from publisher.commands.init_templates import action_ref

    sha = "ab" * 20
    monkeypatch.setattr(releases, "RELEASES", {__version__: sha, "0.0.1": "cd" * 20})
    monkeypatch.setenv("PUBLISHER_ACTION_URL", str(tmp_path / "no-such-repo"))
    assert action_ref() == (f"publisher-dev/publisher@{sha}", f"# v{__version__}")
    # A version with no record of its own, offline: the newest older release recorded.
    uses, comment = action_ref("9.9.9")
    assert uses == f"publisher-dev/publisher@{sha}" and comment.startswith(f"# v{__version__}")


def test_init_writes_a_dependabot_config_for_the_pins_and_keeps_one_that_is_there(
    repo, action_repo
):
    assert run_cli(["init"], repo, env_for(action_repo)).returncode == 0
    config = yaml.safe_load((repo / ".github/dependabot.yml").read_text())
    assert config["version"] == 2
    (update,) = config["updates"]
    assert update["package-ecosystem"] == "github-actions" and update["directory"] == "/"
    other = repo.parent / "other"
    git(repo.parent, "clone", "-q", str(repo.parent / "remote.git"), str(other))
    (other / ".github").mkdir()
    (other / ".github/dependabot.yml").write_text("# mine\n")
    done = run_cli(["init"], other, env_for(action_repo))
    assert done.returncode == 0, done.stderr
    assert (other / ".github/dependabot.yml").read_text() == "# mine\n"
    assert "exists   .github/dependabot.yml" in done.stdout


def test_the_generated_workflow_passes_zizmor(repo, action_repo):
    zizmor = shutil.which("zizmor")
    if zizmor is None:
        pytest.skip("zizmor is not installed (the test extras install it)")
    assert run_cli(["init"], repo, env_for(action_repo)).returncode == 0
    proc = subprocess.run(
        [zizmor, "--offline", "--no-progress", str(repo / WORKFLOW)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
