"""No secret leaves the process: a known API key and a known Bluesky app password are
seeded, a hostile server on 127.0.0.1 echoes them back in every place an answer has
(per-target errors, the envelope's rule and message, non-JSON bodies longer than any
cut, account names, a refreshed post's error, a PDS's login error), and every output
of every command, the post files, the Action's outputs and summary and the history
pushed to a bare remote are scanned for the key, whole and in pieces of 8 characters.
A key in any part of LETMEPOST_API_URL is refused without being echoed."""

from __future__ import annotations

import json
import secrets
import string
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from publisher.redaction import MIN_PART, PUBLIC_PREFIXES
from tests.e2e.test_ci import Harness
from tests.helpers import make_repo, record, run_cli

ALNUM = string.ascii_letters + string.digits
KEY = "lmp_live_" + "".join(secrets.choice(ALNUM) for _ in range(32))
PASSWORD = "-".join(
    "".join(secrets.choice(string.ascii_lowercase) for _ in range(4)) for _ in range(4)
)
PASSWORD_ENV = "MY_BSKY_PASS"  # not named like a secret: known through password_env


def pieces(secret: str) -> set[str]:
    return {
        secret[i : i + MIN_PART]
        for i in range(len(secret) - MIN_PART + 1)
        if not any(secret[i : i + MIN_PART] in p for p in PUBLIC_PREFIXES)
    }


def assert_no_secret(where: str, text: str) -> None:
    for secret in (KEY, PASSWORD):
        found = [p for p in pieces(secret) if p in text]
        assert not found, f"{where} leaks {found[:3]} of a secret:\n{text[:3000]}"


