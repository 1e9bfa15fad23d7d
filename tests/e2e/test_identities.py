"""Identities any run derives alike (issue 17, point 1), through letmepost: a post's
Idempotency-Keys cover every part of its thread and its identity (`id:` or its path),
so two files never share a key. Judged by the sandbox's ground truth."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import cli_env, make_repo, record, run_cli


def thread(*parts: str, targets: str = "[x]", extra: str = "") -> str:
    return f"---\ntargets: {targets}\n{extra}---\n" + "\n---\n".join(parts) + "\n"


def texts(sandbox) -> list[str]:
    return [row["text"] for row in sandbox.posts()]


def test_two_threads_opening_alike_are_two_posts_not_blocked_as_identical(tmp_path, sandbox):
    repo = make_repo(
        tmp_path,
        {
            "a.md": thread("Big news today.", "Part two of A."),
            "b.md": thread("Big news today.", "Part two of B."),
        },
    )
    env = cli_env(sandbox.url, sandbox.live_key)
    plan = run_cli(["plan"], repo, env)
    assert "same content" not in plan.stdout, plan.stdout
    done = run_cli(["publish"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    got = texts(sandbox)
    assert sorted(got) == sorted(["Big news today."] * 2 + ["Part two of A.", "Part two of B."])
    a, b = record(repo / "posts/a.md"), record(repo / "posts/b.md")
    assert a["targets"]["x"]["postId"] != b["targets"]["x"]["postId"]
    # each thread's reply answers its own opening
    rows = {r["id"]: r for r in sandbox.posts()}
    for rec in (a, b):
        part2 = rows[rec["targets"]["x"]["parts"][0]["postId"]]
        assert part2["options"]["replyToTweetId"] == rows[rec["targets"]["x"]["postId"]]["cid"]
    assert run_cli(["publish"], repo, env).returncode == 0
    assert len(sandbox.posts()) == 4  # a second run sends nothing


def test_a_new_thread_opening_like_a_recent_one_is_posted_not_replayed(tmp_path, sandbox):
    repo = make_repo(tmp_path, {"old.md": thread("Same opening line.", "Old reply.")})
    env = cli_env(sandbox.url, sandbox.live_key)
    assert run_cli(["publish"], repo, env).returncode == 0
    (repo / "posts/new.md").write_text(thread("Same opening line.", "New reply."))
    done = run_cli(["publish"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(texts(sandbox)) == sorted(
        ["Same opening line.", "Same opening line.", "Old reply.", "New reply."]
    )
    old, new = record(repo / "posts/old.md"), record(repo / "posts/new.md")
    assert old["targets"]["x"]["postId"] != new["targets"]["x"]["postId"]


def test_two_files_with_one_id_are_blocked_and_say_why(tmp_path, sandbox):
    repo = make_repo(
        tmp_path,
        {
            "a.md": thread("First words.", extra="id: launch\n"),
            "b.md": thread("Other words.", extra="id: launch\n"),
            "c.md": thread("Third words.", extra="id: other\n"),
        },
    )
    env = cli_env(sandbox.url, sandbox.live_key)
    done = run_cli(["publish"], repo, env)
    assert "the same `id:` as posts/b.md" in done.stdout, done.stdout
    assert texts(sandbox) == ["Third words."]


def test_identical_files_are_still_held_back_as_a_likely_copy(tmp_path, sandbox):
    repo = make_repo(tmp_path, {"a.md": thread("Copied."), "b.md": thread("Copied.")})
    done = run_cli(["publish"], repo, cli_env(sandbox.url, sandbox.live_key))
    assert "same content as" in done.stdout
    assert texts(sandbox) == []


# -- records written before identities keep working ------------------------------------

FIXTURES = Path(__file__).parents[1] / "fixtures" / "records"
DIRECT_CONFIG = (
    'posts = "posts"\n\n[accounts.me]\nbluesky = "alice.test"\npds = "http://127.0.0.1:4999"\n'
)


def _plan(repo: Path, env: dict[str, str], *args: str) -> dict:
    done = run_cli(["plan", "--json", *args], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def test_todays_thread_records_send_nothing_and_a_lost_part_resends_its_recorded_key(tmp_path):
    repo = make_repo(tmp_path, {})
    for name in ("today-sandbox-thread.md", "today-sandbox-thread-part-pending.md"):
        (repo / "posts" / name).write_bytes((FIXTURES / name).read_bytes())
    plan = _plan(repo, cli_env("http://127.0.0.1:9", None), "--sandbox")
    files = {f["path"]: f for f in plan["files"]}
    done = files["posts/today-sandbox-thread.md"]
    assert {t["action"] for t in done["targets"]} == {"none"} and done["steps"] == []
    lost = files["posts/today-sandbox-thread-part-pending.md"]
    recorded = record(repo / "posts/today-sandbox-thread-part-pending.md")
    key = recorded["targets"]["x"]["parts"][1]["key"]
    assert [(s["step"], s.get("key")) for s in lost["steps"]] == [("part", key)]


def test_a_direct_record_counts_whatever_letmepost_url_it_was_made_under(tmp_path):
    """Made while LETMEPOST_API_URL named a server on this machine; read with the real
    API's URL (and in a sandbox run): published, nothing to send."""
    repo = make_repo(tmp_path, {}, DIRECT_CONFIG)
    path = repo / "posts/today-direct.md"
    path.write_bytes((FIXTURES / "today-direct.md").read_bytes())
    for url in ("https://api.letmepost.dev", "http://127.0.0.1:9"):
        plan = _plan(repo, cli_env(url, None))
        (target,) = plan["files"][0]["targets"]
        assert (target["action"], target["reason"]) == ("none", "published"), (url, target)
    done = run_cli(["publish"], repo, cli_env("https://api.letmepost.dev", None))
    assert done.returncode == 0 and "nothing to publish" in done.stdout, done.stdout + done.stderr
    assert path.read_bytes() == (FIXTURES / "today-direct.md").read_bytes()


def test_a_direct_record_survives_a_run_that_replaces_another_servers_block(tmp_path, sandbox):
    """The block was written by a sandbox run (it does not count live): the live run
    publishes the letmepost target anew and keeps the direct record as it was."""
    config = DIRECT_CONFIG.replace("[accounts.me]", '[accounts]\nx = "twitter"\n\n[accounts.me]')
    repo = make_repo(tmp_path, {}, config)
    path = repo / "posts/mixed.md"
    text = (FIXTURES / "today-direct.md").read_text()
    text = text.replace("targets: [me]", "targets: [me, x]").replace(
        "  env: live\n  api: http://127.0.0.1:4999\n", "  env: sandbox\n  api: sandbox\n"
    )
    path.write_text(text)
    direct = record(path)["targets"]["me"]
    done = run_cli(["publish"], repo, cli_env(sandbox.url, sandbox.live_key))
    assert done.returncode == 0, done.stdout + done.stderr
    after = record(path)
    assert after["env"] == "live" and after["targets"]["me"] == direct
    assert after["targets"]["x"]["status"] == "published"
    assert [r["platform"] for r in sandbox.posts()] == ["twitter"]
