"""`cli.py` hands every command of its parser to a module of `publisher/commands/`,
with the command's own typed options (never the argparse Namespace)."""

from __future__ import annotations

import argparse
import importlib
import inspect
from pathlib import Path

import pytest

from publisher import cli
from publisher.commands import publish


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli._parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_command_of_the_parser_runs_a_commands_module_main() -> None:
    commands = set(_subcommands()) - {"sandbox"}  # the sandbox has its own parser
    assert commands == set(cli._COMMANDS)
    for name in commands:
        module = importlib.import_module(f"publisher.commands.{name}")
        annotations = [
            str(p.annotation) for p in inspect.signature(module.main).parameters.values()
        ]
        assert not any("Namespace" in a for a in annotations), (name, annotations)


def test_the_flags_become_the_commands_options(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[publish.Options] = []
    monkeypatch.setattr(publish, "main", lambda options: seen.append(options) or 0)
    argv = ["publish", "posts/a.md", "--dry-run", "--json", "--retry-failed", "--config", "x.toml"]
    assert cli._COMMANDS["publish"](cli._parser().parse_args(argv)) == 0
    assert seen == [
        publish.Options(
            (Path("posts/a.md"),), Path("x.toml"), as_json=True, dry_run=True, retry_failed=True
        )
    ]
