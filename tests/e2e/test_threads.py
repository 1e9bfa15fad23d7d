"""Threads through letmepost: a body with parts separated by lines holding only `---`.
Each part is its own request with its own key, a reply to the part before it (Bluesky
with the thread's root too), recorded as it lands; a rerun after kill -9 sends each
part once; parts added later go out alone. Judged by the sandbox's ground truth."""

from __future__ import annotations

import itertools
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import cli_env, make_repo, record, run_cli

THREAD = "---\ntargets: [bluesky, x, threads]\n---\n{parts}\n"


def thread(*parts: str, targets: str = "[bluesky, x, threads]") -> str:
    return f"---\ntargets: {targets}\n---\n" + "\n---\n".join(parts) + "\n"


def rows_by_text(sandbox) -> dict[tuple[str, str], list[dict]]:
    out: dict[tuple[str, str], list[dict]] = {}
    for row in sandbox.posts():
        out.setdefault((row["platform"], row["text"]), []).append(row)
    return out


def assert_linked(sandbox, parts: list[str], platforms=("bluesky", "twitter", "threads")):
    """Every part once per platform, each a reply to the part before (and Bluesky's to
    the root, part 1)."""
    rows = rows_by_text(sandbox)
    for platform in platforms:
        chain = []
        for text in parts:
            found = rows.get((platform, text), [])
            assert len(found) == 1, (platform, text, found)
            chain.append(found[0])
        for before, row in itertools.pairwise(chain):
            opts = row["options"] or {}
            if platform == "twitter":  # the platform's own id of the post before
                assert opts["replyToTweetId"] == before["cid"]
            elif platform == "threads":
                assert opts["replyToId"] == before["cid"]
            else:
                assert (opts["replyToUri"], opts["replyRootUri"]) == (
                    before["uri"],
                    chain[0]["uri"],
                )
        assert not (chain[0]["options"] or {}).get("replyToUri")