class Hostile:
    """A letmepost-like server (and a PDS) that echoes the credentials it is sent."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any, ctype: str = "application/json") -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def do_GET(self) -> None:
                outer.requests.append(("GET", self.path))
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                if self.path.startswith("/v1/accounts"):
                    self._send(
                        200,
                        {
                            "data": [
                                {"id": "acc-x", "platform": "twitter", "displayName": f"x {token}"},
                                {"id": "acc-b", "platform": "bluesky", "displayName": token[9:]},
                            ]
                        },
                    )
                elif self.path.startswith("/v1/posts/"):
                    self._send(
                        200,
                        {
                            "id": self.path.rsplit("/", 1)[-1],
                            "status": "failed",
                            "platform": "twitter",
                            "error": {"code": "platform_rejected", "message": f"saw {token}"},
                        },
                    )
                else:
                    self._send(404, b"not here " + token.encode(), "text/plain")

            def do_DELETE(self) -> None:
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                self._send(409, b"no: " + token[5:].encode(), "text/plain")

            def do_POST(self) -> None:
                body = self._body()
                outer.requests.append(("POST", self.path))
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                if self.path.startswith("/xrpc/com.atproto.server.createSession"):
                    password = json.loads(body).get("password", "")
                    self._send(
                        500,
                        {"error": "InternalServerError", "message": f"bad password {password}"},
                    )
                    return
                text = body.decode("utf-8", "replace")
                n = len(json.loads(body).get("targets") or [1]) if body[:1] == b"{" else 1
                tail = token[9:]
                if "echo-result" in text:
                    result = {
                        "status": "failed",
                        "platform": "twitter",
                        "postId": "p1",
                        "error": {
                            "code": "platform_rejected",
                            "rule": f"rule.{token}",
                            "message": f"you sent {token}; tail {tail}",
                        },
                        "warnings": [{"code": tail, "message": token}],
                    }
                    self._send(200, {"status": "failed", "results": [result] * n})
                elif "echo-envelope" in text:
                    self._send(
                        400,
                        {
                            "error": {
                                "code": "preflight_failed",
                                "rule": token,
                                "message": f"Bearer {token} / {tail}",
                                "platformResponse": {"echo": token},
                            }
                        },
                    )
                elif "echo-text" in text:  # the key starts at character 150: past no cut
                    self._send(400, ("x" * 150 + token).encode(), "text/plain")
                elif "echo-200" in text:
                    self._send(200, ("y" * 150 + token).encode(), "text/html")
                elif "echo-status" in text:
                    result = {"status": f"weird-{tail}", "platform": "twitter"}
                    self._send(200, {"results": [result] * n})
                else:
                    result = {
                        "status": "queued",
                        "platform": "twitter",
                        "postId": "p-queued",
                        "accountId": "acc-x",
                    }
                    self._send(
                        202,
                        {
                            "status": "queued",
                            "scheduledAt": "2099-01-01T00:00:00Z",
                            "results": [result] * n,
                        },
                    )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.live_key = KEY

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def hostile() -> Iterator[Hostile]:
    h = Hostile()
    yield h
    h.close()


def config(url: str) -> str:
    return (
        'posts = "posts"\n\n[accounts]\nx = "twitter"\n\n'
        f'[accounts.me]\nbluesky = "alice.test"\npds = "{url}"\npassword_env = "{PASSWORD_ENV}"\n'
    )


POSTS = {
    "a.md": "---\ntargets: [x]\n---\nechoes in the result: echo-result\n",
    "b.md": "---\ntargets: [x]\n---\nechoes in the envelope: echo-envelope\n",
    "c.md": "---\ntargets: [x]\n---\nechoes in a text body: echo-text\n",
    "d.md": "---\ntargets: [x]\n---\na 200 that is not JSON: echo-200\n",
    "e.md": "---\ntargets: [x]\n---\na status outside the enum: echo-status\n",
    "f.md": "---\ntargets: [x]\nscheduledAt: 2099-01-01T00:00:00Z\n---\nqueued, then refreshed\n",
    "g.md": "---\ntargets: [me]\n---\na direct post whose PDS echoes the password\n",
}


def env_for(url: str, **extra: str) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("LETMEPOST_", "GITHUB_"))}
    env.update(LETMEPOST_API_URL=url, LETMEPOST_API_KEY=KEY, **{PASSWORD_ENV: PASSWORD}, **extra)
    return env


def test_every_command_output_and_file_is_free_of_the_key(tmp_path: Path, hostile: Hostile) -> None:
    repo = make_repo(tmp_path / "repo", POSTS, config(hostile.url))
    env = env_for(hostile.url)
    commands = [
        ["validate"],
        ["validate", "--json"],
        ["plan"],
        ["plan", "--json"],
        ["schedule"],
        ["publish", "--dry-run"],
        ["publish", "-v"],
        ["publish", "--json", "--retry-failed"],
        ["publish", "-v"],
        ["sync"],
        ["sync", "--json"],
        ["accounts"],
        ["accounts", "--json"],
        ["verify"],
        ["verify", "--json"],
    ]
    outputs = []
    for args in commands:
        done = run_cli(args, repo, env)
        outputs.append(done)
        assert_no_secret(f"`publisher {' '.join(args)}` stdout", done.stdout)
        assert_no_secret(f"`publisher {' '.join(args)}` stderr", done.stderr)
        assert "Traceback" not in done.stderr, (args, done.stderr)
    for path in repo.rglob("*"):
        if path.is_file():
            assert_no_secret(str(path), path.read_text(errors="replace"))

    # What the server said did reach the user, redacted, and was read as it should be.
    published = outputs[6].stdout + outputs[6].stderr
    assert "preflight_failed" in published and "***" in published
    a = record(repo / "posts" / "a.md")["targets"]["x"]
    assert a["status"] == "failed" and a["error"]["code"] == "platform_rejected"
    assert "***" in a["error"]["message"] and "***" in a["error"]["rule"]
    d = record(repo / "posts" / "d.md")["targets"]["x"]
    assert d["status"] == "pending"  # a 200 that cannot be read: the outcome is unknown
    e = record(repo / "posts" / "e.md")["targets"]["x"]
    assert e["status"] == "pending"  # a status outside the enum is never written
    assert "results[0].status" in published
    accounts = outputs[11].stdout
    assert "acc-b" in accounts and "***" in accounts  # listed, the echoed key masked
    g = outputs[6].stdout + outputs[6].stderr
    assert "bad password ***" in g or "***" in g


def test_the_action_keeps_the_key_out_of_outputs_summary_and_pushed_history(
    tmp_path: Path, hostile: Hostile
) -> None:
    h = Harness(tmp_path, hostile)
    before, after = h.seed(
        {"publisher.toml": config(hostile.url), **{f"posts/{k}": v for k, v in POSTS.items()}}
    )
    work = h.clone("work")
    run = h.run(work, "push", h.push_event(before, after), **{PASSWORD_ENV: PASSWORD})
    assert "Traceback" not in run.stderr, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == f"::add-mask::{KEY}"  # the one line that must name it
    masks = [x for x in lines if x.startswith("::add-mask::")]
    assert masks == [f"::add-mask::{KEY}", f"::add-mask::{PASSWORD}"]  # the app password too
    assert_no_secret("ci stdout", "\n".join(x for x in lines if x not in masks))
    assert_no_secret("ci stderr", run.stderr)
    assert_no_secret("GITHUB_OUTPUT", json.dumps(run.outputs))
    assert_no_secret("GITHUB_STEP_SUMMARY", run.summary)
    history = h.git(h.remote, "log", "-p", "--all", "--format=%H %an %s%n%b")
    assert "posts/a.md" in history and "published:" in history  # results were pushed
    assert_no_secret("the pushed history", history)


@pytest.mark.parametrize(
    "url",
    [
        f"https://api.example.test/?key={KEY}",
        f"https://api.example.test/v1#{KEY}",
        f"https://api.example.test/{KEY}",
        f"https://api.example.test/{KEY[9:]}",
        f"https://{KEY}@api.example.test",
        f"https://user:{KEY}@api.example.test",
        KEY,  # the variables swapped: the key given as the URL
        f"https://api.example.test/?token={KEY[9:]}",
    ],
)
def test_a_key_in_the_api_url_is_refused_without_echo(tmp_path: Path, url: str) -> None:
    repo = make_repo(tmp_path, {"a.md": POSTS["f.md"]}, config("https://pds.example.test"))
    env = env_for(url)
    env["LETMEPOST_API_KEY"] = "lmp_live_" + "Z" * 32
    for args in (["publish"], ["plan"], ["accounts"]):
        done = run_cli(args, repo, env)
        out = done.stdout + done.stderr
        assert done.returncode == 2, out
        assert "LETMEPOST_API_URL" in out and "Traceback" not in out
        assert_no_secret(f"publisher {args[0]} with a bad URL", out)
    assert "published" not in (repo / "posts" / "a.md").read_text()


def test_redaction_in_whole_in_pieces_and_by_shape() -> None:
    from publisher import redaction

    secret = "lmp_live_" + "Ab3" * 10 + "xyz"
    redaction.add_secret(secret)
    text = f"a {secret} b {secret[:20]} c {secret[15:30]} d lmp_test_{'Q' * 32} e lmp_live_ f"
    out = redaction.redact(text)
    assert secret[9:17] not in out and "QQQQ" not in out
    assert (
        out.startswith("a lmp_live_*** b lmp_live_*** c *** d ")
        and "lmp_test_***" in out
        and "lmp_live_ f" in out
    )
    assert redaction.redact("short words stay") == "short words stay"


def test_a_secret_split_across_writes_is_still_masked() -> None:
    import io

    from publisher.redaction import RedactingStream, add_secret

    secret = "s3cr3t-" + "Kq9" * 8
    add_secret(secret)
    inner = io.StringIO()
    stream = RedactingStream(inner)
    stream.write("start " + secret[:5])
    stream.write(secret[5:] + " end\n")
    stream.write("tail " + secret[:12])
    stream.flush()
    assert secret[:8] not in inner.getvalue() and "Kq9Kq9Kq" not in inner.getvalue()
    assert inner.getvalue().startswith("start *** end\ntail ***")


def test_the_scanner_sees_a_piece_of_the_key() -> None:
    with pytest.raises(AssertionError):
        assert_no_secret("a file", f"api: {KEY[9:30]}")
    with pytest.raises(AssertionError):
        assert_no_secret("a file", f"pw: {PASSWORD[3:12]}")


def test_init_writes_no_echoed_key_into_the_files_it_creates(
    tmp_path: Path, hostile: Hostile
) -> None:
    repo = tmp_path / "fresh"
    repo.mkdir()
    import subprocess as sp

    sp.run(["git", "init", "-q", str(repo)], check=True)
    done = run_cli(["init"], repo, env_for(hostile.url))
    assert done.returncode == 0, done.stdout + done.stderr
    assert_no_secret("init stdout", done.stdout)
    assert_no_secret("init stderr", done.stderr)
    config = (repo / "publisher.toml").read_text()
    assert "acc-x" in config and "***" in config  # written, the echoed key masked
    for path in repo.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            assert_no_secret(str(path), path.read_text(errors="replace"))
