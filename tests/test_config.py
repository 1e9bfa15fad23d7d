"""publisher.toml / [tool.publisher]: defaults, aliases, and clear refusals."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from publisher.config import Account, ConfigError, load_config
from publisher.validate import load_post

UUID = "6F1C2B9E-4D2A-4C1E-9B7A-0E5D3C2B1A09"


def test_defaults_without_any_config(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "posts").mkdir()
    config = load_config(tmp_path / "posts")
    assert (config.root, config.source, config.posts_dir) == (tmp_path, None, tmp_path / "posts")
    assert config.targets == () and config.require_alt
    assert config.resolved_api_url({}) == "https://api.letmepost.dev"
    assert (
        config.resolved_api_url({"LETMEPOST_API_URL": "http://127.0.0.1:9/"})
        == "http://127.0.0.1:9"
    )


def test_publisher_toml_with_every_kind_of_alias(tmp_path: Path) -> None:
    (tmp_path / "publisher.toml").write_text(
        f'posts = "content/social"\ntargets = ["main", "x"]\nrequire_alt = false\n'
        f'[accounts]\nmain = "{UUID}"\nx = "twitter"\n'
        f'typed = {{ id = "{UUID}", platform = "bluesky" }}\n'
        '[accounts.me]\nbluesky = "@alice.bsky.social"\npds = "https://pds.example/"\n'
    )
    config = load_config(tmp_path)
    assert config.posts_dir == tmp_path / "content" / "social"
    assert config.targets == ("main", "x") and not config.require_alt
    assert config.accounts["main"] == Account("main", account_id=UUID.lower())
    assert config.accounts["x"] == Account("x", platform="twitter")
    assert config.accounts["typed"].platform == "bluesky"
    me = config.accounts["me"]
    assert (me.direct, me.handle, me.pds, me.password_env) == (
        True,
        "alice.bsky.social",
        "https://pds.example",
        "BLUESKY_APP_PASSWORD",
    )


def test_tool_publisher_in_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.publisher]\ntargets = ["bluesky"]\n'
    )
    (tmp_path / "posts").mkdir()
    config = load_config(tmp_path / "posts")
    assert (config.root, config.source, config.targets) == (
        tmp_path,
        tmp_path / "pyproject.toml",
        ("bluesky",),
    )


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("targets = [", "invalid TOML"),
        ("taregts = []", "unknown setting 'taregts' (did you mean \"targets\"?)"),
        ('posts = "../elsewhere"', "`posts` must be a folder inside the repository"),
        ('api_url = "ftp://x"', "`api_url` must be an http(s) URL"),
        ("require_alt = 'no'", "`require_alt` must be a bool"),
        ('targets = ["mian"]\n[accounts]\nmain = "' + UUID + '"', 'did you mean "main"?'),
        ('targets = ["bluesky", "bluesky"]', "the same target twice"),
        ('[accounts]\nbluesky = "' + UUID + '"', "is a platform name"),
        ('[accounts]\nx = "tweeter"', "accounts.x must be an account UUID"),
        ('[accounts]\nx = { id = "nope" }', "accounts.x.id must be an account UUID"),
        (f'[accounts]\nx = {{ id = "{UUID}", platform = "myspace" }}', "accounts.x.platform"),
        ('[accounts.me]\nbluesky = "alice"', "must be a handle"),
        (
            '[accounts.me]\nbluesky = "a.bsky.social"\npassword = "hunter2"',
            "unknown setting 'password'",
        ),
        (
            '[accounts.me]\nbluesky = "a.bsky.social"\npassword_env = "hunter2 !"',
            "NAME of an environment",
        ),
    ],
)
def test_bad_settings_are_config_errors(tmp_path: Path, toml: str, message: str) -> None:
    (tmp_path / "publisher.toml").write_text(toml + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert message in str(info.value)
    assert "hunter2" not in str(info.value)


def test_posts_without_targets_use_the_configured_ones(tmp_path: Path) -> None:
    (tmp_path / "publisher.toml").write_text(
        'targets = ["me", "x"]\n[accounts]\nx = "twitter"\n[accounts.me]\nbluesky = "alice.bsky.social"\n'
    )
    (tmp_path / "post.md").write_text("---\nfirstComment: more\n---\n" + "word " * 60 + "\n")
    post = load_post(
        tmp_path / "post.md", load_config(tmp_path), now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    assert [(t.label, t.platform, t.direct) for t in post.targets] == [
        ("me", "bluesky", True),
        ("x", "twitter", False),
    ]
    # limits still apply and point at the body; the first comment warning at its key
    assert sorted((p.line, p.code, p.severity) for p in post.problems) == [
        (2, "first_comment.ignored", "warning"),
        (4, "twitter.text.max_graphemes", "error"),
    ]


def test_an_alias_may_be_a_platform_name_when_it_names_one_account_there(tmp_path) -> None:
    import pytest

    from publisher.config import ConfigError, load_config

    uuid = "720c4c07-6b33-5bab-811c-f456c89583ab"
    (tmp_path / "publisher.toml").write_text(
        f'[accounts]\nbluesky = {{ id = "{uuid}", platform = "bluesky" }}\n'
    )
    assert load_config(tmp_path).accounts["bluesky"].account_id == uuid
    for value in (f'{{ id = "{uuid}", platform = "twitter" }}', '"twitter"', f'"{uuid}"'):
        (tmp_path / "publisher.toml").write_text(f"[accounts]\nbluesky = {value}\n")
        with pytest.raises(ConfigError, match="platform name"):
            load_config(tmp_path)


def test_the_schema_knows_every_setting_the_loader_reads(tmp_path: Path) -> None:
    import tomllib

    import jsonschema

    from publisher.config import config_schema
    from publisher.config.read import _KEYS

    schema = config_schema()
    properties = schema["properties"]
    assert isinstance(properties, dict) and set(properties) == _KEYS
    settings = 'fetch_allow = ["127.0.0.1", "10.0.0.0/8"]\nlangs = ["en"]\n'
    (tmp_path / "publisher.toml").write_text(settings)
    assert load_config(tmp_path).fetch_allow == ("127.0.0.1", "10.0.0.0/8")
    jsonschema.validate(tomllib.loads(settings), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"fetch_allow": "127.0.0.1"}, schema)
