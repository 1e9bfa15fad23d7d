"""Save-to-preview latency of `publisher watch` with its default settings.

    python bench/watch.py [--saves 20] [--pause 0.3]

Starts ``python -m publisher watch --no-publish`` (piped, so it prints plain lines) on
a temporary repository, then saves one post ``--saves`` times (a different text each
time, ``--pause`` seconds apart so that saves are not grouped) and times each save
from just before the write to the moment its preview line (``posts/bench.md: text |
...``) is read from the watcher's output. Prints the median (goal: <= 150 ms), the
fastest, the slowest and p90. Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

POST = "---\ntargets: [bluesky, twitter]\n---\nBench save {n}: does it fit? https://example.org #bench\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=20)
    parser.add_argument("--pause", type=float, default=0.3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        (repo / "posts").mkdir()
        (repo / "publisher.toml").write_text('posts = "posts"\n')
        env = {k: v for k, v in os.environ.items() if not k.startswith("LETMEPOST_")}
        proc = subprocess.Popen(
            [sys.executable, "-m", "publisher", "watch", "--no-publish"],
            cwd=repo,
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines: queue.Queue[tuple[float, str]] = queue.Queue()

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.put((time.perf_counter(), line.rstrip("\n")))

        threading.Thread(target=read, daemon=True).start()
        try:
            wait_for(lines, "publisher watch: watching ")
            path = repo / "posts" / "bench.md"
            timings = []
            for n in range(args.saves):
                start = time.perf_counter()
                path.write_text(POST.format(n=n))
                seen = wait_for(lines, f"posts/bench.md: text | Bench save {n}:")
                timings.append((seen - start) * 1000)
                time.sleep(args.pause)
        finally:
            proc.terminate()
            proc.wait(10)

    timings.sort()
    p90 = timings[min(len(timings) - 1, int(len(timings) * 0.9))]
    print(f"save -> preview line over {len(timings)} saves (default settings, piped output):")
    print(
        f"  median {statistics.median(timings):.1f} ms   min {timings[0]:.1f} ms   "
        f"p90 {p90:.1f} ms   max {timings[-1]:.1f} ms   (goal: median <= 150 ms)"
    )
    return 0


def wait_for(lines: queue.Queue[tuple[float, str]], prefix: str, timeout: float = 30) -> float:
    """The time the first line starting with ``prefix`` was read."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise SystemExit(f"bench: no line starting with {prefix!r} within {timeout} s")
        try:
            at, line = lines.get(timeout=left)
        except queue.Empty:
            continue
        if line.startswith(prefix):
            return at


if __name__ == "__main__":
    raise SystemExit(main())
