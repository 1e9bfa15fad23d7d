"""`publisher verify` against a REAL local PDS: recorded Bluesky posts are read back
(no login, no letmepost key) and drift is reported per file and target."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from publisher.clients.atproto import BlueskyAccount, parse_post_uri
from tests.e2e.test_direct import PASSWORD_ENV, config, direct_env, md
from tests.fixtures.pds import LocalPds
from tests.helpers import make_repo, record, run_cli

pytestmark = pytest.mark.pds


@pytest.fixture
def account(pds: LocalPds) -> BlueskyAccount:
    return BlueskyAccount(pds.handle, pds.url, pds.password)


@pytest.fixture
def plc(pds: LocalPds) -> Iterator[str]:
    """A stand-in PLC directory on 127.0.0.1 that knows the PDS's main account only."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.strip("/") != pds.did:
                self.send_error(404)
                return
            doc = {
                "id": pds.did,
                "service": [
                    {
                        "id": "#atproto_pds",
                        "type": "AtprotoPersonalDataServer",
                        "serviceEndpoint": pds.url,
                    }
                ],
            }
            body = json.dumps(doc).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def verify_env(pds: LocalPds, plc: str) -> dict[str, str]:
    """No letmepost key and no app password: verifying needs neither."""
    env = direct_env(pds, PUBLISHER_PLC_URL=plc)
    del env[PASSWORD_ENV]
    return env


def verify(repo: Path, env: dict[str, str]) -> tuple[int, dict[tuple[str, str, str], str]]:
    done = run_cli(["verify", "--json"], repo, env)
    out = json.loads(done.stdout)
    states = {(c["path"], c["target"], c["what"]): c["state"] for c in out["checks"]}
    return done.returncode, states


@pytest.fixture
def published(tmp_path: Path, pds: LocalPds) -> Path:
    """A repository with two posts published directly (one with a first comment)."""
    repo = make_repo(
        tmp_path,
        {
            "a.md": md("verify me #one", firstComment="its comment"),
            "b.md": md("verify me too, @bob.test"),
        },
        config(pds),
    )
    done = run_cli(["publish"], repo, direct_env(pds))
    assert done.returncode == 0, done.stderr + done.stdout
    return repo


def test_ok_then_deleted_upstream_then_file_edited(
    published: Path, pds: LocalPds, plc: str, account: BlueskyAccount
) -> None:
    env = verify_env(pds, plc)
    code, states = verify(published, env)
    assert code == 0
    assert states == {
        ("posts/a.md", "me", "post"): "ok",
        ("posts/a.md", "me", "firstComment"): "ok",
        ("posts/b.md", "me", "post"): "ok",
    }
    table = run_cli(["verify"], published, env)
    assert table.returncode == 0 and "3 records checked: 3 ok, 0 drifted" in table.stderr

    account.delete_post(record(published / "posts/a.md")["targets"]["me"]["commentRkey"])
    code, states = verify(published, env)
    assert code == 1
    assert states[("posts/a.md", "me", "firstComment")] == "deleted"
    assert states[("posts/a.md", "me", "post")] == states[("posts/b.md", "me", "post")] == "ok"

    path = published / "posts/b.md"
    path.write_text(path.read_text().replace("verify me too", "verify me three"))
    code, states = verify(published, env)
    assert code == 1
    assert states[("posts/b.md", "me", "post")] == "file edited"
    table = run_cli(["verify"], published, env)
    assert "deleted" in table.stdout and "'verify me too, @bob.test'" in table.stdout


def test_edited_upstream(published: Path, pds: LocalPds, plc: str, account: BlueskyAccount) -> None:
    from atproto_client import Client

    me = record(published / "posts/b.md")["targets"]["me"]
    value = dict(account.get_post(me["rkey"])["value"])  # type: ignore[index]
    value["text"] = "changed behind publisher's back"
    client = Client(base_url=pds.url)
    client.login(pds.handle, pds.password, fetch_bsky_profile=False)
    client.com.atproto.repo.put_record(
        {"repo": pds.did, "collection": "app.bsky.feed.post", "rkey": me["rkey"], "record": value}
    )
    code, states = verify(published, verify_env(pds, plc))
    assert code == 1
    assert states[("posts/b.md", "me", "post")] == "edited upstream"
    assert states[("posts/a.md", "me", "post")] == "ok"


def test_unreachable_pds_is_an_error_not_ok(tmp_path: Path, published: Path, pds: LocalPds) -> None:
    cfg = (published / "publisher.toml").read_text()
    (published / "publisher.toml").write_text(cfg.replace(pds.url, "http://127.0.0.1:9"))
    code, states = verify(published, verify_env(pds, "http://127.0.0.1:9"))
    assert code == 1
    assert set(states.values()) == {"error"}


