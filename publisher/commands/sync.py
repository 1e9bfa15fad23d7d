"""`publisher sync`: bring queued (scheduled) posts up to date.

Every queued target is refreshed (`GET /v1/posts/{id}`) and its URI recorded once it
is published; a queued post whose file was edited is updated (`PATCH`); one whose file
is now a draft, whose target was removed, or whose file was deleted (found in git
history) is cancelled (`DELETE`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.commands.common import config_from, load_posts, run_from
from publisher.lock import run_lock

if TYPE_CHECKING:
    from publisher.config import Config
    from publisher.plan import Plan

__all__ = ["Options", "gone", "main"]


@dataclass(frozen=True)
class Options:
    paths: tuple[Path, ...] = ()
    config: Path | None = None
    as_json: bool = False
    sandbox: bool = False


def main(options: Options) -> int:
    config = config_from(options.config, options.paths)
    with run_lock(config.root, notify=lambda line: print(f"publisher: {line}", file=sys.stderr)):
        return _sync(options, config)


def _sync(options: Options, config: Config) -> int:
    from publisher.commands.publish import execute, finish
    from publisher.history import deleted_queued
    from publisher.reconcile import Reconciler

    posts = load_posts(options.paths, config)
    run = run_from(config, sandbox=options.sandbox)
    deleted = deleted_queued(config.root, config.posts, run)
    plan = Reconciler(posts, run, queued_only=True, deleted=deleted, ask=False).plan()
    with run.connect(need_key=plan.needs_api) as api:
        result = execute(plan, api, json_output=options.as_json)
    cancelled = sum(1 for o in result.outcomes if o.status == "canceled" and o.path in gone(plan))
    if cancelled and not options.as_json:
        print(f"cancelled {cancelled} queued posts of deleted files", file=sys.stderr)
    return finish(plan, result, json_output=options.as_json)


def gone(plan: Plan) -> set[str]:
    return {d.path for d in plan.deleted}
