"""Direct Bluesky extras end to end, against the REAL local PDS and pages served by this
test on 127.0.0.1: link cards, languages, self-labels, who may reply and quote (gates),
and `unpublish: true`, each with the PDS's own repository as the judge, and kill -9
tests that rerun and count."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from publisher.clients.atproto import (
    POST_COLLECTION,
    POSTGATE_COLLECTION,
    THREADGATE_COLLECTION,
    BlueskyAccount,
    parse_post_uri,
)
from publisher.record import web_url
from tests.clients.test_linkcard import Site, og_page, png, send
from tests.e2e.test_direct import config, direct_env, md, publish, records_with
from tests.fixtures.pds import LocalPds
from tests.helpers import make_repo, record, run_cli

ROOT = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.pds


@pytest.fixture(autouse=True)
def _fetch_from_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pages are served on 127.0.0.1, which link cards refuse unless allowed."""
    monkeypatch.setenv("PUBLISHER_FETCH_ALLOW", "127.0.0.1")


@pytest.fixture
def account(pds: LocalPds) -> BlueskyAccount:
    return BlueskyAccount(pds.handle, pds.url, pds.password)


@pytest.fixture
def tag() -> str:
    """A token unique to this test, put in every text so records can be told apart."""
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def site() -> Any:
    s = Site()
    yield s
    s.close()


def me(repo: Path, name: str = "a.md") -> dict[str, Any]:
    return record(repo / "posts" / name)["targets"]["me"]


def gates_of(account: BlueskyAccount, uri: str) -> tuple[list[Any], list[Any]]:
    """Every threadgate and postgate in the repository that names ``uri``."""

    def listed(collection: str) -> list[dict[str, Any]]:
        out = account._query(
            "com.atproto.repo.listRecords",
            {"repo": account.did, "collection": collection, "limit": 100},
            "list gates",
        )
        return [r for r in out.get("records", []) if r["value"].get("post") == uri]

    return listed(THREADGATE_COLLECTION), listed(POSTGATE_COLLECTION)


# ------------------------------------------------------------------------ validation


def test_bad_extras_are_errors_at_their_lines_and_letmepost_gets_warnings(
    tmp_path: Path, pds: LocalPds
) -> None:
    bad = (
        "---\ntargets: [me]\n"
        "langs: [en, 'not a tag']\n"
        "labels: [porn, gore]\n"
        "replies: [following, nobody]\n"
        "card: 12\n"
        "---\nhi\n"
    )
    odd = "---\ntargets: [me, bluesky]\nlangs: [de]\nlabels: [nudity]\nquotes: false\n---\nhi\n"
    repo = make_repo(tmp_path, {"bad.md": bad, "odd.md": odd}, config(pds))
    done = run_cli(["validate"], repo, direct_env(pds))
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "posts/bad.md:3:13: langs.invalid: 'not a tag' is not a language tag" in out
    assert "posts/bad.md:4:16: labels.unknown: unknown label 'gore'" in out
    assert "posts/bad.md:5:1: replies.invalid" in out
    assert "posts/bad.md:6:1: card.invalid" in out
    assert "Traceback" not in out
    for line, key in ((3, "langs"), (4, "labels"), (5, "quotes")):
        assert f"posts/odd.md:{line}:1: warning: {key}.letmepost: bluesky: `{key}`" in out
    odd_lines = [line for line in out.splitlines() if line.startswith("posts/odd.md:")]
    assert len(odd_lines) == 3 and all(": warning: " in line for line in odd_lines), odd_lines


def test_langs_default_from_config_is_checked(tmp_path: Path, pds: LocalPds) -> None:
    repo = make_repo(tmp_path, {"a.md": md("hi")}, config(pds, 'langs = ["e n"]\n\n'))
    done = run_cli(["validate"], repo, direct_env(pds))
    assert done.returncode == 2
    assert "`langs`: 'e n' is not a language tag" in done.stderr


# ------------------------------------------------------------------------ link cards


