"""Cold start: `publisher validate` of one post, as a whole process, against a process
that only imports every library publisher depends on, eagerly.

    python bench/coldstart.py [--runs 15]

Prints the median CPU time (user + system, of the child process: steady on a busy
machine, where wall time is not) and wall time of each, their ratio (goal: CPU time
<= 0.15x), then the modules that `validate` imports that a lazy CLI should not need
(there should be none).
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
EAGER = (
    "import atproto, httpx, pydantic, frontmatter, watchfiles, git, rich, regex, starlette, uvicorn"
)
HEAVY = ("atproto", "httpx", "watchfiles", "git", "rich", "starlette", "uvicorn", "frontmatter")


def median_times(cmd: list[str], cwd: Path, runs: int) -> tuple[float, float]:
    """Median (CPU time, wall time) of `runs` runs of `cmd` as a whole process."""
    cpus, walls = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            raise SystemExit(f"{cmd} failed:\n{done.stdout.decode()}{done.stderr.decode()}")
    return statistics.median(cpus), statistics.median(walls)


def heavy_imports(cwd: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "publisher", "validate", "posts/post.md"],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
    )
    names = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    return sorted(n for n in names if n.split(".")[0] in HEAVY)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "publisher.toml").write_text('[accounts]\nx = "twitter"\n')
        (root / "posts").mkdir()
        (root / "posts" / "post.md").write_text(
            "---\ntargets: [bluesky, x]\nfirstComment: More at https://example.org\n---\n"
            "Hello from a cold start.\n"
        )
        py = sys.executable
        # An installed package has its bytecode compiled; a source tree run with
        # PYTHONDONTWRITEBYTECODE would compile publisher on every run instead.
        compileall.compile_dir(ROOT / "publisher", quiet=1)
        runs: dict[str, list[tuple[float, float]]] = {"bare": [], "eager": [], "validate": []}
        commands = {
            "bare": [py, "-c", "pass"],
            "eager": [py, "-c", EAGER],
            "validate": [py, "-m", "publisher", "validate", "posts/post.md"],
        }
        for _ in range(args.runs):  # interleaved, so a busy spell hits all three alike
            for name, cmd in commands.items():
                runs[name].append(median_times(cmd, root, 1))
        bare, eager, validate = (
            (statistics.median(c for c, _ in runs[n]), statistics.median(w for _, w in runs[n]))
            for n in commands
        )
        heavy = heavy_imports(root)
    print(f"median of {args.runs} interleaved runs (whole processes)   cpu       wall")
    print(f"  python -c pass                 {bare[0] * 1000:7.0f} ms {bare[1] * 1000:7.0f} ms")
    print(f"  import every library eagerly   {eager[0] * 1000:7.0f} ms {eager[1] * 1000:7.0f} ms")
    print(
        f"  publisher validate (one post)  {validate[0] * 1000:7.0f} ms "
        f"{validate[1] * 1000:7.0f} ms"
    )
    print(
        f"  validate / eager = {validate[0] / eager[0]:.3f}x cpu, "
        f"{validate[1] / eager[1]:.3f}x wall   (goal: cpu <= 0.15x)"
    )
    print(f"  heavy modules imported by validate: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
