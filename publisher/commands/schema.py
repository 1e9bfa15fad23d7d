"""`publisher schema [post|config]`: the JSON Schema of a post's frontmatter, or of
publisher.toml, for an editor."""

from __future__ import annotations

from typing import Literal

from publisher.errors import EXIT_OK

__all__ = ["main"]


def main(which: Literal["post", "config"] = "post") -> int:
    from publisher.report import dump_json

    if which == "config":
        from publisher.config import config_schema

        dump_json(config_schema())
    else:
        from publisher.model import frontmatter_schema

        dump_json(frontmatter_schema())
    return EXIT_OK
