"""The workflow `publisher init` writes, and the example in .github/workflows, run by a
real Actions runner: nektos/act in host mode (`-P ubuntu-latest=-self-hosted`, no
Docker), offline. act never downloads an action: checkout, setup-python and setup-uv
come from the pinned tarballs in ../shared/tools/actions/ and publisher's action from
this checkout, each given with `--local-repository` (the recipe and what act does
differently from GitHub: ../shared/tools/actions/README.md). The action's dependencies
come from a uv cache filled once from uv.lock (with hashes), and the runs set
UV_OFFLINE=1. The tests skip, with the reason, only when act cannot be installed.

What act does differently, and what the tests do about it: it does not run
actions/checkout but copies the local working copy (so each scenario's repository is a
clone of a bare remote, and a push from the job lands in that remote); it ignores
`paths:` filters, concurrency and permissions.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from publisher import __version__
from publisher.git import BOT_NAME
from tests import ci_tools
from tests.helpers import post

ROOT = Path(__file__).resolve().parents[2]
ACTIONS = ROOT.parent / "shared" / "tools" / "actions"
PINNED = {  # what action.yml and the workflows pin (tests/e2e/test_workflows_lint.py checks)
    "actions/checkout": "11bd71901bbe5b1630ceea73d27597364c9af683",
    "actions/setup-python": "a26af69be951a213d495a4c3e4e4022e16d87065",
    "astral-sh/setup-uv": "37802adc94f370d6bfd71619e3f0bf239e1f3b78",
}
UV_VERSION = ci_tools.UV.split("==")[1]
INIT_WORKFLOW = Path(".github/workflows/publisher.yml")

pytestmark = pytest.mark.act


def git_env(home: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GITHUB_"))}
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Human",
        GIT_AUTHOR_EMAIL="human@example.org",
        GIT_COMMITTER_NAME="Human",
        GIT_COMMITTER_EMAIL="human@example.org",
    )
    return env


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=git_env(), capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def python_312() -> tuple[Path, str]:
    """(sys.prefix, version) of a Python 3.12 for setup-python's tool cache (the
    action's default `python-version`); this Python itself, filed as 3.12, if none."""
    candidates = [
        shutil.which("python3.12"),
        *map(str, Path.home().glob(".pyenv/versions/3.12*/bin/python3.12")),
    ]
    for exe in filter(None, candidates):
        done = subprocess.run(
            [exe, "-c", "import sys; print(sys.prefix); print('%d.%d.%d' % sys.version_info[:3])"],
            capture_output=True,
            text=True,
        )
        if done.returncode == 0:
            prefix, version = done.stdout.split()
            return Path(prefix), version
    return Path(sys.prefix), "3.12.0"


