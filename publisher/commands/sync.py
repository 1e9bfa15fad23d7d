"""`publisher sync`: bring queued (scheduled) posts up to date.

Every queued target is refreshed (`GET /v1/posts/{id}`) and its URI recorded once it
is published; a queued post whose file was edited is updated (`PATCH`); one whose file
is now a draft, whose target was removed, or whose file was deleted (found in git
history) is cancelled (`DELETE`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

from publisher.commands.common import config_from, load_posts, run_from
from publisher.lock import run_lock


def run(args: argparse.Namespace) -> int:
    config = config_from(args)
    with run_lock(config.root, notify=lambda line: print(f"publisher: {line}", file=sys.stderr)):
        return _sync(args, config)


def _sync(args: argparse.Namespace, config: Any) -> int:
    from publisher.commands.publish import execute, finish
    from publisher.plan import make_plan

    posts = load_posts(args.paths, config)
    run = run_from(args, config)
    plan = make_plan(posts, run, queued_only=True, deleted=deleted_blocks(config))
    with run.connect(need_key=plan.needs_letmepost) as api:
        result = execute(plan, api, json_output=args.json)
    cancelled = sum(1 for o in result.outcomes if o.status == "canceled" and o.path in gone(plan))
    if cancelled and not args.json:
        print(f"cancelled {cancelled} queued posts of deleted files", file=sys.stderr)
    return finish(plan, result, json_output=args.json)


def gone(plan: Any) -> set[str]:
    return {d.path for d in plan.deleted}


def deleted_blocks(config: Any) -> list[tuple[str, Any]]:
    """(path, last `published` block) of post files git says were deleted."""
    from publisher import record
    from publisher.document import DocumentError, parse_document

    out = []
    for path, raw in deleted_posts(config.root, config.posts):
        try:
            out.append((path, record.block_of(parse_document(raw, path).data)))
        except DocumentError:
            continue
    return out


def deleted_posts(root: Path, posts: str) -> list[tuple[str, bytes]]:
    """(path, last content) of Markdown files under `posts` deleted in the work tree or
    in the history of HEAD, and not present now."""

    def git(*argv: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(root), *argv], capture_output=True, text=True, check=False
        )
        return done.stdout if done.returncode == 0 else ""

    found: dict[str, bytes] = {}
    for line in git("ls-files", "--deleted", "-z", "--", posts).split("\0"):
        if line.endswith((".md", ".markdown")) and not (root / line).exists():
            blob = subprocess.run(
                ["git", "-C", str(root), "show", f"HEAD:{line}"], capture_output=True, check=False
            )
            if blob.returncode == 0:
                found[line] = blob.stdout
    log = git("log", "--diff-filter=D", "--name-only", "--format=@%H", "-z", "--", posts)
    commit = ""
    for token in log.replace("\n", "\0").split("\0"):
        if token.startswith("@"):
            commit = token[1:]
        elif (
            token.endswith((".md", ".markdown"))
            and token not in found
            and not (root / token).exists()
        ):
            blob = subprocess.run(
                ["git", "-C", str(root), "show", f"{commit}^:{token}"],
                capture_output=True,
                check=False,
            )
            if blob.returncode == 0:
                found[token] = blob.stdout
    return list(found.items())
