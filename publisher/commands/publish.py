"""`publisher publish`: carry out the plan and record every result in its file."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from publisher.commands.common import UsageError, config_from, load_posts, run_from
from publisher.lock import run_lock


def main(args: argparse.Namespace) -> int:
    config = config_from(args)
    run = run_from(args, config)
    if args.dry_run:
        return _dry_run(args, config, run, load_posts(args.paths, config))
    with run_lock(config.root, notify=lambda line: print(f"publisher: {line}", file=sys.stderr)):
        return _publish(args, config, run)


def _publish(args: argparse.Namespace, config: Any, run: Any) -> int:
    from publisher.history import deleted_queued
    from publisher.reconcile import Reconciler
    from publisher.report import print_problems

    posts = load_posts(args.paths, config)  # read under the lock: no stale plan
    options: dict[str, Any] = {"repost": args.repost, "retry_failed": args.retry_failed}
    if not args.paths:  # the whole repository: deleted files' queued posts are cancelled
        options["deleted"] = deleted_queued(config.root, config.posts, run)
    # ask before creating: git history now (one git call), the server once connected
    reconciler = Reconciler(posts, run, **options)
    plan = reconciler.plan()
    with run.connect(need_key=plan.needs_api, verbose=args.verbose) as api:
        plan = reconciler.plan(api)
        # errors of invalid posts, and the warnings of what goes out (LinkedIn drops the
        # media, a first comment is ignored there, ...): said before anything is sent
        going = [f.post for f in plan.work if f.post.warnings]
        print_problems([p for p in posts if not p.valid] + going, out=sys.stderr)
        if api.sandbox is not None and not args.json:
            print(
                f"sandbox: {api.sandbox.url} (state in .publisher/; nothing leaves this machine)",
                file=sys.stderr,
            )
        result = execute(plan, api, json_output=args.json)
    return finish(plan, result, json_output=args.json)


def execute(plan: Any, api: Any, *, json_output: bool, concurrency: int = 4) -> Any:
    """Run the plan with a progress bar on a terminal."""
    from publisher.apply import Runner

    work = plan.work
    progress = None
    if work and not json_output and sys.stderr.isatty() and len(work) > 1:
        from rich.progress import Progress

        progress = Progress(transient=True, console=None)
        task = progress.add_task("publishing", total=len(work))
        progress.start()

    def done(_: Any) -> None:
        if progress is not None:
            progress.advance(task)

    runner = Runner(api.run, client=api.client, on_file_done=done)
    try:
        return runner.run(plan, concurrency=concurrency)
    finally:
        if progress is not None:
            progress.stop()


def finish(plan: Any, result: Any, *, json_output: bool) -> int:
    from publisher.report import dump_json, result_table

    refused = [(f, t) for f in plan.files for t in f.targets if t.action in ("refuse", "blocked")]
    if json_output:
        dump_json(
            {
                "env": plan.env,
                "results": [o.as_dict() for o in result.outcomes],
                "refused": [
                    {"path": f.path, "target": t.label, "action": t.action, "reason": t.reason}
                    for f, t in refused
                ],
                "invalid": [p.path for p in plan.invalid],
                "written": result.written,
                "stopped": result.stopped,
            }
        )
    else:
        print(result_table(plan, result))
    if result.stopped:
        print(f"publisher: stopped: {result.stopped}", file=sys.stderr)
    bad = plan.invalid or result.failed or refused or result.stopped
    return 1 if bad else 0


def _dry_run(args: argparse.Namespace, config: Any, run: Any, posts: list[Any]) -> int:
    """Print the exact requests of the plan's steps (method, path, Idempotency-Key,
    body), as `publish` would send them, without sending anything."""
    from publisher.backends import open_backends
    from publisher.history import deleted_queued
    from publisher.reconcile import Reconciler
    from publisher.record import Record
    from publisher.report import print_problems

    env = run.env
    options: dict[str, Any] = {"repost": args.repost, "retry_failed": args.retry_failed}
    if not args.paths:  # as `publish` plans it: deleted files' queued posts are cancelled
        options["deleted"] = deleted_queued(config.root, config.posts, run)
    plan = Reconciler(posts, run, **options).plan()  # offline: git history only
    print_problems([p for p in posts if not p.valid], out=sys.stderr)
    backends = open_backends(run, client=None)
    requests = []
    local: list[dict[str, str]] = []  # what changes only the file (restore, forget)
    for f in plan.work:
        record = Record(f.post, run)
        for step in f.steps:
            if step.backend not in backends:
                local.append({"file": f.path, "step": step.describe()})
                continue
            for request in backends[step.backend].requests(step, record):
                requests.append(request.as_dict(f.path))
    for d in plan.deleted:
        for step in d.steps:
            for request in backends[step.backend or ""].requests(step, None):
                requests.append(request.as_dict(d.path))
    if args.json:
        from publisher.report import dump_json

        dump_json({"env": str(env), "requests": requests, **({"local": local} if local else {})})
    else:
        for r in requests:
            print(f"{r['method']} {r['path']}   # {r['file']}")
            if "upload" in r:
                print(f"  file: {r['upload']}")
            if "idempotencyKey" in r:
                print(f"  Idempotency-Key: {r['idempotencyKey']}")
            if "recordKey" in r:
                print(f"  record key: {r['recordKey']} (read back first; created only if absent)")
            if "body" in r:
                print(f"  {r['body']}")
        for item in local:
            print(f"(no request) {item['step']}   # {item['file']}")
        print(
            f"\n{len(requests)} requests would be sent ({env}); nothing was sent.", file=sys.stderr
        )
    if not requests and not plan.invalid:
        print("nothing to publish", file=sys.stderr)
    return 1 if plan.invalid else 0


__all__ = ["UsageError", "execute", "finish", "main"]
