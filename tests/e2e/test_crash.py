"""Crash safety: `kill -9` the publisher at random points of a 50-post run, 20 times,
then run it once more. Every target must exist exactly once on the server, and every
result must be recorded in its file.

The sandbox delays each request after claiming its Idempotency-Key, so many kills land
while the server is still working: the post gets stored although the client never
hears of it (the case that breaks naive retry logic), and the next run even meets
409 in-progress answers for keys still being processed.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time

from tests.helpers import cli_env, file_status, make_repo, post, record

POSTS = 50
KILLS = 20


def test_kill_9_at_random_points_then_rerun_publishes_each_target_once(tmp_path, sandbox):
    posts = {
        f"p{i:02}.md": post("[bluesky, x]", f"Crash test post number {i}.") for i in range(POSTS)
    }
    repo = make_repo(tmp_path, posts)
    env = cli_env(sandbox.url, sandbox.live_key)
    sandbox.set_faults(latency_ms=1000)
    rng = random.Random(20261129)
    killed_mid_run = 0
    for _ in range(KILLS):
        proc = subprocess.Popen(
            [sys.executable, "-m", "publisher", "publish"],
            cwd=repo,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.4, 2.2))
        if proc.poll() is None:
            killed_mid_run += 1
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    # Kills that really interrupted a run. Not all do: each killed run leaves its requests
    # in flight to complete on the server, so the 50 posts are all out after about a dozen
    # runs, and the later runs find little or nothing to do before their kill.
    assert killed_mid_run >= KILLS // 4, killed_mid_run

    sandbox.clear_faults()
    final = subprocess.run(
        [sys.executable, "-m", "publisher", "publish"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert final.returncode == 0, final.stdout + final.stderr

    rows = sandbox.posts()
    by_target: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        by_target.setdefault((row["text"], row["platform"]), []).append(row)
    assert len(by_target) == POSTS * 2
    doubles = {k: len(v) for k, v in by_target.items() if len(v) != 1}
    assert doubles == {}

    for i in range(POSTS):
        rec = record(repo / "posts" / f"p{i:02}.md")
        assert file_status(rec) == "published", (i, rec)
        for label, platform in (("bluesky", "bluesky"), ("x", "twitter")):
            target = rec["targets"][label]
            (row,) = by_target[(f"Crash test post number {i}.", platform)]
            assert target["postId"] == row["id"]
            assert target["uri"] == row["uri"]
    assert not list((repo / "posts").glob("*.md.*"))  # no half-written file left as a post


def test_next_run_removes_the_temp_file_a_killed_write_left_and_nothing_else(tmp_path, sandbox):
    repo = make_repo(tmp_path, {"p00.md": post("[bluesky]", "Left over from a kill.")})
    folder = repo / "posts"
    original = (folder / "p00.md").read_bytes()
    # What `kill -9` between writing the temporary file and renaming it leaves behind.
    leftover = folder / ".p00.md.0123456789ab.tmp"
    leftover.write_bytes(original[:20])
    keep = {
        ".p00.md.swp": b"editor swap",  # an editor's file
        ".notes.tmp": b"someone else's temp",
        ".p00.md.not-ours.tmp": b"not publisher's pattern",
        "p00.md.0123456789ab.tmp": b"not hidden",
        ".notes.txt.0123456789ab.tmp": b"another tool's write, not a post's",
        ".gone.md.0123456789ab.tmp": b"not a post of this run",
    }
    for name, data in keep.items():
        (folder / name).write_bytes(data)
    (folder / ".dir.md.0123456789ab.tmp").mkdir()

    result = subprocess.run(
        [sys.executable, "-m", "publisher", "publish"],
        cwd=repo,
        env=cli_env(sandbox.url, sandbox.live_key),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    assert not leftover.exists()
    assert file_status(record(folder / "p00.md")) == "published"
    for name, data in keep.items():
        assert (folder / name).read_bytes() == data
    assert (folder / ".dir.md.0123456789ab.tmp").is_dir()
    assert len(sandbox.posts()) == 1
