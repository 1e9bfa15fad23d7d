"""A warning's line, read off the kept YAML tree one path at a time, is the line the
full line map gives (the map is built only when something needs every line)."""

from __future__ import annotations

import copy

import pytest

from publisher.document import Loc, parse_document

POSTS = [
    "---\ntargets: [bluesky, x]\n---\nHi\n",
    '---\n# c\ntargets:\n  - main\n  - account: x\n    text: "Short"\n    media:\n'
    "      - path: a.png\n        alt: A\nmedia:\n  - path: b.png\n    alt: B\n"
    "scheduledAt: 2031-01-02T09:00:00+01:00\nmeta:\n  title: T\n  tags: [a, b]\n---\nBody\n",
    "---\ntargets:\n- x\n- {account: li, firstComment: {text: hi}}\nrelease: {x: 2}\n"
    "published:\n  targets:\n    x: {status: published}\n---\nB\n",
]
EXTRA: list[Loc] = [
    (),
    ("nope",),
    ("targets", 7),
    ("targets", -1),
    ("targets", "x"),
    ("targets", True),
    ("targets", 1, "text", "deeper"),
    ("meta", 0),
    ("release", "x", 3),
]


@pytest.mark.parametrize("text", POSTS)
def test_walked_lines_are_the_mapped_lines(text: str) -> None:
    doc = parse_document(text.encode(), "p.md")
    assert doc._tree is not None  # the quick reading kept its tree
    mapped = copy.copy(doc)
    locs = [*mapped.lines, *EXTRA]
    for loc in locs:
        assert doc.line_of(loc) == mapped.line_of(loc), loc
    assert doc._lines is None  # no full map was built for the walked ones
