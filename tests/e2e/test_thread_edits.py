"""Threads edited after publishing, over the sandbox's real HTTP: a part inserted,
removed, moved, edited or added; what `plan` says is what `publish` sends (counted on
the server), every post on the server is recorded in the file (`uri`, `parts` or
`earlier`), and none is posted twice. A pending part is resolved before anything else
happens to its thread; a request left pending is never sent again as new."""

from __future__ import annotations

import itertools
import json
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import cli_env, make_repo, record, run_cli

BASE = ["Edit me, part one.", "Part two stays.", "Part three moves about.", "Part four ends."]


def thread(parts: list[str], targets: str = "[x]", **keys: str) -> str:
    extra = "".join(f"{k}: {v}\n" for k, v in keys.items())
    return f"---\ntargets: {targets}\n{extra}---\n" + "\n---\n".join(parts) + "\n"


def replace_body(path: Path, parts: list[str]) -> None:
    text = path.read_text()
    head = text[: text.index("\n---\n", 4) + 5]
    path.write_text(head + "\n---\n".join(parts) + "\n")


def parent_of(row: dict[str, Any]) -> str | None:
    opts = row.get("options") or {}
    return opts.get("replyToTweetId") or opts.get("replyToId") or opts.get("replyToUri")


def recorded_uris(block: dict[str, Any]) -> list[str]:
    out = []
    for target in block.get("targets", {}).values():
        out += [target.get("uri"), *(p.get("uri") for p in target.get("parts") or [])]
        out += target.get("earlier") or []
    return [u for u in out if u]


def judge(sandbox, path: Path) -> None:
    """0 duplicates (the same text twice in reply to the same post), 0 unrecorded."""
    rows = sandbox.posts()
    seen: dict[tuple[str, str, str | None], int] = {}
    for row in rows:
        key = (row["platform"], row["text"], parent_of(row))
        seen[key] = seen.get(key, 0) + 1
    assert {k: n for k, n in seen.items() if n > 1} == {}
    uris = recorded_uris(record(path))
    assert sorted(uris) == sorted(set(uris))  # each recorded once
    assert sorted(r["uri"] for r in rows) == sorted(uris)  # every post recorded


def chain(sandbox, path: Path, label: str) -> list[str]:
    """The texts of the thread as the record has it now, checked link by link: each
    part replies to the one before it."""
    rows = {r["uri"]: r for r in sandbox.posts()}
    target = record(path)["targets"][label]
    uris = [target["uri"], *(p["uri"] for p in target.get("parts") or [])]
    found = [rows[u] for u in uris]
    for before, row in itertools.pairwise(found):
        assert parent_of(row) in (before["cid"], before["uri"]), (before, row)
    return [r["text"] for r in found]


def planned_posts(plan: dict[str, Any]) -> int:
    return sum(
        len(s["targets"])
        for f in plan["files"]
        for s in f["steps"]
        if s["step"] in ("create", "part")
    )


def said_posts(out: str) -> int:
    """How many posts the plan table says a run sends."""
    found = re.search(r"(\d+) target posts?(?: and (\d+) thread repl(?:y|ies))? to send", out)
    assert found, out
    return int(found.group(1)) + int(found.group(2) or 0)


EDITS = {  # the file's parts, what `plan` says, how the thread reads under `keep`
    "insert": (
        [BASE[0], BASE[1], "A part inserted.", BASE[2], BASE[3]],
        "part 3 inserted",
        BASE,
    ),
    "remove": ([BASE[0], BASE[1], BASE[3]], "part 3 removed", BASE),
    "reorder": ([BASE[0], BASE[2], BASE[1], BASE[3]], "moved (was part", BASE),
    "edit": ([BASE[0], BASE[1], "Part three, edited.", BASE[3]], "part 3 edited", BASE),
    "append": ([*BASE, "Part five, added later."], "new part", [*BASE, "Part five, added later."]),
    "remove-last": (BASE[:3], "part 4 removed", BASE),
    "edit-then-append": (
        [BASE[0], "Part two, edited.", BASE[2], BASE[3], "Part five."],
        "part 2 edited",
        [*BASE, "Part five."],  # the edit kept, the part added at the end sent
    ),
}


