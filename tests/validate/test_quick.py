"""The quick path (`validate.quick`) accepts only frontmatter pydantic accepts, and gives
the very values pydantic's model holds, in plain frozen dataclasses with the model's field
names; everything else is left to pydantic (and its messages)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from publisher.document import DocumentError, parse_document
from publisher.model import (
    FRONTMATTER_KEYS,
    MEDIA_KEYS,
    TARGET_KEYS,
    FirstCommentSpec,
    MediaSpec,
    PostFrontmatter,
    SourceSpec,
    TargetSpec,
)
from publisher.validate import quick
from publisher.validate.quick import quick_frontmatter

ROOT = Path(__file__).resolve().parents[2]


# Each quick value's class and the model it stands for.
MODELS: dict[type, type[BaseModel]] = {
    quick.QuickPost: PostFrontmatter,
    quick.QuickTarget: TargetSpec,
    quick.QuickMedia: MediaSpec,
    quick.QuickSource: SourceSpec,
    quick.QuickComment: FirstCommentSpec,
}


def same_model(a: object, b: object) -> None:
    """Equal values of the same types (a quick value for its model), down to every
    nested model's fields."""
    if type(a) in MODELS:
        assert type(b) is MODELS[type(a)], (a, b)
        assert isinstance(b, BaseModel)
        assert [f.name for f in dataclasses.fields(a)] == list(type(b).model_fields)  # type: ignore[arg-type]
        for name in type(b).model_fields:
            same_model(getattr(a, name), getattr(b, name))
        return
    assert type(a) is type(b), (a, b)
    if isinstance(a, BaseModel):
        raise AssertionError(f"the quick path gave a pydantic model: {a!r}")
    elif isinstance(a, list | tuple):
        assert isinstance(b, list | tuple) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            same_model(x, y)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b)
        for key in a:
            same_model(a[key], b[key])
    else:
        assert a == b


def agrees(data: dict[str, Any]) -> bool:
    """Whether the quick path gave pydantic's answer (True when it took the post)."""
    got = quick_frontmatter(data)
    if got is None:
        return False
    try:
        expected = PostFrontmatter.model_validate(data)
    except ValidationError as exc:
        pytest.fail(f"quick path accepted what pydantic refuses: {data!r}\n{exc}")
    same_model(got, expected)
    return True


def test_every_key_of_the_model_is_known() -> None:
    for value, model in MODELS.items():  # the same fields, in order, with the same defaults
        defaults = {f.name: f.default for f in dataclasses.fields(value)}
        for name, field in model.model_fields.items():
            assert name in defaults, (value, name)
            if not field.is_required():
                assert field.default_factory is None and defaults[name] == field.default
            else:
                assert defaults[name] is dataclasses.MISSING, (value, name)
        assert list(defaults) == list(model.model_fields)
    assert set(quick._POST) == set(FRONTMATTER_KEYS)
    assert set(quick._TARGET) == set(TARGET_KEYS)
    assert set(quick._MEDIA) == set(MEDIA_KEYS)


def frontmatters() -> list[dict[str, Any]]:
    """The frontmatter of every post file in the repository's tests and docs."""
    found = []
    for path in sorted(ROOT.glob("tests/**/*.md")) + sorted(ROOT.glob("docs/**/*.md")):
        try:
            doc = parse_document(path.read_bytes(), str(path))
        except DocumentError:
            continue
        found.append(doc.data)
    return found


def test_the_repositorys_posts_get_pydantics_model() -> None:
    taken = [agrees(data) for data in frontmatters()]
    assert taken  # and the common posts do take the quick path:
    assert agrees({"targets": ["bluesky", "x"], "firstComment": "More at https://a.example"})
    assert agrees(
        {
            "targets": ["main", {"account": "x", "text": "Shorter."}],
            "media": [{"path": "img/a.png", "alt": "A cat"}],
            "scheduledAt": dt.datetime(2031, 1, 2, 9, tzinfo=dt.timezone(dt.timedelta(hours=1))),
            "meta": {"title": "Hi", "tags": ["a"]},
            "draft": False,
            "published": {"env": "live", "targets": {}},
        }
    )


STRINGS = st.sampled_from(
    [
        "",
        "bluesky",
        "x",
        "main",
        "https://example.org/a",
        "https://example.org/a b",
        "https://example.org/\u00e9",
        "at://did:plc:abc/app.bsky.feed.post/3k",
        "ftp://example.org",
        "https://a.example\n",
        "6f1c2b9e-4d2a-4c1e-9b7a-0e5d3c2b1a09",
        "6f1c2b9e-4d2a-4c1e-9b7a-0e5d3c2b1a09\n",
        "image",
        "video",
        "auto",
        "keep",
        "repost",
        "post-1/a.b",
        "-bad",
        "twitter",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-2, 3)
    | st.floats(allow_nan=False, allow_infinity=False)
    | STRINGS
    | st.just(dt.date(2031, 1, 2))
    | st.just(dt.datetime(2031, 1, 2, 9, tzinfo=dt.UTC))
    | st.just(dt.datetime(2031, 1, 2, 9))
)
MEDIA = st.dictionaries(st.sampled_from([*MEDIA_KEYS, "size"]), SCALARS, max_size=4)
FIRST = SCALARS | st.dictionaries(st.sampled_from(["text", "x"]), SCALARS, max_size=2)
TARGET_VALUES = SCALARS | st.lists(STRINGS, max_size=2) | st.lists(MEDIA, max_size=2) | FIRST
TARGET = STRINGS | st.dictionaries(
    st.sampled_from([*TARGET_KEYS, "nope"]), TARGET_VALUES, max_size=4
)
VALUES = (
    SCALARS
    | st.lists(TARGET, max_size=3)
    | st.lists(MEDIA, max_size=2)
    | st.lists(STRINGS, max_size=2)
    | st.dictionaries(STRINGS | st.integers(0, 2), SCALARS, max_size=2)
    | FIRST
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from([*FRONTMATTER_KEYS, "scheduleAt"]), VALUES, max_size=5))
def test_whatever_it_takes_pydantic_takes_alike(data: dict[str, Any]) -> None:
    agrees(data)


@settings(max_examples=100, deadline=None)
@given(st.lists(TARGET, min_size=0, max_size=27))
def test_targets_lists_of_any_length(targets: list[Any]) -> None:
    agrees({"targets": targets})


def test_checking_a_common_post_loads_no_pydantic(tmp_path: Path) -> None:
    """What keeps `publisher validate` on one post quick (bench/coldstart.py): pydantic
    and the models are imported only for a post the quick path leaves to them."""
    (tmp_path / "publisher.toml").write_text('[accounts]\nx = "twitter"\n')
    (tmp_path / "post.md").write_text("---\ntargets: [bluesky, x]\n---\nHello.\n")
    (tmp_path / "typo.md").write_text("---\ntargets: [bluesky]\nscheduleAt: 1\n---\nHi.\n")
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from publisher.config import load_config\n"
        "from publisher.validate import load_post\n"
        "config = load_config(Path('.'))\n"
        "post = load_post(Path('post.md'), config)\n"
        "print(post.valid, 'pydantic' in sys.modules)\n"
        "post = load_post(Path('typo.md'), config)\n"
        "print(post.valid, 'pydantic' in sys.modules, post.problems[0].code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines() == ["True False", "False True key.unknown"]
