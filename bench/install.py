"""How long the Action's install step takes: uv against pip, cold and warm.

    python3 bench/install.py [--runs N]

Each measurement is what action.yml's "Install publisher" step does: create a fresh
virtual environment, install the dependencies locked in uv.lock with every file's
hash checked (`--require-hashes`), and put publisher's folder on the venv's path. "cold" starts with an empty download cache, "warm" reuses the cache
the cold run filled (what the Actions cache restores). Everything goes into a
throwaway folder; uv comes from PyPI (`pip install uv` into a throwaway venv) when
it is not on PATH. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def _find_uv(tmp: Path) -> str:
    found = shutil.which("uv")
    if found:
        return found
    tool = tmp / "uv-tool"
    subprocess.run([sys.executable, "-m", "venv", str(tool)], check=True)
    _run([str(tool / "bin" / "python"), "-m", "pip", "install", "-q", "uv"], dict(os.environ))
    return str(tool / "bin" / "uv")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(extra)
    return env


def _pth(venv: Path, src: Path) -> None:
    """publisher runs from the action's folder: a .pth file, nothing built."""
    purelib = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "publisher-action.pth").write_text(f"{src}\n")


def export(uv: str, src: Path, out: Path) -> Path:
    """uv.lock as a requirements file with hashes, as the action step makes it."""
    _run(
        [
            uv,
            "export",
            "--quiet",
            "--frozen",
            "--offline",
            "--no-dev",
            "--no-emit-project",
            "--format",
            "requirements-txt",
            "--project",
            str(src),
            "--output-file",
            str(out),
        ],
        _env(),
    )
    return out


def uv_step(uv: str, src: Path, req: Path, cache: Path, venv: Path) -> None:
    env = _env(UV_CACHE_DIR=str(cache), UV_NO_PROGRESS="1")
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], env)
    python = str(venv / "bin" / "python")
    _run(
        [uv, "pip", "install", "--quiet", "--python", python, "--require-hashes", "-r", str(req)],
        env,
    )
    _pth(venv, src)


def pip_step(src: Path, req: Path, cache: Path, venv: Path) -> None:
    env = _env(PIP_CACHE_DIR=str(cache), PIP_DISABLE_PIP_VERSION_CHECK="1")
    _run([sys.executable, "-m", "venv", str(venv)], env)
    python = str(venv / "bin" / "python")
    _run([python, "-m", "pip", "install", "--quiet", "--require-hashes", "-r", str(req)], env)
    _pth(venv, src)


def measure(
    step: Callable[[Path, Path], None], tmp: Path, name: str, runs: int
) -> dict[str, float]:
    cold: list[float] = []
    warm: list[float] = []
    for i in range(runs):
        cache = tmp / f"{name}-cache-{i}"
        for kind, out in (("cold", cold), ("warm", warm)):
            venv = tmp / f"{name}-venv-{i}-{kind}"
            t0 = time.perf_counter()
            step(cache, venv)
            out.append(time.perf_counter() - t0)
            shutil.rmtree(venv, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)
    return {"cold": statistics.median(cold), "warm": statistics.median(warm)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="measurements per tool (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="publisher-bench-install-") as name:
        tmp = Path(name)
        # Build from a copy: installing from the tree would leave build/ behind.
        src = tmp / "src"
        src.mkdir()
        for item in ("pyproject.toml", "README.md", "uv.lock"):
            shutil.copy2(ROOT / item, src / item)
        shutil.copytree(
            ROOT / "publisher", src / "publisher", ignore=shutil.ignore_patterns("__pycache__")
        )
        uv = _find_uv(tmp)
        version = subprocess.run([uv, "--version"], capture_output=True, text=True).stdout.strip()
        req = export(uv, src, tmp / "requirements.txt")
        results = {
            "uv": measure(lambda c, v: uv_step(uv, src, req, c, v), tmp, "uv", args.runs),
            "pip": measure(lambda c, v: pip_step(src, req, c, v), tmp, "pip", args.runs),
        }
    print(
        f"install step: fresh venv + the locked, hashed dependencies ({version}, {args.runs} run(s))"
    )
    print(f"{'tool':<6}{'cold s':>10}{'warm s':>10}")
    for tool, figures in results.items():
        print(f"{tool:<6}{figures['cold']:>10.1f}{figures['warm']:>10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
