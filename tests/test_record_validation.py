"""`validate` reads the `published` and `release` blocks as strictly as publish does:
each hand edit that used to pass validate and then crash (or stall) publish is refused
at its line; and whatever validate accepts, publish (and sync) runs without a traceback.
Real processes, over the sandbox's HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import cli_env, make_repo, run_cli

CONFIG = """\
[accounts]
x = "twitter"

[accounts.me]
bluesky = "alice.test"
pds = "http://127.0.0.1:9"
password_env = "NO_SUCH_PASSWORD"
"""

HEAD = "---\ntargets: [{t}]\n"


def published(targets: str, extra: str = "") -> str:
    return (
        "published:\n  env: live\n  api: {api}\n  hash: sha256:00\n"
        "  updatedAt: '2026-11-29T12:00:00Z'\n" + extra + "  targets:\n" + targets
    )


# name -> (file text, line of the problem, code, text the message has)
BAD: dict[str, tuple[str, int, str, str]] = {
    "queued-without-postId": (
        HEAD.format(t="x")
        + published("    x:\n      status: queued\n      scheduledAt: '2099-01-01T00:00:00Z'\n")
        + "---\nhi\n",
        9,
        "published.invalid",
        "postId",
    ),
    "replyRoot-without-a-space": (
        HEAD.format(t="me")
        + published(
            "    me:\n      platform: bluesky\n      status: published\n"
            "      did: did:plc:abc\n      rkey: 3kabcdefghij2\n"
            "      uri: at://did:plc:abc/app.bsky.feed.post/3kabcdefghij2\n"
            "      replyRoot: at://did:plc:abc/app.bsky.feed.post/3kabcdefghij2\n"
        )
        + "---\nhi\n\n---\n\npart two\n",
        9,
        "published.invalid",
        "replyRoot",
    ),
    "replyRoot-a-number": (
        HEAD.format(t="me")
        + published(
            "    me:\n      platform: bluesky\n      status: published\n"
            "      uri: at://did:plc:abc/app.bsky.feed.post/3kabcdefghij2\n"
            "      replyRoot: 12\n"
        )
        + "---\nhi\n\n---\n\npart two\n",
        9,
        "published.invalid",
        "replyRoot",
    ),
    "release-part-not-a-number": (
        HEAD.format(t="x") + "release:\n  'x#partx': 1\n---\nhi\n",
        4,
        "release.invalid",
        "#part<n>",
    ),
    "release-part-one": (
        HEAD.format(t="x") + "release:\n  'x#part1': 1\n---\nhi\n",
        4,
        "release.invalid",
        "#part<n>",
    ),
    "release-30-digits": (
        HEAD.format(t="x") + "release:\n  x: 123456789012345678901234567890\n---\nhi\n",
        4,
        "release.invalid",
        "from 1 to",
    ),
    "attempt-30-digits": (
        HEAD.format(t="x")
        + published(
            "    x:\n      status: failed\n      key: pub1-l-abc\n"
            "      attempt: 123456789012345678901234567890\n"
            "      error: {code: platform_unavailable, message: down}\n"
        )
        + "---\nhi\n",
        12,
        "published.invalid",
        "less than or equal to 100000",
    ),
    "anchor-in-the-block": (
        HEAD.format(t="x")
        + published(
            "    x: &rec\n      status: failed\n      key: pub1-l-abc\n"
            "      error: {code: platform_unavailable, message: down}\n"
        )
        + "---\nhi\n",
        9,
        "published.unwritable",
        "anchors",
    ),
}


@pytest.mark.parametrize("name", list(BAD))
def test_hand_edits_publish_cannot_use_are_refused_by_validate_at_their_line(
    tmp_path: Path, name: str, sandbox
) -> None:
    text, line, code, needle = BAD[name]
    repo = make_repo(tmp_path, {"a.md": text.replace("{api}", sandbox.url)}, CONFIG)
    env = cli_env(sandbox.url, sandbox.live_key)
    done = run_cli(["validate"], repo, env)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    found = [x for x in out.splitlines() if x.startswith(f"posts/a.md:{line}:") and code in x]
    assert found and needle in found[0], out
    assert "Traceback" not in out
    before = (repo / "posts" / "a.md").read_bytes()
    for command in (["publish"], ["sync"], ["plan"]):
        ran = run_cli(command, repo, env)
        assert ran.returncode == (0 if command == ["sync"] else 1), ran.stdout + ran.stderr
        assert "Traceback" not in ran.stderr and "internal error" not in ran.stdout
    assert (repo / "posts" / "a.md").read_bytes() == before  # nothing sent, nothing written
    assert not sandbox.posts()


GOOD = {
    "queued-with-postId": HEAD.format(t="x")
    + published(
        "    x:\n      status: queued\n      postId: 00000000-0000-4000-8000-000000000000\n"
        "      scheduledAt: '2099-01-01T00:00:00Z'\n"
    )
    + "---\nhi\n",
    "release-a-part": HEAD.format(t="x") + "release:\n  'x#part2': 3\n  x: 1\n---\nhi\n",
    "unknown-harmless-keys": HEAD.format(t="x")
    + published(
        "    x:\n      status: failed\n      key: pub1-l-abc\n      somethingNew: 1\n"
        "      error: {code: platform_unavailable, message: down, extra: yes}\n",
        "  futureKey: [1, 2]\n",
    )
    + "---\nhi\n",
}


@pytest.mark.parametrize("name", list(GOOD))
def test_what_validate_accepts_never_crashes_publish(tmp_path: Path, name: str, sandbox) -> None:
    repo = make_repo(tmp_path, {"a.md": GOOD[name].replace("{api}", sandbox.url)}, CONFIG)
    env = cli_env(sandbox.url, sandbox.live_key)
    done = run_cli(["validate"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    for command in (["publish"], ["sync"], ["publish", "--retry-failed"]):
        ran = run_cli(command, repo, env)
        out = ran.stdout + ran.stderr
        assert ran.returncode in (0, 1), out
        assert "Traceback" not in out and "internal error" not in out, out