def test_link_card_with_a_large_image_scaled_into_a_blob(
    tmp_path: Path, pds: LocalPds, account: BlueskyAccount, site: Site, tag: str
) -> None:
    import io

    from PIL import Image

    big = png(1400, 1000, noise=True)
    assert len(big) > 1_000_000
    site.route(f"/{tag}/big.png", lambda h: send(h, big, "image/png"))
    page = site.page(f"/{tag}/page", og_page(image=f"/{tag}/big.png", title=f"Card {tag}"))
    repo = make_repo(tmp_path, {"a.md": md(f"read this {page} {tag}")}, config(pds))
    done = publish(repo, direct_env(pds))
    assert done.returncode == 0, done.stderr + done.stdout

    got = account.get_post(me(repo)["rkey"])
    assert got is not None
    external = got["value"]["embed"]["external"]
    assert got["value"]["embed"]["$type"] == "app.bsky.embed.external"
    assert (external["uri"], external["title"]) == (page, f"Card {tag}")
    assert external["description"] == "The description"
    thumb = external["thumb"]
    assert thumb["mimeType"] == "image/jpeg" and thumb["size"] <= 1_000_000
    blob = account._login().client.com.atproto.sync.get_blob(
        {"did": account.did, "cid": thumb["ref"]["$link"]}
    )
    assert Image.open(io.BytesIO(blob)).format == "JPEG"
    assert "card" not in me(repo)  # the card is not recorded, nor part of the hash

    again = publish(repo, direct_env(pds))
    assert again.returncode == 0 and len(records_with(account, tag)) == 1


def test_page_that_cannot_be_read_is_a_post_without_card_and_a_warning(
    tmp_path: Path, pds: LocalPds, account: BlueskyAccount, site: Site, tag: str
) -> None:
    missing = site.url(f"/{tag}/nothing-here")
    repo = make_repo(tmp_path, {"a.md": md(f"broken {missing} {tag}")}, config(pds))
    done = publish(repo, direct_env(pds))
    assert done.returncode == 0, done.stderr + done.stdout
    assert "no link card" in done.stdout and "answered 404" in done.stdout
    (post,) = records_with(account, tag)
    assert "embed" not in post["value"]
    assert me(repo)["status"] == "published"


def test_card_false_and_card_url(
    tmp_path: Path, pds: LocalPds, account: BlueskyAccount, site: Site, tag: str
) -> None:
    first = site.page(f"/{tag}/first", og_page(title="First"))
    chosen = site.page(f"/{tag}/chosen", "<html><head><title>Chosen page</title></head></html>")
    posts = {
        "off.md": md(f"off {first} {tag}", card="false"),
        "url.md": md(f"pick {first} {tag}", card=chosen),
        "target.md": md(f"per target {first} {tag}", targets=f"[{{account: me, card: {chosen}}}]"),
    }
    repo = make_repo(tmp_path, posts, config(pds))
    done = publish(repo, direct_env(pds))
    assert done.returncode == 0, done.stderr + done.stdout
    off = account.get_post(me(repo, "off.md")["rkey"])
    assert off is not None and "embed" not in off["value"]
    for name in ("url.md", "target.md"):
        got = account.get_post(me(repo, name)["rkey"])
        assert got is not None
        assert got["value"]["embed"]["external"]["uri"] == chosen
        assert got["value"]["embed"]["external"]["title"] == "Chosen page"


# ------------------------------------------------------------------------ langs, labels


def test_langs_and_labels_on_the_record(
    tmp_path: Path, pds: LocalPds, account: BlueskyAccount, tag: str
) -> None:
    posts = {
        "set.md": md(f"hallo {tag}", langs="[en, de]", labels="[graphic-media, nudity]"),
        "default.md": md(f"default {tag}"),
    }
    repo = make_repo(tmp_path, posts, config(pds, 'langs = ["pt-BR"]\n\n'))
    done = publish(repo, direct_env(pds))
    assert done.returncode == 0, done.stderr + done.stdout
    value = account.get_post(me(repo, "set.md")["rkey"])["value"]  # type: ignore[index]
    assert value["langs"] == ["en", "de"]
    assert value["labels"] == {
        "$type": "com.atproto.label.defs#selfLabels",
        "values": [{"val": "graphic-media"}, {"val": "nudity"}],
    }
    value = account.get_post(me(repo, "default.md")["rkey"])["value"]  # type: ignore[index]
    assert value["langs"] == ["pt-BR"] and "labels" not in value


# ------------------------------------------------------------------------ gates

