"""`publisher watch` end to end: the real command in a subprocess, watching a temporary
repository that the tests write to like an editor would, publishing to the sandbox
over HTTP. The sandbox's rows are the judge of "exactly once".

Waiting is bounded (a watcher that never reacts fails the test) but nothing here
asserts on how fast it reacts: bench/watch.py measures that.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from publisher.record import web_url
from tests.helpers import cli_env, file_status, make_repo, post, record

WAIT = 30.0  # seconds: the longest a step may take before the test gives up


class WatchProcess:
    """`python -m publisher watch ...` with its output collected line by line."""

    def __init__(self, repo: Path, args: list[str], env: dict[str, str]) -> None:
        self.repo = repo
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "publisher", "watch", *args],
            cwd=repo,
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    @property
    def output(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def mark(self) -> int:
        """A position in the output: wait_for(..., since=mark) looks only after it."""
        with self._cond:
            return len(self.lines)

    def wait_for(self, pattern: str, since: int = 0) -> re.Match[str]:
        """The first line after ``since`` matching ``pattern`` (a regex)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + WAIT
        with self._cond:
            while True:
                for line in self.lines[since:]:
                    found = regex.search(line)
                    if found:
                        return found
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no line matching {pattern!r} in:\n{self.output}")
                self._cond.wait(min(left, 0.5))

    def count(self, pattern: str) -> int:
        regex = re.compile(pattern)
        with self._cond:
            return sum(1 for line in self.lines if regex.search(line))

    def ready(self) -> WatchProcess:
        self.wait_for(r"^publisher watch: watching ")
        return self

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(WAIT)
        self._reader.join(WAIT)
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(WAIT)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {})


