"""`publisher ci` (the GitHub Action's entry point) with no GitHub: a simulated runner.

A bare repository is the remote; each run gets a clone as its workspace, an event
payload, and its own GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files, and runs the real
command as a subprocess against the sandbox server over HTTP. Git is isolated (a
temporary global config, no system config, no identity: the code under test must
bring github-actions[bot]'s). The sandbox's ground truth (every post row it created)
judges "exactly once"; the bare remote judges what was committed.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from publisher.git import BOT_EMAIL, BOT_NAME, ZERO_SHA
from publisher.record import merge_published, merge_records
from tests.helpers import CONFIG, file_status, per_target, post

HUMAN = {
    "GIT_AUTHOR_NAME": "Test User",
    "GIT_AUTHOR_EMAIL": "test@example.org",
    "GIT_COMMITTER_NAME": "Test User",
    "GIT_COMMITTER_EMAIL": "test@example.org",
}
REPO = "owner/repo"


@dataclass
class CiRun:
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str

    def json(self, name: str) -> Any:
        return json.loads(self.outputs[name])


def parse_outputs(text: str) -> dict[str, str]:
    """Read a GITHUB_OUTPUT file like the runner: ``name=value`` and heredocs."""
    out: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            value = []
            for item in lines:
                if item == delimiter:
                    break
                value.append(item)
            out[name] = "\n".join(value)
        elif line:
            name, value = line.split("=", 1)
            out[name] = value
    return out


def executed_commands(log: str) -> list[str]:
    """The workflow commands a runner would execute in ``log``, honouring
    ``::stop-commands::`` (lines are trimmed on the left, as the runner does)."""
    found, stop = [], None
    for raw in log.splitlines():
        line = raw.lstrip()
        if stop is not None:
            if line == f"::{stop}::":
                stop = None
            continue
        if line.startswith("::stop-commands::"):
            stop = line[len("::stop-commands::") :]
        elif line.startswith("::"):
            found.append(line)
    return found


class Harness:
    """A remote, clones of it, events, and `publisher ci` runs."""

    def __init__(self, root: Path, sandbox: Any) -> None:
        self.root, self.sandbox = root, sandbox
        home = root / "home"
        home.mkdir()
        gitconfig = home / "gitconfig"
        gitconfig.write_text(
            "[user]\n\tuseConfigOnly = true\n[commit]\n\tgpgsign = false\n"
            "[init]\n\tdefaultBranch = main\n[pull]\n\trebase = false\n"
            "[advice]\n\tdetachedHead = false\n"
        )
        self.base_env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("GIT_", "GITHUB_", "LETMEPOST_", "PUBLISHER_", "RUNNER_"))
        }
        self.base_env.update(
            GIT_CONFIG_GLOBAL=str(gitconfig), GIT_CONFIG_NOSYSTEM="1", HOME=str(home)
        )
        self.remote = root / "remote.git"
        self.git(root, "init", "-q", "--bare", "-b", "main", str(self.remote))
        self.runs = 0

    # -- git ------------------------------------------------------------------------

    def git(self, cwd: Path, *args: str) -> str:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            env={**self.base_env, **HUMAN},
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    def clone(self, name: str, at: str | None = None) -> Path:
        path = self.root / name
        self.git(self.root, "clone", "-q", str(self.remote), str(path))
        if at is not None:
            self.git(path, "checkout", "-q", "-B", "main", at)
        return path

    def commit(self, repo: Path, files: Mapping[str, str | None], message: str) -> str:
        for name, text in files.items():
            target = repo / name
            if text is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        self.git(repo, "add", "-A")
        self.git(repo, "commit", "-q", "-m", message)
        return self.git(repo, "rev-parse", "HEAD")

    def push(self, repo: Path, *, force: bool = False) -> None:
        self.git(repo, "push", "-q", *(["--force"] if force else []), "origin", "HEAD:main")

    def seed(self, files: Mapping[str, str | None]) -> tuple[str, str]:
        """The first push: (before = zeros, after)."""
        repo = self.clone("seed")
        sha = self.commit(repo, {"publisher.toml": CONFIG, **files}, "initial posts")
        self.push(repo)
        return ZERO_SHA, sha

    def remote_file(self, path: str, rev: str = "main") -> str:
        return self.git(self.remote, "show", f"{rev}:{path}")

    def remote_record(self, path: str) -> dict[str, Any]:
        text = self.remote_file(path)
        return (yaml.safe_load(text.split("---\n", 2)[1]) or {}).get("published") or {}

    def remote_log(self, fmt: str = "%an <%ae>") -> list[str]:
        return self.git(self.remote, "log", f"--format={fmt}", "main").splitlines()

    # -- events and runs ----------------------------------------------------------------

    def push_event(self, before: str, after: str, *, forced: bool = False) -> dict[str, Any]:
        return {
            "ref": "refs/heads/main",
            "before": before,
            "after": after,
            "forced": forced,
            "created": before == ZERO_SHA,
            "deleted": False,
            "repository": {"full_name": REPO, "default_branch": "main"},
        }

    def pr_event(self, base: str, head: str, *, fork: bool = False) -> dict[str, Any]:
        head_repo = {"full_name": "someone/fork" if fork else REPO, "fork": fork}
        return {
            "action": "synchronize",
            "number": 7,
            "pull_request": {
                "number": 7,
                "base": {"sha": base, "ref": "main", "repo": {"full_name": REPO}},
                "head": {"sha": head, "ref": "topic", "repo": head_repo},
            },
            "repository": {"full_name": REPO, "default_branch": "main"},
        }

    def env(
        self, workspace: Path, event_name: str, event: dict[str, Any], key: str | None, **extra: str
    ) -> tuple[dict[str, str], Path, Path]:
        self.runs += 1
        folder = self.root / f"run{self.runs}"
        folder.mkdir()
        event_path, output, summary = folder / "event.json", folder / "out", folder / "summary"
        event_path.write_text(json.dumps(event))
        output.touch()
        summary.touch()
        env = {
            **self.base_env,
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_RUN_ID": "42",
            "GITHUB_REF": "refs/heads/main" if event_name == "push" else "refs/pull/7/merge",
            "GITHUB_SHA": str(event.get("after") or ""),
            "LETMEPOST_API_URL": self.sandbox.url,
            **extra,
        }
        if key is not None:
            env["LETMEPOST_API_KEY"] = key
        return env, output, summary

    def start(
        self, workspace: Path, event_name: str, event: dict[str, Any], key: str | None, **extra: str
    ) -> tuple[subprocess.Popen[str], Path, Path]:
        env, output, summary = self.env(workspace, event_name, event, key, **extra)
        proc = subprocess.Popen(
            [sys.executable, "-m", "publisher", "ci"],
            cwd=workspace,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        return proc, output, summary

    @staticmethod
    def finish(started: tuple[subprocess.Popen[str], Path, Path]) -> CiRun:
        proc, output, summary = started
        stdout, stderr = proc.communicate(timeout=180)
        return CiRun(
            proc.returncode,
            stdout,
            stderr,
            parse_outputs(output.read_text()),
            summary.read_text(),
        )

    def run(
        self,
        workspace: Path,
        event_name: str,
        event: dict[str, Any],
        key: str | None = "live",
        **extra: str,
    ) -> CiRun:
        key = self.sandbox.live_key if key == "live" else key
        return self.finish(self.start(workspace, event_name, event, key, **extra))

    def assert_key_hidden(self, *runs: CiRun) -> None:
        """The key appears nowhere but in the ::add-mask:: line."""
        key = self.sandbox.live_key
        for r in runs:
            assert r.stdout.splitlines()[0] == f"::add-mask::{key}"
            assert key not in "\n".join(r.stdout.splitlines()[1:])
            assert key not in r.stderr + r.summary + json.dumps(r.outputs)
        assert key not in self.git(self.remote, "log", "-p", "--all")


@pytest.fixture
def gh(tmp_path: Path, sandbox: Any) -> Harness:
    return Harness(tmp_path, sandbox)


def assert_once(sandbox: Any, expected: int) -> None:
    rows = sandbox.posts()
    assert all(n == 1 for n in per_target(rows).values()), per_target(rows)
    assert len(rows) == expected


TWO = {
    "posts/a.md": post("[bluesky, x]", "First post, to two places."),
    "posts/b.md": post("[threads]", "Second post."),
}
INVALID = "---\ntargets: [bluesky]\nscheduleAt: 2030-01-01T00:00:00Z\n---\nA typo.\n"


# ------------------------------------------------------------------------ publish


def test_first_push_publishes_everything_and_commits_as_the_bot(gh: Harness) -> None:
    before, after = gh.seed(TWO)
    run = gh.run(gh.clone("ws", at=after), "push", gh.push_event(before, after))
    assert run.returncode == 0, run.stdout + run.stderr
    assert_once(gh.sandbox, 3)

    published = run.json("published")
    assert {(p["file"], p["target"]) for p in published} == {
        ("posts/a.md", "bluesky"),
        ("posts/a.md", "x"),
        ("posts/b.md", "threads"),
    }
    assert all(p["uri"] for p in published)
    planned = run.json("planned")
    assert {(p["file"], p["target"], p["action"]) for p in planned} >= {
        ("posts/a.md", "bluesky", "publish")
    }
    assert run.outputs["failed"] == "0"

    assert gh.remote_log()[0] == f"{BOT_NAME} <{BOT_EMAIL}>"
    message = gh.git(gh.remote, "log", "-1", "--format=%B", "main")
    assert message.startswith("publisher: record results of 2 posts")
    assert "- posts/a.md: bluesky published, x published" in message
    assert set(gh.remote_record("posts/a.md")["targets"]) == {"bluesky", "x"}
    # only the post files changed in the bot's commit
    changed = gh.git(gh.remote, "show", "--name-only", "--format=", "main").split()
    assert sorted(changed) == ["posts/a.md", "posts/b.md"]
    assert "first push" in run.summary and "bsky.app" in run.summary
    gh.assert_key_hidden(run)


def test_push_with_an_invalid_post_publishes_the_others_and_fails(gh: Harness) -> None:
    _, base = gh.seed({})
    human = gh.clone("human")
    after = gh.commit(human, {**TWO, "posts/c.md": INVALID}, "three posts")
    gh.push(human)

    run = gh.run(gh.clone("ws", at=after), "push", gh.push_event(base, after))
    assert run.returncode == 1
    assert_once(gh.sandbox, 3)  # a.md (2 targets) and b.md (1): c.md never sent
    commands = executed_commands(run.stdout)
    errors = [c for c in commands if c.startswith("::error ")]
    assert any("file=posts/c.md" in c and "line=3" in c and "scheduleAt" in c for c in errors)
    assert run.outputs["failed"] == "1"
    assert "posts/c.md" in run.summary and "key.unknown" in run.summary

    # the two results were committed and pushed by the bot; c.md untouched
    assert gh.remote_log()[0] == f"{BOT_NAME} <{BOT_EMAIL}>"
    assert file_status(gh.remote_record("posts/a.md")) == "published"
    assert file_status(gh.remote_record("posts/b.md")) == "published"
    assert gh.remote_file("posts/c.md") == INVALID.rstrip("\n")
    gh.assert_key_hidden(run)


def test_a_failed_target_is_annotated_at_its_line_and_recorded(gh: Harness) -> None:
    gh.sandbox.set_faults(bluesky={"code": "platform_unavailable", "count": 1})
    before, after = gh.seed({"posts/a.md": "---\ntargets:\n  - x\n  - bluesky\n---\nHi.\n"})
    run = gh.run(gh.clone("ws", at=after), "push", gh.push_event(before, after))
    assert run.returncode == 1
    errors = [c for c in executed_commands(run.stdout) if c.startswith("::error ")]
    assert any("file=posts/a.md" in c and "line=4" in c and "bluesky" in c for c in errors)
    assert "platform\\_unavailable" in run.summary  # the error, escaped, in the table
    assert run.outputs["failed"] == "1"
    assert [p["target"] for p in run.json("published")] == ["x"]
    record = gh.remote_record("posts/a.md")  # the failure is committed too
    assert record["targets"]["bluesky"]["status"] == "failed"
    assert record["targets"]["x"]["status"] == "published"


def test_the_same_push_run_twice_publishes_nothing_the_second_time(gh: Harness) -> None:
    before, after = gh.seed(TWO)
    event = gh.push_event(before, after)
    ws = gh.clone("ws", at=after)
    first = gh.run(ws, "push", event)
    assert first.returncode == 0, first.stdout
    head = gh.remote_log("%H")[0]

    # again in the same workspace: the records are there, nothing is sent
    again = gh.run(ws, "push", event)
    assert again.returncode == 0, again.stdout
    assert again.json("published") == []
    assert "Nothing to publish" in again.summary

    # a re-run of the job: a fresh checkout of `after`, with no records in it. The
    # Idempotency-Keys make the server answer with the posts it already has, and the
    # push finds the same results on the remote: no new post, no new commit.
    rerun = gh.run(gh.clone("rerun", at=after), "push", event)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert_once(gh.sandbox, 3)
    assert gh.remote_log("%H")[0] == head
    assert gh.remote_file("posts/a.md").count("published:") == 1
    gh.assert_key_hidden(first, again, rerun)


def test_two_runs_at_the_same_time_post_once_and_record_once(gh: Harness) -> None:
    posts = {
        **TWO,
        "posts/c.md": post("[bluesky, threads, x]", "Third post, everywhere."),
    }
    before, after = gh.seed(posts)
    event = gh.push_event(before, after)
    first = gh.start(gh.clone("one", at=after), "push", event, gh.sandbox.live_key)
    second = gh.start(gh.clone("two", at=after), "push", event, gh.sandbox.live_key)
    runs = [gh.finish(first), gh.finish(second)]
    # Whichever pushes second rebases: git drops its commit when both runs wrote the
    # same bytes, else merge_published merges the records (a timestamp differs).
    assert [r.returncode for r in runs] == [0, 0], [r.stdout + r.stderr for r in runs]

    assert_once(gh.sandbox, 6)
    uris = {row["uri"] for row in gh.sandbox.posts()}
    for name, targets in (("a", 2), ("b", 1), ("c", 3)):
        text = gh.remote_file(f"posts/{name}.md")
        assert text.count("published:") == 1 and "<<<<<<<" not in text
        record = gh.remote_record(f"posts/{name}.md")
        assert len(record["targets"]) == targets
        assert {t["uri"] for t in record["targets"].values()} <= uris
    gh.assert_key_hidden(*runs)


def test_a_push_racing_an_unrelated_commit_rebases_and_pushes(gh: Harness) -> None:
    _, base = gh.seed({})
    human = gh.clone("human")
    after = gh.commit(human, TWO, "two posts")
    gh.push(human)
    ws = gh.clone("ws", at=after)
    rival = gh.clone("rival")
    gh.commit(rival, {"README.md": "unrelated\n"}, "an unrelated commit")
    gh.push(rival)  # the remote moved on after our checkout

    run = gh.run(ws, "push", gh.push_event(base, after))
    assert run.returncode == 0, run.stdout + run.stderr
    subjects = gh.remote_log("%an: %s")
    assert subjects[0].startswith(f"{BOT_NAME}: publisher: record results")
    assert subjects[1] == "Test User: an unrelated commit"
    assert gh.remote_file("README.md") == "unrelated"
    assert file_status(gh.remote_record("posts/a.md")) == "published"


def test_a_race_on_the_same_post_merges_the_record_into_the_remote_version(
    gh: Harness,
) -> None:
    before, after = gh.seed(TWO)
    ws = gh.clone("ws", at=after)
    rival = gh.clone("rival")
    edited = TWO["posts/a.md"].replace("---\nFirst", "meta: {note: added meanwhile}\n---\nFirst")
    gh.commit(rival, {"posts/a.md": edited}, "a note on a.md")
    gh.push(rival)

    run = gh.run(ws, "push", gh.push_event(before, after))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "merged results with the remote in 1 file\n" in run.stdout
    text = gh.remote_file("posts/a.md")
    assert "meta: {note: added meanwhile}" in text  # the remote's edit is kept
    assert text.count("published:") == 1
    assert set(gh.remote_record("posts/a.md")["targets"]) == {"bluesky", "x"}
    assert_once(gh.sandbox, 3)


def test_a_force_push_publishes_only_posts_without_a_record(gh: Harness) -> None:
    before, after = gh.seed({"posts/a.md": TWO["posts/a.md"]})
    assert gh.run(gh.clone("ws1", at=after), "push", gh.push_event(before, after)).returncode == 0
    assert_once(gh.sandbox, 2)
    recorded = gh.remote_log("%H")[0]

    human = gh.clone("human")  # rewrite the last commit: history is not linear any more
    (human / "posts/b.md").write_text(TWO["posts/b.md"])
    gh.git(human, "add", "-A")
    gh.git(human, "commit", "-q", "--amend", "-m", "rewritten")
    rewritten = gh.git(human, "rev-parse", "HEAD")
    gh.push(human, force=True)

    event = gh.push_event(recorded, rewritten, forced=True)
    run = gh.run(gh.clone("ws2", at=rewritten), "push", event)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "force push" in run.summary
    assert [p["file"] for p in run.json("published")] == ["posts/b.md"]
    assert_once(gh.sandbox, 3)


def test_sandbox_input_publishes_to_an_embedded_sandbox_with_no_key(gh: Harness) -> None:
    before, after = gh.seed(TWO)
    ws = gh.clone("ws", at=after)
    run = gh.run(ws, "push", gh.push_event(before, after), key=None, PUBLISHER_SANDBOX="true")
    assert run.returncode == 0, run.stdout + run.stderr
    assert gh.sandbox.posts() == []  # the embedded sandbox, not the server under test
    record = gh.remote_record("posts/a.md")
    assert record["env"] == "sandbox" and file_status(record) == "published"
    changed = gh.git(gh.remote, "show", "--name-only", "--format=", "main").split()
    assert sorted(changed) == ["posts/a.md", "posts/b.md"]  # not its .publisher/ state


def test_deleting_a_queued_post_cancels_it(gh: Harness) -> None:
    scheduled = post("[bluesky]", "Later.", scheduledAt="2031-05-01T09:00:00Z")
    before, after = gh.seed({"posts/later.md": scheduled})
    first = gh.run(gh.clone("ws1", at=after), "push", gh.push_event(before, after))
    assert first.returncode == 0, first.stdout
    assert [r["status"] for r in gh.sandbox.posts()] == ["queued"]

    human = gh.clone("human")
    recorded = gh.git(human, "rev-parse", "HEAD")
    deleted = gh.commit(human, {"posts/later.md": None}, "drop the scheduled post")
    gh.push(human)
    run = gh.run(gh.clone("ws2", at=deleted), "push", gh.push_event(recorded, deleted))
    assert run.returncode == 0, run.stdout + run.stderr
    assert [r["status"] for r in gh.sandbox.posts()] == ["canceled"]
    assert {"file": "posts/later.md", "action": "cancel"}.items() <= run.json("planned")[0].items()
    assert "canceled" in run.summary


def test_a_push_that_fails_to_push_still_reports_every_result(gh: Harness) -> None:
    before, after = gh.seed(TWO)
    ws = gh.clone("ws", at=after)
    hook = gh.remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(0o755)

    run = gh.run(ws, "push", gh.push_event(before, after))  # 5 attempts, then gives up
    assert run.returncode == 1
    assert len(run.json("published")) == 3
    assert "Results not saved" in run.summary and "bsky.app" in run.summary
    assert any(
        c.startswith("::error ") and "not pushed" in c for c in executed_commands(run.stdout)
    )
    assert_once(gh.sandbox, 3)


# ------------------------------------------------------------------------ preview


HOSTILE = post(
    "[bluesky, x]",
    "Look at this\n::add-mask::x\n::error::pwned\n  ::warning file=a::pwned\n@octocat <b>hi</b> | done",
)


def pr_setup(gh: Harness, files: Mapping[str, str]) -> tuple[Path, dict[str, Any]]:
    _, base = gh.seed({})
    ws = gh.clone("ws")
    gh.git(ws, "checkout", "-q", "-b", "topic")
    head = gh.commit(ws, files, "posts in a pull request")
    return ws, gh.pr_event(base, head)


def test_pull_request_preview_needs_no_key_and_sends_nothing(gh: Harness) -> None:
    ws, event = pr_setup(gh, {"posts/hostile.md": HOSTILE, "posts/c.md": INVALID})
    run = gh.run(ws, "pull_request", event, key=None)
    assert run.returncode == 1  # c.md is invalid
    assert gh.sandbox.posts() == []

    text = "Look at this\n::add-mask::x\n::error::pwned\n  ::warning file=a::pwned\n"
    assert "bluesky 93/300 graphemes" in run.summary
    assert "twitter 93/280 weighted" in run.summary
    assert "publish: new" in run.summary
    assert text.replace("<", "&lt;") in run.summary  # shown verbatim in a <pre>
    assert "&lt;b&gt;hi&lt;/b&gt;" in run.summary and "<b>" not in run.summary
    assert "key.unknown" in run.summary
    # the requests the merge will send: the plan's steps, with their key
    assert "1 request on merge" in run.summary
    assert r"create via letmepost: bluesky, x \(key pub1\-l\-" in run.summary  # md-escaped

    commands = executed_commands(run.stdout + "\n" + run.stderr)
    assert not any("pwned" in c or c == "::add-mask::x" for c in commands), commands
    assert "::add-mask::x" in run.stdout  # it was printed, but fenced off
    assert any(c.startswith("::error ") and "file=posts/c.md" in c for c in commands)
    planned = run.json("planned")
    assert {(p["file"], p["target"], p["action"]) for p in planned} == {
        ("posts/hostile.md", "bluesky", "publish"),
        ("posts/hostile.md", "x", "publish"),
        ("posts/c.md", None, "none"),
    }
    assert run.json("published") == []


class FakeGitHub:
    """Just enough of the GitHub REST API for issue comments, on 127.0.0.1."""

    def __init__(self, refuse_post: bool = False) -> None:
        self.comments: dict[int, str] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self.refuse_post = refuse_post
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> str:
                length = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(length))["body"]

            def do_GET(self) -> None:
                fake.requests.append(("GET", self.path, self.headers.get("Authorization")))
                bot = {"login": "github-actions[bot]", "type": "Bot"}
                items = [{"id": i, "body": b, "user": bot} for i, b in fake.comments.items()]
                self._reply(200, items)

            def do_POST(self) -> None:
                fake.requests.append(("POST", self.path, self.headers.get("Authorization")))
                if fake.refuse_post:
                    self._reply(403, {"message": "Resource not accessible by integration"})
                    return
                number = len(fake.comments) + 1
                fake.comments[number] = self._body()
                self._reply(201, {"id": number, "html_url": f"https://example.test/c/{number}"})

            def do_PATCH(self) -> None:
                fake.requests.append(("PATCH", self.path, self.headers.get("Authorization")))
                number = int(self.path.rsplit("/", 1)[1])
                fake.comments[number] = self._body()
                self._reply(200, {"id": number, "html_url": f"https://example.test/c/{number}"})

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def github_api() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    yield fake
    fake.close()


def test_preview_comment_is_created_once_then_updated_in_place(
    gh: Harness, github_api: FakeGitHub
) -> None:
    ws, event = pr_setup(gh, {"posts/a.md": post("[bluesky]", "Version one.")})
    token = "ghs_faketoken0123456789"
    first = gh.run(
        ws, "pull_request", event, key=None, GITHUB_TOKEN=token, GITHUB_API_URL=github_api.url
    )
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.splitlines()[0] == f"::add-mask::{token}"
    assert list(github_api.comments) == [1]
    assert github_api.comments[1].startswith("<!-- publisher-preview -->")
    assert "Version one." in github_api.comments[1]

    event["pull_request"]["head"]["sha"] = gh.commit(
        ws, {"posts/a.md": post("[bluesky]", "Version two.")}, "edit"
    )
    second = gh.run(
        ws, "pull_request", event, key=None, GITHUB_TOKEN=token, GITHUB_API_URL=github_api.url
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert list(github_api.comments) == [1]  # the same comment, edited
    assert "Version two." in github_api.comments[1]
    assert "Version one." not in github_api.comments[1]
    methods = [m for m, _, _ in github_api.requests]
    assert methods.count("POST") == 1 and methods.count("PATCH") == 1
    assert all(auth == f"Bearer {token}" for _, _, auth in github_api.requests)
    assert gh.sandbox.posts() == []


def test_preview_comment_from_a_fork_or_without_permission_is_a_notice(
    gh: Harness, github_api: FakeGitHub
) -> None:
    ws, event = pr_setup(gh, {"posts/a.md": post("[bluesky]", "From a fork.")})
    fork = gh.pr_event(event["pull_request"]["base"]["sha"], "HEAD", fork=True)
    extra = {"GITHUB_TOKEN": "ghs_readonly", "GITHUB_API_URL": github_api.url}
    run = gh.run(ws, "pull_request", fork, key=None, **extra)
    assert run.returncode == 0
    assert github_api.requests == []
    assert any(c.startswith("::notice") and "fork" in c for c in executed_commands(run.stdout))
    assert "From a fork." in run.summary

    github_api.refuse_post = True
    refused = gh.run(ws, "pull_request", event, key=None, **extra)
    assert refused.returncode == 0
    assert any(c.startswith("::notice") and "403" in c for c in executed_commands(refused.stdout))


# ------------------------------------------------------------------ modes, inputs


def test_a_push_to_another_branch_only_validates(gh: Harness) -> None:
    before, after = gh.seed({"posts/c.md": INVALID, **TWO})
    event = gh.push_event(before, after)
    event["ref"] = "refs/heads/topic"
    run = gh.run(gh.clone("ws", at=after), "push", event, GITHUB_REF="refs/heads/topic")
    assert run.returncode == 1
    assert "publisher: validate" in run.summary
    assert gh.sandbox.posts() == []
    assert len(gh.remote_log()) == 1


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PUBLISHER_COMMIT", "yes", "input commit must be true or false"),
        ("PUBLISHER_MODE", "deploy", "input mode must be one of"),
        ("PUBLISHER_PATH", "../elsewhere", "input path must be a folder inside"),
    ],
)
def test_bad_inputs_exit_2_with_a_clear_message(
    gh: Harness, name: str, value: str, message: str
) -> None:
    before, after = gh.seed(TWO)
    run = gh.run(gh.clone("ws", at=after), "push", gh.push_event(before, after), **{name: value})
    assert run.returncode == 2
    assert any(message in c for c in executed_commands(run.stdout)), run.stdout
    assert gh.sandbox.posts() == []


def test_publishing_without_a_key_is_a_configuration_error(gh: Harness) -> None:
    before, after = gh.seed(TWO)
    run = gh.run(gh.clone("ws", at=after), "push", gh.push_event(before, after), key=None)
    assert run.returncode == 2
    assert "api-key" in run.stdout
    assert gh.sandbox.posts() == []


# ------------------------------------------------------------------ merging records


def target(uri: str | None, at: str, status: str = "published") -> dict[str, Any]:
    rec: dict[str, Any] = {"platform": "bluesky", "status": status, "at": at}
    if uri:
        rec["uri"] = uri
    return rec


def rec(**targets: dict[str, Any]) -> dict[str, Any]:
    return {
        "env": "live",
        "status": "published",
        "updatedAt": "2026-01-01T00:00:00Z",
        "targets": targets,
    }


def test_merge_records_keeps_every_result() -> None:
    ours = rec(
        a=target("at://ours", "2026-01-01T00:00:05Z"),
        b=target(None, "2026-01-01T00:00:09Z", "failed"),
    )
    theirs = rec(
        a=target("at://ours", "2026-01-01T00:00:01Z"), c=target("at://c", "2026-01-01T00:00:01Z")
    )
    merged = merge_records(ours, theirs)
    assert merged is not None
    assert set(merged["targets"]) == {"a", "b", "c"}
    assert merged["targets"]["a"] is theirs["targets"]["a"]  # same result: keep the remote's
    assert file_status(merged) == "partial_failed" and "status" not in merged  # derived


def test_merge_records_prefers_a_uri_then_the_newer_attempt() -> None:
    failed_later = target(None, "2026-01-01T00:09:00Z", "failed")
    published = target("at://x", "2026-01-01T00:01:00Z")
    assert merge_records(rec(a=failed_later), rec(a=published))["targets"]["a"] == published
    assert merge_records(rec(a=published), rec(a=failed_later))["targets"]["a"] == published
    older = target(None, "2026-01-01T00:01:00Z", "failed")
    assert merge_records(rec(a=failed_later), rec(a=older))["targets"]["a"] == failed_later


def test_merge_records_returns_theirs_when_ours_adds_nothing() -> None:
    theirs = rec(a=target("at://x", "2026-01-01T00:01:00Z"))
    ours = rec(a=target("at://x", "2026-01-01T00:05:00Z"))
    assert merge_records(ours, theirs) is theirs
    assert merge_records(None, theirs) is theirs
    assert merge_records(ours, None) is ours


def test_merge_published_writes_onto_the_remote_version() -> None:
    ours = (
        b"---\ntargets: [bluesky]\npublished:\n  env: live\n  targets:\n    bluesky:\n"
        b"      status: published\n      uri: at://x\n---\nHello\n"
    )
    theirs = b"---\n# a comment from the remote\ntargets: [bluesky]\n---\nHello, edited\n"
    merged = merge_published("posts/a.md", ours, theirs).decode()
    assert merged.startswith("---\n# a comment from the remote\n")
    assert merged.endswith("---\nHello, edited\n")
    assert "uri: at://x" in merged
    assert merge_published("posts/a.md", theirs, theirs) == theirs


def test_an_edit_after_publishing_is_kept_and_the_on_edit_input_reposts_it(gh: Harness) -> None:
    before, after = gh.seed({"posts/a.md": post("[bluesky]", "Launch day.")})
    first = gh.run(gh.clone("ws1", at=after), "push", gh.push_event(before, after))
    assert first.returncode == 0, first.stdout

    human = gh.clone("human")
    recorded = gh.git(human, "rev-parse", "HEAD")
    text = (human / "posts/a.md").read_text().replace("Launch day.", "Launch day!")
    edited = gh.commit(human, {"posts/a.md": text}, "fix a typo")
    gh.push(human)
    kept = gh.run(gh.clone("ws2", at=edited), "push", gh.push_event(recorded, edited))
    assert kept.returncode == 0, kept.stdout + kept.stderr  # a typo fix never fails the Action
    assert "edited after publishing" in kept.summary and "::notice" in kept.stdout
    assert [r["text"] for r in gh.sandbox.posts()] == ["Launch day."]

    again = gh.run(
        gh.clone("ws3", at=edited),
        "push",
        gh.push_event(recorded, edited),
        PUBLISHER_ON_EDIT="repost",
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert sorted(r["text"] for r in gh.sandbox.posts()) == ["Launch day!", "Launch day."]
    assert gh.remote_record("posts/a.md")["targets"]["bluesky"]["earlier"]


def test_the_preview_comment_shows_a_thread_part_by_part(gh: Harness) -> None:
    text = "---\ntargets: [bluesky, x]\n---\nOpening.\n---\nSecond part.\n---\nThird part.\n"
    ws, event = pr_setup(gh, {"posts/t.md": text})
    run = gh.run(ws, "pull_request", event, key=None)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Thread on bluesky: 3 parts" in run.summary
    assert "Thread on x \\(twitter\\): 3 parts" in run.summary
    assert "part 3/3: 11/300 graphemes" in run.summary
    assert "5 requests on merge" in run.summary