def test_a_thread_goes_out_part_by_part_each_replying_to_the_one_before(tmp_path, sandbox):
    parts = ["Part one of three.", "Part two, a reply.", "Part three, the end."]
    repo = make_repo(tmp_path, {"t.md": thread(*parts)})
    env = cli_env(sandbox.url, sandbox.live_key)
    plan = json.loads(run_cli(["plan", "--json"], repo, env).stdout)
    steps = plan["files"][0]["steps"]
    assert [s["step"] for s in steps] == ["create"] + ["part"] * 6
    dry = json.loads(run_cli(["publish", "--dry-run", "--json"], repo, env).stdout)
    assert len(dry["requests"]) == 7 and len({r["idempotencyKey"] for r in dry["requests"]}) == 7

    done = run_cli(["publish"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_linked(sandbox, parts)
    rec = record(repo / "posts/t.md")
    for target in rec["targets"].values():
        assert [p["status"] for p in target["parts"]] == ["published", "published"]
    again = run_cli(["publish"], repo, env)
    assert again.returncode == 0 and "nothing to publish" in again.stdout
    assert len(sandbox.posts()) == 9


def test_parts_added_to_a_published_thread_go_out_alone_as_replies(tmp_path, sandbox):
    repo = make_repo(tmp_path, {"t.md": thread("Live thread, part one.", "Part two.")})
    path = repo / "posts/t.md"
    env = cli_env(sandbox.url, sandbox.live_key)
    assert run_cli(["publish"], repo, env).returncode == 0
    path.write_text(path.read_text().rstrip("\n") + "\n---\nPart three, later.\n")
    plan = json.loads(run_cli(["plan", "--json"], repo, env).stdout)
    assert {t["action"] for t in plan["files"][0]["targets"]} == {"continue"}
    done = run_cli(["publish"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_linked(sandbox, ["Live thread, part one.", "Part two.", "Part three, later."])
    assert len(sandbox.posts()) == 9


def test_an_edited_published_part_follows_the_edit_policy(tmp_path, sandbox):
    repo = make_repo(tmp_path, {"t.md": thread("First words.", "Second words.")})
    path = repo / "posts/t.md"
    env = cli_env(sandbox.url, sandbox.live_key)
    assert run_cli(["publish"], repo, env).returncode == 0
    path.write_text(path.read_text().replace("Second words.", "Second words, fixed."))
    done = run_cli(["publish"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "part 2 edited after publishing: not reposted" in done.stdout
    assert len(sandbox.posts()) == 6


def test_a_thread_to_a_platform_without_replies_is_an_error_at_that_target(tmp_path):
    text = (
        "---\ntargets:\n  - bluesky\n  - linkedin\n  - platform: facebook\n"
        "    text: One post for Facebook.\nfirstComment: see below\n---\nOne.\n---\nTwo.\n"
    )
    repo = make_repo(tmp_path, {"t.md": text})
    done = run_cli(["validate"], repo, cli_env("http://127.0.0.1:9", None))
    out = done.stdout + done.stderr
    assert done.returncode == 1
    assert "posts/t.md:4:5: thread.no_replies: linkedin" in out
    assert "facebook" not in out.split("thread.no_replies")[-1].split("\n")[0]
    assert "thread.first_comment" in out


def test_empty_parts_and_per_part_limits_are_errors_at_their_lines(tmp_path):
    repo = make_repo(
        tmp_path,
        {
            "empty.md": "---\ntargets: [bluesky]\n---\nOne.\n---\n\n---\nThree.\n",
            "long.md": thread("Short.", "word " * 70, targets="[bluesky]"),
        },
    )
    done = run_cli(["validate"], repo, cli_env("http://127.0.0.1:9", None))
    out = done.stdout + done.stderr
    assert "posts/empty.md:5:1: body.part_empty" in out
    assert "posts/long.md:6:1: bluesky.text.max_graphemes: bluesky: part 2:" in out


def test_kill_9_mid_thread_then_rerun_sends_every_part_once_and_links_them(tmp_path, sandbox):
    parts = [f"Thread part {i} of five." for i in range(1, 6)]
    posts = {f"t{i}.md": thread(*(f"{p} (thread {i})" for p in parts)) for i in range(3)}
    repo = make_repo(tmp_path, posts)
    env = cli_env(sandbox.url, sandbox.live_key)
    sandbox.set_faults(latency_ms=400)
    rng = random.Random(20261201)
    interrupted = 0
    for _ in range(8):
        proc = subprocess.Popen(
            [sys.executable, "-m", "publisher", "publish"],
            cwd=repo,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.5, 2.0))
        interrupted += proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert interrupted >= 4, interrupted  # most kills landed in the middle of a run
    sandbox.clear_faults()
    final = run_cli(["publish"], repo, env, timeout=300)
    assert final.returncode == 0, final.stdout + final.stderr
    for i in range(3):
        assert_linked(sandbox, [f"{p} (thread {i})" for p in parts])
    assert len(sandbox.posts()) == 3 * 3 * 5
    assert not list(Path(repo / "posts").glob(".*.tmp"))


def test_a_scheduled_thread_queues_part_one_and_sync_sends_the_rest(tmp_path, sandbox):
    text = (
        "---\ntargets: [bluesky, x]\nscheduledAt: 2031-01-01T09:00:00Z\n---\n"
        "Scheduled part one.\n---\nScheduled part two.\n"
    )
    repo = make_repo(tmp_path, {"s.md": text})
    env = cli_env(sandbox.url, sandbox.live_key)
    first = run_cli(["publish"], repo, env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert {r["status"] for r in sandbox.posts()} == {"queued"} and len(sandbox.posts()) == 2
    early = run_cli(["sync"], repo, env)  # not out yet: the rest waits
    assert early.returncode == 0, early.stdout + early.stderr
    assert len(sandbox.posts()) == 2
    sandbox.control("POST", "clock", {"set": "2031-01-01T09:00:00Z"})
    synced = run_cli(["sync"], repo, env)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert_linked(sandbox, ["Scheduled part one.", "Scheduled part two."], ("bluesky", "twitter"))
    again = run_cli(["sync"], repo, env)
    assert again.returncode == 0 and len(sandbox.posts()) == 4


def test_reply_to_and_quote_an_x_post(tmp_path, sandbox):
    repo = make_repo(tmp_path, {"first.md": "---\ntargets: [x]\n---\nThe original.\n"})
    env = cli_env(sandbox.url, sandbox.live_key)
    assert run_cli(["publish"], repo, env).returncode == 0
    original = record(repo / "posts/first.md")["targets"]["x"]["uri"]
    assert original.startswith("https://x.com/")
    status = original.rsplit("/", 1)[-1]
    (repo / "posts/reply.md").write_text(
        f"---\ntargets: [x]\nreplyTo: {original}\n---\nAn answer.\n"
    )
    (repo / "posts/quote.md").write_text(
        f"---\ntargets: [x]\nquote: https://twitter.com/someone/status/{status}\n---\nQuoted.\n"
    )
    plan = run_cli(["plan"], repo, env)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    done = run_cli(["publish"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {r["text"]: r for r in sandbox.posts()}
    assert rows["An answer."]["options"]["replyToTweetId"] == status
    assert rows["Quoted."]["options"]["quoteTweetId"] == status
    assert rows["An answer."]["status"] == rows["Quoted."]["status"] == "published"


def test_reply_targets_on_another_platform_are_errors_unless_they_have_their_own_text(tmp_path):
    text = (
        "---\ntargets:\n  - x\n  - bluesky\n  - platform: threads\n    text: Separately.\n"
        "replyTo: https://x.com/i/status/1\n---\nHi.\n"
    )
    quote = "---\ntargets: [bluesky]\nquote: at://did:plc:abc/app.bsky.feed.post/3k\n---\nQ.\n"
    repo = make_repo(tmp_path, {"r.md": text, "q.md": quote})
    done = run_cli(["validate"], repo, cli_env("http://127.0.0.1:9", None))
    out = done.stdout + done.stderr
    assert done.returncode == 1
    assert "posts/r.md:4:5: replyTo.platform_mismatch: replyTo is an X post" in out
    assert "threads" not in out.split("replyTo.platform_mismatch")[-1].split("\n")[0]
    assert "posts/q.md:2:11: quote.bluesky_letmepost" in out


def test_thread_auto_splits_per_platform_at_sentence_boundaries(tmp_path, sandbox):
    from publisher.rules import limits
    from publisher.rules.split import split_text

    body = "A short opening.\n\n" + " ".join(
        f"Sentence {i} carries https://example.org/{i} and #tag{i}." for i in range(14)
    )
    repo = make_repo(tmp_path, {"a.md": f"---\ntargets: [bluesky, x]\nthread: auto\n---\n{body}\n"})
    env = cli_env(sandbox.url, sandbox.live_key)
    done = run_cli(["publish"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    for platform in ("bluesky", "twitter"):
        parts = split_text(body, platform)
        assert len(parts) > 1 and all(not limits.measure(platform, p).over for p in parts)
        assert " ".join(" ".join(parts).split()) == " ".join(body.split())  # nothing lost
        assert all(p.rstrip().endswith((".", "!", "?")) for p in parts)  # whole sentences
        assert_linked(sandbox, parts, (platform,))
    counts = {p: len(split_text(body, p)) for p in ("bluesky", "twitter")}
    assert len(sandbox.posts()) == sum(counts.values())


def test_watch_shows_a_thread_part_by_part_with_a_meter_each(tmp_path, sandbox):
    from tests.e2e.test_watch import WatchProcess, save

    repo = make_repo(tmp_path, {})
    watcher = WatchProcess(repo, ["--no-publish"], cli_env(sandbox.url, sandbox.live_key))
    try:
        watcher.ready()
        save(repo / "posts/t.md", thread("Opening words.", "word " * 70, targets="[bluesky]"))
        watcher.wait_for(r"^posts/t\.md: bluesky part 2/2: 349/300 graphemes OVER")
        watcher.wait_for(r"^posts/t\.md:6:1: bluesky\.text\.max_graphemes: bluesky: part 2:")
        save(repo / "posts/r.md", "---\ntargets: [x]\nreplyTo: https://x.com/i/status/7\n---\nHi\n")
        watcher.wait_for(r"^posts/r\.md: x \(twitter\) replies to https://x\.com/i/status/7")
    finally:
        watcher.close()


def test_a_lost_part_answer_then_an_edit_is_blocked_not_posted_twice(tmp_path, sandbox):
    """Found in review: a part sent (answer lost), then edited, got a 409 body_mismatch
    recorded as an ordinary failure, and the next run posted it again."""
    from publisher import identity
    from publisher.config import load_config
    from publisher.validate import load_post
    from publisher.writeback import set_published

    repo = make_repo(tmp_path, {"t.md": thread("Part one.", "Part two, first.", targets="[x]")})
    path = repo / "posts/t.md"
    env = cli_env(sandbox.url, sandbox.live_key)
    assert run_cli(["publish"], repo, env).returncode == 0
    # the state a crash right after part 2's request left: pending under its real key
    block = record(path)
    loaded = load_post(path, load_config(repo))
    assert loaded.hash is not None
    key = identity.idempotency_key("live", loaded.hash, ["x#part2"], 1, loaded.identity)
    block["targets"]["x"]["parts"] = [{"status": "pending", "key": key, "attempt": 1}]
    path.write_bytes(set_published(path.read_bytes(), block, path=str(path)))
    path.write_text(path.read_text().replace("Part two, first.", "Part two, edited."))

    second = run_cli(["publish"], repo, env)
    assert second.returncode == 1  # said, and blocked
    third = run_cli(["publish"], repo, env)
    assert third.returncode == 1 and "release: {x#part2: 1}" in third.stdout
    texts = [r["text"] for r in sandbox.posts()]
    assert texts.count("Part two, first.") == 1 and "Part two, edited." not in texts

    # checked the platform: release it in the file
    path.write_text(path.read_text().replace("targets: [x]", "release: {x#part2: 1}\ntargets: [x]"))
    fourth = run_cli(["publish"], repo, env)
    assert fourth.returncode == 0, fourth.stdout + fourth.stderr
    assert [r["text"] for r in sandbox.posts()].count("Part two, edited.") == 1


def test_a_refused_part_is_not_sent_again_until_it_changes(tmp_path, sandbox):
    from publisher.writeback import set_published

    repo = make_repo(tmp_path, {"t.md": thread("One.", "Two.", targets="[threads]")})
    path = repo / "posts/t.md"
    env = cli_env(sandbox.url, sandbox.live_key)
    assert run_cli(["publish"], repo, env).returncode == 0
    block = record(path)
    part = block["targets"]["threads"]["parts"][0]
    block["targets"]["threads"]["parts"] = [
        {
            "status": "rejected",
            "hash": part["hash"],
            "key": "pub1-l-refused",
            "attempt": 1,
            "error": {"code": "platform_rejected", "message": "no"},
        }
    ]
    path.write_bytes(set_published(path.read_bytes(), block, path=str(path)))
    rows = len(sandbox.posts())
    for _ in range(2):
        again = run_cli(["publish"], repo, env)
        assert again.returncode == 1 and "part 2: rejected with platform_rejected" in again.stdout
    assert len(sandbox.posts()) == rows  # a definite refusal is not retried as it is
    forced = run_cli(["publish", "--retry-failed"], repo, env)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert len(sandbox.posts()) == rows + 1
