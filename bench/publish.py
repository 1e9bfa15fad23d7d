"""Publishing throughput against the sandbox (a separate server process).

    python bench/publish.py [N]          # default N = 300

1. Rate limit on (the default 120 requests / 60 s): N posts are published; prints the
   total time against the limit's floor (the time the limit itself imposes on N
   requests: (ceil(N / 120) - 1) windows of 60 s) and the number of 429 answers seen.
   Goal: within 10% of the floor, no 429.
2. Rate limit off, 50 ms latency per request: prints throughput against the ceiling
   concurrency / latency. Goal: >= 0.8 x the ceiling.

Figures only; nothing here asserts on time.
"""

from __future__ import annotations

import math
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path, *flags: str) -> tuple[subprocess.Popen[str], str, str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "publisher",
            "sandbox",
            "--port",
            str(port),
            "--db",
            str(db),
            *flags,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    key = ""
    deadline = time.time() + 30
    assert proc.stdout is not None
    while time.time() < deadline:
        line = proc.stdout.readline()
        if m := re.search(r"(lmp_live_[A-Za-z0-9_-]+)", line):
            key = m.group(1)
        if (key and "127.0.0.1" in line) or (key and "Ctrl-C" in line):
            break
    import httpx

    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(f"{url}/_sandbox/info", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    return proc, url, key


def make_posts(folder: Path, n: int) -> None:
    (folder / "posts").mkdir(parents=True)
    (folder / "publisher.toml").write_text('posts = "posts"\n')
    for i in range(n):
        (folder / "posts" / f"p{i:04}.md").write_text(
            f"---\ntargets: [bluesky]\n---\nBench post {i}.\n"
        )


def publish(folder: Path, url: str, key: str) -> tuple[float, dict[str, int], int, float]:
    from publisher.apply import Runner
    from publisher.clients.letmepost import LetmepostClient
    from publisher.config import load_config
    from publisher.files import find_posts
    from publisher.plan import make_plan
    from publisher.run import Env, Run
    from publisher.validate import load_post

    config = load_config(folder)
    posts = [load_post(p, config) for p in find_posts([folder / "posts"])]
    plan = make_plan(posts, Run(Env.LIVE, url))
    start = time.perf_counter()
    with LetmepostClient(url, key) as client:
        result = Runner(Run(Env.LIVE, url), client=client).run(plan)
        elapsed = time.perf_counter() - start
        ok = sum(1 for o in result.outcomes if o.status == "published")
        return elapsed, dict(client.stats), ok, client.pacer.waited


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        # 1. the default rate limit
        folder = base / "limited"
        make_posts(folder, n)
        proc, url, key = start_server(base / "limited.db")
        try:
            elapsed, stats, ok, waited = publish(folder, url, key)
            print(f"paced: waited {waited:.1f} s for rate-limit windows")
        finally:
            proc.terminate()
            proc.wait(10)
        floor = (math.ceil(n / 120) - 1) * 60.0
        print(
            f"rate limit 120/60s, {n} posts: {elapsed:.1f} s, floor {floor:.0f} s, "
            f"ratio {elapsed / floor if floor else float('nan'):.3f} (goal <= 1.10); "
            f"429 seen: {stats['429']}; requests {stats['requests']}, published {ok}"
        )

        # 2. no limit, 50 ms latency
        folder = base / "latency"
        make_posts(folder, n)
        proc, url, key = start_server(
            base / "latency.db", "--rate-limit", "off", "--latency-ms", "50"
        )
        try:
            elapsed, stats, ok, _ = publish(folder, url, key)
        finally:
            proc.terminate()
            proc.wait(10)
        concurrency = 4
        ceiling = concurrency / 0.050
        rate = ok / elapsed
        print(
            f"no limit, 50 ms latency, concurrency {concurrency}: {rate:.1f} posts/s, "
            f"ceiling {ceiling:.0f}/s, ratio {rate / ceiling:.2f} (goal >= 0.80); published {ok}"
        )


if __name__ == "__main__":
    main()
