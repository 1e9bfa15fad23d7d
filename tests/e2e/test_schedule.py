"""`publisher schedule`: the calendar from the files and the recorded queue."""

from __future__ import annotations

import json

from tests.helpers import cli_env, make_repo, post, record, run_cli

CONFIG = 'posts = "posts"\n\n[accounts]\nx = "twitter"\n'


def test_schedule_lists_planned_and_queued_targets_by_day(tmp_path, sandbox):
    repo = make_repo(
        tmp_path,
        {
            "queued.md": post("[bluesky]", "Goes out first.", scheduledAt="2031-02-01T10:00:00Z"),
            "later.md": post(
                "[x, threads]", "Goes out later.", scheduledAt="2031-02-03T08:30:00+01:00"
            ),
            "draft.md": post(
                "[bluesky]", "Not yet.", scheduledAt="2031-02-02T10:00:00Z", draft="true"
            ),
            "now.md": post("[bluesky]", "No schedule: not in the calendar."),
        },
        config=CONFIG,
    )
    env = cli_env(sandbox.url, sandbox.live_key, TZ="UTC")
    published = run_cli(["publish", "posts/queued.md"], repo, env)
    assert published.returncode == 0, published.stdout + published.stderr
    assert record(repo / "posts/queued.md")["targets"]["bluesky"]["status"] == "queued"
    # A target added after the post was queued is planned; the queued one stays listed.
    text = (repo / "posts/queued.md").read_text().replace("[bluesky]", "[bluesky, x]", 1)
    (repo / "posts/queued.md").write_text(text)

    done = run_cli(["schedule", "--json"], repo, env)
    assert done.returncode == 0, done.stderr
    items = [
        (i["at"], i["target"], i["file"], i["status"]) for i in json.loads(done.stdout)["items"]
    ]
    assert items == [
        ("2031-02-01T10:00:00Z", "bluesky", "posts/queued.md", "queued"),
        ("2031-02-01T10:00:00Z", "x", "posts/queued.md", "planned"),
        ("2031-02-03T07:30:00Z", "threads", "posts/later.md", "planned"),
        ("2031-02-03T07:30:00Z", "x", "posts/later.md", "planned"),
    ]
    table = run_cli(["schedule"], repo, env)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "2031-02-01 Saturday"
    assert "2031-02-03 Monday" in lines
    assert "draft.md" not in table.stdout and "now.md" not in table.stdout
    row = next(line for line in lines if "bluesky" in line)
    assert "10:00 +0000" in row and "queued" in row


def test_schedule_of_a_queued_post_whose_file_is_now_a_draft_still_shows_it(tmp_path, sandbox):
    repo = make_repo(
        tmp_path,
        {"q.md": post("[bluesky]", "Queued.", scheduledAt="2031-02-01T10:00:00Z")},
        config=CONFIG,
    )
    env = cli_env(sandbox.url, sandbox.live_key, TZ="UTC")
    assert run_cli(["publish"], repo, env).returncode == 0
    path = repo / "posts/q.md"
    path.write_text(path.read_text().replace("---\n", "---\ndraft: true\n", 1))
    done = run_cli(["schedule", "--json"], repo, env)
    assert done.returncode == 0, done.stderr
    [item] = json.loads(done.stdout)["items"]
    assert item["status"] == "queued" and "cancels it" in item["note"]


def test_schedule_names_invalid_posts_and_exits_1(tmp_path):
    repo = make_repo(
        tmp_path,
        {
            "ok.md": post("[bluesky]", "Fine.", scheduledAt="2031-02-01T10:00:00Z"),
            "bad.md": post("[bluesky]", "Typo.", scheduleAt="2031-02-01T10:00:00Z"),
        },
        config=CONFIG,
    )
    done = run_cli(["schedule"], repo, cli_env("http://127.0.0.1:9", None, TZ="UTC"))
    assert done.returncode == 1
    assert "posts/bad.md" in done.stderr and "Traceback" not in done.stderr
    assert "posts/ok.md" in done.stdout


def test_schedule_of_a_missing_path_is_a_usage_error(tmp_path):
    repo = make_repo(tmp_path, {}, config=CONFIG)
    done = run_cli(["schedule", "nope"], repo, cli_env("http://127.0.0.1:9", None))
    assert done.returncode == 2 and "nope" in done.stderr
