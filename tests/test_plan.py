"""The reconcile table (SPEC section 5, plan.py's docstring), built from real files whose
`published` blocks are written the way the write-back writes them."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from publisher.config import Account, Config
from publisher.plan import Plan, make_plan
from publisher.post import Post
from publisher.run import Env, Run
from publisher.validate import load_post
from publisher.writeback import set_published

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
POST = "---\ntargets: [bluesky, x]\n---\nHello world\n"
SCHEDULED = "---\ntargets: [bluesky, x]\nscheduledAt: 2026-12-01T09:00:00Z\n---\nSoon\n"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    accounts = {
        "x": Account("x", platform="twitter"),
        "threads-main": Account("threads-main", platform="threads"),
    }
    return Config(root=tmp_path, accounts=accounts)


def write(config: Config, text: str, name: str = "post.md") -> Path:
    path = config.root / name
    path.write_text(text)
    return path


def load(config: Config, path: Path) -> Post:
    return load_post(path, config, now=NOW)


def record_as_written(
    config: Config,
    path: Path,
    statuses: dict[str, str],
    *,
    env: str = "live",
    error: str | None = None,
) -> None:
    """Give `path` a `published` block for its current content, as the write-back does."""
    post = load(config, path)
    assert post.valid, [str(p) for p in post.errors]
    targets: dict[str, Any] = {}
    for t in post.targets:
        if t.label not in statuses:
            continue
        rec: dict[str, Any] = {"platform": t.platform, "status": statuses[t.label], "hash": t.hash}
        rec["key"], rec["attempt"], rec["at"] = "pub1-l-abc", 1, "2026-10-31T12:00:00Z"
        if statuses[t.label] == "published":
            rec["postId"], rec["uri"] = (
                "0b6a-uuid",
                f"at://did:plc:abc/app.bsky.feed.post/{t.label}",
            )
        if statuses[t.label] == "queued":  # a queued post is known by its id
            rec["postId"] = f"0b6a-uuid-{t.label}"
        if statuses[t.label] in ("failed", "rejected"):
            rec["error"] = {
                "code": error or "platform_unavailable",
                "rule": None,
                "message": "it broke",
            }
        targets[t.label] = rec
    record = {
        "env": env,
        "api": "https://api.letmepost.dev",
        "hash": post.hash,
        "status": "x",
        "targets": targets,
    }
    path.write_bytes(set_published(path.read_bytes(), record, path=str(path)))


def plan_of(config: Config, path: Path, **kw: Any) -> tuple[str, dict[str, str]]:
    run = Run(Env(kw.pop("env", "live")), kw.pop("api", None))
    plan = make_plan([load(config, path)], run, now=kw.pop("now", NOW), **kw)
    (f,) = plan.files
    return f.state, {t.label: t.action for t in f.targets}


def test_new_post_publishes_to_every_target(config: Config) -> None:
    assert plan_of(config, write(config, POST)) == ("new", {"bluesky": "publish", "x": "publish"})


def test_draft_does_nothing(config: Config) -> None:
    path = write(config, POST.replace("---\nHello", "draft: true\n---\nHello"))
    assert plan_of(config, path) == ("draft", {})


def test_invalid_does_nothing_and_others_go_on(config: Config) -> None:
    bad = write(config, "---\ntargets: [bluesky]\nscheduleAt: x\n---\nHi\n", "bad.md")
    good = write(config, POST, "good.md")
    plan = make_plan([load(config, bad), load(config, good)], now=NOW)
    assert [(f.path, f.state) for f in plan.files] == [("bad.md", "invalid"), ("good.md", "new")]
    assert plan.invalid[0].targets == [] and plan.invalid[0].post.errors[0].line == 3


def test_published_and_unchanged_is_up_to_date(config: Config) -> None:
    path = write(config, POST)
    record_as_written(config, path, {"bluesky": "published", "x": "published"})
    assert plan_of(config, path) == ("up to date", {"bluesky": "none", "x": "none"})


def test_only_targets_that_failed_with_a_retryable_error_are_retried(config: Config) -> None:
    path = write(config, POST)
    record_as_written(config, path, {"bluesky": "published", "x": "failed"})
    assert plan_of(config, path) == ("retry", {"bluesky": "none", "x": "retry"})


def test_a_non_retryable_failure_is_blocked_until_fixed_or_forced(config: Config) -> None:
    path = write(config, POST)
    record_as_written(
        config, path, {"bluesky": "published", "x": "rejected"}, error="validation_failed"
    )
    assert plan_of(config, path) == ("blocked", {"bluesky": "none", "x": "blocked"})
    assert plan_of(config, path, retry_failed=True) == ("retry", {"bluesky": "none", "x": "retry"})


def test_a_failed_target_whose_content_was_fixed_publishes_again(config: Config) -> None:
    path = write(
        config,
        POST.replace("targets: [bluesky, x]", "targets:\n  - bluesky\n  - account: x\n    text: a"),
    )
    record_as_written(
        config, path, {"bluesky": "published", "x": "rejected"}, error="validation_failed"
    )
    path.write_text(path.read_text().replace("text: a\n", "text: b\n"))
    assert plan_of(config, path) == ("retry", {"bluesky": "none", "x": "publish"})


def test_targets_added_since_publishing_publish_alone(config: Config) -> None:
    path = write(config, POST.replace("[bluesky, x]", "[bluesky]"))
    record_as_written(config, path, {"bluesky": "published"})
    path.write_text(path.read_text().replace("[bluesky]", "[bluesky, x, threads-main]"))
    state, actions = plan_of(config, path)
    assert (state, actions) == (
        "new targets",
        {"bluesky": "none", "x": "publish", "threads-main": "publish"},
    )


def test_published_then_edited_is_kept_unless_reposting(config: Config) -> None:
    path = write(config, POST)
    record_as_written(config, path, {"bluesky": "published", "x": "published"})
    path.write_text(path.read_text().replace("Hello world", "Hello, world"))
    assert plan_of(config, path) == ("edited", {"bluesky": "keep", "x": "keep"})
    plan = make_plan([load(config, path)], now=NOW)
    assert "edited after publishing: not reposted" in plan.files[0].targets[0].reason
    assert plan.files[0].steps == [] and not plan.work
    assert plan_of(config, path, repost=True)[1] == {"bluesky": "repost", "x": "repost"}
    path.write_text(path.read_text().replace("targets:", "onEdit: repost\ntargets:", 1))
    assert plan_of(config, path) == ("retry", {"bluesky": "repost", "x": "repost"})


def test_queued_and_unchanged_waits(config: Config) -> None:
    path = write(config, SCHEDULED)
    record_as_written(config, path, {"bluesky": "queued", "x": "queued"})
    assert plan_of(config, path) == ("queued", {"bluesky": "none", "x": "none"})


@pytest.mark.parametrize(("old", "new"), [("Soon", "Soon!"), ("09:00:00Z", "10:00:00Z")])
def test_queued_then_edited_updates_the_queued_post(config: Config, old: str, new: str) -> None:
    path = write(config, SCHEDULED)
    record_as_written(config, path, {"bluesky": "queued", "x": "queued"})
    path.write_text(path.read_text().replace(old, new))
    assert plan_of(config, path) == ("queued, edited", {"bluesky": "update", "x": "update"})


def test_queued_then_drafted_cancels(config: Config) -> None:
    path = write(config, SCHEDULED)
    record_as_written(config, path, {"bluesky": "queued", "x": "queued"})
    path.write_text(path.read_text().replace("---\nSoon", "draft: true\n---\nSoon"))
    assert plan_of(config, path) == ("cancel", {"bluesky": "cancel", "x": "cancel"})


def test_a_target_removed_while_queued_is_cancelled(config: Config) -> None:
    path = write(config, SCHEDULED)
    record_as_written(config, path, {"bluesky": "queued", "x": "queued"})
    path.write_text(path.read_text().replace("[bluesky, x]", "[bluesky]", 1))
    # removing a target is not an edit of the one that stays
    assert plan_of(config, path) == ("cancel", {"bluesky": "none", "x": "cancel"})


def test_queued_and_due_is_synced(config: Config) -> None:
    path = write(config, SCHEDULED)
    record_as_written(config, path, {"bluesky": "queued", "x": "queued"})
    later = dt.datetime(2026, 12, 2, tzinfo=dt.UTC)
    post = load_post(path, config, now=later)
    assert post.valid, "a past scheduledAt is fine once queued"
    (f,) = make_plan([post], now=later).files
    assert (f.state, {t.label: t.action for t in f.targets}) == (
        "due",
        {"bluesky": "sync", "x": "sync"},
    )


def test_pending_resumes_and_canceled_publishes_again(config: Config) -> None:
    path = write(config, POST)
    record_as_written(config, path, {"bluesky": "pending", "x": "canceled"})
    assert plan_of(config, path) == ("resume", {"bluesky": "resume", "x": "publish"})


def test_a_sandbox_record_does_not_count_for_a_live_run(config: Config) -> None:
    path = write(config, POST)
    record_as_written(config, path, {"bluesky": "published", "x": "published"}, env="sandbox")
    assert plan_of(config, path) == ("new", {"bluesky": "publish", "x": "publish"})
    assert plan_of(config, path, env="sandbox") == ("up to date", {"bluesky": "none", "x": "none"})


def test_a_live_record_is_not_republished_by_a_sandbox_run(config: Config) -> None:
    path = write(config, POST)
    record_as_written(config, path, {"bluesky": "published", "x": "published"})
    assert plan_of(config, path, env="sandbox") == ("up to date", {"bluesky": "none", "x": "none"})


def test_identical_content_is_reported(config: Config) -> None:
    a, b, c = (
        write(config, POST, "a.md"),
        write(config, POST.replace("x]", "x]\nmeta: {n: 2}"), "b.md"),
        write(config, POST.replace("world", "there"), "c.md"),
    )
    plan: Plan = make_plan([load(config, p) for p in (a, b, c)], now=NOW)
    assert plan.duplicates == [["a.md", "b.md"]]
    assert [f.duplicate_of for f in plan.files] == [["b.md"], ["a.md"], []]


def test_plan_json_shape(tmp_path: Path) -> None:
    (tmp_path / "publisher.toml").write_text('[accounts]\nx = "twitter"\n')
    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "a.md").write_text(POST)
    (posts / "b.md").write_text("---\ntargets: [bluesky]\ndraft: 1\n---\nHi\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    result = subprocess.run(
        [sys.executable, "-m", "publisher", "plan", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 1  # b.md is invalid
    plan = json.loads(result.stdout)
    assert plan["env"] == "live" and plan["duplicates"] == []
    assert plan["counts"] == {"new": 1, "invalid": 1}
    a, b = plan["files"]
    assert set(a) == {
        "path",
        "state",
        "hash",
        "scheduledAt",
        "targets",
        "steps",
        "problems",
        "duplicateOf",
    }
    assert (a["path"], a["state"], a["scheduledAt"], a["problems"]) == (
        "posts/a.md",
        "new",
        None,
        [],
    )
    assert a["hash"].startswith("sha256:")
    assert a["targets"] == [
        {"target": "bluesky", "platform": "bluesky", "action": "publish", "reason": "new"},
        {"target": "x", "platform": "twitter", "action": "publish", "reason": "new"},
    ]
    assert (b["state"], b["hash"], b["targets"]) == ("invalid", None, [])
    assert b["problems"][0]["line"] == 3 and b["problems"][0]["code"] == "type"
