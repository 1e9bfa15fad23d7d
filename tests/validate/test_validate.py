"""`publisher validate` on bad input, run as a real process: every problem is reported
as ``path:line:col: code: message`` at the line of the offending key or item, the run
exits 1 without a traceback, and one bad file never stops the others being checked."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

CONFIG = """\
targets = ["bluesky"]

[accounts]
main = "6f1c2b9e-4d2a-4c1e-9b7a-0e5d3c2b1a09"
x = "twitter"
"""
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _bomb(levels: int) -> str:
    lines = [
        "---",
        "targets: [bluesky]",
        "meta:",
        "  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]",
    ]
    for i in range(1, levels + 1):
        lines.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join([*lines, "---", "Hello", ""])


def _targets(n: int) -> str:
    return (
        "---\ntargets:\n"
        + "".join(f"  - platform: bluesky\n    text: t{i}\n" for i in range(n))
        + "---\nHi\n"
    )


# name -> (file content, [(line, code, text the message must contain), ...])
CASES: dict[str, tuple[str | bytes, list[tuple[int, str, str]]]] = {
    "no-frontmatter": ("Just text, no frontmatter.\n", [(1, "frontmatter.missing", "'---'")]),
    "unterminated": (
        "---\ntargets: [bluesky]\nHello\n",
        [(1, "frontmatter.unterminated", "never closed")],
    ),
    "empty-thread-part": (
        "---\ntargets: [bluesky]\n---\nHello\n---\n\n",
        [(5, "body.part_empty", "empty thread part")],
    ),
    "second-post": (
        "---\ntargets: [bluesky]\n---\nOne\n---\ntargets: [x]\n---\nTwo\n",
        [(5, "body.second_frontmatter", "one file holds one post")],
    ),
    "empty": ("", [(1, "file.empty", "empty")]),
    "latin1": (b"---\ntargets: [bluesky]\n---\nCaf\xe9 au lait\n", [(4, "file.encoding", "0xe9")]),
    "binary": (PNG, [(1, "file.binary", "binary")]),
    "huge": (
        "---\ntargets: [bluesky]\n---\n" + "a" * (1024 * 1024),
        [(1, "file.too_large", "1 MiB")],
    ),
    "yaml-syntax": (
        "---\ntargets: [bluesky\nmedia: []\n---\nHi\n",
        [(3, "yaml.syntax", "YAML syntax error")],
    ),
    "duplicate-key": (
        "---\ntargets: [bluesky]\nfirstComment: a\ntargets: [x]\n---\nHi\n",
        [(4, "yaml.duplicate_key", "first set on line 2")],
    ),
    "alias-bomb": (_bomb(9), [(4, "yaml.alias", "anchors and aliases")]),
    "python-tag": (
        "---\ntargets: [bluesky]\nmeta: !!python/object/apply:os.system [echo hi]\n---\nHi\n",
        [(3, "yaml.tag", "!!python/object/apply:os.system")],
    ),
    "unknown-tag": (
        "---\ntargets: [bluesky]\nfirstComment: !secret x\n---\nHi\n",
        [(3, "yaml.tag", "!secret")],
    ),
    "yaml-coercions": (
        "---\ntargets:\n  - account: main\n    text: no\n  - platform: threads\n    text: 1.10\n"
        "firstComment: 012\ndraft: 'yes'\n---\nHi\n",
        [
            (4, "type", "got bool False (YAML reads yes/no"),
            (6, "type", "got float 1.1"),
            (7, "type", "got int 10"),
            (8, "type", "draft: Input should be a valid boolean"),
        ],
    ),
    "wrong-shapes": (
        "---\ntargets: bluesky\nmedia: {path: a.png}\nmeta: [a]\n---\nHi\n",
        [(2, "type", "valid list"), (3, "type", "valid list"), (4, "type", "valid dictionary")],
    ),
    "zero-targets": ("---\ntargets: []\n---\nHi\n", [(2, "targets.required", "at least one")]),
    "26-targets": (_targets(26), [(2, "targets.max", "at most 25")]),
    "unknown-alias": (
        "---\ntargets:\n  - mian\n  - blusky\n---\nHi\n",
        [
            (3, "targets.alias.unknown", 'did you mean "main"?'),
            (4, "targets.alias.unknown", 'did you mean "bluesky"?'),
        ],
    ),
    "bad-uuids": (
        "---\ntargets:\n  - 6f1c2b9e-4d2a-4c1e-9b7a-0e5d3c2b1a0\n  - accountId: 6f1c2b9e\n"
        "profileId: not-a-uuid\n---\nHi\n",
        [
            (3, "targets.account.uuid", "not a valid account UUID"),
            (4, "value.string_pattern_mismatch", "'6f1c2b9e' is not a valid UUID"),
            (5, "value.string_pattern_mismatch", "'not-a-uuid' is not a valid UUID"),
        ],
    ),
    "naive-time": (
        "---\ntargets: [bluesky]\nscheduledAt: 2031-01-01T09:00:00\n---\nHi\n",
        [(3, "scheduledAt.timezone", "no timezone")],
    ),
    "past-time": (
        "---\ntargets: [bluesky]\nscheduledAt: 2020-01-01T09:00:00Z\n---\nHi\n",
        [(3, "scheduledAt.future", "in the past")],
    ),
    "schedule-and-now": (
        "---\ntargets: [bluesky]\nscheduledAt: 2031-01-01T09:00:00Z\npublishNow: true\n---\nHi\n",
        [(4, "mode_conflict", "publishNow and scheduledAt")],
    ),
    "media-paths": (
        "---\ntargets: [bluesky]\nmedia:\n  - path: ../../outside.png\n    alt: a\n"
        "  - path: /etc/hostname\n    alt: b\n  - path: img/escape.png\n    alt: c\n"
        "  - path: img/missing.png\n    alt: d\n---\nHi\n",
        [
            (4, "media.path.outside", "via .."),
            (6, "media.path.absolute", "relative"),
            (8, "media.path.outside", "a symlink"),
            (10, "media.path.missing", "does not exist"),
        ],
    ),
    "key-typo": (
        "---\ntargets: [bluesky]\nscheduleAt: 2031-01-01T09:00:00Z\n---\nHi\n",
        [(3, "key.unknown", "unknown key 'scheduleAt' (did you mean \"scheduledAt\"?)")],
    ),
    "nested-typo": (
        "---\ntargets:\n  - platform: bluesky\n    txt: Hi\nmedia:\n  - path: img/ok.png\n    alt: x\n    altText: y\n---\nHi\n",
        [(4, "key.unknown", 'did you mean "text"?'), (8, "key.unknown", "'altText'")],
    ),
    "body-too-long": (
        "---\ntargets: [bluesky, x]\n---\n\n" + "word " * 80 + "\n",
        [
            (5, "bluesky.text.max_graphemes", "Bluesky allows 300"),
            (5, "twitter.text.max_graphemes", ""),
        ],
    ),
    "override-too-long": (
        "---\ntargets:\n  - x\n  - platform: bluesky\n    text: "
        + "b" * 301
        + "\n---\nShort body\n",
        [(5, "bluesky.text.max_graphemes", "301 graphemes")],
    ),
}


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("LETMEPOST_API_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "publisher", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def found(stdout: str, name: str) -> list[tuple[int, str, str]]:
    """(line, code, message) of every problem printed for posts/<name>.md."""
    out = []
    for line in stdout.splitlines():
        m = re.match(
            rf"posts/{re.escape(name)}\.md:(\d+):(\d+): (?:warning: )?([\w.]+): (.*)$", line
        )
        if m:
            out.append((int(m[1]), m[3], m[4]))
    return out


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("repo")
    (root / "publisher.toml").write_text(CONFIG)
    (root / "outside.png").write_bytes(PNG)
    posts = root / "posts"
    (posts / "img").mkdir(parents=True)
    (posts / "img" / "ok.png").write_bytes(PNG)
    (posts / "img" / "escape.png").symlink_to(root.parent / "elsewhere.png")
    (root.parent / "elsewhere.png").write_bytes(PNG)
    for name, (content, _) in CASES.items():
        data = content.encode() if isinstance(content, str) else content
        (posts / f"{name}.md").write_bytes(data)
    (posts / "good.md").write_text("---\ntargets: [bluesky, x]\n---\nAll fine.\n")
    return root


@pytest.fixture(scope="module")
def validated(repo: Path) -> subprocess.CompletedProcess[str]:
    """One run over every bad file (and a good one) at once."""
    return run(repo, "validate")


def test_a_run_over_bad_files_exits_1_without_traceback(
    validated: subprocess.CompletedProcess[str],
) -> None:
    assert validated.returncode == 1
    assert "Traceback" not in validated.stderr + validated.stdout
    assert f"{len(CASES) + 1} files checked: {len(CASES)} invalid" in validated.stderr


@pytest.mark.parametrize("name", CASES)
def test_each_bad_input_is_reported_at_its_line(
    name: str, validated: subprocess.CompletedProcess[str]
) -> None:
    problems = found(validated.stdout, name)
    for line, code, text in CASES[name][1]:
        assert any(p[0] == line and p[1] == code and text in p[2] for p in problems), (
            f"expected {name}.md:{line} {code} containing {text!r}, got {problems}"
        )
    # one clear message per problem: no repeats, no pydantic internals
    assert len(problems) == len(set(problems))
    assert len(problems) == len(CASES[name][1]), problems
    for _, _, message in problems:
        assert "function-after" not in message and "constrained-str" not in message
        assert "<mapping>" not in message and "<str>" not in message


def test_the_good_file_in_the_same_run_is_valid(
    validated: subprocess.CompletedProcess[str],
) -> None:
    assert found(validated.stdout, "good") == []


def test_json_output_names_file_line_and_code(repo: Path) -> None:
    result = run(repo, "validate", "--json", "posts/key-typo.md", "posts/good.md")
    assert result.returncode == 1
    files = {f["path"]: f for f in json.loads(result.stdout)["files"]}
    assert files["posts/good.md"] == {"path": "posts/good.md", "valid": True, "problems": []}
    (problem,) = files["posts/key-typo.md"]["problems"]
    assert (problem["line"], problem["col"], problem["code"]) == (3, 1, "key.unknown")
    assert problem["severity"] == "error"


def test_bom_and_crlf_files_are_valid(tmp_path: Path) -> None:
    (tmp_path / "publisher.toml").write_text(CONFIG)
    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "windows.md").write_bytes(b"\xef\xbb\xbf---\r\ntargets: [bluesky]\r\n---\r\nHello\r\n")
    result = run(tmp_path, "validate")
    assert result.returncode == 0, result.stdout
    assert "1 file checked: all valid" in result.stderr


def test_a_past_schedule_is_fine_once_the_post_is_queued(tmp_path: Path) -> None:
    (tmp_path / "publisher.toml").write_text(CONFIG)
    posts = tmp_path / "posts"
    posts.mkdir()
    record = (
        "published:\n  env: live\n  status: queued\n  targets:\n    bluesky:\n"
        "      platform: bluesky\n      status: {status}\n"
        "      postId: 00000000-0000-4000-8000-000000000000\n"  # a queued post has one
    )
    head = "---\ntargets: [bluesky]\nscheduledAt: 2020-01-01T09:00:00Z\n"
    (posts / "queued.md").write_text(head + record.format(status="queued") + "---\nHi\n")
    (posts / "published.md").write_text(head + record.format(status="published") + "---\nHi\n")
    (posts / "failed.md").write_text(head + record.format(status="failed") + "---\nHi\n")
    result = run(tmp_path, "validate")
    assert result.returncode == 1
    assert found(result.stdout, "queued") == [] and found(result.stdout, "published") == []
    assert [p[1] for p in found(result.stdout, "failed")] == ["scheduledAt.future"]


def test_exit_0_when_every_post_is_valid(tmp_path: Path) -> None:
    (tmp_path / "publisher.toml").write_text(CONFIG)
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "a.md").write_text("---\ntargets: [x, bluesky]\n---\nHi\n")
    result = run(tmp_path, "validate")
    assert (result.returncode, result.stdout) == (0, "")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("targets = [\n", "invalid TOML"),
        ('post = "posts"\n', "unknown setting 'post' (did you mean \"posts\"?)"),
        ('targets = ["bluesky-main"]\n', "default target 'bluesky-main'"),
        ('[accounts]\nmain = "12345"\n', "accounts.main must be an account UUID"),
    ],
)
def test_exit_2_for_a_bad_config(tmp_path: Path, config: str, message: str) -> None:
    (tmp_path / "publisher.toml").write_text(config)
    (tmp_path / "posts").mkdir()
    result = run(tmp_path, "validate")
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_exit_2_for_a_path_that_does_not_exist(tmp_path: Path) -> None:
    (tmp_path / "publisher.toml").write_text(CONFIG)
    result = run(tmp_path, "validate", "posts/nope.md")
    assert result.returncode == 2
    assert "posts/nope.md: no such file or folder" in result.stderr


def test_schema_is_valid_json_schema_that_accepts_the_examples() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from publisher.document import load_document

    root = Path(__file__).resolve().parents[2]
    result = run(root, "schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)

    def plain(value: object) -> object:  # as an editor's YAML plugin sees it
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value.isoformat() if isinstance(value, dt.date) else value

    examples = sorted((root / "posts").glob("*.md"))
    assert examples
    for path in examples:
        data = plain(load_document(path).data)
        assert list(validator.iter_errors(data)) == [], path
    assert not validator.is_valid({"targets": ["bluesky"], "scheduleAt": "2030-01-01T00:00:00Z"})
    assert not validator.is_valid({"targets": []})
    assert not validator.is_valid({"targets": [{"text": "no account"}], "draft": "yes"})


def test_direct_bluesky_targets_refuse_schedules_and_non_image_media(tmp_path: Path) -> None:
    (tmp_path / "posts").mkdir()
    (tmp_path / "publisher.toml").write_text(
        '[accounts.me]\nbluesky = "alice.test"\npds = "http://127.0.0.1:9"\npassword_env = "PW"\n'
    )
    (tmp_path / "posts" / "a.md").write_text(
        "---\ntargets: [me]\nscheduledAt: 2031-01-01T00:00:00Z\nmedia:\n"
        "  - url: https://example.org/a.png\n    alt: x\n---\nHi\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "publisher", "validate"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "posts/a.md:3:1: scheduledAt.direct_bluesky:" in done.stdout
    assert "posts/a.md:5:5: bluesky.direct.media:" in done.stdout


@pytest.mark.parametrize(
    ("frontmatter", "line", "code"),
    [
        ("scheduledAt: 9999-12-31T23:59:59-14:00\n", 3, "scheduledAt.format"),
        ("scheduledAt: 0001-01-01T00:00:00+05:00\n", 3, "scheduledAt.format"),
        ('media: [{path: "a\\x00b", alt: x}]\n', 3, "media.path"),
    ],
)
def test_values_at_the_edge_are_errors_not_tracebacks(
    tmp_path: Path, frontmatter: str, line: int, code: str
) -> None:
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "a.md").write_text(f"---\ntargets: [bluesky]\n{frontmatter}---\nHi\n")
    done = subprocess.run(
        [sys.executable, "-m", "publisher", "validate"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"posts/a.md:{line}:" in done.stdout and code in done.stdout


@pytest.mark.parametrize(
    ("config", "env"),
    [
        ('api_url = "http://[::1"\n', {"LETMEPOST_API_KEY": "lmp_live_abc"}),
        ("", {"LETMEPOST_API_KEY": "lmp_live_abc", "LETMEPOST_API_URL": "ftp://x"}),
        ("", {"LETMEPOST_API_KEY": "lmp_live_SECRET\nTAIL"}),
    ],
)
def test_unusable_url_or_key_is_a_usage_error_that_never_prints_the_key(
    tmp_path: Path, config: str, env: dict[str, str]
) -> None:
    (tmp_path / "posts").mkdir()
    (tmp_path / "publisher.toml").write_text(config)
    (tmp_path / "posts" / "a.md").write_text("---\ntargets: [bluesky]\n---\nHi\n")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LETMEPOST_")}
    done = subprocess.run(
        [sys.executable, "-m", "publisher", "publish"],
        cwd=tmp_path,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "SECRET" not in done.stdout + done.stderr


def test_media_paths_are_relative_to_where_a_symlinked_post_really_lives(tmp_path: Path) -> None:
    (tmp_path / "publisher.toml").write_text(CONFIG)
    drafts = tmp_path / "drafts"
    (drafts / "img").mkdir(parents=True)
    (drafts / "img" / "a.png").write_bytes(PNG)
    media = "media:\n  - path: img/a.png\n    alt: A chart\n"
    (drafts / "real.md").write_text(f"---\ntargets: [bluesky]\n{media}---\nLinked.\n")
    (drafts / "other.md").write_text(f"---\ntargets: [bluesky]\n{media}---\nOther.\n")
    posts = tmp_path / "posts"
    (posts / "img").mkdir(parents=True)  # posts/img/a.png does not exist
    (posts / "linked.md").symlink_to(drafts / "real.md")
    (posts / "direct.md").write_text(f"---\ntargets: [bluesky]\n{media}---\nDirect.\n")
    # A folder link: its posts resolve media in the real folder too.
    (posts / "via").symlink_to(drafts, target_is_directory=True)

    result = run(tmp_path, "validate", "posts/linked.md", "posts/direct.md", "posts/via/other.md")
    assert "posts/linked.md" not in result.stdout
    assert "posts/via/other.md" not in result.stdout
    assert "posts/direct.md:4:5: media.path.missing" in result.stdout
    assert result.returncode == 1


def test_which_files_are_posts_and_their_order(tmp_path: Path) -> None:
    (tmp_path / "publisher.toml").write_text(CONFIG)
    posts = tmp_path / "posts"
    good = "---\ntargets: [bluesky]\n---\nHello.\n"
    for rel in [
        "b.md",
        "a.md",
        "a/z.md",
        "a/deeper/y.markdown",
        "c.markdown",
        # not posts: hidden folders and files, editor noise, other suffixes
        ".git/x.md",
        ".drafts/x.md",
        ".hidden.md",
        ".a.md.0123456789ab.tmp",
        "#a.md#",
        "a.md~",
        "notes.txt",
        "a/readme.rst",
    ]:
        (posts / rel).parent.mkdir(parents=True, exist_ok=True)
        (posts / rel).write_text(good)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "linked.md").write_text(good)
    (elsewhere / "inner.md").write_text(good)
    (posts / "linked.md").symlink_to(elsewhere / "linked.md")  # a file link: a post
    (posts / "folder-link").symlink_to(elsewhere, target_is_directory=True)  # not walked
    (posts / "dangling.md").symlink_to(tmp_path / "missing.md")  # not a file
    (posts / "dir.md").mkdir()  # a folder named like a post

    result = run(tmp_path, "plan", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    paths = [f["path"] for f in json.loads(result.stdout)["files"]]
    assert paths == [
        "posts/a/deeper/y.markdown",
        "posts/a/z.md",
        "posts/a.md",
        "posts/b.md",
        "posts/c.markdown",
        "posts/linked.md",
    ]


def test_a_tab_is_named_as_a_tab_and_media_as_a_string_gets_its_shape(tmp_path: Path) -> None:
    from tests.helpers import cli_env, make_repo, run_cli

    repo = make_repo(
        tmp_path,
        {
            "tab.md": "---\ntargets:\n\t- bluesky\n---\nhi\n",
            "media.md": "---\ntargets: [bluesky]\nmedia: img/a.png\n---\nhi\n",
        },
    )
    done = run_cli(["validate"], repo, cli_env("http://127.0.0.1:9", None))
    assert done.returncode == 1
    out = done.stdout + done.stderr
    assert "posts/tab.md:3:1: yaml.syntax: YAML syntax error: a tab character" in out
    assert "posts/media.md:3:1: type: media should be a valid list of items" in out
    assert "- path: img/a.png" in out and "alt:" in out


def test_publish_shows_the_warnings_of_what_goes_out(tmp_path: Path, sandbox) -> None:
    from tests.helpers import cli_env, make_repo, run_cli

    company = next(a for a in sandbox.accounts if "company" in a["displayName"].lower())
    text = "---\ntargets: [bluesky, li]\nfirstComment: more below\n---\nHello.\n"
    config = (
        f'posts = "posts"\n\n[accounts]\nli = {{ id = "{company["id"]}", platform = "linkedin" }}\n'
    )
    repo = make_repo(tmp_path, {"w.md": text}, config=config)
    done = run_cli(["publish"], repo, cli_env(sandbox.url, sandbox.live_key))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "warning: first_comment.ignored" in done.stderr
