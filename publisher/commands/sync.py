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
from dataclasses import replace
from pathlib import Path
from typing import Any

from publisher.commands.common import config_from, load_posts, run_from
from publisher.lock import run_lock


def run(args: argparse.Namespace) -> int:
    config = config_from(args)
    with run_lock(config.root, notify=lambda line: print(f"publisher: {line}", file=sys.stderr)):
        return _sync(args, config)


def _sync(args: argparse.Namespace, config: Any) -> int:
    from publisher.plan import Plan, make_plan

    posts = load_posts(args.paths, config)
    run = run_from(args, config)
    plan = make_plan(posts, run)
    queued = any(
        rec.status == "queued"
        for p in posts
        if p.record is not None
        for rec in p.record.targets.values()
    )
    with run.connect(need_key=queued or plan.needs_letmepost) as api:
        files = []
        for f in plan.files:
            targets = [
                replace(t, action="sync", reason="queued")
                if t.action == "none" and t.reason == "queued"
                else t
                for t in f.targets
                if t.action in ("sync", "update", "cancel")
                or (t.action == "none" and t.reason == "queued")
            ]
            if targets:
                f.targets = targets
                files.append(f)
        sync_plan = Plan(run=plan.run, files=files)
        from publisher.commands.publish import execute, finish

        result = execute(sync_plan, api, json_output=args.json)
        cancelled = cancel_deleted(config, api, result) if api.client else 0
        if cancelled and not args.json:
            print(f"cancelled {cancelled} queued posts of deleted files", file=sys.stderr)
    return finish(sync_plan, result, json_output=args.json)


def cancel_deleted(config: Any, api: Any, result: Any) -> int:
    """Cancel queued posts recorded in post files that git says were deleted."""
    from publisher import record
    from publisher.apply import Outcome
    from publisher.client import ApiError, NetworkError
    from publisher.document import DocumentError, parse_document

    count = 0
    for path, raw in deleted_posts(config.root, config.posts):
        try:
            block = record.block_of(parse_document(raw, path).data)
        except DocumentError:
            continue
        for label, platform, post_id in record.queued_targets(block, api.run):
            try:
                current = api.client.get_post(post_id)
                if current.get("status") != "queued":
                    continue
                api.client.delete_post(post_id)
            except (ApiError, NetworkError) as exc:
                result.add(Outcome(path, label, platform, "cancel", "error", error=str(exc)))
                continue
            count += 1
            result.add(Outcome(path, label, platform, "cancel", "canceled"))
    return count


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
