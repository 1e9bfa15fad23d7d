"""Which posts the Action considers (`publisher.github.select`), in a real git repository:
what a push touched plus every post without a record for the run, and how many
documents it parses to find out (none for posts whose record is written the usual way).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from publisher import document
from publisher.config import load_config
from publisher.github.actions import ActionsEnv, PushEvent
from publisher.github.select import record_counts, select_posts
from publisher.run import Env, Run
from tests.helpers import CONFIG, post

API = "https://api.letmepost.dev"
RUN = Run(Env.LIVE, API)
ZERO = "0" * 40


def recorded(text: str, env: str = "live", api: str = API) -> str:
    """A post with a `published` block the way publisher writes it."""
    head, body = text.split("---\n", 2)[1:]
    block = (
        f"published:\n  env: {env}\n  api: {api}\n  hash: sha256:00\n  status: published\n"
        "  targets:\n    bluesky:\n      platform: bluesky\n      status: published\n"
        "      uri: at://did:plc:abc/app.bsky.feed.post/3k\n"
    )
    return f"---\n{head}{block}---\n{body}"


class Repo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_AUTHOR_NAME": "T",
            "GIT_AUTHOR_EMAIL": "t@example.org",
            "GIT_COMMITTER_NAME": "T",
            "GIT_COMMITTER_EMAIL": "t@example.org",
        }
        self.git("init", "-q", "-b", "main")
        (root / "publisher.toml").write_text(CONFIG)
        (root / "posts").mkdir()

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=self.root, env=self.env, check=True, capture_output=True, text=True
        )
        return done.stdout.strip()

    def commit(self, files: dict[str, str | None]) -> str:
        for name, text in files.items():
            path = self.root / name
            if text is None:
                path.unlink()
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", "change")
        return self.git("rev-parse", "HEAD")

    def select(self, before: str, after: str, run: Run = RUN) -> list[str]:
        actions = ActionsEnv(
            event_name="push",
            push=PushEvent(before, after, False, False, False, "refs/heads/main"),
            default_branch="main",
        )
        config = load_config(path=self.root / "publisher.toml")
        selection = select_posts(config, self.root.resolve(), actions, "publish", run)
        return sorted(p.relative_to(self.root.resolve()).as_posix() for p in selection.files)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path)


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The documents parsed (YAML) while selecting (`load_document` parses through
    `parse_document` too)."""
    seen: list[str] = []
    parse = document.parse_document

    def counting_parse(raw: bytes, path: str) -> document.Document:
        seen.append(Path(path).name)
        return parse(raw, path)

    monkeypatch.setattr(document, "parse_document", counting_parse)
    yield seen


def test_a_one_post_push_parses_no_recorded_post(repo: Repo, parsed: list[str]) -> None:
    others = {f"posts/old{i:03}.md": recorded(post("[bluesky]", f"old {i}")) for i in range(200)}
    before = repo.commit(others)
    after = repo.commit({"posts/new.md": post("[bluesky]", "new")})
    assert repo.select(before, after) == ["posts/new.md"]
    assert parsed == []  # 200 recorded posts, not one of them parsed


def test_drafts_beside_a_one_post_push_are_neither_selected_nor_parsed(
    repo: Repo, parsed: list[str]
) -> None:
    drafts = {
        f"posts/draft{i:03}.md": post("[bluesky]", f"draft {i}").replace(
            "---\n", "---\ndraft: true\n", 1
        )
        for i in range(200)
    }
    odd = post("[bluesky]", "odd").replace("---\n", "---\ndraft: yes please\n", 1)
    before = repo.commit({**drafts, "posts/odd.md": odd})
    after = repo.commit({"posts/new.md": post("[bluesky]", "new")})
    # a plain `draft: true` needs no look; anything else is planned (and refused there)
    assert repo.select(before, after) == ["posts/new.md", "posts/odd.md"]
    assert parsed == []
    touched = repo.commit({"posts/draft007.md": drafts["posts/draft007.md"].replace("7", "8")})
    assert repo.select(after, touched) == ["posts/draft007.md", "posts/new.md", "posts/odd.md"]