@dataclass
class Act:
    """act, the pinned actions, a tool cache and a warm uv cache: runs workflows."""

    exe: str
    base: Path
    vendor: Path
    uv_cache: Path
    action_sha: str

    def run(
        self,
        repo: Path,
        event_name: str,
        payload: dict[str, Any],
        workflow: Path = INIT_WORKFLOW,
        secrets: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        event = self.base / f"event-{event_name}.json"
        event.write_text(json.dumps(payload))
        command = [
            self.exe,
            event_name,
            "-e",
            str(event),
            "-W",
            str(workflow),
            "-P",
            "ubuntu-latest=-self-hosted",
            "--action-cache-path",
            str(self.base / "cache"),
            "--action-offline-mode",
            "--cache-server-addr",
            "127.0.0.1",
            "--cache-server-port",
            "0",
            "--cache-server-path",
            str(self.base / "actcache"),
            "--env-file",
            os.devnull,
            "--secret-file",
            os.devnull,
            "--env",
            "UV_OFFLINE=1",
            "--env",
            f"UV_CACHE_DIR={self.uv_cache}",
        ]
        for name, sha in PINNED.items():
            folder = self.vendor / f"{name.replace('/', '-')}@{sha}"
            command += ["--local-repository", f"{name}@{sha}={folder}"]
        command += ["--local-repository", f"publisher-dev/publisher@{self.action_sha}={ROOT}"]
        for name, value in (secrets or {}).items():
            command += ["-s", f"{name}={value}"]
        env = {
            k: v
            for k, v in git_env().items()
            if not k.startswith(("LETMEPOST_", "PUBLISHER_", "RUNNER_", "UV_"))
        }
        return subprocess.run(
            command, cwd=repo, env=env, capture_output=True, text=True, timeout=600
        )


@pytest.fixture(scope="module")
def act(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Act]:
    tools, why = ci_tools.act()
    if tools is None:
        pytest.skip(f"act cannot be installed: {why}")
    act_exe, uv_exe = tools
    assert ACTIONS.is_dir(), f"the pinned actions are missing: {ACTIONS}"
    base = tmp_path_factory.mktemp("act")
    vendor = base / "vendor"
    vendor.mkdir()
    for name, sha in PINNED.items():
        with tarfile.open(ACTIONS / f"{name.replace('/', '-')}@{sha}.tar.gz") as tar:
            tar.extractall(vendor, filter="data")
    # setup-uv and setup-python look in the tool cache first; act's host mode sets
    # RUNNER_TOOL_CACHE to <--action-cache-path>/tool_cache.
    tool_cache = base / "cache" / "tool_cache"
    uv_dir = tool_cache / "uv" / UV_VERSION / "x86_64"
    uv_dir.mkdir(parents=True)
    for exe in ("uv", "uvx"):
        found = Path(uv_exe).with_name(exe)
        if found.exists():
            shutil.copy(found, uv_dir / exe)
    (uv_dir.parent / "x86_64.complete").touch()
    prefix, version = python_312()
    (tool_cache / "Python" / version).mkdir(parents=True)
    (tool_cache / "Python" / version / "x64").symlink_to(prefix)
    (tool_cache / "Python" / version / "x64.complete").touch()
    # The action's dependencies, from its uv.lock with hashes, into a uv cache kept
    # between test runs: the act runs then install with UV_OFFLINE=1.
    uv_cache = ci_tools.cache_dir() / "uv-act"
    requirements = base / "requirements.txt"
    uv_env = {**os.environ, "UV_CACHE_DIR": str(uv_cache)}
    subprocess.run(
        [
            uv_exe,
            "export",
            "--quiet",
            "--frozen",
            "--offline",
            "--no-dev",
            "--no-emit-project",
            "--format",
            "requirements-txt",
            "--project",
            str(ROOT),
            "--output-file",
            str(requirements),
        ],
        check=True,
        env=uv_env,
    )
    warm = subprocess.run(
        [
            uv_exe,
            "pip",
            "install",
            "--quiet",
            "--require-hashes",
            "-r",
            str(requirements),
            "--python",
            str(prefix / "bin" / "python3"),
            "--target",
            str(base / "warm"),
        ],
        env=uv_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert warm.returncode == 0, f"filling the uv cache from uv.lock failed: {warm.stderr[-2000:]}"
    shutil.rmtree(base / "warm", ignore_errors=True)
    # The action's repository: a stand-in carrying the release tag init pins to; act
    # runs this checkout under that commit SHA.
    stand_in = base / "action-src"
    git(base, "init", "-q", "-b", "main", str(stand_in))
    (stand_in / "action.yml").write_text("name: x\n")
    git(stand_in, "add", "-A")
    git(stand_in, "commit", "-qm", "release")
    git(stand_in, "tag", f"v{__version__}")
    yield Act(act_exe, base, vendor, uv_cache, git(stand_in, "rev-parse", "HEAD"))


@dataclass
class PostsRepo:
    """A posts repository set up by `publisher init`: a bare remote and a clone."""

    remote: Path
    work: Path

    def commit_push(self, files: dict[str, str], message: str, branch: str = "main") -> str:
        before = git(self.work, "rev-parse", "HEAD")
        for name, text in files.items():
            (self.work / name).parent.mkdir(parents=True, exist_ok=True)
            (self.work / name).write_text(text)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-qm", message)
        git(self.work, "push", "-q", "origin", f"HEAD:{branch}")
        return before

    def push_event(self, before: str) -> dict[str, Any]:
        return {
            "ref": "refs/heads/main",
            "before": before,
            "after": git(self.work, "rev-parse", "HEAD"),
            "repository": {"full_name": "owner/posts", "default_branch": "main"},
        }

    def remote_log(self, branch: str = "main") -> list[str]:
        return git(self.remote, "log", "--format=%an|%s", branch).splitlines()

    def record(self, path: str, rev: str = "main") -> dict[str, Any]:
        text = git(self.remote, "show", f"{rev}:{path}")
        return (yaml.safe_load(text.split("---\n", 2)[1]) or {}).get("published") or {}


@pytest.fixture
def posts(act: Act, tmp_path: Path) -> PostsRepo:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(remote), str(work))
    env = {**git_env(), "PUBLISHER_ACTION_URL": str(act.base / "action-src")}
    env.pop("LETMEPOST_API_KEY", None)
    done = subprocess.run(
        [sys.executable, "-m", "publisher", "init"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert f"publisher-dev/publisher@{act.action_sha}" in (work / INIT_WORKFLOW).read_text()
    for example in (work / "posts").glob("*.md"):
        example.unlink()  # init's example is a draft; each test writes its own posts
    (work / "posts" / ".keep").write_text("")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "publisher init")
    git(work, "push", "-q", "origin", "HEAD:main")
    return PostsRepo(remote, work)


def in_sandbox(workflow: str) -> str:
    """The publish step with `sandbox: true`: publishes to a sandbox started for the run."""
    line = "          api-key: ${{ secrets.LETMEPOST_API_KEY }}\n"
    assert workflow.count(line) == 1
    return workflow.replace(line, line + "          sandbox: true\n")


def example_workflow(sha: str) -> str:
    """.github/workflows/publish.yml as a user copies it: `uses: ./` -> the release."""
    text = (ROOT / ".github" / "workflows" / "publish.yml").read_text()
    lines = [
        line.split("uses: ./")[0] + f"uses: publisher-dev/publisher@{sha}"
        if "uses: ./" in line
        else line
        for line in text.splitlines()
    ]
    return "\n".join(lines) + "\n"


def output(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


# ---------------------------------------------------------------------------- scenarios


@pytest.mark.parametrize("which", ["init", "example"])
def test_a_push_publishes_through_the_action_and_the_bot_commit_reaches_the_remote(
    act: Act, posts: PostsRepo, which: str
) -> None:
    workflow = posts.work / INIT_WORKFLOW
    if which == "example":
        workflow = posts.work / ".github" / "workflows" / "publish.yml"
        workflow.write_text(example_workflow(act.action_sha))
        (posts.work / INIT_WORKFLOW).unlink()
    workflow.write_text(in_sandbox(workflow.read_text()))
    before = posts.commit_push(
        {"posts/hello.md": post("[bluesky]", "Hello from a real runner.")}, "first post"
    )
    done = act.run(posts.work, "push", posts.push_event(before), workflow.relative_to(posts.work))
    assert done.returncode == 0, output(done)[-6000:]
    assert "Job succeeded" in done.stdout
    author, subject = posts.remote_log()[0].split("|")
    assert author == BOT_NAME and subject.startswith("publisher: record results of 1 post")
    record = posts.record("posts/hello.md")
    assert record["env"] == "sandbox"
    assert record["targets"]["bluesky"]["status"] == "published"


def test_a_pull_request_previews_and_changes_nothing(act: Act, posts: PostsRepo) -> None:
    base = git(posts.work, "rev-parse", "HEAD")
    git(posts.work, "checkout", "-q", "-b", "topic")
    posts.commit_push({"posts/idea.md": post("[bluesky]", "Reviewed first.")}, "idea", "topic")
    head = git(posts.work, "rev-parse", "HEAD")
    payload = {
        "action": "opened",
        "number": 3,
        "pull_request": {
            "number": 3,
            "base": {"sha": base, "ref": "main", "repo": {"full_name": "owner/posts"}},
            "head": {"sha": head, "ref": "topic", "repo": {"full_name": "owner/posts"}},
        },
        "repository": {"full_name": "owner/posts", "default_branch": "main"},
    }
    heads = git(posts.remote, "for-each-ref", "--format=%(refname) %(objectname)")
    done = act.run(posts.work, "pull_request", payload)
    assert done.returncode == 0, output(done)[-6000:]
    assert "## publisher: preview" in done.stdout
    assert "Reviewed first." in done.stdout  # the post's text, as it would go out
    assert git(posts.remote, "for-each-ref", "--format=%(refname) %(objectname)") == heads
    assert "published:" not in (posts.work / "posts" / "idea.md").read_text()


@pytest.mark.parametrize("workflow", ["init", "mode publish"])
def test_a_manual_run_on_a_feature_branch_publishes_nothing(
    act: Act, posts: PostsRepo, workflow: str
) -> None:
    """The workflow runs its preview job there; and a workflow that hands the action
    `mode: publish` anyway (as init's did before) is previewed by `publisher ci`."""
    path = posts.work / INIT_WORKFLOW
    text = in_sandbox(path.read_text())
    if workflow == "mode publish":
        start = text.index("    if: >-\n      github.event_name == 'push'")
        end = text.index("    runs-on:", start)
        text = text[:start] + "    if: github.event_name != 'pull_request'\n" + text[end:]
    path.write_text(text)
    posts.commit_push({}, "workflow") if git(posts.work, "status", "--porcelain") else None
    git(posts.work, "checkout", "-q", "-b", "feature")
    posts.commit_push({"posts/wip.md": post("[bluesky]", "Not reviewed yet.")}, "wip", "feature")
    heads = git(posts.remote, "for-each-ref", "--format=%(refname) %(objectname)")
    payload = {
        "ref": "refs/heads/feature",
        "inputs": {},
        "repository": {"full_name": "owner/posts", "default_branch": "main"},
    }
    done = act.run(posts.work, "workflow_dispatch", payload)
    assert done.returncode == 0, output(done)[-6000:]
    assert git(posts.remote, "for-each-ref", "--format=%(refname) %(objectname)") == heads
    assert "published:" not in git(posts.remote, "show", "feature:posts/wip.md")
    assert "## publisher: preview" in done.stdout
    if workflow == "mode publish":
        assert "feature is not the default branch main" in done.stdout


def test_a_scheduled_run_with_a_known_block_stays_green(
    act: Act, posts: PostsRepo, sandbox: Any
) -> None:
    """A post the platform refuses fails the push's run once (the failure is committed),
    and the hourly run after it is green and lists what waits."""
    config = posts.work / "publisher.toml"
    text = config.read_text().replace(
        'api_url = "https://api.letmepost.dev"', f'api_url = "{sandbox.url}"'
    )
    assert sandbox.url in text
    config.write_text(text)
    sandbox.set_faults(bluesky={"code": "platform_rejected", "count": 1})
    before = posts.commit_push(
        {"posts/refused.md": post("[bluesky]", "The platform says no.")}, "refused"
    )
    key = {"LETMEPOST_API_KEY": sandbox.live_key}
    first = act.run(posts.work, "push", posts.push_event(before), secrets=key)
    assert first.returncode != 0  # the run in which it happened fails
    assert posts.record("posts/refused.md")["targets"]["bluesky"]["status"] == "rejected"

    git(posts.work, "pull", "-q", "--ff-only", "origin", "main")  # the bot's commit
    hourly = act.run(posts.work, "schedule", {"schedule": "17 * * * *"}, secrets=key)
    assert hourly.returncode == 0, output(hourly)[-6000:]
    assert "Waiting for a person (1)" in hourly.stdout
    assert len(sandbox.posts()) == 1  # nothing sent again
