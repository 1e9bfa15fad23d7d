"""`publisher sync`: bring queued (scheduled) posts up to date.

Every queued target is refreshed (`GET /v1/posts/{id}`) and its URI recorded once it
is published; a queued post whose file was edited is updated (`PATCH`); one whose file
is now a draft, whose target was removed, or whose file was deleted (found in git
history) is cancelled (`DELETE`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from publisher.commands.common import config_from, load_posts, run_from
from publisher.lock import run_lock

__all__ = ["gone", "main"]


def main(args: argparse.Namespace) -> int:
    config = config_from(args)
    with run_lock(config.root, notify=lambda line: print(f"publisher: {line}", file=sys.stderr)):
        return _sync(args, config)


def _sync(args: argparse.Namespace, config: Any) -> int:
    from publisher.commands.publish import execute, finish
    from publisher.history import deleted_queued
    from publisher.reconcile import Reconciler

    posts = load_posts(args.paths, config)
    run = run_from(args, config)
    deleted = deleted_queued(config.root, config.posts, run)
    plan = Reconciler(posts, run, queued_only=True, deleted=deleted, ask=False).plan()
    with run.connect(need_key=plan.needs_api) as api:
        result = execute(plan, api, json_output=args.json)
    cancelled = sum(1 for o in result.outcomes if o.status == "canceled" and o.path in gone(plan))
    if cancelled and not args.json:
        print(f"cancelled {cancelled} queued posts of deleted files", file=sys.stderr)
    return finish(plan, result, json_output=args.json)


def gone(plan: Any) -> set[str]:
    return {d.path for d in plan.deleted}
