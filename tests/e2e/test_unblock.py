"""Every block can be lifted from git alone: a fixed key resends under the same key, an
unresolvable platform target is caught before anything is sent (its siblings go out),
a removed target leaves no stale record, and `release:` in the file lets a blocked
attempt go again. Over the sandbox's real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

from publisher.writeback import set_published
from tests.helpers import cli_env, make_repo, post, record, run_cli


def _publish(repo: Path, url: str, key: str | None, *args: str):
    return run_cli(["publish", *args], repo, cli_env(url, key))


def _actions(repo: Path, env: dict[str, str]) -> dict[str, tuple[str, str]]:
    plan = json.loads(run_cli(["plan", "--json"], repo, env).stdout)
    return {t["target"]: (t["action"], t["reason"]) for f in plan["files"] for t in f["targets"]}


def test_a_wrong_key_then_the_right_one_resends_under_the_same_key(tmp_path: Path, sandbox):
    repo = make_repo(tmp_path, {"a.md": post("[bluesky]", "Sent with a fixed secret.")})
    path = repo / "posts/a.md"
    wrong = _publish(repo, sandbox.url, "lmp_live_" + "W" * 32)
    assert wrong.returncode == 1
    assert "W" * 32 not in wrong.stdout + wrong.stderr
    failed = record(path)["targets"]["bluesky"]
    assert (failed["status"], failed["error"]["code"]) == ("failed", "unauthenticated")
    key = failed["key"]
    assert sandbox.posts() == []

    env = cli_env(sandbox.url, sandbox.live_key)
    assert _actions(repo, env)["bluesky"][0] == "resume"  # no --retry-failed needed
    fixed = _publish(repo, sandbox.url, sandbox.live_key)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert [r["text"] for r in sandbox.posts()] == ["Sent with a fixed secret."]
    done = record(path)["targets"]["bluesky"]
    assert done["status"] == "published" and "error" not in done
    # it went under the key recorded before the refusal (the sandbox's ground truth;
    # the refusal itself came before the idempotency layer and stored nothing)
    assert [r["key"] for r in sandbox.control("GET", "idempotency")["data"]] == [key]


def test_an_ambiguous_platform_target_is_blocked_and_its_siblings_go_out(tmp_path, sandbox):
    """Two LinkedIn accounts are connected: a bare `linkedin` cannot resolve."""
    repo = make_repo(tmp_path, {"a.md": post("[bluesky, linkedin]", "Siblings go out.")})
    path = repo / "posts/a.md"
    done = _publish(repo, sandbox.url, sandbox.live_key)
    assert done.returncode == 1  # what is blocked is said, and fails the run
    assert "2 linkedin accounts are connected" in done.stdout
    assert [(r["text"], r["platform"]) for r in sandbox.posts()] == [
        ("Siblings go out.", "bluesky")
    ]
    rec = record(path)
    assert set(rec["targets"]) == {"bluesky"}  # nothing recorded for what was not sent

    # fixed in git: name one of the accounts; it goes out, and nothing stale is left
    company = next(a for a in sandbox.accounts if "company" in a["displayName"].lower())
    path.write_text(path.read_text().replace("[bluesky, linkedin]", f"[bluesky, {company['id']}]"))
    again = _publish(repo, sandbox.url, sandbox.live_key)
    assert again.returncode == 0, again.stdout + again.stderr
    assert sorted(r["platform"] for r in sandbox.posts()) == ["bluesky", "linkedin"]
    assert set(record(path)["targets"]) == {"bluesky", company["id"]}


def test_a_removed_target_leaves_no_stale_failed_record(tmp_path, sandbox):
    repo = make_repo(tmp_path, {"a.md": post("[bluesky, threads]", "One place refuses.")})
    path = repo / "posts/a.md"
    sandbox.set_faults(threads={"code": "platform_rejected", "count": 1})
    assert _publish(repo, sandbox.url, sandbox.live_key).returncode == 1
    assert record(path)["targets"]["threads"]["status"] == "rejected"
    path.write_text(path.read_text().replace("[bluesky, threads]", "[bluesky]", 1))
    done = _publish(repo, sandbox.url, sandbox.live_key)
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(record(path)["targets"]) == {"bluesky"}
    assert len(sandbox.posts()) == 2  # the refused row and bluesky's: nothing resent


def test_release_in_the_file_lets_one_blocked_attempt_go_again(tmp_path, sandbox):
    repo = make_repo(tmp_path, {"a.md": post("[bluesky]", "Maybe out already.")})
    path = repo / "posts/a.md"
    block = {
        "env": "live",
        "api": sandbox.url,
        "hash": "sha256:old",
        "updatedAt": "2026-11-01T00:00:00Z",
        "targets": {
            "bluesky": {
                "status": "failed",
                "hash": "sha256:old",
                "key": "pub1-l-lost",
                "attempt": 2,
                "at": "2026-11-01T00:00:00Z",
                "error": {"code": "outcome_unknown", "message": "answer lost"},
            }
        },
    }
    path.write_bytes(set_published(path.read_bytes(), block, path=str(path)))
    env = cli_env(sandbox.url, sandbox.live_key)
    action, reason = _actions(repo, env)["bluesky"]
    assert action == "blocked" and "release: {bluesky: 2}" in reason
    blocked = _publish(repo, sandbox.url, sandbox.live_key)
    assert blocked.returncode == 1 and "release: {bluesky: 2}" in blocked.stdout
    assert sandbox.posts() == []

    text = path.read_text()
    path.write_text(text.replace("targets: [bluesky]", "release: {bluesky: 1}\ntargets: [bluesky]"))
    assert _actions(repo, env)["bluesky"][0] == "blocked"  # another attempt's release
    path.write_text(text.replace("targets: [bluesky]", "release: {bluesky: 2}\ntargets: [bluesky]"))
    assert _actions(repo, env)["bluesky"][0] == "publish"  # a new attempt, a new key
    done = _publish(repo, sandbox.url, sandbox.live_key)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [r["text"] for r in sandbox.posts()] == ["Maybe out already."]
    assert record(path)["targets"]["bluesky"]["attempt"] == 3


def test_release_of_an_unknown_target_is_an_error_at_its_line(tmp_path):
    repo = make_repo(tmp_path, {"a.md": post("[bluesky]", "Hi.", release="{x: 1}")})
    done = run_cli(["validate"], repo, cli_env("http://127.0.0.1:9", None))
    assert done.returncode == 1
    assert "posts/a.md:3:" in done.stdout and "release.unknown_target" in done.stdout
