"""The `publisher` command line: parse arguments, call the library, print, exit.

Exit codes: 0 all good, 1 some post invalid or failed, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from publisher import __version__
from publisher.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="publisher",
        description="Posts as code: validate, plan and publish Markdown posts through letmepost.dev.",
    )
    parser.add_argument("--version", action="version", version=f"publisher {__version__}")
    parser.add_argument(
        "--config", type=Path, help="publisher.toml to use (default: found from the cwd)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def paths(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "paths",
            nargs="*",
            type=Path,
            metavar="PATHS",
            help="post files or folders (default: the posts folder)",
        )

    p = sub.add_parser("init", help="set up this git repository for publisher (never overwrites)")

    p = sub.add_parser("new", help="start a post: posts/YYYY-MM-DD-title.md, as a draft")
    p.add_argument("title", help="what the post is about (its file name is made from it)")
    p.add_argument("--at", metavar="WHEN", help="scheduledAt, ISO-8601 with an offset")
    p.add_argument("--thread", action="store_true", help="start a thread (parts between ---)")

    p = sub.add_parser(
        "draft", help="new feed entries or a release become draft posts, ready for review"
    )
    p.add_argument(
        "--feed",
        action="append",
        metavar="URL",
        help="an RSS, Atom or JSON feed (repeatable; default: the [[feeds]] of publisher.toml)",
    )
    p.add_argument(
        "--release",
        action="store_true",
        help="draft the release of a GitHub release event ($GITHUB_EVENT_PATH or --event)",
    )
    p.add_argument("--event", type=Path, metavar="FILE", help="the release event's JSON")
    p.add_argument("--tag", help="draft this tag's release from the release notes file")
    p.add_argument("--notes", type=Path, metavar="FILE", help="the release notes file")
    p.add_argument("--since", metavar="WHEN", help="only entries since: 2026-11-01, or 7d")
    p.add_argument(
        "--limit", type=int, metavar="N", help="at most N drafts, the newest (default 20)"
    )
    p.add_argument("--dry-run", action="store_true", help="show the drafts, write nothing")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("schedule", help="what goes out next, by day and target")
    paths(p)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("validate", help="check posts; print every problem as path:line:col")
    paths(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")

    p = sub.add_parser("plan", help="show what publishing would do (no network)")
    paths(p)
    p.add_argument("--json", action="store_true")
    p.add_argument("--sandbox", action="store_true", help="plan a sandbox run")
    p.add_argument(
        "--repost", action="store_true", help="posts edited after publishing are posted again"
    )
    p.add_argument(
        "--retry-failed", action="store_true", help="retry targets that failed with any error"
    )

    p = sub.add_parser("publish", help="publish new and changed posts; record results in each file")
    paths(p)
    p.add_argument("--dry-run", action="store_true", help="print the exact requests, send nothing")
    p.add_argument(
        "--sandbox", action="store_true", help="use an embedded local sandbox (no account needed)"
    )
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--repost", action="store_true", help="posts edited after publishing are posted again"
    )
    p.add_argument(
        "--retry-failed", action="store_true", help="retry targets that failed with any error"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log each request")

    p = sub.add_parser("sync", help="refresh queued posts; update, cancel or record them")
    paths(p)
    p.add_argument("--sandbox", action="store_true")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("accounts", help="list connected accounts and print an alias block")
    p.add_argument("--sandbox", action="store_true")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("verify", help="check recorded Bluesky posts still exist and match")
    paths(p)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("watch", help="preview on every save; publish when settled")
    paths(p)
    p.add_argument(
        "--settle", type=float, default=3.0, help="seconds a post must stay unchanged (default 3)"
    )
    p.add_argument(
        "--publish",
        action="store_true",
        help="publish posts once settled (the default only on a sandbox: --sandbox or a test key)",
    )
    p.add_argument("--no-publish", action="store_true", help="only preview, even on a sandbox")
    p.add_argument("--sandbox", action="store_true")
    p.add_argument("--commit", action="store_true", help="git commit written-back files")
    p.add_argument("--serve", action="store_true", help="serve a live preview page on 127.0.0.1")
    p.add_argument("--port", type=int, default=8790)

    sub.add_parser("ci", help="the GitHub Action's entry point (reads the Actions environment)")
    sub.add_parser("schema", help="print the JSON Schema of the frontmatter")
    sub.add_parser("sandbox", help="run the local letmepost-compatible server", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "sandbox":
        from publisher.sandbox.cli import run

        return run(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    from publisher.errors import PublisherError

    try:
        return _COMMANDS[args.command](args)
    except PublisherError as exc:  # the one place an error becomes a line and an exit code
        print(f"publisher: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("publisher: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `publisher plan | head`: the reader left; say nothing more
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


def cmd_validate(args: argparse.Namespace) -> int:
    from publisher.commands.common import config_from, load_posts
    from publisher.report import dump_json, print_problems, problems_summary

    config = config_from(args)
    posts = load_posts(args.paths, config)
    if args.json:
        dump_json(
            {
                "files": [
                    {"path": p.rel, "valid": p.valid, "problems": [x.as_dict() for x in p.problems]}
                    for p in posts
                ]
            }
        )
    else:
        print_problems(posts)
        print(problems_summary(posts), file=sys.stderr)
    failed = any(not p.valid or (args.strict and p.warnings) for p in posts)
    return EXIT_FAILED if failed else EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    from publisher.commands.common import config_from, load_posts, run_from
    from publisher.plan import make_plan
    from publisher.report import dump_json, plan_table, print_problems

    config = config_from(args)
    run = run_from(args, config)
    posts = load_posts(args.paths, config)
    plan = make_plan(posts, run, repost=args.repost, retry_failed=args.retry_failed)
    if plan.work:  # a lost record is restored, not re-posted: plan says so too
        from publisher.history import plan_with_history

        plan = plan_with_history(
            posts, run, plan, repost=args.repost, retry_failed=args.retry_failed
        )
    if args.json:
        dump_json(plan.as_dict())
    else:
        print_problems([p for p in posts if not p.valid], out=sys.stderr)
        print(plan_table(plan))
    return EXIT_FAILED if plan.invalid else EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from publisher.model import frontmatter_schema
    from publisher.report import dump_json

    dump_json(frontmatter_schema())
    return EXIT_OK


def _later(name: str):
    def run(args: argparse.Namespace) -> int:
        module = __import__(f"publisher.commands.{name}", fromlist=["run"])
        return module.run(args)

    return run


_COMMANDS = {
    "validate": cmd_validate,
    "plan": cmd_plan,
    "schema": cmd_schema,
    "publish": _later("publish"),
    "sync": _later("sync"),
    "accounts": _later("accounts"),
    "verify": _later("verify"),
    "watch": _later("watch"),
    "ci": _later("ci"),
    "init": _later("init"),
    "new": _later("new"),
    "draft": _later("draft"),
    "schedule": _later("schedule"),
}
