"""`publisher validate`: check posts and print every problem as path:line:col."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from publisher.commands.common import config_from, load_posts
from publisher.errors import EXIT_FAILED, EXIT_OK

__all__ = ["Options", "main"]


@dataclass(frozen=True)
class Options:
    paths: tuple[Path, ...] = ()
    config: Path | None = None
    as_json: bool = False
    strict: bool = False  # warnings fail too


def main(options: Options) -> int:
    from publisher.report import dump_json, print_problems, problems_summary

    config = config_from(options.config, options.paths)
    posts = load_posts(options.paths, config)
    if options.as_json:
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
    failed = any(not p.valid or (options.strict and p.warnings) for p in posts)
    return EXIT_FAILED if failed else EXIT_OK
