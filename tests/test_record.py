"""The record module: a hand-edited `published` block is refused at its line, records
this version wrote keep counting, and a raw block means the same for every reader."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from publisher import record
from publisher.run import Env, Run
from tests.helpers import cli_env, make_repo, post, run_cli
from tests.helpers import record as read_block

BLOCK = """\
published:
  env: live
  api: https://api.letmepost.dev
  hash: sha256:abc
  status: pending
  updatedAt: '2026-11-29T12:00:00Z'
  targets:
    x:
      platform: twitter
      status: {status}
{extra}"""


def _file(status: str, extra: str = "") -> str:
    return (
        "---\ntargets: [x]\n"
        + BLOCK.format(status=status, extra=extra)
        + "---\nA post whose record was edited by hand.\n"
    )


@pytest.mark.parametrize(
    ("status", "extra", "says"),
    [
        ("pending", "", "needs the `key`"),
        ("pending", "      key: 'pub-abc\n\n        def'\n", "not a key publisher wrote"),
        ("pending", "      key: ''\n", "not a key publisher wrote"),
        ("sent", "", "published.invalid"),
        ("published", "      attempt: lots\n", "published.invalid"),
        ("published", "      attempt: -1\n", "published.invalid"),
    ],
)
def test_a_hand_broken_record_is_an_error_at_its_line(
    tmp_path: Path, status: str, extra: str, says: str
) -> None:
    repo = make_repo(tmp_path, {"a.md": _file(status, extra)})
    done = run_cli(["validate"], repo, cli_env("http://127.0.0.1:9", None))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    out = done.stdout + done.stderr
    assert "posts/a.md:" in out and "published.invalid" in out and says in out
    line = int(out.split("posts/a.md:", 1)[1].split(":", 1)[0])
    assert 3 <= line <= 14  # inside the published block, not line 1
    # and it is never sent: publish refuses it just the same
    done = run_cli(["publish", "--dry-run", "--json"], repo, cli_env("http://127.0.0.1:9", None))
    assert done.returncode == 1 and json.loads(done.stdout)["requests"] == []


def test_a_record_as_this_version_writes_it_still_counts(tmp_path: Path, sandbox) -> None:
    """A repository published today must send nothing after the upgrade."""
    repo = make_repo(tmp_path, {"a.md": post("[bluesky, x]", "Published before the upgrade.")})
    env = cli_env(sandbox.url, sandbox.live_key)
    assert run_cli(["publish"], repo, env).returncode == 0
    rows = len(sandbox.posts())
    plan = json.loads(run_cli(["plan", "--json"], repo, env).stdout)
    assert {t["action"] for f in plan["files"] for t in f["targets"]} == {"none"}
    assert run_cli(["publish"], repo, env).returncode == 0
    assert len(sandbox.posts()) == rows


def test_queued_targets_of_a_block_follow_the_run() -> None:
    block = {
        "env": "live",
        "api": "https://api.letmepost.dev",
        "targets": {
            "x": {"platform": "twitter", "status": "queued", "postId": "p1"},
            "b": {"platform": "bluesky", "status": "published", "postId": "p2"},
            "t": {"platform": "threads", "status": "queued"},  # no postId: nothing to cancel
            "junk": "not a mapping",
        },
    }
    live = Run(Env.LIVE, "https://api.letmepost.dev")
    assert record.queued_targets(block, live) == [("x", "twitter", "p1")]
    assert record.queued_targets(block, Run(Env.SANDBOX, "https://api.letmepost.dev")) == []
    assert record.queued_targets(block, Run(Env.LIVE, "http://127.0.0.1:1")) == []
    assert record.queued_targets(None, live) == []


def test_batch_status_and_web_url() -> None:
    assert record.batch_status({"a": {"status": "published"}, "b": {"status": "publishing"}}) == (
        "published"
    )
    assert record.batch_status({"a": {"status": "published"}, "b": {"status": "failed"}}) == (
        "partial_failed"
    )
    assert record.batch_status({"a": {"status": "pending"}, "b": {"status": "failed"}}) == (
        "pending"
    )
    assert record.batch_status({"a": {"status": "queued"}}) == "queued"
    assert record.batch_status({"a": {"status": "rejected"}}) == "failed"
    assert (
        record.web_url("at://did:plc:abc/app.bsky.feed.post/3k")
        == "https://bsky.app/profile/did:plc:abc/post/3k"
    )
    assert record.web_url("at://did:plc:abc/app.bsky.feed.like/3k") is None
    assert record.web_url("https://x.com/a/status/1") == "https://x.com/a/status/1"


def test_a_post_linked_from_outside_the_repository_is_refused_not_written(
    tmp_path: Path, sandbox
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.md").write_text(post("[bluesky]", "Lives outside the repo."))
    (outside / "folder").mkdir()
    (outside / "folder" / "y.md").write_text(post("[bluesky]", "In a linked folder."))
    repo = make_repo(tmp_path / "repo", {"ok.md": post("[bluesky]", "Inside.")})
    (repo / "posts/x.md").symlink_to(outside / "x.md")
    (repo / "posts/linked").symlink_to(outside / "folder", target_is_directory=True)
    before = {p: p.read_bytes() for p in outside.rglob("*.md")}
    env = cli_env(sandbox.url, sandbox.live_key)
    done = run_cli(["publish"], repo, env)
    assert done.returncode == 1
    out = done.stdout + done.stderr
    assert "posts/x.md:1:1: path.outside_repository" in out
    assert "y.md" not in out  # a walk does not follow folder links
    named = run_cli(["publish", str(repo / "posts/linked")], repo, env)  # named directly
    assert named.returncode == 1
    assert "posts/linked/y.md:1:1: path.outside_repository" in named.stdout + named.stderr
    assert [r["text"] for r in sandbox.posts()] == ["Inside."]
    assert {p: p.read_bytes() for p in outside.rglob("*.md")} == before
    assert sorted(p.name for p in outside.rglob("*")) == ["folder", "x.md", "y.md"]


FIXTURES = Path(__file__).parent / "fixtures" / "records"


def _block_lines(path: Path) -> list[str]:
    front = path.read_text().split("---\n", 2)[1].splitlines()
    start = front.index("published:")
    return [line for line in front[start:] if line == "published:" or line.startswith(" ")]


def test_records_written_before_the_compact_shape_still_count(tmp_path: Path) -> None:
    """Files published by 0.1 (url, cid, status, attempt: 1, ...) send nothing after the
    upgrade, and are not rewritten when nothing is learnt."""
    repo = make_repo(tmp_path, {})
    for name in ("v0.1-sandbox-three-targets.md", "v0.1-sandbox-queued.md"):
        (repo / "posts" / name).write_bytes((FIXTURES / name).read_bytes())
    env = cli_env("http://127.0.0.1:9", None)
    plan = json.loads(run_cli(["plan", "--sandbox", "--json"], repo, env).stdout)
    actions = {(f["path"], t["target"]): t["action"] for f in plan["files"] for t in f["targets"]}
    assert set(actions.values()) == {"none"}, actions
    old = (repo / "posts/v0.1-sandbox-three-targets.md").read_bytes()
    done = run_cli(["publish", "--sandbox", "posts/v0.1-sandbox-three-targets.md"], repo, env)
    assert done.returncode == 0 and "nothing to publish" in done.stdout, done.stdout
    assert (repo / "posts/v0.1-sandbox-three-targets.md").read_bytes() == old


def test_an_old_record_takes_the_compact_shape_when_the_file_is_written_anyway(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path, {})
    path = repo / "posts/a.md"
    text = (FIXTURES / "v0.1-sandbox-three-targets.md").read_text()
    path.write_text(
        text.replace("  - platform: threads\n", "  - platform: threads\n  - facebook\n")
    )
    done = run_cli(["publish", "--sandbox"], repo, cli_env("http://127.0.0.1:9", None))
    assert done.returncode == 0, done.stdout + done.stderr
    rec = read_block(path)
    assert "status" not in rec and set(rec["targets"]) == {"bluesky", "x", "threads", "facebook"}
    for label, target in rec["targets"].items():
        assert not {"url", "cid", "attempt", "at", "key", "warnings"} & set(target), (label, target)
        assert target["status"] == "published" and target["uri"]
    assert (
        rec["targets"]["x"]["platform"] == "twitter" and "platform" not in rec["targets"]["bluesky"]
    )


def test_a_two_target_post_takes_at_most_20_lines_and_a_quiet_run_writes_nothing(
    tmp_path: Path, sandbox
) -> None:
    repo = make_repo(tmp_path, {"a.md": post("[bluesky, x]", "Small record.")})
    path = repo / "posts/a.md"
    env = cli_env(sandbox.url, sandbox.live_key)
    assert run_cli(["publish"], repo, env).returncode == 0
    lines = _block_lines(path)
    assert len(lines) <= 20, "\n".join(lines)
    rec = read_block(path)
    assert rec["targets"]["bluesky"]["uri"].startswith("at://")  # the web URL is derived
    assert all("url" not in t for t in rec["targets"].values())
    stamps = [line for line in lines if re.match(r"\s+(at|updatedAt|scheduledAt):", line)]
    assert stamps and all(re.search(r"'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ'$", x) for x in stamps)
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    for command in (["publish"], ["sync"]):
        done = run_cli(command, repo, env)
        assert done.returncode == 0, (command, done.stdout + done.stderr)
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime


def test_sync_of_a_queued_post_that_is_still_queued_writes_nothing(tmp_path: Path, sandbox) -> None:
    repo = make_repo(
        tmp_path, {"q.md": post("[bluesky, x]", "Later.", scheduledAt="2031-03-01T10:00:00Z")}
    )
    path = repo / "posts/q.md"
    env = cli_env(sandbox.url, sandbox.live_key)
    assert run_cli(["publish"], repo, env).returncode == 0
    rec = read_block(path)
    assert {t["status"] for t in rec["targets"].values()} == {"queued"}
    assert all(t["scheduledAt"] == "2031-03-01T10:00:00Z" for t in rec["targets"].values())
    before = path.read_bytes()
    assert run_cli(["sync"], repo, env).returncode == 0
    assert path.read_bytes() == before


def test_the_merge_after_a_rebase_keeps_a_thread_part_only_one_side_recorded() -> None:
    """Found in review: the remote's bytes won for "the same result", dropping part 3."""
    base = {"status": "published", "uri": "https://x.com/i/status/1", "hash": "h"}
    p2 = {"status": "published", "hash": "a", "uri": "https://x.com/i/status/2"}
    p3 = {"status": "published", "hash": "b", "uri": "https://x.com/i/status/3"}
    ours = {"env": "live", "targets": {"x": {**base, "parts": [p2, p3]}}}
    theirs = {"env": "live", "targets": {"x": {**base, "parts": [p2]}}, "updatedAt": "t"}
    merged = record.merge_records(ours, theirs)
    assert merged is not None and merged["targets"]["x"]["parts"] == [p2, p3]
    same = record.merge_records({"env": "live", "targets": {"x": {**base, "parts": [p2]}}}, theirs)
    assert same is theirs  # nothing new on our side: the remote's own bytes


