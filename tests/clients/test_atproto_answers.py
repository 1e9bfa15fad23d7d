"""A PDS's answers are read strictly (clients/atproto_answers.py): a hostile PDS on
127.0.0.1 that logs in fine but then answers nonsense gets `bad_answer` errors naming
it and the field, never a KeyError; a direct publish through it records its key
`pending` (the next run reads it back) and the run goes on."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from publisher.clients.atproto import BlueskyAccount, BlueskyError, clear_sessions
from tests.helpers import make_repo, record, run_cli

DID = "did:plc:abcdefghijklmnopqrstuvwx"


def _jwt() -> str:
    def part(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256'})}.{part({'exp': 4102444800, 'sub': DID, 'scope': 'com.atproto.access'})}.c2ln"


class BadPds:
    def __init__(self) -> None:
        self.answers: dict[str, Any] = {}
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def _send(self, status: int, body: Any) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _answer(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                name = self.path.split("?", 1)[0].rsplit("/", 1)[-1]
                if name == "com.atproto.server.createSession":
                    self._send(
                        200,
                        {
                            "accessJwt": _jwt(),
                            "refreshJwt": _jwt(),
                            "handle": "alice.test",
                            "did": DID,
                        },
                    )
                elif name in outer.answers:
                    self._send(200, outer.answers[name])
                elif name == "com.atproto.repo.getRecord":
                    self._send(400, {"error": "RecordNotFound", "message": "no"})
                else:
                    self._send(200, {})

            do_GET = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def bad_pds() -> Iterator[BadPds]:
    pds = BadPds()
    yield pds
    pds.server.shutdown()
    pds.server.server_close()
    clear_sessions()


@pytest.mark.parametrize(
    ("name", "answer", "call", "needle"),
    [
        (
            "com.atproto.repo.createRecord",
            {"uri": 5},
            "post",
            "uri: Input should be a valid string",
        ),
        ("com.atproto.repo.createRecord", {"cid": "x"}, "post", "uri: Field required"),
        ("com.atproto.repo.createRecord", [1], "post", "Field required"),
        ("com.atproto.repo.uploadBlob", {"blob": {"ref": 1}}, "image", "blob.ref"),
        ("com.atproto.repo.getRecord", {"uri": "at://x", "value": "v"}, "get", "value"),
        ("com.atproto.repo.listRecords", {"records": [{"uri": 1}]}, "list", "records[0].uri"),
        ("com.atproto.identity.resolveHandle", {"did": 7}, "handle", "did"),
    ],
)
def test_nonsense_from_a_pds_is_a_located_bad_answer(
    bad_pds: BadPds, name: str, answer: Any, call: str, needle: str
) -> None:
    bad_pds.answers[name] = answer
    account = BlueskyAccount("alice.test", bad_pds.url, "pass-word-pass-word")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    calls = {
        "post": lambda: account.create_post("hi", rkey="3kabcdefghij2"),
        "image": lambda: account.upload_image(png, "image/png"),
        "get": lambda: account.get_post("3kabcdefghij2"),
        "list": lambda: account.list_posts(),
        "handle": lambda: account.resolve_handle("bob.test"),
    }
    with pytest.raises(BlueskyError) as info:
        calls[call]()
    assert info.value.code == "bad_answer" and info.value.retryable
    assert bad_pds.url in str(info.value) and needle in str(info.value), str(info.value)


def test_a_direct_publish_through_a_nonsense_pds_keeps_its_key(
    tmp_path: Path, bad_pds: BadPds
) -> None:
    import os

    bad_pds.answers["com.atproto.repo.createRecord"] = {"uri": "not-at", "cid": ""}
    config = (
        'posts = "posts"\n\n[accounts.me]\n'
        f'bluesky = "alice.test"\npds = "{bad_pds.url}"\npassword_env = "PW"\n'
    )
    repo = make_repo(tmp_path, {"a.md": "---\ntargets: [me]\n---\nhello\n"}, config)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LETMEPOST_", "GITHUB_"))}
    env["PW"] = "pass-word-pass-word"
    done = run_cli(["publish"], repo, env)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "Traceback" not in out and "internal error" not in out, out
    assert "answered with something publisher cannot read: uri" in out, out
    me = record(repo / "posts" / "a.md")["targets"]["me"]
    assert me["rkey"] and me["status"] in ("pending", "failed")
