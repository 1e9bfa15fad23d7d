"""The distribution as users get it: a wheel built from the repository, installed into a
fresh virtual environment, run from there (not from the source tree)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from publisher import __version__

ROOT = Path(__file__).resolve().parents[2]
DIST = "publisher-posts"


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _can_build_without_isolation() -> bool:
    probe = "import setuptools, wheel; assert int(setuptools.__version__.split('.')[0]) >= 68"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0


@pytest.mark.slow
def test_wheel_installs_and_runs_from_a_fresh_venv(tmp_path):
    # Build from a copy, so the build leaves nothing (build/, *.egg-info) in the tree.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "publisher", src / "publisher", ignore=shutil.ignore_patterns("__pycache__")
    )
    wheels = tmp_path / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(wheels)]
    if _can_build_without_isolation():
        build.append("--no-build-isolation")
    done = subprocess.run(build, capture_output=True, text=True, env=_clean_env(), timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    [wheel] = wheels.glob("*.whl")
    assert wheel.name == f"publisher_posts-{__version__}-py3-none-any.whl"

    venv = tmp_path / "venv"
    # Without a pip of its own (ensurepip takes longer than the rest of the test): the
    # system's pip, seen through --system-site-packages, installs into the venv it runs in.
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
        check=True,
        timeout=300,
    )
    py = venv / "bin" / "python"
    done = subprocess.run(
        [str(py), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    work = tmp_path / "posts-repo"
    (work / "posts").mkdir(parents=True)
    (work / "publisher.toml").write_text('posts = "posts"\ntargets = ["bluesky"]\n')
    (work / "posts" / "hello.md").write_text("---\ntargets: [bluesky]\n---\nHello from a wheel.\n")
    exe = venv / "bin" / "publisher"
    where = subprocess.run(
        [
            str(py),
            "-c",
            "import importlib.metadata as m, publisher; print(publisher.__file__); "
            f"print(m.version({DIST!r}))",
        ],
        capture_output=True,
        text=True,
        cwd=work,
        env=_clean_env(),
        timeout=120,
    )
    assert where.returncode == 0, where.stderr
    file, version = where.stdout.split()
    assert Path(file).is_relative_to(venv), file  # the installed copy, not the source tree
    assert version == __version__

    shown = subprocess.run(
        [str(exe), "--version"],
        capture_output=True,
        text=True,
        cwd=work,
        env=_clean_env(),
        timeout=120,
    )
    assert shown.returncode == 0 and shown.stdout.strip() == f"publisher {__version__}"
    # `uvx publisher-posts` runs the command named like the package: the same CLI
    alias = subprocess.run(
        [str(venv / "bin" / DIST), "validate"],
        capture_output=True,
        text=True,
        cwd=work,
        env=_clean_env(),
        timeout=120,
    )
    assert alias.returncode == 0, alias.stdout + alias.stderr
    checked = subprocess.run(
        [str(exe), "validate"],
        capture_output=True,
        text=True,
        cwd=work,
        env=_clean_env(),
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 files checked" in checked.stderr or "1 file" in checked.stderr
    # The preview page's assets are in the wheel (package data).
    assets = subprocess.run(
        [
            str(py),
            "-c",
            "import publisher, pathlib; p = pathlib.Path(publisher.__file__).parent; "
            "print(len(list((p / 'preview' / 'assets').rglob('*.*'))))",
        ],
        capture_output=True,
        text=True,
        cwd=work,
        env=_clean_env(),
        timeout=120,
    )
    assert int(assets.stdout) > 0
