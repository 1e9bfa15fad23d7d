"""`publisher publish`: carry out the plan and record every result in its file."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.commands.common import UsageError, config_from, load_posts, run_from
from publisher.lock import run_lock

if TYPE_CHECKING:
    from publisher.apply import RunResult
    from publisher.config import Config
    from publisher.plan import FilePlan, Plan
    from publisher.post import Post
    from publisher.run import Connection, Run

__all__ = ["Options", "UsageError", "execute", "finish", "main"]


@dataclass(frozen=True)
class Options:
    paths: tuple[Path, ...] = ()
    config: Path | None = None
    as_json: bool = False
    sandbox: bool = False
    dry_run: bool = False  # print the exact requests, send nothing
    repost: bool = False  # posts edited after publishing are posted again
    retry_failed: bool = False
    verbose: bool = False  # log each request


def main(options: Options) -> int:
    config = config_from(options.config, options.paths)
    run = run_from(config, sandbox=options.sandbox)
    if options.dry_run:
        return _dry_run(options, config, run, load_posts(options.paths, config))
    with run_lock(config.root, notify=lambda line: print(f"publisher: {line}", file=sys.stderr)):
        return _publish(options, config, run)


def _publish(options: Options, config: Config, run: Run) -> int:
    from publisher.history import deleted_queued
    from publisher.reconcile import Reconciler
    from publisher.report import print_problems

    posts = load_posts(options.paths, config)  # read under the lock: no stale plan
    # the whole repository: deleted files' queued posts are cancelled
    deleted = () if options.paths else deleted_queued(config.root, config.posts, run)
    # ask before creating: git history now (one git call), the server once connected
    reconciler = Reconciler(
        posts, run, repost=options.repost, retry_failed=options.retry_failed, deleted=deleted
    )
    plan = reconciler.plan()
    with run.connect(need_key=plan.needs_api, verbose=options.verbose) as api:
        plan = reconciler.plan(api)
        # errors of invalid posts, and the warnings of what goes out (LinkedIn drops the
        # media, a first comment is ignored there, ...): said before anything is sent
        going = [f.post for f in plan.work if f.post.warnings]
        print_problems([p for p in posts if not p.valid] + going, out=sys.stderr)
        if api.sandbox is not None and not options.as_json:
            print(
                f"sandbox: {api.sandbox.url} (state in .publisher/; nothing leaves this machine)",
                file=sys.stderr,
            )
        result = execute(plan, api, json_output=options.as_json)
    return finish(plan, result, json_output=options.as_json)


def execute(plan: Plan, api: Connection, *, json_output: bool, concurrency: int = 4) -> RunResult:
    """Run the plan with a progress bar on a terminal."""
    from publisher.apply import Runner

    work = plan.work
    progress = None
    if work and not json_output and sys.stderr.isatty() and len(work) > 1:
        from rich.progress import Progress

        progress = Progress(transient=True, console=None)
        task = progress.add_task("publishing", total=len(work))
        progress.start()

    def done(_: FilePlan) -> None:
        if progress is not None:
            progress.advance(task)

    runner = Runner(api.run, client=api.client, on_file_done=done)
    try:
        return runner.run(plan, concurrency=concurrency)
    finally:
        if progress is not None:
            progress.stop()


def finish(plan: Plan, result: RunResult, *, json_output: bool) -> int:
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


def _dry_run(options: Options, config: Config, run: Run, posts: list[Post]) -> int:
    """Print the exact requests of the plan's steps (method, path, Idempotency-Key,
    body), as `publish` would send them, without sending anything."""
    from publisher.backends import open_backends
    from publisher.history import deleted_queued
    from publisher.reconcile import Reconciler
    from publisher.record import Record
    from publisher.report import print_problems

    # as `publish` plans it: deleted files' queued posts are cancelled
    deleted = () if options.paths else deleted_queued(config.root, config.posts, run)
    plan = Reconciler(
        posts, run, repost=options.repost, retry_failed=options.retry_failed, deleted=deleted
    ).plan()  # offline: git history only
    print_problems([p for p in posts if not p.valid], out=sys.stderr)
    backends = open_backends(run, client=None)
    requests: list[dict[str, object]] = []
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
    if options.as_json:
        from publisher.report import dump_json

        extra = {"local": local} if local else {}
        dump_json({"env": str(run.env), "requests": requests, **extra})
    else:
        _print_requests(requests, local, str(run.env))
    if not requests and not plan.invalid:
        print("nothing to publish", file=sys.stderr)
    return 1 if plan.invalid else 0


def _print_requests(
    requests: Sequence[Mapping[str, object]], local: Sequence[Mapping[str, str]], env: str
) -> None:
    """The dry run's requests as text: each request, its key and body, then the steps
    that change only the file."""
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
    print(f"\n{len(requests)} requests would be sent ({env}); nothing was sent.", file=sys.stderr)
