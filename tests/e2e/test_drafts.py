"""`publisher draft --feed`: feeds served by this test on 127.0.0.1 (RSS, Atom, JSON
Feed, a broken one, one that changes between runs) become draft files in a real git
repository; what was drafted, published or deleted is never drafted again; every
fetch is conditional, bounded and refused on a private address unless allowed."""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import gzip
import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.test_init import git
from tests.helpers import cli_env, make_repo, run_cli

CONFIG = """\
posts = "posts"
targets = ["x", "bluesky"]

[accounts]
x = "twitter"
"""


# --------------------------------------------------------------------------- the server


class FeedServer:
    """Feeds on 127.0.0.1 that answer conditional requests like a careful web server:
    an ETag and Last-Modified with every 200, 304 when either matches. ``hits`` counts
    requests per path, ``conditional`` those that carried a validator."""

    def __init__(self) -> None:
        self.feeds: dict[str, tuple[bytes, str]] = {}
        self.raw: dict[str, Any] = {}
        self.hits: dict[str, int] = {}
        self.conditional: dict[str, int] = {}
        self.modified = email.utils.formatdate(usegmt=True)
        server = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                server.hits[path] = server.hits.get(path, 0) + 1
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    if path in server.raw:
                        server.raw[path](self)
                        return
                    if path not in server.feeds:
                        self.send_error(404)
                        return
                    body, ctype = server.feeds[path]
                    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                    inm = self.headers.get("If-None-Match")
                    if inm or self.headers.get("If-Modified-Since"):
                        server.conditional[path] = server.conditional.get(path, 0) + 1
                    if inm == etag:
                        self.send_response(304)
                        self.send_header("ETag", etag)
                        self.end_headers()
                        return
                    self.send_response(200)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("ETag", etag)
                    self.send_header("Last-Modified", server.modified)
                    self.end_headers()
                    self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def serve(self, path: str, body: str | bytes, ctype: str) -> str:
        self.feeds[path] = (body.encode() if isinstance(body, str) else body, ctype)
        return self.url(path)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    s = FeedServer()
    yield s
    s.close()


def rss(*items: tuple[str, str, str, str, str]) -> str:
    """RSS 2.0 of (guid, title, link, html description, RFC 822 date) items."""
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0"><channel><title>Our blog</title><link>https://blog.example.org/</link>',
    ]
    for guid, title, link, desc, date in items:
        out.append(
            f"<item><guid>{guid}</guid><title>{title}</title><link>{link}</link>"
            f"<description><![CDATA[{desc}]]></description><pubDate>{date}</pubDate></item>"
        )
    return "\n".join([*out, "</channel></rss>"])


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Release notes</title><id>urn:feed</id><updated>2026-11-05T09:00:00Z</updated>
  <entry>
    <id>tag:example.org,2026:talk</id>
    <title>Our talk at FOSDEM</title>
    <link rel="alternate" href="https://example.org/talks/fosdem"/>
    <updated>2026-11-05T09:00:00Z</updated>
    <summary type="html">&lt;p&gt;Slides &amp;amp; video.&lt;/p&gt;</summary>
  </entry>
