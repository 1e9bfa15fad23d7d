"""The live preview page (`publisher watch --serve`) in a real headless browser:
Debian's chromium driven by Playwright (no browser download: ``executable_path``).

The watcher is the real command in a subprocess, publishing to the sandbox; the page
must follow every save without a reload. A screenshot is kept in test-artifacts/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.fixtures.sandbox import make_png
from tests.helpers import cli_env, make_repo, post
from tests.test_watch import WatchProcess, save

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
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
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            tab = context.new_page()
            tab.set_default_timeout(TIMEOUT_MS)
            yield tab
        finally:
            browser.close()


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
