"""`publisher ci` on a push that adds one post: beside 1 other post, and beside 3,000.

    python bench/ci_select.py [--others 3000] [--kind recorded|drafts|mixed] [--runs 5]

Each repository is a real git repository whose other posts have nothing to do: each
carries a record for the run (`recorded`), is a draft (`drafts`), or a third of each
plus posts taken back with `unpublish: true` (`mixed`); every run pushes a commit adding one new
post and runs the whole `publisher ci` process (publish mode, the embedded sandbox,
commit without push). Prints the median CPU time (user + system of the `publisher ci`
process and its children: steady on a busy machine, where wall time is not) and wall
time of the run for both repositories and their ratio (the goal: CPU time at most
1.25x), and the same for the selection alone (`select_posts` in this process, CPU
time). Figures only, no assertion.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONFIG = 'posts = "posts"\n'
GIT_ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GITHUB_", "PUBLISHER_"))},
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.org",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.org",
    "PYTHONPATH": str(ROOT),
}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def recorded_post(i: int) -> str:
    """A published post, its record made against the embedded sandbox."""
    return (
        "---\ntargets: [bluesky]\npublished:\n  env: sandbox\n  api: sandbox\n"
        "  hash: sha256:00\n  status: published\n  updatedAt: '2026-01-01T00:00:00Z'\n"
        "  targets:\n    bluesky:\n      platform: bluesky\n      status: published\n"
        f"      postId: 00000000-0000-4000-8000-{i:012}\n"
        f"      uri: at://did:plc:bench/app.bsky.feed.post/{i:013}\n"
        f"---\nAn older post, number {i}.\n"
    )


def draft_post(i: int) -> str:
    """A draft in progress, as `publisher new` writes one."""
    return f"---\ntargets: [bluesky]\ndraft: true\n---\nA draft, number {i}.\n"


def unpublished_post(i: int) -> str:
    """A post taken back: `unpublish: true` and its record."""
    return recorded_post(i).replace("---\ntargets:", "---\nunpublish: true\ntargets:", 1)


KINDS = {
    "recorded": [recorded_post],
    "drafts": [draft_post],
    "mixed": [recorded_post, draft_post, unpublished_post],
}


def make_repo(root: Path, others: int, kind: str = "recorded") -> str:
    """A repository with ``others`` posts with nothing to do; returns the base commit."""
    (root / "posts").mkdir(parents=True)
    (root / "publisher.toml").write_text(CONFIG)
    (root / ".gitignore").write_text(".publisher/\n")
    makers = KINDS[kind]
    for i in range(others):
        (root / "posts" / f"old-{i:05}.md").write_text(makers[i % len(makers)](i))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return git(root, "rev-parse", "HEAD")


def push_one(root: Path, base: str, n: int) -> tuple[str, str]:
    """Reset to ``base`` and commit one new post; returns (before, after)."""
    git(root, "reset", "-q", "--hard", base)
    (root / "posts" / "new.md").write_text(f"---\ntargets: [bluesky]\n---\nNew post {n}.\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "one post")
    return base, git(root, "rev-parse", "HEAD")


def event_env(root: Path, before: str, after: str) -> dict[str, str]:
    event = {
        "before": before,
        "after": after,
        "ref": "refs/heads/main",
        "forced": False,
        "repository": {"default_branch": "main", "full_name": "bench/posts"},
    }
    path = root.parent / f"{root.name}-event.json"
    path.write_text(json.dumps(event))
    return {
        **GIT_ENV,
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_EVENT_PATH": str(path),
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_SHA": after,
        "GITHUB_REPOSITORY": "bench/posts",
        "PUBLISHER_SANDBOX": "true",
        "PUBLISHER_PUSH": "false",
    }


def time_ci(root: Path, base: str, runs: int) -> tuple[float, float]:
    """Median (CPU time, wall time) of `runs` runs of `publisher ci` after a push."""
    cpus, times = [], []
    for n in range(runs):
        before, after = push_one(root, base, n)
        env = event_env(root, before, after)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "publisher", "ci"], cwd=root, env=env, capture_output=True
        )
        times.append(time.perf_counter() - start)
        spent = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(spent.ru_utime - usage.ru_utime + spent.ru_stime - usage.ru_stime)
        if done.returncode != 0:
            raise SystemExit(f"publisher ci failed:\n{done.stdout.decode()}{done.stderr.decode()}")
        if b"1 target result recorded" not in done.stdout:
            raise SystemExit(f"expected one post published:\n{done.stdout.decode()}")
    return statistics.median(cpus), statistics.median(times)


def time_select(root: Path, base: str, runs: int) -> float:
    from publisher.config import load_config
    from publisher.github.actions import ActionsEnv
    from publisher.github.select import select_posts
    from publisher.run import resolve_run

    before, after = push_one(root, base, 999)
    actions = ActionsEnv.from_environ(event_env(root, before, after))
    config = load_config(path=root / "publisher.toml")
    run = resolve_run(config, sandbox=True)
    times = []
    for _ in range(runs):
        start = time.process_time()
        selection = select_posts(config, root.resolve(), actions, "publish", run)
        times.append(time.process_time() - start)
        assert [p.name for p in selection.files] == ["new.md"], selection
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--others", type=int, default=3000)
    parser.add_argument("--kind", choices=sorted(KINDS), default="recorded")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    # As installed: bytecode compiled once (PYTHONDONTWRITEBYTECODE would recompile it).
    compileall.compile_dir(ROOT / "publisher", quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        small, large = Path(tmp) / "small", Path(tmp) / "large"
        small_base, large_base = make_repo(small, 1), make_repo(large, args.others, args.kind)
        ci_small = time_ci(small, small_base, args.runs)
        ci_large = time_ci(large, large_base, args.runs)
        sel_small = time_select(small, small_base, args.runs)
        sel_large = time_select(large, large_base, args.runs)
    print(
        f"publisher ci, one new post beside 1 post: {ci_small[0]:.3f} s cpu, {ci_small[1]:.3f} s wall"
    )
    print(
        f"publisher ci, one new post beside {args.others} {args.kind} posts: "
        f"{ci_large[0]:.3f} s cpu, {ci_large[1]:.3f} s wall"
    )
    print(
        f"ratio: {ci_large[0] / ci_small[0]:.2f}x cpu, {ci_large[1] / ci_small[1]:.2f}x wall "
        "(goal: cpu <= 1.25x)"
    )
    print(f"select_posts alone: {sel_small * 1000:.1f} ms vs {sel_large * 1000:.1f} ms cpu")


if __name__ == "__main__":
    main()