</feed>
"""

JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Videos",
        "items": [
            {
                "id": "video-7",
                "url": "https://videos.example.org/7",
                "title": "Building publisher, part 7",
                "content_html": "<p>We <b>fix</b> the feeds.</p><script>alert(1)</script>",
                "date_published": "2026-11-04T12:00:00+01:00",
                "authors": [{"name": "Ana"}],
            }
        ],
    }
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "repo", {}, config=CONFIG)
    (root / ".gitignore").write_text(".publisher/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    return root


ALLOW = cli_env("http://127.0.0.1:9", None, PUBLISHER_FETCH_ALLOW="127.0.0.1")


def front(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text().split("---\n")[1])


def body(path: Path) -> str:
    return path.read_text().split("---\n", 2)[2]


def draft(repo: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return run_cli(["draft", *args], repo, env or ALLOW)


def drafted(repo: Path) -> list[Path]:
    return sorted((repo / "posts").rglob("*.md"))


# --------------------------------------------------------------------------- the three kinds


def test_rss_atom_and_json_feed_entries_become_drafts_that_validate(repo, feeds):
    r = feeds.serve(
        "/rss",
        rss(
            (
                "https://blog.example.org/?p=2",
                "We shipped v2",
                "https://blog.example.org/v2",
                "<p>Everything you asked for.</p>",
                "Mon, 02 Nov 2026 10:00:00 GMT",
            )
        ),
        "application/rss+xml",
    )
    a = feeds.serve("/atom", ATOM, "application/atom+xml")
    j = feeds.serve("/json", JSON_FEED, "application/feed+json")
    done = draft(repo, "--feed", r, "--feed", a, "--feed", j)
    assert done.returncode == 0, done.stderr
    files = drafted(repo)
    assert [f.name for f in files] == [
        "2026-11-02-we-shipped-v2.md",
        "2026-11-04-building-publisher-part-7.md",
        "2026-11-05-our-talk-at-fosdem.md",
    ]
    v2, video, talk = files
    meta = front(v2)
    assert meta["draft"] is True and meta["targets"] == ["x", "bluesky"]
    assert meta["source"] == {
        "id": "https://blog.example.org/?p=2",
        "url": "https://blog.example.org/v2",
        "feed": r,
    }
    assert body(v2) == (
        "We shipped v2\n\nEverything you asked for.\n\nhttps://blog.example.org/v2\n"
    )
    assert front(talk)["source"]["id"] == "tag:example.org,2026:talk"
    assert "Slides & video." in body(talk)
    assert body(video).startswith("Building publisher, part 7\n\nWe fix the feeds.\n")
    assert "alert" not in body(video)
    for f in files:
        assert f"posts/{f.name}" in done.stdout
    checked = run_cli(["validate"], repo, ALLOW)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # A draft is never published; removing `draft: true` is all it takes.
    plan = json.loads(run_cli(["plan", "--json"], repo, ALLOW).stdout)
    assert {f["state"] for f in plan["files"]} == {"draft"}
    v2.write_text(v2.read_text().replace("draft: true  # remove this line to publish\n", ""))
    plan = json.loads(run_cli(["plan", "--json", str(v2)], repo, ALLOW).stdout)
    assert plan["files"][0]["state"] == "new"


def test_a_second_run_asks_conditionally_and_drafts_nothing_again(repo, feeds):
    url = feeds.serve(
        "/rss",
        rss(("g1", "One", "https://e.org/1", "first", "Sun, 01 Nov 2026 10:00:00 GMT")),
        "application/rss+xml",
    )
    assert draft(repo, "--feed", url).returncode == 0
    again = draft(repo, "--feed", url)
    assert again.returncode == 0, again.stderr
    assert "304" in again.stderr and "nothing new" in again.stderr
    assert feeds.hits["/rss"] == 2 and feeds.conditional["/rss"] == 1  # one request per run
    assert len(drafted(repo)) == 1
    # Without the cached validators (a fresh checkout, the Action), the files decide.
    (repo / ".publisher" / "feeds.json").unlink()
    third = draft(repo, "--feed", url)
    assert third.returncode == 0 and "1 drafted before" in third.stderr
    assert len(drafted(repo)) == 1


def test_a_feed_that_changes_between_runs_drafts_only_its_new_entries(repo, feeds):
    one = ("g1", "One", "https://e.org/1", "first", "Sun, 01 Nov 2026 10:00:00 GMT")
    two = ("g2", "Two", "https://e.org/2", "second", "Mon, 02 Nov 2026 10:00:00 GMT")
    url = feeds.serve("/rss", rss(one), "application/rss+xml")
    assert draft(repo, "--feed", url).returncode == 0
    feeds.serve("/rss", rss(two, one), "application/rss+xml")
    done = draft(repo, "--feed", url)
    assert done.returncode == 0, done.stderr
    assert "1 new draft, 1 drafted before" in done.stderr
    assert [f.name for f in drafted(repo)] == ["2026-11-01-one.md", "2026-11-02-two.md"]


# --------------------------------------------------------------------------- never twice


def test_drafted_published_or_deleted_entries_are_never_drafted_again(repo, feeds):
    items = [
        (f"g{n}", f"Entry {n}", f"https://e.org/{n}", "text", f"0{n} Nov 2026 10:00:00 GMT")
        for n in range(1, 4)
    ]
    url = feeds.serve("/rss", rss(*items[:3]), "application/rss+xml")
    assert draft(repo, "--feed", url).returncode == 0
    one, two, three = drafted(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "drafts")
    # Entry 1 is published (its draft line removed, a record written back), entry 2
    # is rejected in review (the file deleted and committed), entry 3 renamed.
    text = one.read_text().replace("draft: true  # remove this line to publish\n", "")
    one.write_text(text.replace("---\nEntry 1", "published:\n  env: live\n---\nEntry 1"))
    two.unlink()
    three.rename(three.with_name("renamed.md"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "review")
    (repo / ".publisher").rename(repo / ".publisher-gone")  # no local memory either
    done = draft(repo, "--feed", url)
    assert done.returncode == 0, done.stderr
    assert "0 new drafts, 3 drafted before" in done.stderr
    assert sorted(f.name for f in drafted(repo)) == ["2026-11-01-entry-1.md", "renamed.md"]


def test_an_entry_drafted_on_another_branch_is_not_drafted_again(repo, feeds):
    """A draft waiting in an open pull request's branch counts: the Action's next run
    on main must not open a second pull request for it."""
    url = feeds.serve(
        "/rss",
        rss(("g1", "One", "https://e.org/1", "x", "Sun, 01 Nov 2026 10:00:00 GMT")),
        "application/rss+xml",
    )
    git(repo, "checkout", "-q", "-b", "publisher/drafts")
    assert draft(repo, "--feed", url).returncode == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "drafts")
    git(repo, "checkout", "-q", "main")
    (repo / ".publisher" / "feeds.json").unlink()
    assert drafted(repo) == []
    done = draft(repo, "--feed", url)
    assert done.returncode == 0 and "1 drafted before" in done.stderr
    assert drafted(repo) == []


def test_a_draft_never_overwrites_a_file(repo, feeds):
    url = feeds.serve(
        "/rss",
        rss(("g1", "Launch", "https://e.org/1", "x", "Sun, 01 Nov 2026 10:00:00 GMT")),
        "application/rss+xml",
    )
    mine = repo / "posts" / "2026-11-01-launch.md"
    mine.write_text("---\ntargets: [x]\ndraft: true\n---\nMy own launch post\n")
    assert draft(repo, "--feed", url).returncode == 0
    assert mine.read_text().endswith("My own launch post\n")
    new = repo / "posts" / "2026-11-01-launch-2.md"
    assert front(new)["source"]["id"] == "g1"
    assert not list((repo / "posts").glob(".*.tmp"))


# --------------------------------------------------------------------------- the text


def test_the_summary_is_cut_to_the_tightest_target_as_validate_counts(repo, feeds):
    long = " ".join(["Ünïcode wörds and émoji 🎉 everywhere"] * 40)
    url = feeds.serve(
        "/rss",
        rss(("g1", "Big news", "https://e.org/big", long, "Sun, 01 Nov 2026 10:00:00 GMT")),
        "application/rss+xml",
    )
    assert draft(repo, "--feed", url).returncode == 0
    (path,) = drafted(repo)
    text = body(path).strip()
    assert text.startswith("Big news\n\nÜnïcode wörds") and text.endswith("https://e.org/big")
    assert "…\n\nhttps://e.org/big" in text
    from publisher.rules.limits import measure

    x = measure("twitter", text)
    assert not x.over and x.used > x.limit - 15  # cut close to X's 280 weighted characters
    checked = run_cli(["validate", "--strict", str(path)], repo, ALLOW)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_feed_settings_in_the_config_template_targets_and_folder(repo, feeds):
    url = feeds.serve("/json", JSON_FEED, "application/feed+json")
    config = CONFIG.replace('x = "twitter"', 'x = "twitter"\nlinkedin-co = "linkedin"')
    config += (
        f'\n[[feeds]]\nurl = "{url}"\ntargets = ["linkedin-co"]\nfolder = "posts/videos"\n'
        'template = "New video by {author}: {title}\\n\\n{link}\\n\\n{{#video}}"\n'
    )
    (repo / "publisher.toml").write_text(config)
    done = draft(repo)  # no argument: every [[feeds]] entry
    assert done.returncode == 0, done.stderr
    (path,) = drafted(repo)
    assert path.parent.name == "videos"
    assert front(path)["targets"] == ["linkedin-co"]
    assert body(path) == (
        "New video by Ana: Building publisher, part 7\n\nhttps://videos.example.org/7\n\n{#video}\n"
    )


@pytest.mark.parametrize(
    ("toml", "says"),
    [
        ("[[feeds]]\ntemplate = 'x'\n", "feeds[1].url is missing"),
        ("[[feeds]]\nurl = 'ftp://e.org/f'\n", "not an http(s) URL"),
        ("[[feeds]]\nurl = 'https://e.org/f'\ntemplate = '{titel}'\n", 'did you mean "title"'),
        ("[[feeds]]\nurl = 'https://e.org/f'\ntargets = ['nobody']\n", "'nobody' is not an alias"),
        ("[[feeds]]\nurl = 'https://e.org/f'\nfolder = '../out'\n", "inside the repository"),
        ("[[feeds]]\nurl = 'https://e.org/f'\nurls = 'x'\n", "unknown setting 'urls'"),
        ("feeds = 'https://e.org/f'\n[x]\n", "array of tables"),
    ],
)
def test_a_bad_feed_setting_is_a_configuration_error(repo, toml, says):
    if toml.startswith("feeds ="):  # a top-level key goes before the tables
        toml, config = "", toml.split("[x]")[0] + CONFIG
    else:
        config = CONFIG + "\n"
    (repo / "publisher.toml").write_text(config + toml)
    done = draft(repo)
    assert done.returncode == 2 and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_no_feed_at_all_is_a_usage_error(repo):
    done = draft(repo)
    assert done.returncode == 2 and "[[feeds]]" in done.stderr


# --------------------------------------------------------------------------- failures


def test_a_failed_feed_is_one_line_and_the_others_go_on(repo, feeds):
    good = feeds.serve("/good", ATOM, "application/atom+xml")
    broken = feeds.serve("/broken", "<html><body>not a feed", "text/html")
    half = feeds.serve(
        "/half", '{"version": "https://jsonfeed.org/version/1", "items": [', "application/feed+json"
    )
    missing = feeds.url("/missing")

    def huge(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Content-Encoding", "gzip")
        h.end_headers()
        h.wfile.write(gzip.compress(b"<rss>" + b" " * 50_000_000))

    feeds.raw["/bomb"] = huge
    bomb = feeds.url("/bomb")
    done = draft(repo, *[x for u in (broken, half, missing, bomb, good) for x in ("--feed", u)])
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    failed = [line for line in lines if ": failed: " in line]
    assert len(failed) == 4, done.stderr
    assert f"{broken}: failed: not an RSS, Atom or JSON feed" in done.stderr
    assert f"{half}: failed: not a JSON feed" in done.stderr
    assert f"{missing}: failed: answered 404" in done.stderr
    assert f"{bomb}: failed: more than 5,000,000 bytes" in done.stderr
    assert f"{good}: 1 new draft" in done.stderr
    assert [f.name for f in drafted(repo)] == ["2026-11-05-our-talk-at-fosdem.md"]
    assert "Traceback" not in done.stderr


def test_a_private_address_needs_publisher_fetch_allow(repo, feeds):
    url = feeds.serve("/atom", ATOM, "application/atom+xml")
    env = cli_env("http://127.0.0.1:9", None)
    done = draft(repo, "--feed", url, env=env)
    assert done.returncode == 1
    assert "127.0.0.1 is a loopback address: not fetched" in done.stderr
    assert "allow it with $PUBLISHER_FETCH_ALLOW or fetch_allow" in done.stderr
    assert feeds.hits == {} and drafted(repo) == []
    # A redirect from an allowed host into a private one is refused too.
    feeds.raw["/hop"] = lambda h: (
        h.send_response(302),
        h.send_header("Location", "http://10.1.2.3/feed"),
        h.send_header("Content-Length", "0"),
        h.end_headers(),
    )
    done = draft(repo, "--feed", feeds.url("/hop"))
    assert done.returncode == 1 and "10.1.2.3 is a private address" in done.stderr
    # `fetch_allow` in publisher.toml allows it too, like for link cards.
    (repo / "publisher.toml").write_text('fetch_allow = ["127.0.0.1"]\n' + CONFIG)
    done = draft(repo, "--feed", url, env=env)
    assert done.returncode == 0 and "1 new draft" in done.stderr, done.stderr


def test_a_hanging_feed_times_out(repo, feeds, monkeypatch):
    from publisher.drafts import fetch

    release = threading.Event()

    def hang(h: BaseHTTPRequestHandler) -> None:
        release.wait(10)

    feeds.raw["/hang"] = hang
    monkeypatch.setenv("PUBLISHER_FETCH_ALLOW", "127.0.0.1")
    try:
        with pytest.raises(fetch.FeedFetchError, match="timed out"):
            fetch.fetch_feed(feeds.url("/hang"), timeout=0.5)
    finally:
        release.set()


# --------------------------------------------------------------------------- options


def test_since_limit_dry_run_and_json(repo, feeds):
    items = [
        (f"g{n}", f"Entry {n}", f"https://e.org/{n}", "t", f"0{n} Nov 2026 10:00:00 GMT")
        for n in range(1, 6)
    ]
    url = feeds.serve("/rss", rss(*items), "application/rss+xml")
    dry = draft(repo, "--feed", url, "--since", "2026-11-02", "--limit", "2", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    out = json.loads(dry.stdout)
    assert out["dryRun"] is True and out["drafted"] == 2 and out["failed"] == 0
    (result,) = out["results"]
    assert result["older"] == 1 and result["left"] == 2
    assert [d["file"] for d in result["drafts"]] == [
        "posts/2026-11-04-entry-4.md",
        "posts/2026-11-05-entry-5.md",
    ]
    assert not any(d["written"] for d in result["drafts"])
    assert drafted(repo) == [] and not (repo / ".publisher" / "feeds.json").exists()
    done = draft(repo, "--feed", url, "--since", "2026-11-02", "--limit", "2")
    assert [f.name for f in drafted(repo)] == ["2026-11-04-entry-4.md", "2026-11-05-entry-5.md"]
    assert "2 left for a later run (--limit)" in done.stderr
    # What --limit left is drafted by the next run (the feed is read in full again).
    later = draft(repo, "--feed", url, "--since", "2026-11-02")
    assert (
        later.returncode == 0 and "2 new drafts, 2 drafted before, 1 before --since" in later.stderr
    )


def test_source_is_metadata_it_does_not_change_the_content_hash(tmp_path):
    from publisher.config import load_config
    from publisher.validate import load_post

    root = make_repo(tmp_path, {}, config=CONFIG)
    plain = root / "posts" / "a.md"
    plain.write_text("---\ntargets: [x]\n---\nHello https://e.org/1\n")
    sourced = root / "posts" / "b.md"
    sourced.write_text(
        "---\ntargets: [x]\nsource:\n  id: g1\n  url: https://e.org/1\n  feed: release\n"
        "---\nHello https://e.org/1\n"
    )
    config = load_config(root)
    a, b = load_post(plain, config), load_post(sourced, config)
    assert a.valid and b.valid, b.problems
    assert a.hash == b.hash
    bad = root / "posts" / "c.md"
    bad.write_text("---\ntargets: [x]\nsource:\n  url: https://e.org/1\n---\nHello\n")
    problems = [str(p) for p in load_post(bad, config).problems]
    assert any("source.id" in p or "id" in p for p in problems), problems


def test_since_accepts_spans_and_refuses_nonsense():
    from publisher.commands.draft import parse_since
    from publisher.errors import UsageError

    now = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)
    assert parse_since("7d", now) == now - dt.timedelta(days=7)
    assert parse_since("2026-11-01", now) == dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with pytest.raises(UsageError, match="no timezone offset"):
        parse_since("2026-11-01T10:00:00", now)
    with pytest.raises(UsageError, match="give a date"):
        parse_since("last week", now)


# --------------------------------------------------------------------------- review


@pytest.fixture
def harness(tmp_path: Path, sandbox: Any) -> Any:
    from tests.e2e.test_ci import Harness

    return Harness(tmp_path, sandbox)


def test_the_pull_request_preview_shows_the_drafts_like_any_post(harness, feeds):
    _, base = harness.seed({})
    ws = harness.clone("ws")
    harness.git(ws, "checkout", "-q", "-b", "publisher/drafts-1")
    url = feeds.serve("/atom", ATOM, "application/atom+xml")
    done = run_cli(["draft", "--feed", url], ws, {**ALLOW, **harness.base_env, **ALLOW})
    assert done.returncode == 0, done.stderr
    (ws / ".publisher" / "feeds.json").unlink()
    head = harness.commit(ws, {}, "New drafts from feeds and releases")
    run = harness.run(ws, "pull_request", harness.pr_event(base, head), key=None)
    assert run.returncode == 0, run.stdout + run.stderr
    assert r"posts/2026\-11\-05\-our\-talk\-at\-fosdem.md — draft" in run.summary
    assert "Draft: never published." in run.summary
    assert "Our talk at FOSDEM\n\nSlides &amp; video.\n\nhttps://example.org/talks/fosdem" in (
        run.summary
    )
    assert "| bluesky | bluesky 69/300 graphemes |" in run.summary


def test_a_direct_bluesky_target_gets_the_entry_as_its_link_card(repo, feeds):
    config = CONFIG.replace('targets = ["x", "bluesky"]', 'targets = ["me"]')
    config += '\n[accounts.me]\nbluesky = "alice.bsky.social"\n'
    (repo / "publisher.toml").write_text(config)
    url = feeds.serve(
        "/rss",
        rss(
            (
                "g1",
                "Read this",
                "https://e.org/post",
                "<p>See https://other.example/also first</p>",
                "Sun, 01 Nov 2026 10:00:00 GMT",
            )
        ),
        "application/rss+xml",
    )
    assert draft(repo, "--feed", url).returncode == 0
    (path,) = drafted(repo)
    assert front(path)["card"] == "https://e.org/post"  # not the summary's first link
    assert run_cli(["validate", str(path)], repo, ALLOW).returncode == 0


def test_a_posts_folder_that_cannot_be_written_is_one_clear_line(repo, feeds):
    import os

    if os.geteuid() == 0:
        # root writes anywhere: a file where the folder should be stops it instead
        (repo / "posts").rmdir()
        (repo / "posts").write_text("not a folder")
    else:
        (repo / "posts").chmod(0o500)
    url = feeds.serve("/atom", ATOM, "application/atom+xml")
    try:
        done = draft(repo, "--feed", url)
    finally:
        if (repo / "posts").is_dir():
            (repo / "posts").chmod(0o700)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"{url}: failed: cannot write " in done.stderr
    state = json.loads((repo / ".publisher" / "feeds.json").read_text())
    assert state["feeds"][url].get("etag") is None  # the next run reads it in full


def test_a_backlog_comes_in_steps_of_twenty_newest_first(repo, feeds):
    start = dt.datetime(2026, 10, 1, 10, tzinfo=dt.UTC)
    items = [
        (
            f"g{n}",
            f"Entry {n}",
            f"https://e.org/{n}",
            "t",
            email.utils.format_datetime(start + dt.timedelta(days=n), usegmt=True),
        )
        for n in range(25)
    ]
    url = feeds.serve("/rss", rss(*items), "application/rss+xml")
    done = draft(repo, "--feed", url)
    assert done.returncode == 0 and "20 new drafts, 5 left for a later run" in done.stderr
    names = [f.name for f in drafted(repo)]
    assert len(names) == 20 and names[0] == "2026-10-06-entry-5.md"
    done = draft(repo, "--feed", url)
    assert "5 new drafts, 20 drafted before" in done.stderr
    assert feeds.conditional.get("/rss", 0) == 0  # read in full: the first run left some


def test_hostile_entries_make_files_that_parse_and_never_split_into_a_thread(repo, feeds):
    """Titles and summaries are data: YAML, thread separators, control characters,
    HTML and a private feed's token in its URL never reach the file as structure."""
    items = [
        ("g1", "---", "https://e.org/1", "<p>---</p><p>real text</p>", "01 Nov 2026 10:00 GMT"),
        (
            "id: injected\nsource: {id: x}",
            "draft: false\n---\nhi",
            "https://e.org/2",
            "line one\n---\nline two\x07\x1b[31m",
            "02 Nov 2026 10:00 GMT",
        ),
        ("g3", "", "", "", "03 Nov 2026 10:00 GMT"),  # nothing to announce
        (
            "g4",
            "&lt;script&gt;x&lt;/script&gt; {title} {{",
            "javascript:alert(1)",
            "ok",
            "04 Nov 2026 10:00 GMT",
        ),
    ]
    feeds.serve("/rss", rss(*items), "application/rss+xml")
    done = draft(repo, "--feed", feeds.url("/rss?token=s3cret"))
    assert done.returncode == 0, done.stderr
    assert "s3cret" not in done.stdout + done.stderr
    files = drafted(repo)
    assert len(files) == 3
    for path in files:
        meta = front(path)
        assert meta["draft"] is True and "s3cret" not in path.read_text()
        assert meta["source"]["feed"] == feeds.url("/rss")
        assert "\n---\n" not in body(path) and "\x1b" not in body(path)
    checked = run_cli(["validate"], repo, ALLOW)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    sources = sorted(front(f)["source"]["id"] for f in files)
    assert sources == ["g1", "g4", "id: injected\nsource: {id: x}"]
    by_id = {front(f)["source"]["id"]: f for f in files}
    assert body(by_id["g4"]).startswith("<script>x</script> {title} {{\n\nok")
    assert "url" not in front(by_id["g4"])["source"]  # not an http(s) link
    # The odd ids are found again: nothing is drafted twice.
    (repo / ".publisher" / "feeds.json").unlink()
    again = draft(repo, "--feed", feeds.url("/rss?token=s3cret"))
    assert "0 new drafts, 3 drafted before" in again.stderr


def test_relative_links_are_resolved_and_ids_kept_as_written():
    from publisher.drafts.feeds import parse_feed

    feed = parse_feed(
        rss(("p-1", "A", "/posts/a", "x", "01 Nov 2026 10:00 GMT")).encode(),
        "application/rss+xml",
        "https://blog.example.org/feed.xml?token=t",
    )
    (entry,) = feed.entries
    assert entry.id == "p-1" and entry.url == "https://blog.example.org/posts/a"
    items = [{"url": "https://e.org/1", "title": "no id"}, {"title": "neither id nor url"}, 7]
    data = {"version": "https://jsonfeed.org/version/1", "items": items}
    (only,) = parse_feed(json.dumps(data).encode()).entries
    assert only.id == "https://e.org/1"
