"""`publisher plan`: what `publish` would do, per file, target and thread part;
nothing is sent (the server is asked only with --refresh)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from publisher.commands.common import config_from, load_posts, run_from
from publisher.errors import EXIT_FAILED, EXIT_OK

__all__ = ["Options", "main"]


@dataclass(frozen=True)
class Options:
    paths: tuple[Path, ...] = ()
    config: Path | None = None
    as_json: bool = False
    sandbox: bool = False
    repost: bool = False  # posts edited after publishing are posted again
    retry_failed: bool = False
    refresh: bool = False  # ask the server too (the letmepost post log)


def main(options: Options) -> int:
    from publisher.report import dump_json, plan_table, print_problems

    config = config_from(options.config, options.paths)
    run = run_from(config, sandbox=options.sandbox)
    posts = load_posts(options.paths, config)
    # a lost record is restored, not re-posted: plan says so too (git history; with
    # --refresh the server is asked as well, as publish does)
    from publisher.reconcile import Reconciler

    reconciler = Reconciler(posts, run, repost=options.repost, retry_failed=options.retry_failed)
    plan = reconciler.plan()
    if options.refresh and plan.work:
        with run.connect(need_key=plan.needs_api) as api:
            plan = reconciler.plan(api)
    if options.as_json:
        dump_json(plan.as_dict())
    else:
        print_problems([p for p in posts if not p.valid], out=sys.stderr)
        print(plan_table(plan))
    return EXIT_FAILED if plan.invalid else EXIT_OK
