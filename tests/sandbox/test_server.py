"""Lifecycle of the sandbox: embedding, restart persistence, accounts file, CLI."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from publisher.sandbox import SandboxConfig, start_sandbox

REPO = Path(__file__).resolve().parents[2]


def test_package_import_does_not_load_the_server_stack():
    code = (
        "import sys, publisher.sandbox; print('starlette' in sys.modules, 'uvicorn' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "False"]


def test_keys_posts_and_clock_survive_a_restart(tmp_path):
    db = tmp_path / "sb.db"
    with start_sandbox(db) as first:
        assert first.url.startswith("http://127.0.0.1:")
        assert first.test_key.startswith("lmp_test_") and len(first.test_key) == 41
        assert first.live_key.startswith("lmp_live_")
        headers = {"Authorization": f"Bearer {first.test_key}", "Idempotency-Key": "k"}
        body = {
            "targets": [{"platform": "bluesky"}],
            "text": "persist",
            "scheduledAt": "2099-01-01T00:00:00Z",
        }
        created = httpx.post(f"{first.url}/v1/posts", json=body, headers=headers).json()
        first.advance_clock(3600)
        keys, accounts = (first.test_key, first.live_key), first.accounts
    assert not first.running
    with start_sandbox(db) as second:
        assert (second.test_key, second.live_key) == keys
        assert second.accounts == accounts
        post_id = created["results"][0]["postId"]
        got = httpx.get(
            f"{second.url}/v1/posts/{post_id}", headers={"Authorization": f"Bearer {keys[0]}"}
        )
        assert got.json()["status"] == "queued"
        replay = httpx.post(f"{second.url}/v1/posts", json=body, headers=headers)
        assert replay.headers["Idempotency-Replayed"] == "true"
        assert second.control("GET", "clock")["offsetSeconds"] >= 3600
        assert len(second.posts()) == 1


def test_accounts_file_replaces_the_seeded_accounts(tmp_path):
    toml = tmp_path / "accounts.toml"
    toml.write_text(
        '[[accounts]]\nplatform = "bluesky"\ndisplayName = "Alice"\n\n[[accounts]]\nplatform = "bluesky"\n'
    )
    from publisher.sandbox.config import load_accounts_file

    config = SandboxConfig(rate_limit=None, accounts=load_accounts_file(toml))
    with start_sandbox(tmp_path / "a.db", config=config) as sb:
        assert [a["displayName"] for a in sb.accounts] == ["Alice", "Sandbox bluesky 2"]
        r = httpx.post(
            f"{sb.url}/v1/posts",
            json={"targets": [{"platform": "bluesky"}], "text": "x"},
            headers={"Authorization": f"Bearer {sb.test_key}"},
        )
        assert r.json()["error"]["rule"] == "target.account.ambiguous"
        r = httpx.post(
            f"{sb.url}/v1/posts",
            json={"targets": [{"platform": "twitter"}], "text": "x"},
            headers={"Authorization": f"Bearer {sb.test_key}"},
        )
        assert r.json()["error"]["rule"] == "target.account.not_connected"
    json_file = tmp_path / "accounts.json"
    json_file.write_text(
        json.dumps([{"platform": "twitter", "id": "11111111-1111-4111-8111-111111111111"}])
    )
    assert load_accounts_file(json_file)[0]["id"] == "11111111-1111-4111-8111-111111111111"


def test_seeded_account_ids_are_stable_across_databases(tmp_path):
    with start_sandbox(tmp_path / "1.db") as a, start_sandbox(tmp_path / "2.db") as b:
        assert [x["id"] for x in a.accounts] == [x["id"] for x in b.accounts]
        assert a.test_key != b.test_key  # keys are per database


def test_cli_prints_url_keys_accounts_and_stops_on_sigterm(tmp_path):
    db = tmp_path / "cli.db"
    argv = ["--port", "0", "--db", str(db), "--rate-limit", "off"]
    code = f"from publisher.sandbox.cli import main; raise SystemExit(main({argv!r}))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = []
        while not any(line.startswith("Press Ctrl-C") for line in lines):
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            lines.append(line.rstrip("\n"))
        text = "\n".join(lines)
        url = re.search(r"http://127\.0\.0\.1:\d+", text).group(0)
        test_key = re.search(r"lmp_test_[\w-]{32}", text).group(0)
        assert re.search(r"lmp_live_[\w-]{32}", text)
        assert re.search(r"[0-9a-f-]{36}\s+linkedin\s+Sandbox LinkedIn \(company\)", text)
        r = httpx.post(
            f"{url}/v1/posts",
            json={"targets": [{"platform": "bluesky"}], "text": "via cli"},
            headers={"Authorization": f"Bearer {test_key}"},
        )
        assert r.status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_rejects_bad_arguments():
    from publisher.sandbox.cli import main

    assert main(["--rate-limit", "lots"]) == 2
    assert main(["--port", "not-a-port"]) == 2
    assert main(["--header-timeout", "0"]) == 2
    assert main(["--header-timeout", "nan"]) == 2
    assert main(["--body-max-bytes", "0"]) == 2
