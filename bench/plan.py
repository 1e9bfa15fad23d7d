"""How fast is `publisher plan` on N posts, against two baselines in the same run?

    python bench/plan.py 10000 [--runs 3] [--keep DIR]

Generates N realistic posts in a temporary repository (2-4 targets, overrides, some
media shared between posts, some scheduled, some drafts, a third with `published`
records as the write-back writes them), then times three whole processes:

- floor: read every file and parse its frontmatter with libyaml's CSafeLoader, nothing else;
- naive: python-frontmatter + a small pydantic model per file (no rules, no hashing);
- plan:  `python -m publisher plan` (validation, every platform rule, hashing, records).

Prints the median wall time and CPU time (user + system of the child process: the
steady figure on a busy machine) of each, and the ratios plan/floor (goal: 2x CPU),
plan/naive and plan --json/floor (goal: 2.5x CPU). For an exact figure under load, run
each command under `valgrind --tool=callgrind` and compare instruction counts.
"""

from __future__ import annotations

import argparse
import compileall
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

FLOOR = """
import sys, pathlib, yaml
Loader = yaml.CSafeLoader
n = 0
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.md")):
    text = path.read_bytes().decode("utf-8-sig")
    _, head, _ = text.split("---\\n", 2)
    yaml.load(head, Loader=Loader)
    n += 1
print(n)
"""

NAIVE = """
import sys, pathlib, frontmatter
from pydantic import BaseModel, ConfigDict
class Post(BaseModel):
    model_config = ConfigDict(extra="allow")
    targets: list[str | dict] | None = None
    scheduledAt: object = None
    media: list[dict] | None = None
    draft: bool = False
n = 0
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.md")):
    post = frontmatter.load(path)
    Post.model_validate(post.metadata)
    n += 1
print(n)
"""

WORDS = [
    "release",
    "notes",
    "shipped",
    "faster",
    "plans",
    "exact",
    "counts",
    "review",
    "posts",
    "git",
    "today",
    "launch",
    "week",
    "banner",
    "talk",
    "slides",
    "recording",
    "questions",
    "office",
    "hours",
    "open",
    "source",
    "thanks",
    "everyone",
]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def generate(root: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    (root / "publisher.toml").write_text(
        'targets = ["bluesky"]\n[accounts]\n'
        'main = { id = "6f1c2b9e-4d2a-4c1e-9b7a-0e5d3c2b1a09", platform = "bluesky" }\n'
        'x = "twitter"\nthreads-main = "threads"\nli = "linkedin"\n'
    )
    posts = root / "posts"
    img = posts / "img"
    img.mkdir(parents=True)
    for i in range(20):  # media shared between posts, as in a real repository
        (img / f"pic{i}.png").write_bytes(PNG + i.to_bytes(2, "big"))
    aliases = ["main", "x", "threads-main", "li", "bluesky"]
    recorded: list[Path] = []
    for i in range(n):
        targets = rng.sample(aliases, rng.randint(2, 4))
        lines = ["---", f"# post {i}", "targets:"]
        for t in targets:
            if t == "x" and rng.random() < 0.5:
                lines += ["  - account: x", f'    text: "{_text(rng, 12)}"']
            else:
                lines.append(f"  - {t}")
        if rng.random() < 0.3:
            lines += [
                "media:",
                f"  - path: img/pic{rng.randrange(20)}.png",
                f"    alt: {_text(rng, 6)}",
            ]
        if rng.random() < 0.15:
            lines.append(
                f"scheduledAt: 2031-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T09:00:00+01:00"
            )
        if rng.random() < 0.1 and "main" in targets and "scheduledAt" not in lines[-1]:
            lines.append(f"firstComment: {_text(rng, 8)}")
        if rng.random() < 0.2:
            lines += ["meta:", f"  title: {_text(rng, 4)}", "  tags: [release, news]"]
        if rng.random() < 0.05:
            lines.append("draft: true")
        lines += ["---", _text(rng, rng.randint(8, 25)), "", _text(rng, rng.randint(0, 8)), ""]
        path = posts / f"2026-{i:06d}.md"
        path.write_text("\n".join(lines))
        if rng.random() < 0.33:
            recorded.append(path)
    _record(root, recorded)


def _record(root: Path, paths: list[Path]) -> None:
    """Write `published` blocks for the current content, as the write-back does."""
    from publisher.config import load_config
    from publisher.validate import load_post
    from publisher.writeback import set_published

    config = load_config(root)
    for path in paths:
        post = load_post(path, config)
        if not post.valid or post.draft:
            continue
        targets = {
            t.label: {
                "platform": t.platform,
                "account": t.account_id,
                "status": "queued" if post.scheduled_at else "published",
                "hash": t.hash,
                "key": "pub1-l-" + "0" * 64,
                "attempt": 1,
                "postId": "0b6a1f2e-0000-4000-8000-000000000000",
                "uri": f"at://did:plc:abc/app.bsky.feed.post/3k{path.stem}",
                "at": "2026-10-01T12:00:00Z",
            }
            for t in post.targets
        }
        record = {
            "env": "live",
            "api": "https://api.letmepost.dev",
            "hash": post.hash,
            "status": "queued" if post.scheduled_at else "published",
            "updatedAt": "2026-10-01T12:00:00Z",
            "targets": targets,
        }
        path.write_bytes(set_published(path.read_bytes(), record))


def timed(cmd: list[str], cwd: Path, runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user + sys) of `runs` runs of `cmd`. CPU time
    is the steadier figure on a busy machine."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(
            cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV
        )
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{cmd[:3]} failed: {done.stderr.decode()[-2000:]}")
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("n", type=int, nargs="?", default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        generate(root, args.n)
        py = sys.executable
        # An installed package has its bytecode compiled (pip does it); a source tree
        # under PYTHONDONTWRITEBYTECODE would compile publisher on every run instead.
        compileall.compile_dir(ROOT / "publisher", quiet=1)
        commands = {
            "floor": [py, "-c", FLOOR, "posts"],
            "naive": [py, "-c", NAIVE, "posts"],
            "plan": [py, "-m", "publisher", "plan", "posts"],
            "plan --json": [py, "-m", "publisher", "plan", "--json", "posts"],
        }
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.runs):  # interleaved, so a busy spell hits all three alike
            for name, cmd in commands.items():
                runs[name].append(timed(cmd, root, 1))
        floor, naive, plan, plan_json = (
            (statistics.median(w for w, _ in runs[n]), statistics.median(c for _, c in runs[n]))
            for n in commands
        )
    print(f"N = {args.n}, median of {args.runs} interleaved runs of each whole process")
    print(f"  {'':40} {'wall':>8} {'cpu':>8}")
    for name, (wall, cpu) in (
        ("floor (read + CSafeLoader)", floor),
        ("naive (python-frontmatter + pydantic)", naive),
        ("publisher plan", plan),
        ("publisher plan --json", plan_json),
    ):
        print(f"  {name:40} {wall:7.2f}s {cpu:7.2f}s")
    print(
        f"  plan / floor = {plan[0] / floor[0]:.2f}x wall, {plan[1] / floor[1]:.2f}x cpu  (goal <= 2x)"
    )
    print(f"  plan / naive = {plan[0] / naive[0]:.2f}x wall, {plan[1] / naive[1]:.2f}x cpu")
    print(
        f"  plan --json / floor = {plan_json[0] / floor[0]:.2f}x wall, "
        f"{plan_json[1] / floor[1]:.2f}x cpu  (goal <= 2.5x)"
    )


if __name__ == "__main__":
    main()