KILL_DRIVER = """\
import os, signal, sys
from publisher.clients.atproto import BlueskyAccount
from publisher.cli import main

WANT = os.environ["KILL_ON"]

def wrap(attr):
    original = getattr(BlueskyAccount, attr)
    def wrapper(*args, **kwargs):
        if WANT == f"before {attr}":
            os.kill(os.getpid(), signal.SIGKILL)
        out = original(*args, **kwargs)
        if WANT == f"after {attr}":
            os.kill(os.getpid(), signal.SIGKILL)
        return out
    setattr(BlueskyAccount, attr, wrapper)

for name in ("create_post", "create_threadgate", "create_postgate", "delete_record"):
    wrap(name)
sys.exit(main(sys.argv[1:]))
"""


def run_killed(repo: Path, env: dict[str, str], on: str) -> subprocess.CompletedProcess[str]:
    driver = repo / "kill_driver.py"
    driver.write_text(KILL_DRIVER)
    return subprocess.run(
        [sys.executable, str(driver), "publish"],
        cwd=repo,
        env={**env, "KILL_ON": on, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_gated_once(repo: Path, account: BlueskyAccount, text: str) -> dict[str, Any]:
    (post,) = records_with(account, text)
    rec = me(repo)
    assert rec["status"] == "published" and rec["uri"] == post["uri"] and "gates" not in rec
    threadgates, postgates = gates_of(account, post["uri"])
    rkey = parse_post_uri(post["uri"])[1]
    assert [g["uri"].rsplit("/", 1)[1] for g in threadgates] == [rkey]
    assert [g["uri"].rsplit("/", 1)[1] for g in postgates] == [rkey]
    assert [r["$type"] for r in threadgates[0]["value"]["allow"]] == [
        "app.bsky.feed.threadgate#followingRule",
        "app.bsky.feed.threadgate#mentionRule",
    ]
    assert postgates[0]["value"]["embeddingRules"] == [
        {"$type": "app.bsky.feed.postgate#disableRule"}
    ]
    return rec


def test_replies_and_quotes_make_gates_once(
    tmp_path: Path, pds: LocalPds, account: BlueskyAccount, tag: str
) -> None:
    text = f"gated {tag}"
    repo = make_repo(
        tmp_path, {"a.md": md(text, replies="[following, mentioned]", quotes="false")}, config(pds)
    )
    done = publish(repo, direct_env(pds))
    assert done.returncode == 0, done.stderr + done.stdout
    assert_gated_once(repo, account, text)
    assert publish(repo, direct_env(pds)).returncode == 0
    assert_gated_once(repo, account, text)


def test_replies_nobody_is_an_empty_allow_list(
    tmp_path: Path, pds: LocalPds, account: BlueskyAccount, tag: str
) -> None:
    repo = make_repo(tmp_path, {"a.md": md(f"quiet {tag}", replies="nobody")}, config(pds))
    assert publish(repo, direct_env(pds)).returncode == 0
    threadgates, postgates = gates_of(account, me(repo)["uri"])
    assert [g["value"]["allow"] for g in threadgates] == [[]] and postgates == []


@pytest.mark.parametrize(
    "on", ["after create_post", "after create_threadgate", "after create_postgate"]
)
def test_kill_9_between_the_post_and_its_gates_then_rerun(
    tmp_path: Path, pds: LocalPds, account: BlueskyAccount, tag: str, on: str
) -> None:
    text = f"gate crash {tag}"
    repo = make_repo(
        tmp_path, {"a.md": md(text, replies="[following, mentioned]", quotes="false")}, config(pds)
    )
    env = direct_env(pds)
    killed = run_killed(repo, env, on)
    assert killed.returncode == -9, killed.stderr
    assert len(records_with(account, text)) == 1
    rec = me(repo)
    assert rec["status"] == "pending" and rec["gates"] == "pending" and rec["rkey"]

    assert "resume" in run_cli(["plan"], repo, env).stdout
    rerun = publish(repo, env)
    assert rerun.returncode == 0, rerun.stderr + rerun.stdout
    assert_gated_once(repo, account, text)
    assert publish(repo, env).returncode == 0
    assert_gated_once(repo, account, text)


# ------------------------------------------------------------------------ unpublish


def unpublish(repo: Path, name: str = "a.md") -> None:
    path = repo / "posts" / name
    path.write_text(path.read_text().replace("---\n", "---\nunpublish: true\n", 1))


def assert_all_gone(account: BlueskyAccount, rec: dict[str, Any]) -> None:
    for collection, key in (
        (POST_COLLECTION, rec["rkey"]),
        (POST_COLLECTION, rec["commentRkey"]),
        (THREADGATE_COLLECTION, rec["rkey"]),
        (POSTGATE_COLLECTION, rec["rkey"]),
    ):
        assert account.get_record(collection, key) is None, (collection, key)


def test_unpublish_deletes_post_comment_and_gates_once(
    tmp_path: Path, pds: LocalPds, account: BlueskyAccount, tag: str
) -> None:
    text = f"take back {tag}"
    repo = make_repo(
        tmp_path,
        {"a.md": md(text, firstComment=f'"comment {tag}"', replies="nobody", quotes="false")},
        config(pds),
    )
    env = direct_env(pds)
    assert publish(repo, env).returncode == 0
    published = me(repo)
    assert len(records_with(account, tag)) == 2

    unpublish(repo)
    planned = run_cli(["plan"], repo, env)
    assert "unpublish" in planned.stdout, planned.stdout
    done = publish(repo, env)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "unpublished" in done.stdout
    rec = me(repo)
    assert rec["status"] == "unpublished" and rec["unpublishedAt"].endswith("Z")
    assert rec["uri"] == published["uri"] and "at" not in rec
    assert records_with(account, tag) == []
    assert_all_gone(account, rec)

    before = (repo / "posts/a.md").read_bytes()
    planned = run_cli(["plan", "--json"], repo, env)
    assert '"reason": "unpublished"' in planned.stdout and '"action": "none"' in planned.stdout
    again = publish(repo, env)
    assert again.returncode == 0 and (repo / "posts/a.md").read_bytes() == before


def test_kill_9_during_unpublish_then_rerun(
    tmp_path: Path, pds: LocalPds, account: BlueskyAccount, tag: str
) -> None:
    text = f"half deleted {tag}"
    repo = make_repo(
        tmp_path, {"a.md": md(text, firstComment=f'"c {tag}"', quotes="false")}, config(pds)
    )
    env = direct_env(pds)
    assert publish(repo, env).returncode == 0
    unpublish(repo)
    killed = run_killed(repo, env, "after delete_record")  # the comment is gone, not the post
    assert killed.returncode == -9, killed.stderr
    assert me(repo)["status"] == "unpublishing"
    assert [r["value"]["text"] for r in records_with(account, tag)] == [text]

    rerun = publish(repo, env)
    assert rerun.returncode == 0, rerun.stderr + rerun.stdout
    rec = me(repo)
    assert rec["status"] == "unpublished"
    assert records_with(account, tag) == []
    assert_all_gone(account, rec)


def test_unpublish_through_letmepost_cancels_queued_and_says_so_for_published(
    tmp_path: Path, pds: LocalPds, sandbox: Any, tag: str
) -> None:
    env = direct_env(pds, LETMEPOST_API_URL=sandbox.url, LETMEPOST_API_KEY=sandbox.live_key)
    posts = {
        "q.md": md(f"queued {tag}", "[bluesky]", scheduledAt="2099-01-01T09:00:00Z"),
        "p.md": md(f"out {tag}", "[bluesky]"),
    }
    repo = make_repo(tmp_path, posts, config(pds))
    assert publish(repo, env).returncode == 0
    queued = record(repo / "posts/q.md")["targets"]["bluesky"]
    assert queued["status"] == "queued"
    out = record(repo / "posts/p.md")["targets"]["bluesky"]
    assert out["status"] == "published"
    unpublish(repo, "q.md")
    unpublish(repo, "p.md")
    p_before = (repo / "posts/p.md").read_bytes()

    done = publish(repo, env)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "which cannot delete it: delete it on the platform" in done.stdout
    assert web_url(out["uri"], "bluesky") in done.stdout  # the link to delete by hand
    assert "1 target result recorded" in done.stdout and "1 to delete by hand" in done.stdout
    rec = record(repo / "posts/q.md")["targets"]["bluesky"]
    assert rec["status"] == "unpublished" and rec["unpublishedAt"]
    (row,) = [r for r in sandbox.posts() if tag in (r.get("text") or "") and "queued" in r["text"]]
    assert row["status"] == "canceled"
    assert (repo / "posts/p.md").read_bytes() == p_before  # nothing was deleted: nothing to say

    q_after = (repo / "posts/q.md").read_bytes()
    again = publish(repo, env)
    assert again.returncode == 0, again.stderr
    assert "delete it on the platform" in again.stdout  # said again: the post is still out
    assert (repo / "posts/q.md").read_bytes() == q_after
    planned = run_cli(["plan"], repo, env)
    assert "unpublished" in planned.stdout
