"""Publishing throughput against the sandbox (a separate server process).

    python bench/publish.py [N]          # default N = 300

1. Rate limit on (the default 120 requests / 60 s): N posts are published; prints the
   total time against the limit's floor (the time the limit itself imposes on N
   requests: (ceil(N / 120) - 1) windows of 60 s) and the number of 429 answers seen.
   Goal: within 10% of the floor, no 429.
2. Rate limit off, 50 ms latency per request: prints throughput against the ceiling
   concurrency / latency. Goal: >= 0.8 x the ceiling.
3. The real letmepost server (the open-source fork, when its source is at hand: README,
   "The real letmepost server"), publishing to Bluesky on a local PDS: min(N, 100)
   posts (its limit is 120 requests / 60 s per key), in posts/s, beside the sandbox
   (rate limit off, no latency) for the same posts, and the PDS alone (createRecord,
   the same concurrency): the real server's rate is bound by the PDS and by its own
   work per post.

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

        real_server(base, min(n, 100))


def _start(script: Path, env: dict[str, str]) -> dict[str, str]:
    done = subprocess.run(
        [str(script), "start"], env=env, capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0:
        raise RuntimeError(f"{script.name} start failed: {done.stderr[-2000:]}")
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)


def pds_alone(pds: dict[str, str], n: int, concurrency: int = 4) -> float:
    """createRecord straight to the PDS: n posts, `concurrency` at once; posts/s."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    url = pds["PDS_URL"]
    session = httpx.post(
        f"{url}/xrpc/com.atproto.server.createSession",
        json={"identifier": pds["PDS_TEST_HANDLE"], "password": pds["PDS_TEST_PASSWORD"]},
        timeout=30,
    ).json()
    headers = {"Authorization": f"Bearer {session['accessJwt']}"}

    def one(i: int) -> None:
        record = {"text": f"PDS alone {i}", "createdAt": "2026-12-06T10:00:00Z"}
        r = httpx.post(
            f"{url}/xrpc/com.atproto.repo.createRecord",
            json={"repo": session["did"], "collection": "app.bsky.feed.post", "record": record},
            headers=headers,
            timeout=30,
        )
        r.raise_for_status()

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(n)))
    return n / (time.perf_counter() - start)


def real_server(base: Path, n: int) -> None:
    from tests.fixtures.letmepost_server import source_folder

    folder = source_folder()
    if folder is None:
        print("real letmepost server: skipped (its source is not at hand: README)")
        return
    pds_env = {
        **os.environ,
        "PDS_PORT": str(free_port()),
        "PLC_PORT": str(free_port()),
        "PDS_EXTRA_HANDLES": "bob.test",
    }
    lmp_env = {
        **os.environ,
        "LETMEPOST_SERVER_SRC": str(folder),
        "LMP_API_PORT": str(free_port()),
        "LMP_PG_PORT": str(free_port()),
        "LMP_REDIS_PORT": str(free_port()),
        "LMP_S3_PORT": str(free_port()),
        "LMP_EXTERNAL_PDS": "1",
    }
    pds_script = ROOT / "scripts/pds/start-pds.sh"
    lmp_script = ROOT / "scripts/letmepost/start.sh"
    try:
        pds = _start(pds_script, pds_env)
        lmp_env.update({k: v for k, v in pds.items() if k.startswith("PDS_")})
        t0 = time.perf_counter()
        lmp = _start(lmp_script, lmp_env)
        started = time.perf_counter() - t0
        folder_real = base / "real"
        make_posts(folder_real, n)
        (folder_real / "publisher.toml").write_text(
            f'posts = "posts"\n[accounts]\nbluesky = {{ id = "{lmp["LMP_ALICE_ID"]}", '
            'platform = "bluesky" }\n'
        )
        elapsed, stats, ok, waited = publish(folder_real, lmp["LMP_URL"], lmp["LMP_LIVE_KEY"])
        real_rate = ok / elapsed
        pds_rate = pds_alone(pds, n)
    finally:
        subprocess.run([str(lmp_script), "stop"], env=lmp_env, capture_output=True, timeout=120)
        subprocess.run([str(pds_script), "stop"], env=pds_env, capture_output=True, timeout=60)

    folder_sb = base / "beside"
    make_posts(folder_sb, n)
    proc, url, key = start_server(base / "beside.db", "--rate-limit", "off")
    try:
        sb_elapsed, _, sb_ok, _ = publish(folder_sb, url, key)
    finally:
        proc.terminate()
        proc.wait(10)
    print(
        f"real letmepost server (fork d28bf71) onto a local PDS, {n} posts: "
        f"{real_rate:.1f} posts/s ({elapsed:.1f} s, published {ok}, 429 seen {stats['429']}, "
        f"paced {waited:.1f} s); sandbox beside it: {sb_ok / sb_elapsed:.1f} posts/s; "
        f"the PDS alone (createRecord x4): {pds_rate:.1f} posts/s; server start {started:.1f} s"
    )


if __name__ == "__main__":
    main()
