"""The release convention: LICENSE, CHANGELOG.md, the recorded release commits, and
`scripts/release.py` run in a real git repository."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from publisher import __version__
from publisher.releases import RELEASES

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "release.py"


def git(cwd: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="r",
        GIT_AUTHOR_EMAIL="r@example.org",
        GIT_COMMITTER_NAME="r",
        GIT_COMMITTER_EMAIL="r@example.org",
    )
    done = subprocess.run(
        ["git", "-C", str(cwd), *args], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout.strip()


def test_the_license_file_is_the_one_pyproject_names() -> None:
    license_name = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    assert license_name == {"text": "MIT"}
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in text


def test_the_changelog_has_a_section_for_this_version_or_unreleased() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    sections = re.findall(r"^## \[([^\]]+)\]", text, re.M)
    assert (sections and sections[0] == "Unreleased") or __version__ in sections
    for version in RELEASES:
        assert version in sections, f"release {version} has no CHANGELOG section"


def test_every_recorded_release_commit_exists_and_holds_its_version() -> None:
    """Where the history is there (a clone), each recorded SHA is a commit whose code
    says that version: `init` pins only what exists."""
    for version, sha in RELEASES.items():
        assert re.fullmatch(r"[0-9a-f]{40}", sha), (version, sha)
    if not RELEASES:
        return
    try:
        git(ROOT, "rev-parse", "--git-dir")
    except (subprocess.CalledProcessError, FileNotFoundError):
        pytest.skip("not a git checkout: the recorded commits cannot be checked")
    for version, sha in RELEASES.items():
        init = git(ROOT, "show", f"{sha}:publisher/__init__.py")
        assert f'__version__ = "{version}"' in init, version


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A repository with the files the release script reads, at version 1.2.3."""
    repo = tmp_path / "project"
    (repo / "publisher").mkdir(parents=True)
    (repo / "publisher" / "__init__.py").write_text('__version__ = "1.2.3"\n')
    shutil.copy(ROOT / "publisher" / "releases.py", repo / "publisher" / "releases.py")
    (repo / "CHANGELOG.md").write_text("# Changelog\n\n## [1.2.3] - 2026-12-06\n\n- x\n")
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "Release 1.2.3")
    return repo


def release(repo: Path, version: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="r",
        GIT_AUTHOR_EMAIL="r@example.org",
        GIT_COMMITTER_NAME="r",
        GIT_COMMITTER_EMAIL="r@example.org",
    )
    return subprocess.run(
        [sys.executable, str(SCRIPT), version], cwd=repo, capture_output=True, text=True, env=env
    )


def test_the_release_script_tags_moves_the_major_tag_and_records_the_commit(
    project: Path,
) -> None:
    released = git(project, "rev-parse", "HEAD")
    done = release(project, "1.2.3")
    assert done.returncode == 0, done.stderr
    assert git(project, "rev-parse", "v1.2.3^{commit}") == released
    assert git(project, "rev-parse", "v1^{commit}") == released
    assert git(project, "cat-file", "-t", "v1.2.3") == "tag"  # annotated
    # The record is the next commit; its code is the tagged code.
    assert git(project, "rev-parse", "HEAD~1") == released
    namespace: dict[str, object] = {}
    exec((project / "publisher" / "releases.py").read_text(), namespace)
    assert namespace["RELEASES"] == {"1.2.3": released}
    assert git(project, "diff", "--name-only", "HEAD~1", "HEAD") == "publisher/releases.py"
    assert "git push --force origin v1" in done.stdout

    # The next release moves v1 and adds a second line.
    (project / "publisher" / "__init__.py").write_text('__version__ = "1.3.0"\n')
    (project / "CHANGELOG.md").write_text("## [1.3.0] - 2026-12-07\n\n## [1.2.3] - 2026-12-06\n")
    git(project, "commit", "-qam", "Release 1.3.0")
    second = git(project, "rev-parse", "HEAD")
    assert release(project, "1.3.0").returncode == 0
    assert git(project, "rev-parse", "v1^{commit}") == second
    assert git(project, "rev-parse", "v1.2.3^{commit}") == released  # never moved
    namespace = {}
    exec((project / "publisher" / "releases.py").read_text(), namespace)
    assert namespace["RELEASES"] == {"1.2.3": released, "1.3.0": second}


@pytest.mark.parametrize(
    ("version", "change", "message"),
    [
        ("1.2.4", None, "does not say __version__ = '1.2.4'"),
        ("1.2.3", ("CHANGELOG.md", "# Changelog\n"), "CHANGELOG.md has no section"),
        ("1.2.3", ("notes.txt", "dirty\n"), "the work tree has changes"),
        ("one", None, "usage"),
    ],
)
def test_the_release_script_refuses_and_changes_nothing(
    project: Path, version: str, change: tuple[str, str] | None, message: str
) -> None:
    if change is not None:
        (project / change[0]).write_text(change[1])
        if change[0] == "CHANGELOG.md":
            git(project, "commit", "-qam", "no section")
    head = git(project, "rev-parse", "HEAD")
    done = release(project, version)
    assert done.returncode == 1
    assert message in done.stderr and "Traceback" not in done.stderr
    assert git(project, "tag", "--list") == ""
    assert git(project, "rev-parse", "HEAD") == head
