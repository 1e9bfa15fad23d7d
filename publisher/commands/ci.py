"""`publisher ci`: the GitHub Action's entry point (see docs/action.md)."""

from __future__ import annotations

import argparse

__all__ = ["main"]


def main(args: argparse.Namespace) -> int:
    from publisher.github.ci import main

    return main(config_path=getattr(args, "config", None))
