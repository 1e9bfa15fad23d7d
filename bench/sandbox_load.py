"""Load bench of the sandbox: 8 concurrent clients against a sandbox in its own process.

    python bench/sandbox_load.py [--posts 10000] [--clients 8] [--get-every 4] [--live]

Starts ``publisher sandbox`` (via ``publisher.sandbox.cli.main``) in a separate process on a
free loopback port and a temporary database, then drives POST /v1/posts (a unique
Idempotency-Key each) mixed with GET /v1/posts, GET /v1/posts/{id} and GET /v1/accounts
until ``--posts`` posts exist. Prints requests/s, p50/p99 latency, the error count and the
server's RSS at start and at the end. Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(db: Path) -> tuple[subprocess.Popen[str], str, str, str]:
    argv = ["--port", "0", "--db", str(db), "--rate-limit", "off"]
    code = f"from publisher.sandbox.cli import main; raise SystemExit(main({argv!r}))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    text = ""
    while "Press Ctrl-C" not in text:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("the sandbox did not start")
        text += line
    url = re.search(r"http://127\.0\.0\.1:\d+", text)
    test_key = re.search(r"lmp_test_[\w-]+", text)
    live_key = re.search(r"lmp_live_[\w-]+", text)
    if not (url and test_key and live_key):
        raise SystemExit("could not read the sandbox's URL and keys")
    return proc, url.group(0), test_key.group(0), live_key.group(0)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=10_000, help="stop after this many posts")
    ap.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    ap.add_argument("--get-every", type=int, default=4, help="every Nth request is a GET")
    ap.add_argument("--live", action="store_true", help="use the live key (emulated platforms)")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        proc, url, test_key, live_key = start_server(Path(tmp) / "bench.db")
        key = live_key if args.live else test_key
        try:
            accounts = httpx.get(f"{url}/v1/accounts", headers={"Authorization": f"Bearer {key}"})
            accounts.raise_for_status()
            rss_start = rss_mib(proc.pid)
            posted = 0
            lock = threading.Lock()
            latencies: list[float] = []
            errors: list[str] = []
            post_ids: list[str] = []

            def client(n: int) -> None:
                nonlocal posted
                headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
                mine: list[float] = []
                last_id = None
                with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
                    i = 0
                    while True:
                        i += 1
                        is_get = args.get_every and i % args.get_every == 0
                        if not is_get:
                            with lock:
                                if posted >= args.posts:
                                    break
                                posted += 1
                            body = {
                                "targets": [{"platform": "bluesky"}, {"platform": "twitter"}],
                                "text": f"bench post {n}-{i}",
                            }
                        t0 = time.perf_counter()
                        try:
                            if is_get:
                                kind = i // args.get_every % 3
                                if kind == 0 and last_id:
                                    r = c.get(f"/v1/posts/{last_id}")
                                elif kind == 1:
                                    r = c.get("/v1/posts", params={"limit": 20})
                                else:
                                    r = c.get("/v1/accounts")
                            else:
                                r = c.post(
                                    "/v1/posts",
                                    content=json.dumps(body, separators=(",", ":")),
                                    headers={"Idempotency-Key": str(uuid.uuid4())},
                                )
                                if r.status_code == 200:
                                    last_id = r.json()["results"][0]["postId"]
                            ok = r.status_code < 300
                            err = "" if ok else f"{r.status_code} {r.text[:120]}"
                        except httpx.HTTPError as exc:
                            err = f"{type(exc).__name__}: {exc}"
                        mine.append(time.perf_counter() - t0)
                        if err:
                            with lock:
                                errors.append(err)
                with lock:
                    latencies.extend(mine)
                    if last_id:
                        post_ids.append(last_id)

            started = time.perf_counter()
            threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - started
            rss_end = rss_mib(proc.pid)
            rows = len(httpx.get(f"{url}/_sandbox/posts", timeout=60).json()["data"])
        finally:
            proc.terminate()
            code = proc.wait(30)

    latencies.sort()
    n = len(latencies)
    print(f"clients={args.clients}  requests={n}  posts={args.posts} ({rows} target rows)")
    print(f"elapsed={elapsed:.2f}s  throughput={n / elapsed:.0f} req/s")
    print(
        f"latency p50={statistics.median(latencies) * 1000:.2f} ms  "
        f"p99={latencies[int(n * 0.99) - 1] * 1000:.2f} ms  max={latencies[-1] * 1000:.2f} ms"
    )
    print(f"errors={len(errors)}" + (f"  first: {errors[0]}" if errors else ""))
    print(f"server RSS: start={rss_start:.1f} MiB  after {args.posts} posts={rss_end:.1f} MiB")
    print(f"server exit code after SIGTERM: {code}")


if __name__ == "__main__":
    main()
