"""The `publisher` command line: parse the arguments, hand each command (a module of
`publisher/commands/`) its typed options, and turn errors into exit codes, here only.

Exit codes: 0 all good, 1 some post invalid or failed, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from publisher import __version__
from publisher.errors import EXIT_FAILED, EXIT_USAGE

__all__ = ["main"]

#: Environment variables, named once: a command's help lists those it reads.
_ENV = {
    "key": (
        "LETMEPOST_API_KEY",
        "the letmepost API key (lmp_live_... publishes for real, lmp_test_... to "
        "letmepost's sandbox); never read from a file",
    ),
    "url": (
        "LETMEPOST_API_URL",
        "the API's base URL (default: api_url in publisher.toml, else https://api.letmepost.dev)",
    ),
    "bluesky": (
        "BLUESKY_APP_PASSWORD",
        "a direct Bluesky account's app password (the variable named by its "
        "password_env in publisher.toml; this is the default name)",
    ),
    "plc": ("PUBLISHER_PLC_URL", "where DIDs are resolved (default https://plc.directory)"),
    "appview": (
        "PUBLISHER_APPVIEW_URL",
        "read Bluesky posts made through letmepost via this AppView "
        "(e.g. https://public.api.bsky.app)",
    ),
    "action": (
        "PUBLISHER_ACTION_URL",
        "the repository whose commit the workflow is pinned to (default: publisher's "
        "GitHub repository)",
    ),
    "fetch": (
        "PUBLISHER_FETCH_ALLOW",
        "hosts, addresses or CIDRs that may be fetched from although private or "
        "loopback (comma-separated, e.g. 127.0.0.1; also fetch_allow in publisher.toml)",
    ),
    "github_event": (
        "GITHUB_EVENT_PATH",
        "the release event --release reads when no --event is given (set by Actions)",
    ),
    "github": (
        "GITHUB_*, PUBLISHER_*",
        "the Actions environment and the action's inputs (see docs/action.md)",
    ),
}


def _epilog(env: Sequence[str]) -> str:
    if not env:
        return "environment: reads no environment variable."
    import textwrap

    lines = []
    for e in env:
        name, what = _ENV[e]
        lines.append(f"  {name}")
        lines += textwrap.wrap(what, 76, initial_indent="      ", subsequent_indent="      ")
    return "environment variables:\n" + "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="publisher",
        description="Posts as code: validate, plan and publish Markdown posts through "
        "letmepost.dev (or straight to Bluesky), and record the results in each file.",
        epilog="`publisher COMMAND --help` describes a command and the environment "
        "variables it reads. Exit codes: 0 all good, 1 some post invalid or failed, "
        "2 usage or configuration error.",
    )
    parser.add_argument("--version", action="version", version=f"publisher {__version__}")
    config_help = "publisher.toml to use (default: found from the posts or the cwd)"
    parser.add_argument("--config", type=Path, metavar="FILE", help=config_help)
    # `--config` is accepted after the command too (`publisher plan --config x.toml`)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", type=Path, metavar="FILE", default=argparse.SUPPRESS, help=config_help
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    import textwrap

    def command(
        name: str, summary: str, description: str = "", env: Sequence[str] = ()
    ) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=summary,
            description=textwrap.fill(description or summary[0].upper() + summary[1:] + ".", 78),
            epilog=_epilog(env),
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=[common],
        )

    def paths(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "paths",
            nargs="*",
            type=Path,
            metavar="PATHS",
            help="post files or folders inside the repository (default: the posts folder)",
        )

    def json_flag(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="machine-readable output")

    def sandbox_flag(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--sandbox",
            action="store_true",
            help="use an embedded local sandbox (state in .publisher/; no account needed)",
        )

    command(
        "init",
        "set up this git repository for publisher (never overwrites)",
        "Write publisher.toml (with aliases of your connected accounts when "
        "LETMEPOST_API_KEY is set), posts/ with an example draft, the GitHub workflow, "
        "and .publisher/ in .gitignore. Anything already there is left as it is.",
        env=("key", "url", "action"),
    )

    p = command(
        "new",
        "start a post: posts/YYYY-MM-DD-title.md, as a draft",
        "Write a new draft post with the default targets (or --targets) and print its "
        "path. A taken name gets a suffix; nothing is overwritten.",
    )
    p.add_argument("title", help="what the post is about (its file name is made from it)")
    p.add_argument("--at", metavar="WHEN", help="scheduledAt, ISO-8601 with an offset")
    p.add_argument("--thread", action="store_true", help="start a thread (parts between ---)")
    p.add_argument(
        "--targets",
        metavar="A,B",
        help="the post's targets, comma-separated (default: the targets of publisher.toml)",
    )

    p = command(
        "draft",
        "new feed entries or a release become draft posts, ready for review",
        "Read the [[feeds]] of publisher.toml (or --feed URL) once each, conditionally, "
        "and write one draft post per entry never drafted before (found in the posts and "
        "in git history); or draft a release from a GitHub release event (--release) or "
        "a tag and its release notes (--tag). A feed that fails is one line and the "
        "others go on (exit 1). Nothing is ever overwritten.",
        env=("fetch", "github_event"),
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
    json_flag(p)

    p = command(
        "schedule",
        "what goes out next, by day and target",
        "The calendar, from the files alone (no network): planned posts (valid, with a "
        "scheduledAt, not sent yet) and queued ones (held by the API), in local time.",
    )
    paths(p)
    json_flag(p)

    p = command(
        "validate",
        "check posts; print every problem as path:line:col",
        "Check every post against the frontmatter schema and each platform's rules; "
        "print each problem as path:line:col: rule: message. Drafts are checked too "
        "(a draft without targets is a warning). Exit 1 when a post is invalid.",
    )
    paths(p)
    json_flag(p)
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")

    def edit_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--repost", action="store_true", help="posts edited after publishing are posted again"
        )
        p.add_argument(
            "--retry-failed", action="store_true", help="retry targets that failed with any error"
        )

    p = command(
        "plan",
        "show what publishing would do (no network unless --refresh)",
        "What `publish` would do, per file, target and thread part, worked out from the "
        "files, their records and their git history; nothing is sent. The key's kind "
        "(live or test) decides which records count. --refresh asks the server too "
        "(the letmepost post log), as publish does before anything new is sent.",
        env=("key", "url"),
    )
    paths(p)
    json_flag(p)
    p.add_argument("--sandbox", action="store_true", help="plan a sandbox run")
    edit_flags(p)
    p.add_argument(
        "--refresh",
        action="store_true",
        help="ask the server too (the letmepost post log) what went out already, as "
        "publish does; without it, plan reads only files and git",
    )

    p = command(
        "publish",
        "publish new and changed posts; record results in each file",
        "Carry out the plan: send new and changed posts (each request's key written to "
        "the file first), and record every answer in the file's `published` block.",
        env=("key", "url", "bluesky"),
    )
    paths(p)
    p.add_argument("--dry-run", action="store_true", help="print the exact requests, send nothing")
    sandbox_flag(p)
    json_flag(p)
    edit_flags(p)
    p.add_argument("-v", "--verbose", action="store_true", help="log each request")

    p = command(
        "sync",
        "refresh queued posts; update, cancel or record them",
        "Ask the API about queued (scheduled) posts and record what became of them; "
        "send a scheduled thread's later parts once part one is out; cancel the queued "
        "posts of deleted files.",
        env=("key", "url"),
    )
    paths(p)
    sandbox_flag(p)
    json_flag(p)

    p = command(
        "accounts",
        "list connected accounts; print the aliases to append to publisher.toml",
        "List the accounts connected to your letmepost key (a table on stderr) and print, "
        "on stdout, an [accounts.<alias>] table for each one publisher.toml does not name "
        "yet: `publisher accounts >> publisher.toml` appends them.",
        env=("key", "url"),
    )
    sandbox_flag(p)
    json_flag(p)

    p = command(
        "verify",
        "check recorded Bluesky posts still exist and match",
        "Re-read every recorded Bluesky post (without logging in); exit 1 if one was "
        "deleted or edited upstream, or its file changed since publishing.",
        env=("plc", "appview"),
    )
    paths(p)
    json_flag(p)

    p = command(
        "watch",
        "preview on every save; publish when settled",
        "Validate and preview each post on every save (and on a page with --serve); "
        "with --publish, or on a sandbox, publish posts once unchanged for --settle "
        "seconds.",
        env=("key", "url", "bluesky"),
    )
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
    sandbox_flag(p)
    p.add_argument("--commit", action="store_true", help="git commit written-back files")
    p.add_argument("--serve", action="store_true", help="serve a live preview page on 127.0.0.1")
    p.add_argument("--port", type=int, default=8790, help="the page's port (default 8790)")

    p = command(
        "adopt",
        "record posts published before publisher in a file's `published` block",
        "Record that a post already exists on a platform (published by hand or by "
        "another tool), so `publish` sends nothing for that target. Only the file's "
        "`published` block changes, atomically.",
        env=("plc", "appview"),
    )
    p.add_argument("path", type=Path, metavar="PATH", help="the post file")
    p.add_argument(
        "urls", nargs="+", metavar="URL", help="the published post's web URL (or at:// URI)"
    )
    p.add_argument(
        "--target",
        metavar="LABEL",
        help="the target it was published to (default: the one target of that URL's platform)",
    )

    command(
        "ci",
        "the GitHub Action's entry point (reads the Actions environment)",
        env=("github", "key", "url", "bluesky"),
    )
    p = command(
        "schema",
        "print a JSON Schema: the frontmatter's, or publisher.toml's",
        "Print the JSON Schema of a post's frontmatter (`publisher schema`), or of "
        "publisher.toml (`publisher schema config`), for your editor.",
    )
    p.add_argument(
        "which", nargs="?", choices=("post", "config"), default="post", help="default: post"
    )
    p = command(
        "completion",
        "print a shell completion script",
        "Print the completion script of a shell: `publisher completion bash > "
        "~/.local/share/bash-completion/completions/publisher`, `publisher completion zsh "
        "> ~/.zfunc/_publisher`, `publisher completion fish > "
        "~/.config/fish/completions/publisher.fish`.",
    )
    p.add_argument("shell", choices=("bash", "zsh", "fish"))
    sub.add_parser(
        "sandbox",
        help="run the local letmepost-compatible server (`publisher sandbox --help`)",
        add_help=False,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "sandbox":
        from publisher.sandbox.cli import main as sandbox_main

        return sandbox_main(argv[1:])
    from publisher.redaction import install

    install()  # from here on, what is printed passes the one redaction filter
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


# -- the one place a Namespace becomes a command's typed arguments --------------------
# Each command module is imported when its command runs (the CLI starts fast).


def _paths(args: argparse.Namespace) -> tuple[Path, ...]:
    return tuple(args.paths)


def _validate(args: argparse.Namespace) -> int:
    from publisher.commands import validate

    return validate.main(
        validate.Options(_paths(args), args.config, as_json=args.json, strict=args.strict)
    )


def _plan(args: argparse.Namespace) -> int:
    from publisher.commands import plan

    options = plan.Options(
        _paths(args),
        args.config,
        as_json=args.json,
        sandbox=args.sandbox,
        repost=args.repost,
        retry_failed=args.retry_failed,
        refresh=args.refresh,
    )
    return plan.main(options)


def _publish(args: argparse.Namespace) -> int:
    from publisher.commands import publish

    options = publish.Options(
        _paths(args),
        args.config,
        as_json=args.json,
        sandbox=args.sandbox,
        dry_run=args.dry_run,
        repost=args.repost,
        retry_failed=args.retry_failed,
        verbose=args.verbose,
    )
    return publish.main(options)


def _sync(args: argparse.Namespace) -> int:
    from publisher.commands import sync

    return sync.main(
        sync.Options(_paths(args), args.config, as_json=args.json, sandbox=args.sandbox)
    )


def _accounts(args: argparse.Namespace) -> int:
    from publisher.commands import accounts

    return accounts.main(accounts.Options(args.config, as_json=args.json, sandbox=args.sandbox))


def _verify(args: argparse.Namespace) -> int:
    from publisher.commands import verify

    return verify.main(verify.Options(_paths(args), args.config, as_json=args.json))


def _watch(args: argparse.Namespace) -> int:
    from publisher.commands import watch

    options = watch.Options(
        _paths(args),
        args.config,
        settle=args.settle,
        publish=args.publish,
        no_publish=args.no_publish,
        sandbox=args.sandbox,
        commit=args.commit,
        serve=args.serve,
        port=args.port,
    )
    return watch.main(options)


def _ci(args: argparse.Namespace) -> int:
    from publisher.commands import ci

    return ci.main(args.config)


def _init(args: argparse.Namespace) -> int:
    from publisher.commands import init

    return init.main()


def _new(args: argparse.Namespace) -> int:
    from publisher.commands import new

    options = new.Options(
        args.title, args.config, at=args.at, thread=args.thread, targets=args.targets
    )
    return new.main(options)


def _draft(args: argparse.Namespace) -> int:
    from publisher.commands import draft

    options = draft.Options(
        args.config,
        feeds=tuple(args.feed or ()),
        release=args.release,
        event=args.event,
        tag=args.tag,
        notes=args.notes,
        since=args.since,
        limit=args.limit,
        dry_run=args.dry_run,
        as_json=args.json,
    )
    return draft.main(options)


def _schedule(args: argparse.Namespace) -> int:
    from publisher.commands import schedule

    return schedule.main(schedule.Options(_paths(args), args.config, as_json=args.json))


def _adopt(args: argparse.Namespace) -> int:
    from publisher.commands import adopt

    return adopt.main(adopt.Options(args.path, tuple(args.urls), args.target, args.config))


def _schema(args: argparse.Namespace) -> int:
    from publisher.commands import schema

    return schema.main(args.which)


def _completion(args: argparse.Namespace) -> int:
    from publisher.commands import completion

    return completion.main(args.shell)


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "validate": _validate,
    "plan": _plan,
    "schema": _schema,
    "publish": _publish,
    "sync": _sync,
    "accounts": _accounts,
    "verify": _verify,
    "watch": _watch,
    "ci": _ci,
    "init": _init,
    "new": _new,
    "draft": _draft,
    "schedule": _schedule,
    "adopt": _adopt,
    "completion": _completion,
}
