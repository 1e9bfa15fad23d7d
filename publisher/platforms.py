"""The platforms letmepost publishes to: one registry that the frontmatter model, the
rules (`limits.py`), the config, the previews and the sandbox all read.

Light on purpose (no imports beyond the standard library): the CLI's start-up path
and the sandbox's config read it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PLATFORMS", "REGISTRY", "Platform", "platform_title"]


@dataclass(frozen=True, slots=True)
class Platform:
    """One platform as the API names it, and what publisher needs to know of it."""

    name: str  # the API's name (`targets[].platform`)
    title: str  # for people
    text_max: int  # the text limit letmepost's preflight checks (advisory for Pinterest)
    text_unit: str  # "graphemes" | "weighted" (X) | "utf16" (TikTok)
    replies: bool  # a post can answer another (threads, `replyTo`)
    first_comment: bool = False  # the API posts `firstComment` (a reply) here


REGISTRY: dict[str, Platform] = {
    p.name: p
    for p in (
        Platform("bluesky", "Bluesky", 300, "graphemes", replies=True, first_comment=True),
        Platform("twitter", "X", 280, "weighted", replies=True),
        Platform("threads", "Threads", 500, "graphemes", replies=True),
        Platform("linkedin", "LinkedIn", 3000, "graphemes", replies=False),
        Platform("facebook", "Facebook", 63_206, "graphemes", replies=False),
        Platform("instagram", "Instagram", 2200, "graphemes", replies=False),
        # Not checked by letmepost: Pinterest's own pin description limit.
        Platform("pinterest", "Pinterest", 500, "graphemes", replies=False),
        Platform("tiktok", "TikTok", 2200, "utf16", replies=False),
    )
}

#: The API's platform names, in the order publisher lists them.
PLATFORMS: tuple[str, ...] = tuple(REGISTRY)


def platform_title(name: str | None) -> str:
    """``X`` for ``twitter``; an unknown name as it is."""
    known = REGISTRY.get(name or "")
    return known.title if known else (name or "?")