@pytest.mark.parametrize("policy", ["keep", "repost"])
@pytest.mark.parametrize("edit", list(EDITS))
def test_each_edit_to_a_published_thread_does_what_the_plan_says(
    tmp_path: Path, sandbox, edit: str, policy: str
) -> None:
    keys = {"onEdit": policy} if policy == "repost" else {}  # keep: the default
    repo = make_repo(tmp_path, {"t.md": thread(BASE, **keys)})
    path = repo / "posts/t.md"
    env = cli_env(sandbox.url, sandbox.live_key)
    assert run_cli(["publish"], repo, env).returncode == 0
    assert len(sandbox.posts()) == 4
    parts, says, kept = EDITS[edit]
    replace_body(path, parts)

    shown = run_cli(["plan"], repo, env)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert says in shown.stdout, shown.stdout
    plan = json.loads(run_cli(["plan", "--json"], repo, env).stdout)
    expected = planned_posts(plan)
    assert said_posts(shown.stdout) == expected
    (target,) = plan["files"][0]["targets"]
    if edit != "append":  # part by part: what changed, and whether it is sent
        assert target["parts"] and all(
            p["sent"] == (p["part"] in target.get("sendsParts", [])) for p in target["parts"]
        )

    done = run_cli(["publish"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(sandbox.posts()) == 4 + expected  # what the plan said, no more, no less
    judge(sandbox, path)
    resends = policy == "repost" and edit != "remove-last"
    if resends:
        assert chain(sandbox, path, "x") == parts  # the thread now reads as the file
        assert expected >= 1
    else:
        assert chain(sandbox, path, "x") == kept  # as published, and parts added at its end
        assert expected == len(kept) - 4
        if kept != parts:
            assert "not reposted" in shown.stdout or "stay on the platform" in shown.stdout
    again = run_cli(["publish"], repo, env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(sandbox.posts()) == 4 + expected  # nothing more, ever
    if resends and not edit.startswith("append"):
        assert len(record(path)["targets"]["x"]["earlier"]) >= 1  # the replaced parts


def test_an_inserted_part_reposted_on_bluesky_and_threads_links_the_new_chain(
    tmp_path: Path, sandbox
) -> None:
    repo = make_repo(
        tmp_path, {"t.md": thread(BASE[:3], targets="[bluesky, threads]", onEdit="repost")}
    )
    path = repo / "posts/t.md"
    env = cli_env(sandbox.url, sandbox.live_key)
    assert run_cli(["publish"], repo, env).returncode == 0
    old = record(path)
    parts = [BASE[0], "Inserted second.", BASE[1], BASE[2]]
    replace_body(path, parts)
    done = run_cli(["publish"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(sandbox.posts()) == 6 + 2 * 3
    judge(sandbox, path)
    for label in ("bluesky", "threads"):
        assert chain(sandbox, path, label) == parts
        target = record(path)["targets"][label]
        assert target["uri"] == old["targets"][label]["uri"]  # part 1 is the same post
        assert target["earlier"] == [p["uri"] for p in old["targets"][label]["parts"]]


def test_a_pending_part_is_resolved_before_a_typo_fix_in_part_one(tmp_path: Path, sandbox) -> None:
    """Found in review: kill -9 while part 2 was in flight, then a typo fix in part 1:
    every later run said "kept" and part 2's result was never recorded."""
    from publisher.writeback import set_published

    parts = ["Typo in part one, teh end.", "Part two went out unrecorded."]
    repo = make_repo(tmp_path, {"t.md": thread(parts, targets="[x, bluesky]")})
    path = repo / "posts/t.md"
    env = cli_env(sandbox.url, sandbox.live_key)
    assert run_cli(["publish"], repo, env).returncode == 0
    # What kill -9 right after part 2's request left: the server stored it, and the
    # file says `pending` under the key it went out under.
    from publisher import identity
    from publisher.config import load_config
    from publisher.validate import load_post

    loaded = load_post(path, load_config(repo))
    post_hash, ident = loaded.hash, loaded.identity
    block = record(path)
    for label, target in block["targets"].items():
        two = target["parts"][0]
        key = identity.idempotency_key("live", post_hash, [f"{label}#part2"], 1, ident)
        target["parts"] = [{"status": "pending", "hash": two["hash"], "key": key}]
    path.write_bytes(set_published(path.read_bytes(), block, path=str(path)))
    stored = sorted(r["uri"] for r in sandbox.posts())
    path.write_text(path.read_text().replace("teh end", "the end") + "---\nPart three, new.\n")

    plan = run_cli(["plan"], repo, env)
    assert "part 2: a request was started but its result was not recorded" in plan.stdout
    assert "1 new part to post as replies" in plan.stdout
    assert "0 target posts and 2 thread replies to send (2 lost answers to learn first)" in (
        plan.stdout
    )
    done = run_cli(["publish"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    now = sorted(r["uri"] for r in sandbox.posts())
    assert len(now) == 6 and set(stored) <= set(now)  # part 2 adopted, part 3 sent once
    for target in record(path)["targets"].values():
        assert [p["status"] for p in target["parts"]] == ["published", "published"]
        assert target["parts"][0]["uri"] in stored
    then = run_cli(["plan"], repo, env)
    assert "kept (edited after publishing: not reposted" in then.stdout  # and only then
    for label in ("x", "bluesky"):
        assert chain(sandbox, path, label)[1:] == [parts[1], "Part three, new."]
    judge(sandbox, path)


def test_a_request_for_two_targets_left_pending_then_one_removed_is_never_posted_again(
    tmp_path: Path, sandbox
) -> None:
    """Found in review: kill -9 during a [twitter, bluesky] request, then bluesky removed
    from targets: both results were lost, and the offered `release:` posted twitter again."""
    from publisher.writeback import set_published

    repo = make_repo(tmp_path, {"a.md": thread(["One request, two targets."], "[x, bluesky]")})
    path = repo / "posts/a.md"
    env = cli_env(sandbox.url, sandbox.live_key)
    assert run_cli(["publish"], repo, env).returncode == 0
    stored = sorted(r["uri"] for r in sandbox.posts())
    block = record(path)
    # the answer was lost: both `pending` under the request's real key (the server
    # remembers it for 24 h)
    from publisher import identity
    from publisher.config import load_config
    from publisher.validate import load_post

    loaded = load_post(path, load_config(repo))
    post_hash, ident = loaded.hash, loaded.identity
    key = identity.idempotency_key("live", post_hash, ["x", "bluesky"], 1, ident)
    for target in block["targets"].values():
        target.update(status="pending", key=key, attempt=1)
        for gone in ("uri", "postId", "cid"):
            target.pop(gone, None)
    path.write_bytes(set_published(path.read_bytes(), block, path=str(path)))
    path.write_text(path.read_text().replace("targets: [x, bluesky]", "targets: [x]"))

    for _ in range(2):
        held = run_cli(["publish"], repo, env)
        assert held.returncode == 1, held.stdout + held.stderr
        assert "put `bluesky` back in `targets`" in held.stdout
        assert "release:" not in held.stdout  # nothing offered that could post twice
        assert sorted(r["uri"] for r in sandbox.posts()) == stored
    path.write_text(path.read_text().replace("targets: [x]", "targets: [x, bluesky]"))
    done = run_cli(["publish"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(r["uri"] for r in sandbox.posts()) == stored  # answers replayed
    path.write_text(path.read_text().replace("targets: [x, bluesky]", "targets: [x]"))
    quiet = run_cli(["publish"], repo, env)
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    judge(sandbox, path)  # both results recorded (bluesky's too: it went out)


def test_when_part_one_fails_the_message_names_the_command_that_sends_the_rest(
    tmp_path: Path, sandbox
) -> None:
    """Found in review: it said "`publisher sync` sends them then", and sync sent nothing."""
    repo = make_repo(tmp_path, {"t.md": thread(["Flaky opening.", "The rest."], "[bluesky]")})
    env = cli_env(sandbox.url, sandbox.live_key)
    sandbox.set_faults(bluesky={"code": "platform_unavailable", "count": 1})
    first = run_cli(["publish"], repo, env)
    assert first.returncode == 1
    assert (
        "`publisher sync`" not in first.stdout and "`publisher publish` sends them" in first.stdout
    )
    synced = run_cli(["sync"], repo, env)
    assert synced.returncode == 0 and len(sandbox.posts()) == 1  # sync is not the way
    done = run_cli(["publish"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert chain(sandbox, repo / "posts/t.md", "bluesky") == ["Flaky opening.", "The rest."]


def test_unpublish_of_a_reposted_thread_names_every_post_it_made(tmp_path: Path, sandbox) -> None:
    repo = make_repo(tmp_path, {"t.md": thread(BASE[:2], onEdit="repost")})
    path = repo / "posts/t.md"
    env = cli_env(sandbox.url, sandbox.live_key)
    assert run_cli(["publish"], repo, env).returncode == 0
    replace_body(path, [BASE[0], "Part two, edited."])
    assert run_cli(["publish"], repo, env).returncode == 0
    path.write_text(path.read_text().replace("onEdit: repost", "onEdit: repost\nunpublish: true"))
    done = run_cli(["publish"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    for row in sandbox.posts():  # the API cannot delete: every one of them is named
        assert row["uri"] in done.stdout


def test_kill_9_at_random_points_while_edited_threads_are_reposted(tmp_path: Path, sandbox) -> None:
    names = [f"t{i}.md" for i in range(3)]
    base = {n: [f"{p} ({n})" for p in BASE] for n in names}
    repo = make_repo(tmp_path, {n: thread(base[n], "[x, bluesky]", onEdit="repost") for n in names})
    env = cli_env(sandbox.url, sandbox.live_key)
    assert run_cli(["publish"], repo, env).returncode == 0
    edited = {
        n: [base[n][0], f"Inserted ({n}).", base[n][2], base[n][1], f"Added ({n})."] for n in names
    }
    for n in names:
        replace_body(repo / "posts" / n, edited[n])
    sandbox.set_faults(latency_ms=800)  # slow answers: kills land mid-run on a fast machine too
    rng = random.Random(20261206)
    interrupted = 0
    for _ in range(8):
        proc = subprocess.Popen(
            [sys.executable, "-m", "publisher", "publish"],
            cwd=repo,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.5, 2.5))
        interrupted += proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    # the kills must have hit runs at work (how many depends on the machine's speed)
    assert interrupted >= 2, interrupted
    sandbox.clear_faults()
    final = run_cli(["publish"], repo, env, timeout=300)
    assert final.returncode == 0, final.stdout + final.stderr
    rows = sandbox.posts()
    everything = []
    for n in names:
        path = repo / "posts" / n
        for label in ("x", "bluesky"):
            assert chain(sandbox, path, label) == edited[n]
        everything += recorded_uris(record(path))
    assert sorted(everything) == sorted(r["uri"] for r in rows)  # 0 unrecorded, none twice
    seen = [(r["platform"], r["text"], parent_of(r)) for r in rows]
    assert len(seen) == len(set(seen))  # 0 duplicates
    assert not list((repo / "posts").glob(".*.tmp"))


def test_watch_sends_a_part_appended_while_it_runs(tmp_path: Path, sandbox) -> None:
    """Found in review: watch judged "already tried" by the post's hash, which leaves
    parts 2..n out, so a part appended while it ran was never sent."""
    from tests.e2e.test_watch import WatchProcess, save

    repo = make_repo(tmp_path, {})
    path = repo / "posts/t.md"
    watcher = WatchProcess(
        repo, ["--publish", "--settle", "0.3"], cli_env(sandbox.url, sandbox.live_key)
    )
    try:
        watcher.ready()
        save(path, thread(["Watched thread, part one.", "Part two."], "[bluesky]"))
        watcher.wait_for(r"^posts/t\.md: bluesky published .*\(part 2\)")
        mark = watcher.mark()
        save(path, path.read_text() + "---\nPart three, appended while watching.\n")
        watcher.wait_for(r"^posts/t\.md: bluesky published .*\(part 3\)", since=mark)
        mark = watcher.mark()
        save(path, path.read_text() + "---\nPart four.\n")
        watcher.wait_for(r"^posts/t\.md: bluesky published .*\(part 4\)", since=mark)
    finally:
        watcher.close()
    assert chain(sandbox, path, "bluesky") == [
        "Watched thread, part one.",
        "Part two.",
        "Part three, appended while watching.",
        "Part four.",
    ]
    judge(sandbox, path)


def test_a_pending_part_is_resolved_before_an_edit_reposts_the_parts_around_it(
    tmp_path: Path, sandbox
) -> None:
    from publisher import identity
    from publisher.config import load_config
    from publisher.validate import load_post
    from publisher.writeback import set_published

    repo = make_repo(tmp_path, {"t.md": thread(BASE[:3], onEdit="repost")})
    path = repo / "posts/t.md"
    env = cli_env(sandbox.url, sandbox.live_key)
    assert run_cli(["publish"], repo, env).returncode == 0
    loaded = load_post(path, load_config(repo))
    post_hash, ident = loaded.hash, loaded.identity
    block = record(path)
    three = block["targets"]["x"]["parts"][1]  # stored on the server, its answer lost
    key = identity.idempotency_key("live", post_hash, ["x#part3"], 1, ident)
    block["targets"]["x"]["parts"][1] = {"status": "pending", "hash": three["hash"], "key": key}
    path.write_bytes(set_published(path.read_bytes(), block, path=str(path)))
    replace_body(path, [BASE[0], "Part two, edited.", BASE[2]])

    plan = json.loads(run_cli(["plan", "--json"], repo, env).stdout)
    (target,) = plan["files"][0]["targets"]
    assert target["sendsParts"] == target["resendsParts"] == [3]
    first = run_cli(["publish"], repo, env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert len(sandbox.posts()) == 3  # learnt, not posted
    assert record(path)["targets"]["x"]["parts"][1]["uri"] == three["uri"]
    second = run_cli(["publish"], repo, env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert len(sandbox.posts()) == 5  # then the edit: parts 2 and 3 again
    assert chain(sandbox, path, "x") == [BASE[0], "Part two, edited.", BASE[2]]
    judge(sandbox, path)
