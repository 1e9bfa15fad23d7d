"""Cold start: `publisher validate` of one post, as a whole process, against a process
that only imports every library publisher depends on, eagerly.

    python bench/coldstart.py [--runs 15]

Prints the median wall time of each and their ratio (goal <= 0.3x), then the modules
that `validate` imports that a lazy CLI should not need (there should be none).
"""

from __future__ import annotations

import argparse
import os
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


def median_wall(cmd: list[str], cwd: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{cmd} failed:\n{done.stdout.decode()}{done.stderr.decode()}")
    return statistics.median(times)


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
        eager = median_wall([py, "-c", EAGER], root, args.runs)
        validate = median_wall(
            [py, "-m", "publisher", "validate", "posts/post.md"], root, args.runs
        )
        bare = median_wall([py, "-c", "pass"], root, args.runs)
        heavy = heavy_imports(root)
    print(f"median of {args.runs} runs (whole processes)")
    print(f"  python -c pass                 {bare * 1000:7.0f} ms")
    print(f"  import every library eagerly   {eager * 1000:7.0f} ms")
    print(f"  publisher validate (one post)  {validate * 1000:7.0f} ms")
    print(f"  validate / eager = {validate / eager:.2f}x   (goal <= 0.3x)")
    print(f"  heavy modules imported by validate: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