def _today_thread(tmp_path: Path) -> tuple[Path, Path]:
    repo = make_repo(tmp_path, {})
    path = repo / "posts/thread.md"
    path.write_bytes((FIXTURES / "today-sandbox-thread-reposted.md").read_bytes())
    return repo, path


def test_a_thread_recorded_by_todays_version_keeps_reading_and_an_edit_is_planned_part_by_part(
    tmp_path: Path,
) -> None:
    repo, path = _today_thread(tmp_path)
    env = cli_env("http://127.0.0.1:9", None)
    plan = json.loads(run_cli(["plan", "--sandbox", "--json"], repo, env).stdout)
    assert {t["action"] for t in plan["files"][0]["targets"]} == {"none"}
    path.write_text(
        path.read_text().replace("---\nPart three", "---\nAn inserted part.\n---\nPart three")
    )
    plan = json.loads(run_cli(["plan", "--sandbox", "--json"], repo, env).stdout)
    for target in plan["files"][0]["targets"]:  # onEdit: repost in the file
        assert target["action"] == "continue" and target["sendsParts"] == [3, 4]
        assert {p["part"]: p["change"] for p in target["parts"]} == {
            3: "inserted",
            4: "was part 3",
        }


def test_the_record_keeps_every_post_a_new_one_replaces(tmp_path: Path) -> None:
    """`superseded`, directly and through `pending`: part 1 posted again takes the whole
    thread (and the comment) to `earlier`; part n posted again takes parts n.. along."""
    from publisher.config import load_config
    from publisher.validate import load_post

    _, path = _today_thread(tmp_path)
    post = load_post(path, load_config(path.parent.parent))
    run = Run(Env.SANDBOX, "sandbox")
    rec = record.Record(post, run)
    before = read_block(path)["targets"]["x"]
    parts = [p["uri"] for p in before["parts"]]

    sent = rec.pending("x", record.Sending(3, "sha256:new", key="pub1-s-abc"), part=3)
    assert sent.key == "pub1-s-abc" and sent.part == 3
    after = read_block(path)["targets"]["x"]  # on disk already
    assert after["earlier"] == [*before["earlier"], parts[1]]
    assert after["parts"][1]["status"] == "pending" and after["parts"][0]["uri"] == parts[0]

    rec.pending("x", record.Sending(3, "sha256:whole", key="pub1-s-def"))
    after = read_block(path)["targets"]["x"]
    assert after["earlier"] == [*before["earlier"], parts[1], before["uri"], parts[0]]
    assert after["status"] == "pending" and "parts" not in after and "uri" not in after
    rec.answered("x", record.Answer(record.Status.PUBLISHED, uri="https://x.com/i/status/9"))
    assert read_block(path)["targets"]["x"]["uri"] == "https://x.com/i/status/9"


def test_an_answer_for_a_request_never_announced_is_refused(tmp_path: Path) -> None:
    from publisher.config import load_config
    from publisher.validate import load_post

    repo = make_repo(tmp_path, {"a.md": post("[x]", "Never sent.")})
    path = repo / "posts/a.md"
    rec = record.Record(load_post(path, load_config(repo)), Run(Env.LIVE, "-"))
    with pytest.raises(record.RecordError):
        rec.answered("x", record.Answer(record.Status.PUBLISHED, uri="https://x.com/i/status/1"))
    assert read_block(path) == {}  # nothing written
    rec.pending("x", record.Sending(1, "sha256:a", key="pub1-l-abc", platform="twitter"))
    rec.answered("x", record.Answer(record.Status.PUBLISHED, uri="https://x.com/i/status/1"))
    assert read_block(path)["targets"]["x"]["status"] == "published"
