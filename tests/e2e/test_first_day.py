"""A new user's first day, walked as they walked it (issue 20, points 7-17): the real
CLI as a subprocess, in real git repositories, against the sandbox over real HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.record import web_url
from tests.e2e.test_ci import TWO, Harness
from tests.e2e.test_ci import gh as gh  # the Action harness fixture
from tests.e2e.test_init import git
from tests.fixtures.sandbox import make_png
from tests.helpers import cli_env, make_repo, post, record, run_cli

OFFLINE = cli_env("http://127.0.0.1:9", None)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "repo", {"a.md": post("[bluesky]", "Hello")})
    git(root, "init", "-q", "-b", "main")
    return root


# 7. A file outside the repository given on the command line


def test_a_file_outside_any_repository_is_refused_not_published_nor_written(
    tmp_path, repo, sandbox
):
    stray = tmp_path / "elsewhere" / "stray.md"
    stray.parent.mkdir()
    stray.write_text(post("[bluesky]", "Not in the repo"))
    before = stray.read_bytes()
    for command in (["publish"], ["publish", "--sandbox"], ["validate"], ["sync"]):
        done = run_cli([*command, str(stray)], repo, cli_env(sandbox.url, sandbox.live_key))
        assert done.returncode == 2, done.stdout + done.stderr
        assert "not inside a repository" in done.stderr and str(stray) in done.stderr
    assert stray.read_bytes() == before
    assert sandbox.posts() == []


def test_a_file_of_another_folder_is_refused_under_this_config(tmp_path, repo, sandbox):
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    stray = other / "stray.md"
    stray.write_text(post("[bluesky]", "Another repository"))
    env = cli_env(sandbox.url, sandbox.live_key)
    done = run_cli(["--config", "publisher.toml", "publish", str(stray)], repo, env)
    assert done.returncode == 2 and "outside the repository" in done.stderr
    assert record(stray) == {} and sandbox.posts() == []


# 8. `publisher accounts >> publisher.toml`, the README's recipe


def test_accounts_appended_to_what_init_wrote_leaves_a_working_config(tmp_path, sandbox):
    root = tmp_path / "fresh"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    env = {
        **cli_env(sandbox.url, None),
        "PUBLISHER_ACTION_URL": str(tmp_path / "no-such-repo"),
    }
    assert run_cli(["init"], root, env).returncode == 0
    listed = run_cli(["accounts"], root, {**env, "LETMEPOST_API_KEY": sandbox.live_key})
    assert listed.returncode == 0, listed.stderr
    assert "PLATFORM" in listed.stderr and "PLATFORM" not in listed.stdout
    with (root / "publisher.toml").open("a") as config:
        config.write(listed.stdout)
    checked = run_cli(["validate"], root, env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    shown = run_cli(["accounts"], root, {**env, "LETMEPOST_API_KEY": sandbox.live_key})
    assert shown.returncode == 0 and shown.stdout == "", shown.stdout


# 9. An edit after publishing: kept, with a notice that can be acknowledged


def test_the_kept_notice_repeats_until_acknowledged_in_the_file(repo, sandbox):
    env = cli_env(sandbox.url, sandbox.live_key)
    path = repo / "posts/a.md"
    assert run_cli(["publish"], repo, env).returncode == 0
    path.write_text(path.read_text().replace("Hello", "Hello, edited"))
    for _ in range(2):  # every run says it, and exits 0
        done = run_cli(["publish"], repo, env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "not reposted" in done.stdout and "onEdit: keep" in done.stdout
    text = path.read_text()
    path.write_text(text.replace("targets: [bluesky]\n", "targets: [bluesky]\nonEdit: keep\n", 1))
    done = run_cli(["publish"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "not reposted" not in done.stdout + done.stderr and "kept" not in done.stdout
    shown = run_cli(["plan"], repo, env)
    assert "edited since, kept (onEdit: keep)" in shown.stdout
    assert [p["text"] for p in sandbox.posts()] == ["Hello"]


# 10. The README's example in a fresh `init`, and the hint for `x`


def _fresh(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "fresh"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    env = {**OFFLINE, "PUBLISHER_ACTION_URL": str(tmp_path / "no-such-repo")}
    assert run_cli(["init"], root, env).returncode == 0
    return root, env


def test_the_readme_example_validates_in_a_fresh_init_and_x_suggests_twitter(tmp_path):
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    example = readme.split("## A post\n", 1)[1].split("```markdown\n", 1)[1].split("```", 1)[0]
    root, env = _fresh(tmp_path)
    (root / "posts/example.md").write_text(example)
    (root / "posts/img").mkdir()
    (root / "posts/img/launch.png").write_bytes(make_png())
    done = run_cli(["validate", "posts/example.md"], root, env)
    assert done.returncode == 0, done.stdout + done.stderr

    (root / "posts/x.md").write_text("---\ntargets: [x]\n---\nHello\n")
    done = run_cli(["validate", "posts/x.md"], root, env)
    assert done.returncode == 1
    assert "posts/x.md:2:" in done.stdout and 'did you mean "twitter"' in done.stdout


# 11. An impossible date


def test_an_impossible_date_is_a_plain_error_at_its_line_beside_the_other_problems(repo):
    (repo / "posts/a.md").write_text(
        "---\ntargets: [bluesky]\nscheduledAt: 2027-02-30T09:00:00+01:00\n"
        "scheduleAt: 2027-02-01T09:00:00Z\n---\n" + "x" * 301 + "\n"
    )
    done = run_cli(["validate"], repo, OFFLINE)
    assert done.returncode == 1
    out = done.stdout
    assert "posts/a.md:3:" in out and "not a real date and time" in out
    assert "timestamp" not in out and "yaml" not in out.lower()
    assert "posts/a.md:4:" in out and 'did you mean "scheduledAt"' in out  # not hidden
    assert "bluesky.text.length" in out or "300" in out


# 12. `unpublish` of a post sent through letmepost


def test_unpublish_through_letmepost_gives_the_links_and_records_nothing(repo, sandbox):
    env = cli_env(sandbox.url, sandbox.live_key)
    path = repo / "posts/a.md"
    path.write_text("---\ntargets: [bluesky, twitter]\n---\nPart one\n---\nPart two\n")
    assert run_cli(["publish"], repo, env).returncode == 0
    targets = record(path)["targets"]
    path.write_text(path.read_text().replace("---\n", "---\nunpublish: true\n", 1))
    before = path.read_bytes()
    shown = run_cli(["plan"], repo, env)
    assert targets["twitter"]["uri"] in shown.stdout
    done = run_cli(["publish"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    for label in ("bluesky", "twitter"):  # web links: the post, and its thread's part
        for uri in (targets[label]["uri"], targets[label]["parts"][0]["uri"]):
            assert web_url(uri, label) in done.stdout and web_url(uri, label).startswith("https:")
    assert "0 target results recorded" in done.stdout and "2 to delete by hand" in done.stdout
    assert path.read_bytes() == before


# 13. Offline: nothing was sent, and the record says so


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_api_records_not_sent_and_the_next_run_sends_once(repo, sandbox):
    (repo / "posts/b.md").write_text("---\ntargets: [bluesky]\n---\nPart one\n---\nPart two\n")
    offline = cli_env(f"http://127.0.0.1:{_closed_port()}", sandbox.live_key)
    done = run_cli(["publish"], repo, offline)
    assert done.returncode == 1
    assert "nothing was sent" in done.stdout and "stopped" in done.stderr
    assert "Traceback" not in done.stderr and sandbox.live_key not in done.stdout + done.stderr
    for name in ("a.md", "b.md"):
        for target in record(repo / "posts" / name).get("targets", {}).values():
            assert target["status"] != "pending"  # known: not sent
            assert target["error"]["code"] == "not_sent"
    shown = run_cli(["plan"], repo, offline)
    assert "not sent earlier" in shown.stdout

    online = cli_env(sandbox.url, sandbox.live_key)
    again = run_cli(["publish"], repo, online)
    assert again.returncode == 0, again.stdout + again.stderr
    assert sorted(p["text"] for p in sandbox.posts()) == ["Hello", "Part one", "Part two"]
    assert record(repo / "posts/b.md")["targets"]["bluesky"]["parts"][0]["status"] == "published"


# 14. `--config` anywhere, helpful sub-command help, a thread's parts in `plan`


def test_config_works_before_and_after_the_command(tmp_path):
    root = make_repo(tmp_path / "r", {"a.md": post("[mine]", "Hi")}, config='posts = "posts"\n')
    (tmp_path / "other.toml").write_text('posts = "posts"\n[accounts]\nmine = "bluesky"\n')
    assert run_cli(["validate"], root, OFFLINE).returncode == 1  # `mine` is unknown here
    for args in (
        ["--config", "other.toml", "validate", "r/posts"],
        ["validate", "--config", "other.toml", "r/posts"],
        ["validate", "r/posts", "--config", "other.toml"],
    ):
        done = run_cli(args, tmp_path, OFFLINE)
        assert done.returncode == 0, (args, done.stdout + done.stderr)


def test_every_command_has_a_description_and_names_its_environment(repo):
    top = run_cli(["--help"], repo, OFFLINE).stdout
    commands = [
        "init", "new", "schedule", "validate", "plan", "publish", "sync", "accounts",
        "verify", "watch", "adopt", "ci", "schema", "completion",
    ]  # fmt: skip
    for name in commands:
        assert f"    {name}" in top
        shown = run_cli([name, "--help"], repo, OFFLINE)
        assert shown.returncode == 0, name
        _usage, _, rest = shown.stdout.partition("\n\n")
        assert rest.split("\n", 1)[0].strip(), f"{name}: no description"
        assert "environment" in shown.stdout, name
        assert "--config" in shown.stdout, name
    publish = run_cli(["publish", "--help"], repo, OFFLINE).stdout
    assert "LETMEPOST_API_KEY" in publish and "LETMEPOST_API_URL" in publish
    assert "PUBLISHER_APPVIEW_URL" in run_cli(["verify", "--help"], repo, OFFLINE).stdout


def test_plan_shows_a_five_part_thread_part_by_part(repo):
    parts = ["One 🧵", "Two", "Three", "Four", "Five, the end."]
    (repo / "posts/t.md").write_text("---\ntargets: [bluesky]\n---\n" + "\n---\n".join(parts))
    shown = run_cli(["plan", "posts/t.md"], repo, OFFLINE)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "bluesky: publish (new)" in line)
    assert "part 1/5: publish" in lines[at + 1] and '"One 🧵"' in lines[at + 1]
    for n in range(2, 6):
        assert f"part {n}/5: reply to part {n - 1}" in lines[at + n]
        assert f'"{parts[n - 1]}"' in lines[at + n]
    assert "1 target post and 4 thread replies to send" in shown.stdout


# 16. A draft without targets does not fail publish, nor the Action


def test_a_draft_without_targets_is_a_warning_not_a_failed_run(repo, sandbox):
    (repo / "posts/wip.md").write_text("---\ndraft: true\nmeta: {title: WIP}\n---\nSomeday\n")
    env = cli_env(sandbox.url, sandbox.live_key)
    done = run_cli(["publish"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [p["text"] for p in sandbox.posts()] == ["Hello"]
    checked = run_cli(["validate"], repo, OFFLINE)
    assert checked.returncode == 0
    assert "posts/wip.md:2:1: warning: targets.required" in checked.stdout
    assert run_cli(["validate", "--strict"], repo, OFFLINE).returncode == 1
    # once it is no draft, no targets is an error again
    (repo / "posts/wip.md").write_text("---\nmeta: {title: WIP}\n---\nSomeday\n")
    assert run_cli(["publish"], repo, env).returncode == 1


def test_the_action_stays_green_with_a_draft_without_targets(gh: Harness) -> None:
    before, after = gh.seed({"posts/wip.md": "---\ndraft: true\n---\nSomeday\n", **TWO})
    run = gh.run(gh.clone("ws", at=after), "push", gh.push_event(before, after))
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outputs["failed"] == "0"
