"""The live preview page (`publisher watch --serve`) in a real headless browser:
Debian's chromium driven by Playwright (no browser download: ``executable_path``).

The watcher is the real command in a subprocess, publishing to the sandbox; the page
must follow every save without a reload. A screenshot is kept in test-artifacts/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.test_watch import WatchProcess, save
from tests.fixtures.sandbox import make_png
from tests.helpers import cli_env, make_repo, post

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (/usr/bin/chromium)"),
]


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    return tab


LAUNCH = """\
---
targets: [bluesky, x]
media:
  - path: ../img/banner.png
    alt: The v2 launch banner, blue on white
---
We shipped v2 today 🎉 Thanks @alice.bsky.social for the review.
Everything you asked for, nothing you didn't: https://example.org/releases/v2 #release #python
"""


def test_the_page_follows_every_save_and_marks_an_over_limit_target(tmp_path, sandbox, page):
    repo = make_repo(tmp_path / "repo", {"launch.md": LAUNCH})
    (repo / "img").mkdir()
    (repo / "img/banner.png").write_bytes(make_png(2000))
    watcher = WatchProcess(
        repo,
        ["--publish", "--serve", "--port", "0", "--settle", "0.5"],
        cli_env(sandbox.url, sandbox.live_key),
    )
    try:
        url = watcher.wait_for(r"preview page at (http://127\.0\.0\.1:\d+/)").group(1)
        watcher.wait_for(r"^publisher watch: watching ")
        page.goto(url)
        launch = page.locator('section[data-path="posts/launch.md"]')
        launch.locator("article.card").first.wait_for()
        assert launch.locator("article.card").count() == 2
        bluesky = launch.locator('article.card[data-target="bluesky"]')
        assert bluesky.locator(".mention").inner_text() == "@alice.bsky.social"
        assert bluesky.locator(".tag").all_inner_texts() == ["#release", "#python"]
        assert bluesky.locator("a.link").get_attribute("href") == "https://example.org/releases/v2"
        assert (
            bluesky.locator("figcaption").inner_text() == "alt: The v2 launch banner, blue on white"
        )
        # The thumbnail is served from the repository.
        page.wait_for_function(
            "() => document.querySelector('section[data-path=\"posts/launch.md\"] img')"
            "?.naturalWidth > 0"
        )
        page.evaluate("() => { window.sameDocument = true; }")

        # A new post appears, then follows an edit, without a reload.
        save(repo / "posts/fresh.md", post("[bluesky]", "First take.", draft="true"))
        fresh = page.locator('section[data-path="posts/fresh.md"]')
        fresh.locator(".text", has_text="First take.").wait_for()
        assert fresh.locator(".badge").inner_text() == "draft"
        save(repo / "posts/fresh.md", post("[bluesky]", "Second take <b>bold</b>.", draft="true"))
        fresh.locator(".text", has_text="Second take <b>bold</b>.").wait_for()
        assert fresh.locator(".text b").count() == 0  # post text is text, never HTML

        # An over-limit target is marked; the other target of the same post is not.
        save(repo / "posts/long.md", post("[bluesky, threads]", "Too long for Bluesky. " * 18))
        long = page.locator('section[data-path="posts/long.md"]')
        over = long.locator('article.card[data-target="bluesky"]')
        over.wait_for()
        assert "over" in (over.get_attribute("class") or "").split()
        assert over.locator(".left").inner_text() == "over by 95"
        assert over.locator(".used").inner_text() == "395 / 300 graphemes"
        threads = long.locator('article.card[data-target="threads"]')
        assert "over" not in (threads.get_attribute("class") or "").split()
        assert long.locator(".badge").inner_text() == "invalid"

        # A thread shows each later part with its meter; a reply says what it answers.
        save(
            repo / "posts/thread.md",
            "---\ntargets: [bluesky]\nreplyTo: at://did:plc:abc/app.bsky.feed.post/3k\n---\n"
            "Part one.\n---\nPart two, a reply.\n",
        )
        card = page.locator('section[data-path="posts/thread.md"] article.card')
        card.locator(".part").wait_for()
        assert (
            card.locator(".part .meter-line").inner_text().lower() == "part 2/2: 18/300 graphemes"
        )
        assert card.locator(".part .text").inner_text() == "Part two, a reply."
        assert "replies to at://did:plc:abc" in card.locator(".refs").inner_text()

        # A post that settles is published; its card links to the published post.
        save(repo / "posts/ship.md", post("[bluesky]", "Shipping from watch."))
        ship = page.locator('section[data-path="posts/ship.md"]')
        link = ship.locator(".result a")
        link.wait_for()
        assert re.match(r"https://", link.get_attribute("href") or "")
        assert ship.locator(".badge").inner_text() == "up to date"

        (repo / "posts/fresh.md").unlink()
        page.locator('section.deleted[data-path="posts/fresh.md"]').wait_for()

        assert page.evaluate("() => window.sameDocument") is True
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "watch-preview.png"), full_page=True)
    finally:
        watcher.close()


def test_the_page_is_ready_with_invalid_posts_first_a_calendar_and_local_times(tmp_path, browser):
    """What a person opening the page sees first: what needs fixing, then what goes out
    when, in their own timezone (here New York: UTC-5 in winter). The page says when it
    is complete (`body[data-ready="1"]`), so the screenshot is never taken too early."""
    repo = make_repo(
        tmp_path / "repo",
        {
            "fine.md": post("[bluesky]", "Nothing special."),
            "later.md": post("[bluesky, threads]", "In March.", scheduledAt="2031-03-01T09:00:00Z"),
            "soon.md": post("[bluesky]", "In February.", scheduledAt="2031-02-01T18:30:00+01:00"),
            "broken.md": post("[bluesky]", "Typo.", scheduleAt="2031-01-01T00:00:00Z"),
        },
    )
    watcher = WatchProcess(
        repo, ["--no-publish", "--serve", "--port", "0"], cli_env("http://127.0.0.1:9", None)
    )
    try:
        url = watcher.wait_for(r"preview page at (http://127\.0\.0\.1:\d+/)").group(1)
        context = browser.new_context(
            viewport={"width": 1280, "height": 1000},
            locale="en-US",
            timezone_id="America/New_York",
        )
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        page.wait_for_selector('body[data-ready="1"]')

        # every post is there at once, the invalid one first
        paths = page.locator("section.post").evaluate_all("s => s.map(x => x.dataset.path)")
        assert paths[0] == "posts/broken.md" and sorted(paths) == sorted(
            f"posts/{n}.md" for n in ("fine", "later", "soon", "broken")
        )
        assert page.locator("section.post").first.locator(".badge").inner_text() == "invalid"

        # the calendar: soonest first, by day, in the browser's time
        rows = page.locator("#calendar tr.entry")
        assert rows.evaluate_all(
            "r => r.map(x => [x.dataset.file, x.dataset.target, x.dataset.status])"
        ) == [
            ["posts/soon.md", "bluesky", "planned"],
            ["posts/later.md", "bluesky", "planned"],
            ["posts/later.md", "threads", "planned"],
        ]
        assert page.locator("#calendar h3.day").all_inner_texts() == [
            "Saturday, February 1, 2031",
            "Saturday, March 1, 2031",
        ]
        assert rows.nth(0).locator(".time").inner_text() == "12:30 PM EST"  # 17:30 UTC
        assert rows.nth(1).locator(".time").inner_text() == "04:00 AM EST"  # 09:00 UTC
        assert rows.nth(0).locator(".time").get_attribute("title") == "2031-02-01T17:30:00Z (UTC)"
        when = page.locator('section[data-path="posts/soon.md"] .when').inner_text()
        assert when == "scheduled for Sat, Feb 1, 2031, 12:30 PM EST", when

        # a post scheduled on save joins the calendar without a reload
        save(repo / "posts/new.md", post("[bluesky]", "New.", scheduledAt="2031-01-15T12:00:00Z"))
        page.wait_for_selector('#calendar tr.entry[data-file="posts/new.md"]')
        first = page.locator("#calendar tr.entry").first
        assert first.get_attribute("data-file") == "posts/new.md"
        assert first.locator(".time").inner_text() == "07:00 AM EST"

        shot = tmp_path / "watch-ready.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 10_000
        context.close()
    finally:
        watcher.close()
