"""`publisher ci`: the GitHub Action's entry point (see docs/action.md)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["main"]


def main(config: Path | None = None) -> int:
    from publisher.github.ci import main

    return main(config_path=config)
