"""`publisher new` in a real git repository: the file it writes validates as it is."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml

from tests.e2e.test_init import git
from tests.helpers import cli_env, make_repo, run_cli


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = make_repo(
        tmp_path / "repo",
        {},
        config='posts = "posts"\ntargets = ["x", "bluesky"]\n\n[accounts]\nx = "twitter"\n',
    )
    git(root, "init", "-q", "-b", "main")
    return root


ENV = cli_env("http://127.0.0.1:9", None)


def front(path: Path) -> dict:
    return yaml.safe_load(path.read_text().split("---\n")[1])


def test_new_writes_a_draft_with_the_default_targets_that_validates(repo):
    done = run_cli(["new", "Hello, Wörld: v2 is out!"], repo, ENV)
    assert done.returncode == 0, done.stderr
    name = f"posts/{dt.date.today().isoformat()}-hello-world-v2-is-out.md"
    assert done.stdout.strip() == name
    path = repo / name
    meta = front(path)
    assert meta["targets"] == ["x", "bluesky"] and meta["draft"] is True
    assert meta["meta"]["title"] == "Hello, Wörld: v2 is out!"
    checked = run_cli(["validate", name], repo, ENV)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_new_never_overwrites_it_adds_a_suffix(repo):
    first = run_cli(["new", "Launch"], repo, ENV).stdout.strip()
    (repo / first).write_text((repo / first).read_text() + "edited\n")
    kept = (repo / first).read_text()
    second = run_cli(["new", "Launch"], repo, ENV)
    assert second.returncode == 0
    assert second.stdout.strip() == first.replace(".md", "-2.md")
    assert (repo / first).read_text() == kept
    third = run_cli(["new", "Launch"], repo, ENV).stdout.strip()
    assert third == first.replace(".md", "-3.md")


def test_new_at_sets_scheduled_at_and_names_the_file_by_that_day(repo):
    done = run_cli(["new", "Office hours", "--at", "2031-03-01T09:00:00+01:00"], repo, ENV)
    assert done.returncode == 0, done.stderr
    path = repo / done.stdout.strip()
    assert path.name == "2031-03-01-office-hours.md"
    moment = front(path)["scheduledAt"]
    assert moment == dt.datetime(2031, 3, 1, 8, 0, tzinfo=dt.UTC)
    checked = run_cli(["validate", str(path)], repo, ENV)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("2031-03-01T09:00:00", "no timezone offset"),
        ("next tuesday", "not an ISO-8601"),
        ("2020-01-01T09:00:00Z", "in the past"),
    ],
)
def test_new_refuses_a_bad_at_and_writes_nothing(repo, value, says):
    done = run_cli(["new", "Office hours", "--at", value], repo, ENV)
    assert done.returncode == 2
    assert says in done.stderr and "Traceback" not in done.stderr
    assert list((repo / "posts").iterdir()) == []


def test_new_with_an_empty_title_is_a_usage_error(repo):
    done = run_cli(["new", "   "], repo, ENV)
    assert done.returncode == 2 and "title is empty" in done.stderr
    assert list((repo / "posts").iterdir()) == []


def test_new_without_default_targets_names_bluesky(tmp_path):
    root = make_repo(tmp_path / "bare", {}, config='posts = "posts"\n')
    done = run_cli(["new", "Hi"], root, ENV)
    assert done.returncode == 0, done.stderr
    assert front(root / done.stdout.strip())["targets"] == ["bluesky"]
    assert run_cli(["validate"], root, ENV).returncode == 0


def test_new_thread_shows_the_convention(repo):
    done = run_cli(["new", "A thread", "--thread"], repo, ENV)
    assert done.returncode == 0, done.stderr
    path = repo / done.stdout.strip()
    body = path.read_text().split("---\n", 2)[2]
    parts = [p.strip() for p in body.split("\n---\n")]
    assert len(parts) == 3 and all(parts) and parts[0] == "A thread"
    checked = run_cli(["validate", "--json", str(path)], repo, ENV)
    assert checked.returncode == 0, checked.stdout  # a thread validates as it is
    (f,) = json.loads(checked.stdout)["files"]
    assert f["valid"]


def test_new_targets_sets_the_posts_targets_and_refuses_an_unknown_one(repo):
    done = run_cli(["new", "Two places", "--targets", "bluesky,x"], repo, ENV)
    assert done.returncode == 0, done.stderr
    assert front(repo / done.stdout.strip())["targets"] == ["bluesky", "x"]
    assert run_cli(["validate", done.stdout.strip()], repo, ENV).returncode == 0
    bad = run_cli(["new", "Typo", "--targets", "bluesky,twiter"], repo, ENV)
    assert bad.returncode == 2 and 'did you mean "twitter"' in bad.stderr
    assert len(list((repo / "posts").glob("*typo*"))) == 0