@pytest.fixture
def start_watch(repo: Path, sandbox):
    """Start a watcher on ``repo`` publishing to the sandbox (live key, emulated platforms)."""
    started: list[WatchProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> WatchProcess:
        # A live key: watch publishes only when asked (a test key or --sandbox would too).
        flags = list(args) if "--no-publish" in args else ["--publish", *args]
        watcher = WatchProcess(repo, flags, env or cli_env(sandbox.url, sandbox.live_key))
        started.append(watcher)
        return watcher.ready()

    yield start
    for watcher in started:
        watcher.close()


def save(path: Path, text: str) -> None:
    """Write the file in place, as most editors do."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def rows_with(sandbox, text: str) -> list[dict]:
    return [r for r in sandbox.posts() if r.get("text") == text]


def barrier(repo: Path, watcher: WatchProcess, sandbox, name: str = "zz-barrier.md") -> None:
    """Save another post and wait until it is published: every post saved before it
    has had at least as long to settle, so whatever watch would do with them is done."""
    mark = watcher.mark()
    save(repo / "posts" / name, post("[bluesky]", f"Barrier {name}."))
    watcher.wait_for(rf"^posts/{re.escape(name)}: bluesky published ", since=mark)
    assert len(rows_with(sandbox, f"Barrier {name}.")) == 1


def until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.05)


# --------------------------------------------------------------------------- previews


def test_a_save_shows_each_targets_text_length_and_plan(repo, start_watch):
    watcher = start_watch("--no-publish")
    text = "We shipped v2 🎉 details at https://example.org/a-very-long-path/that/x/counts/as/23"
    save(repo / "posts/launch.md", post("[bluesky, x]", text))
    # Bluesky counts graphemes (the emoji is one); X weighs the emoji 2 and the link 23.
    line = watcher.wait_for(r"^posts/launch\.md: bluesky (\d+)/300 graphemes · publish \(new\)")
    assert int(line.group(1)) == len(text)
    x = watcher.wait_for(r"^posts/launch\.md: x \(twitter\) (\d+)/280 weighted")
    link = "https://example.org/a-very-long-path/that/x/counts/as/23"
    assert int(x.group(1)) == len(text) - len(link) + 23 + 1
    watcher.wait_for(r"^posts/launch\.md: text \| We shipped v2 🎉 details at https://")
    watcher.wait_for(r"^posts/launch\.md: new · preview only")


def test_an_over_limit_target_is_marked_and_its_error_has_a_line(repo, start_watch):
    watcher = start_watch("--no-publish")
    save(repo / "posts/long.md", post("[bluesky, threads]", "word " * 80))
    watcher.wait_for(r"^posts/long\.md: bluesky 399/300 graphemes OVER")
    watcher.wait_for(r"^posts/long\.md: threads 399/500 graphemes ·")
    watcher.wait_for(r"^posts/long\.md:4:1: bluesky\.text\.max_graphemes: bluesky: text is 399")


def test_invalid_save_shows_its_error_and_publishes_nothing(repo, start_watch, sandbox):
    watcher = start_watch("--settle", "0.5")
    save(
        repo / "posts/typo.md",
        "---\ntargets: [bluesky]\nscheduleAt: 2030-01-01T09:00:00Z\n---\nNot yet.\n",
    )
    watcher.wait_for(r"^posts/typo\.md: invalid · 1 error: nothing is published")
    watcher.wait_for(
        r"^posts/typo\.md:3:1: key\.unknown: unknown key 'scheduleAt' \(did you mean \"scheduledAt\"\?\)"
    )
    save(repo / "posts/broken.md", "---\ntargets: [bluesky\n---\nUnclosed.\n")
    watcher.wait_for(r"^posts/broken\.md:\d+:\d+: ")
    barrier(repo, watcher, sandbox)
    assert rows_with(sandbox, "Not yet.") == []
    assert [r["text"] for r in sandbox.posts()] == ["Barrier zz-barrier.md."]
    assert record(repo / "posts/typo.md") == {}


def test_a_draft_is_previewed_and_never_published(repo, start_watch, sandbox):
    watcher = start_watch("--settle", "0.5")
    save(repo / "posts/idea.md", post("[bluesky]", "Just an idea.", draft="true"))
    watcher.wait_for(r"^posts/idea\.md: draft · draft: previewed, never published")
    watcher.wait_for(r"^posts/idea\.md: bluesky 13/300 graphemes · draft")
    barrier(repo, watcher, sandbox)
    assert rows_with(sandbox, "Just an idea.") == []
    assert watcher.count(r"^posts/idea\.md: publishing") == 0


# --------------------------------------------------------------------------- publishing


def test_published_exactly_once_despite_saves_before_settling_and_after_write_back(
    repo, start_watch, sandbox
):
    watcher = start_watch("--settle", "0.5")
    path = repo / "posts/launch.md"
    for i in range(11):  # one save, then ten more in quick succession, each within the settle
        save(path, post("[bluesky, x]", f"Launch day, draft {i}."))
        time.sleep(0.05)
    final = "Launch day, draft 10."
    watcher.wait_for(r"^posts/launch\.md: bluesky published https://")
    watcher.wait_for(r"^posts/launch\.md: x published https://")
    until(lambda: file_status(record(path)) == "published")
    rows = sandbox.posts()
    assert sorted((r["text"], r["platform"]) for r in rows) == [
        (final, "bluesky"),
        (final, "twitter"),
    ]
    written = path.read_text()
    rec = record(path)
    assert set(rec["targets"]) == {"bluesky", "x"}

    # Ten saves after the write-back: the same bytes, and edits that leave the
    # content hash alone (trailing whitespace, YAML formatting).
    for i in range(10):
        text = (
            written
            if i % 2
            else written.replace("targets: [bluesky, x]", "targets: [ bluesky, x ]")
        )
        save(path, text + " " * i)
    barrier(repo, watcher, sandbox)
    assert len(rows_with(sandbox, final)) == 2
    assert watcher.count(r"^posts/launch\.md: publishing to ") == 1
    assert record(path) == rec  # the recorded results were not rewritten


def test_an_edit_after_publishing_is_kept_not_posted_again(repo, start_watch, sandbox):
    watcher = start_watch("--settle", "0.5")
    path = repo / "posts/a.md"
    save(path, post("[bluesky]", "First words."))
    watcher.wait_for(r"^posts/a\.md: bluesky published ")
    until(lambda: file_status(record(path)) == "published")
    mark = watcher.mark()
    save(path, path.read_text().replace("First words.", "Second thoughts."))
    watcher.wait_for(r"^posts/a\.md: edited · nothing to publish", since=mark)
    watcher.wait_for(r"^posts/a\.md: bluesky .* · kept \(edited after publishing", since=mark)
    barrier(repo, watcher, sandbox)
    assert rows_with(sandbox, "Second thoughts.") == []


def test_a_failed_target_is_tried_once_not_in_a_loop(repo, start_watch, sandbox):
    sandbox.set_faults(bluesky={"code": "platform_unavailable", "count": 1})
    watcher = start_watch("--settle", "0.3")
    path = repo / "posts/a.md"
    save(path, post("[bluesky, threads]", "Flaky platform."))
    watcher.wait_for(r"^posts/a\.md: bluesky failed platform_unavailable")
    watcher.wait_for(r"^posts/a\.md: retry · tried once in this session: edit the post, or run")
    barrier(repo, watcher, sandbox, name="zz-1.md")
    barrier(repo, watcher, sandbox, name="zz-2.md")
    assert watcher.count(r"^posts/a\.md: publishing to ") == 1
    assert sorted(r["platform"] for r in rows_with(sandbox, "Flaky platform.")) == [
        "bluesky",
        "threads",
    ]
    assert record(path)["targets"]["bluesky"]["error"]["code"] == "platform_unavailable"


def test_an_image_replaced_while_settling_is_published_as_it_is_now(repo, start_watch, sandbox):
    import hashlib

    from tests.fixtures.sandbox import make_png

    (repo / "img").mkdir()
    (repo / "img/pic.png").write_bytes(make_png(100))
    watcher = start_watch("--settle", "2")
    path = repo / "posts/pic.md"
    save(
        path,
        "---\ntargets: [bluesky]\nmedia:\n  - path: ../img/pic.png\n    alt: A picture\n"
        "---\nWith a picture.\n",
    )
    watcher.wait_for(r"^posts/pic\.md: text \| \[image \.\./img/pic\.png: A picture\]")
    final = make_png(5000)
    (repo / "img/pic.png").write_bytes(final)  # the post itself is not saved again
    watcher.wait_for(r"^posts/pic\.md: bluesky published ")
    until(lambda: file_status(record(path)) == "published")
    assert list(record(path)["media"]) == [hashlib.sha256(final).hexdigest()]


def test_an_atomic_rename_save_is_a_save_not_a_delete(repo, start_watch, sandbox):
    path = repo / "posts/a.md"
    save(path, post("[bluesky]", "Before.", draft="true"))
    watcher = start_watch("--settle", "0.5")
    # VS Code / atomicwrites: write a temp file beside it, then rename over it.
    mark = watcher.mark()
    tmp = repo / "posts/.a.md.tmp-1234"
    tmp.write_text(post("[bluesky]", "After a VS Code save."))
    os.replace(tmp, path)
    watcher.wait_for(r"^posts/a\.md: text \| After a VS Code save\.", since=mark)
    watcher.wait_for(r"^posts/a\.md: bluesky published ", since=mark)
    # vim (backupcopy=no): move the file to a backup, write the new one, drop the backup.
    mark = watcher.mark()
    os.rename(path, repo / "posts/a.md~")
    save(path, path.with_name("a.md~").read_text().replace("After a", "After a vim"))
    (repo / "posts/a.md~").unlink()
    watcher.wait_for(r"^posts/a\.md: text \| After a vim VS Code save\.", since=mark)
    barrier(repo, watcher, sandbox)
    assert watcher.count(r"^posts/a\.md: deleted") == 0
    assert watcher.count(r"\.tmp-1234|a\.md~") == 0  # editor noise is never previewed
    assert len(rows_with(sandbox, "After a VS Code save.")) == 1


def test_a_deleted_file_is_reported(repo, start_watch):
    save(repo / "posts/gone.md", post("[bluesky]", "Soon gone."))
    watcher = start_watch("--no-publish")
    (repo / "posts/gone.md").unlink()
    watcher.wait_for(r"^posts/gone\.md: deleted$")


def test_ctrl_c_stops_cleanly(repo, start_watch):
    watcher = start_watch("--no-publish")
    code = watcher.interrupt()
    assert code in (0, 130)
    assert "Traceback" not in watcher.output
    assert watcher.lines[-1] == "publisher watch: stopped"


def test_ctrl_c_while_publishing_still_records_the_answer(repo, start_watch, sandbox):
    sandbox.set_faults(latency_ms={"ms": 1500, "count": 1})
    watcher = start_watch("--settle", "0.2")
    path = repo / "posts/slow.md"
    # By its UUID: the publish is the only request (a bare platform name would have the
    # accounts list read first, and take the latency there).
    uuid = next(a["id"] for a in sandbox.accounts if a["platform"] == "bluesky")
    save(path, post(f"[{uuid}]", "Slow server."))
    watcher.wait_for(r"^posts/slow\.md: publishing to ")
    # The sandbox took the latency fault: the request is in flight, held for 1.5 s.
    until(lambda: sandbox.control("GET", "faults")["latency_ms"]["count"] == 0)
    code = watcher.interrupt()
    assert code in (0, 130)
    assert "Traceback" not in watcher.output
    rows = rows_with(sandbox, "Slow server.")
    assert len(rows) == 1
    rec = record(path)
    assert rec["targets"][uuid]["postId"] == rows[0]["id"]
    url = web_url(rec["targets"][uuid]["uri"])  # the record keeps the uri only
    assert any(line.endswith(f"published {url}") for line in watcher.lines), watcher.lines
    assert watcher.lines[-1] == "publisher watch: stopped"


def test_commit_makes_a_local_commit_of_the_written_back_file_only(repo, start_watch, sandbox):
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
        ).stdout

    git("init", "-q")
    git("config", "user.name", "Ada Writer")
    git("config", "user.email", "ada@example.org")
    git("add", "publisher.toml")
    git("commit", "-q", "-m", "start")
    (repo / "notes.txt").write_text("not a post, not committed\n")
    watcher = start_watch("--settle", "0.3", "--commit")
    save(repo / "posts/a.md", post("[bluesky]", "Committed."))
    watcher.wait_for(r"^publisher watch: committed posts/a\.md as [0-9a-f]+")
    assert git("log", "-1", "--format=%an <%ae>") == "Ada Writer <ada@example.org>\n"
    assert git("show", "--name-only", "--format=", "HEAD").split() == ["posts/a.md"]
    assert "published:" in git("show", "HEAD:posts/a.md")
    assert "?? notes.txt" in git("status", "--porcelain")


def test_publishing_without_a_key_is_a_usage_error(repo, sandbox):
    done = subprocess.run(
        [sys.executable, "-m", "publisher", "watch", "--publish"],
        cwd=repo,
        env=cli_env(sandbox.url, None),
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert done.returncode == 2
    assert "LETMEPOST_API_KEY is not set" in done.stderr
    assert "--sandbox" in done.stderr


def test_commit_outside_git_is_a_usage_error(repo, sandbox):
    done = subprocess.run(
        [sys.executable, "-m", "publisher", "watch", "--commit", "--sandbox"],
        cwd=repo,
        env={**cli_env(sandbox.url, None), "GIT_CEILING_DIRECTORIES": str(repo.parent)},
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert done.returncode == 2
    assert "is not inside a git work tree" in done.stderr


# --------------------------------------------------------------------------- the page server


def test_the_preview_server_serves_only_media_inside_the_repo_to_local_names(repo, start_watch):
    (repo / "img").mkdir()
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
    (repo / "img/a.png").write_bytes(png)
    (repo / ".secret.png").write_bytes(png)
    (repo.parent / "outside.png").write_bytes(png)
    save(
        repo / "posts/pic.md",
        "---\ntargets: [bluesky]\nmedia:\n  - path: ../img/a.png\n    alt: A <b>bold</b> claim\n"
        "---\nLook <script>alert(1)</script>\n",
    )
    watcher = start_watch("--no-publish", "--serve", "--port", "0")
    url = watcher.wait_for(r"preview page at (http://127\.0\.0\.1:\d+/)").group(1)
    with httpx.Client(base_url=url, timeout=WAIT) as client:
        snap = client.get("/api/posts").json()
        target = snap["posts"][0]["targets"][0]
        assert target["text"] == "Look <script>alert(1)</script>"
        assert target["media"][0] == {
            "kind": "image",
            "alt": "A <b>bold</b> claim",
            "name": "../img/a.png",
            "src": "/media/img/a.png",
        }
        assert "<script>alert" not in client.get("/api/posts").text  # "<" is escaped
        assert client.get("/media/img/a.png").content == png
        assert client.get("/media/img/a.png").headers["content-type"] == "image/png"
        for bad in ("/media/../outside.png", "/media/%2e%2e/outside.png", "/media/.secret.png",
                    "/media/publisher.toml", "/media/posts/pic.md", "/media/%00.png",
                    "/media/" + "a" * 5000 + ".png"):  # fmt: skip
            assert client.get(bad).status_code == 404, bad
        page = client.get("/")
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert "http://" not in page.text.replace("http://127", "") and "https://" not in page.text
        rebound = client.get("/api/posts", headers={"Host": "attacker.example:80"})
        assert rebound.status_code == 421


def test_the_page_data_says_when_every_post_is_loaded_and_carries_the_calendar(repo, start_watch):
    save(repo / "posts/s.md", post("[bluesky]", "Later.", scheduledAt="2031-03-01T09:00:00Z"))
    watcher = start_watch("--no-publish", "--serve", "--port", "0")
    url = watcher.wait_for(r"preview page at (http://127\.0\.0\.1:\d+/)").group(1)
    watcher.wait_for(r"^publisher watch: watching ")
    with httpx.Client(base_url=url, timeout=WAIT) as client:
        snap = client.get("/api/posts").json()
    assert snap["scanned"] is True
    (scheduled,) = snap["posts"]
    assert scheduled["calendar"] == [
        {
            "at": "2031-03-01T09:00:00Z",
            "target": "bluesky",
            "platform": "bluesky",
            "file": "posts/s.md",
            "status": "planned",
            "env": "live",
            "note": "",
        }
    ]


# --------------------------------------------------------------------------- the terminal view


def test_in_a_terminal_the_view_is_live_with_a_meter_per_target(repo):
    """The same command on a terminal (a pty) draws panels instead of plain lines."""
    import pty
    import select

    controller, terminal = pty.openpty()
    env = {**cli_env("http://127.0.0.1:9", None), "COLUMNS": "110", "LINES": "40"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "publisher", "watch", "--no-publish"],
        cwd=repo,
        env=env,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    seen = b""

    def read_until(needle: bytes) -> None:
        nonlocal seen
        deadline = time.monotonic() + WAIT
        while needle not in seen:
            assert time.monotonic() < deadline, seen.decode(errors="replace")
            ready, _, _ = select.select([controller], [], [], 0.2)
            if ready:
                seen += os.read(controller, 65536)

    try:
        read_until(b"watching posts")
        save(repo / "posts/a.md", post("[bluesky]", "Hello from a terminal #tty"))
        read_until(b"26/300 graphemes")
        proc.send_signal(signal.SIGINT)
        read_until(b"stopped")
        assert proc.wait(WAIT) in (0, 130)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(controller)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode(errors="replace"))
    assert "╭─ posts/a.md  new" in text
    assert "Hello from a terminal #tty" in text
    assert "Traceback" not in text


def test_with_a_live_key_watch_only_previews_unless_asked(repo, sandbox):
    """An editor's autosave must not post for real: a live key previews only."""
    watcher = WatchProcess(repo, ["--settle", "0.2"], cli_env(sandbox.url, sandbox.live_key))
    try:
        watcher.ready()
        watcher.wait_for(r"^publisher watch: watching .*preview only \(add --publish to publish\)")
        save(repo / "posts/a.md", post("[bluesky]", "Autosaved draft words."))
        watcher.wait_for(r"^posts/a\.md: new · preview only \(publishing is off: add --publish\)")
        time.sleep(1.5)  # well past the settle time: still nothing sent
        assert rows_with(sandbox, "Autosaved draft words.") == []
    finally:
        watcher.close()


def test_with_a_test_key_watch_publishes_by_default(repo, sandbox):
    watcher = WatchProcess(repo, ["--settle", "0.2"], cli_env(sandbox.url, sandbox.test_key))
    try:
        watcher.ready()
        save(repo / "posts/a.md", post("[bluesky]", "Sandbox words."))
        watcher.wait_for(r"^posts/a\.md: bluesky published ")
        assert len(rows_with(sandbox, "Sandbox words.")) == 1
    finally:
        watcher.close()