def test_posts_without_a_record_for_the_run_are_picked_up(repo: Repo, parsed: list[str]) -> None:
    before = repo.commit(
        {
            "posts/done.md": recorded(post("[bluesky]", "done")),
            "posts/never.md": post("[bluesky]", "pushed while the key was missing"),
            "posts/sandbox.md": recorded(post("[bluesky]", "tried"), env="sandbox"),
            "posts/local.md": recorded(post("[bluesky]", "local"), api="http://127.0.0.1:9"),
            "posts/quoted.md": recorded(post("[bluesky]", "quoted")).replace(
                "env: live", "env: 'live'"
            ),
        }
    )
    after = repo.commit({"posts/new.md": post("[bluesky]", "new")})
    assert repo.select(before, after) == [
        "posts/local.md",  # made against a server on this machine: not for the real API
        "posts/never.md",
        "posts/new.md",
        "posts/sandbox.md",
    ]
    assert parsed == ["quoted.md"]  # unsure from its bytes: parsed, and its record counts


def test_a_first_push_scans_for_posts_without_a_record(repo: Repo, parsed: list[str]) -> None:
    head = repo.commit(
        {
            "posts/done.md": recorded(post("[bluesky]", "done")),
            "posts/never.md": post("[bluesky]", "never"),
        }
    )
    assert repo.select(ZERO, head) == ["posts/never.md"]
    assert repo.select(ZERO, head, Run(Env.SANDBOX, API)) == ["posts/done.md", "posts/never.md"]
    assert parsed == []


def test_a_deleted_queued_post_is_found_reading_only_files_that_name_it(
    repo: Repo, parsed: list[str]
) -> None:
    queued = recorded(post("[bluesky]", "later")).replace(
        "status: published\n      uri: at://did:plc:abc/app.bsky.feed.post/3k\n",
        "status: queued\n      postId: 7b5e2c9a-0000-4000-8000-000000000001\n",
    )
    others = {f"posts/old{i:03}.md": recorded(post("[bluesky]", f"old {i}")) for i in range(50)}
    before = repo.commit({"posts/queued.md": queued, **others})
    after = repo.commit({"posts/queued.md": None})
    actions = ActionsEnv(
        event_name="push",
        push=PushEvent(before, after, False, False, False, "refs/heads/main"),
        default_branch="main",
    )
    config = load_config(path=repo.root / "publisher.toml")
    selection = select_posts(config, repo.root.resolve(), actions, "publish", RUN)
    assert [(d.path, [q[0] for q in d.queued]) for d in selection.deleted] == [
        ("posts/queued.md", ["bluesky"])
    ]
    assert parsed == ["queued.md"]  # its old content, read from git; no current post


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"---\ntargets: [x]\n---\nHi\n", False),
        (b"---\ntargets: [x]\n---\npublished:\n  env: live\n", False),  # in the body
        (b"\xef\xbb\xbf---\r\ntargets: [x]\r\npublished:\r\n  env: live\r\n---\r\nHi\r\n", True),
        (b"---\npublished:\n  # a comment\n  env: live\n  api: https://a.test\n---\n", True),
        (b"---\npublished:\n  env: sandbox\n  api: https://a.test\n---\n", False),
        (b"---\npublished:\n  targets:\n    env: live\n---\n", None),  # env only nested
        (b"---\npublished:\n  env: live\n  env: live\n---\n", None),  # twice
        (b"---\npublished: null\n---\n", None),
        (b"---\npublished:\n  env: live\npublished:\n  env: live\n---\n", None),
        (b"---\npublished: {env: live}\n---\n", None),
        (b"---\n'published':\n  env: live\n---\n", None),
        (b"---\npublished:\n  env: live\n", None),  # never closed
        (b"targets: [x]\n", None),  # no frontmatter
        (b"---\npublished:\n   env: live\n  api: x\n---\n", None),  # odd indent
    ],
)
def test_record_counts_is_sure_only_of_what_publisher_writes(
    raw: bytes, expected: bool | None
) -> None:
    assert record_counts(raw, RUN if b"a.test" not in raw else Run(Env.LIVE, "https://a.test")) is (
        expected
    )
