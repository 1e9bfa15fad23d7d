"""One of each: the platform registry is what the model, the rules, the config and the
sandbox accept; Bluesky's direct limits are the rules'; problems carry their target."""

from __future__ import annotations

import typing
from pathlib import Path

from publisher.clients import atproto as bluesky
from publisher.config import PLATFORM_NAMES, load_config
from publisher.model import TargetSpec
from publisher.rules import limits, platforms
from publisher.sandbox import config as sandbox_config
from publisher.validate import load_post
from tests.helpers import make_repo


def test_every_reader_takes_the_registrys_platforms() -> None:
    names = set(platforms.REGISTRY)
    literal = typing.get_args(TargetSpec.model_fields["platform"].annotation)[0]
    assert set(typing.get_args(literal)) == names
    assert set(limits.PLATFORMS) == names == set(PLATFORM_NAMES)
    assert set(sandbox_config.PLATFORMS) == names
    for p in platforms.REGISTRY.values():
        assert limits.measure(p.name, "a").limit == p.text_max
    assert platforms.platform_title("twitter") == "X"


def test_bluesky_direct_limits_are_the_rules() -> None:
    spec = limits.media_limits("bluesky")
    assert bluesky.MAX_GRAPHEMES == limits.text_limit("bluesky") == 300
    assert (
        spec.max_images,
        spec.image_max,
        spec.alt_max,
    ) == (bluesky.MAX_IMAGES, bluesky.MAX_IMAGE_BYTES, bluesky.MAX_ALT_GRAPHEMES)


def test_a_problem_names_the_target_it_is_about(tmp_path: Path) -> None:
    text = (
        "---\ntargets:\n  - bluesky\n  - platform: twitter\n    text: " + "x" * 300 + "\n---\nok\n"
    )
    repo = make_repo(tmp_path, {"a.md": text})
    post = load_post(repo / "posts/a.md", load_config(repo))
    (over,) = [p for p in post.problems if p.code == "twitter.text.max_graphemes"]
    assert over.target == 1 and over.line == 5  # the text line of the second target
    assert all(p.target is None for p in post.problems if p is not over)
