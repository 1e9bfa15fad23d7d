"""Lint action.yml and the workflows with zizmor, plus the action's own safety rules."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
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


def test_zizmor_finds_nothing() -> None:
    zizmor = shutil.which("zizmor")
    if zizmor is None:
        pytest.skip("zizmor is not installed (pip install zizmor, or the test extras)")
    targets = [ACTION, ROOT / ".github"]
    proc = subprocess.run(
        [zizmor, "--offline", "--format=json", "--no-progress", *map(str, targets)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.stdout.strip(), f"zizmor printed no report: {proc.stderr[-2000:]}"
    findings = [f for f in json.loads(proc.stdout) if not f.get("ignored")]
    report = [
        f"{f['ident']}: {f['desc']} at "
        + ", ".join(
            f"{loc['symbolic']['key']['Local']['verbatim_path']}:"
            f"{loc['concrete']['location']['start_point']['row'] + 1}"
            for loc in f["locations"]
            if "Local" in loc["symbolic"]["key"]
        )
        for f in findings
    ]
    assert report == []
    assert proc.returncode == 0, proc.stderr[-2000:]


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