def test_records_made_through_letmepost_are_read_from_the_did_s_pds(
    tmp_path: Path, pds: LocalPds, plc: str, account: BlueskyAccount, sandbox: Any
) -> None:
    """A letmepost Bluesky target whose at:// URI is on a PDS found through the DID
    (here the local one), and one whose DID is unknown (the sandbox's), beside a
    direct target: the first two are read back or reported as not checked."""
    from publisher.clients.atproto import new_tid

    repo = make_repo(tmp_path, {"m.md": md("mixed verify", "[bluesky, me]")}, config(pds))
    env = direct_env(pds, LETMEPOST_API_URL=sandbox.url, LETMEPOST_API_KEY=sandbox.live_key)
    done = run_cli(["publish"], repo, env)
    assert done.returncode == 0, done.stderr + done.stdout
    code, states = verify(repo, verify_env(pds, plc))
    assert code == 0
    assert states == {
        ("posts/m.md", "me", "post"): "ok",
        ("posts/m.md", "bluesky", "post"): "not checked",  # the sandbox's DID is not real
    }

    # Point the letmepost record at a real record on the local PDS, as letmepost would.
    rkey = new_tid()
    uri, _ = account.create_post("mixed verify", rkey=rkey)
    path = repo / "posts/m.md"
    fake = record(path)["targets"]["bluesky"]["uri"]
    path.write_text(path.read_text().replace(fake, uri))
    assert parse_post_uri(uri)[0] == pds.did
    code, states = verify(repo, verify_env(pds, plc))
    assert code == 0 and states[("posts/m.md", "bluesky", "post")] == "ok"

    account.delete_post(rkey)
    code, states = verify(repo, verify_env(pds, plc))
    assert code == 1 and states[("posts/m.md", "bluesky", "post")] == "deleted"


def test_letmepost_posts_read_through_the_appview_and_plain_text_facets_get_a_hint(
    tmp_path: Path, pds: LocalPds, account: BlueskyAccount, sandbox: Any
) -> None:
    """Bluesky posts made through letmepost, read through the configured AppView (here
    the local PDS, with no PLC at all): one whose links, mentions and tags became
    facets is ok, one posted as plain text gets the hint to use a direct account."""
    from publisher.clients.atproto import POST_COLLECTION, new_tid

    text = "plain #facets https://example.com/x and @bob.test"
    repo = make_repo(
        tmp_path,
        {"rich.md": md(text, "[bluesky]"), "flat.md": md(text + ".", "[bluesky]")},
        config(pds),
    )
    env = direct_env(pds, LETMEPOST_API_URL=sandbox.url, LETMEPOST_API_KEY=sandbox.live_key)
    assert run_cli(["publish"], repo, env).returncode == 0
    rich_uri, _ = account.create_post(text, rkey=new_tid())  # as Bluesky's own client would
    flat_uri, _ = account._create_record(  # as a service that sends text only
        POST_COLLECTION,
        new_tid(),
        {"$type": POST_COLLECTION, "text": text + ".", "createdAt": "2026-01-01T00:00:00Z"},
        "post",
    )
    for name, uri in (("rich.md", rich_uri), ("flat.md", flat_uri)):
        path = repo / "posts" / name
        fake = record(path)["targets"]["bluesky"]["uri"]
        path.write_text(path.read_text().replace(fake, uri))

    env = verify_env(pds, "http://127.0.0.1:9")  # no PLC: the AppView is asked
    env["PUBLISHER_APPVIEW_URL"] = pds.url
    done = run_cli(["verify", "--json"], repo, env)
    assert done.returncode == 0, done.stderr + done.stdout
    checks = {c["path"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks["posts/rich.md"]["state"] == "ok"
    flat = checks["posts/flat.md"]
    assert flat["state"] == "plain text"
    assert "#facets, https://example.com/x, @bob.test" in flat["detail"]
    assert "direct account" in flat["detail"]
    table = run_cli(["verify"], repo, env)
    assert table.returncode == 0 and "1 with links, mentions or tags as plain text" in table.stderr

    account.delete_post(parse_post_uri(flat_uri)[1])
    done = run_cli(["verify", "--json"], repo, env)
    assert done.returncode == 1
    assert {c["path"]: c["state"] for c in json.loads(done.stdout)["checks"]}["posts/flat.md"] == (
        "deleted"
    )
