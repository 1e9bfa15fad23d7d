"""The link card in the previews: the model names the link a direct Bluesky post's card
will show (no network), the live page's hub reads its title in the background from a
page served by this test on 127.0.0.1, and the page itself stays offline (its CSP)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from publisher.config import load_config
from publisher.plan import make_plan
from publisher.preview.page import PreviewHub, serve
from publisher.preview.views import build_preview
from publisher.run import Run
from publisher.validate import load_post
from tests.clients.test_linkcard import Site, og_page
from tests.helpers import make_repo

CONFIG = """\
posts = "posts"

[accounts]
x = "twitter"

[accounts.me]
bluesky = "alice.test"
pds = "http://127.0.0.1:9"
"""


@pytest.fixture(autouse=True)
def _fetch_from_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pages are served on 127.0.0.1, which link cards refuse unless allowed."""
    monkeypatch.setenv("PUBLISHER_FETCH_ALLOW", "127.0.0.1")


@pytest.fixture(scope="module")
def site() -> Any:
    s = Site()
    yield s
    s.close()


def preview(root: Path, name: str) -> Any:
    config = load_config(path=root / "publisher.toml")
    post = load_post(root / "posts" / name, config)
    assert post.valid, post.problems
    return build_preview(post, make_plan([post], Run()).files[0], root=root)


def test_card_in_the_model_the_terminal_and_the_live_page(tmp_path: Path, site: Site) -> None:
    page = site.page("/preview/page", og_page(title="Preview title"))
    other = "https://example.invalid/other"
    posts = {
        "a.md": f"---\ntargets: [me, x]\n---\nRead {page} now\n",
        "off.md": f"---\ntargets: [me]\ncard: false\n---\nRead {page}\n",
        "pick.md": f"---\ntargets: [me]\ncard: {other}\n---\nRead {page}\n",
    }
    root = make_repo(tmp_path, posts, CONFIG)

    a = preview(root, "a.md")
    me, x = a.targets
    assert me.card == {"url": page, "title": None, "description": None}
    assert x.card is None  # letmepost: no card of ours
    assert f"posts/a.md: me link card | {page}" in a.lines()
    assert preview(root, "off.md").targets[0].card is None
    assert preview(root, "pick.md").targets[0].card["url"] == other  # type: ignore[index]

    hub = PreviewHub()
    hub.update(a)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        (post,) = hub.snapshot()["posts"]
        card = post["targets"][0]["card"]
        if card["title"]:
            break
        time.sleep(0.05)
    assert card == {"url": page, "title": "Preview title", "description": "The description"}
    assert site.hits["/preview/page"] == 1
    hub.update(a)  # read once per link: the second preview gets it at once
    assert hub.snapshot()["posts"][0]["targets"][0]["card"]["title"] == "Preview title"
    assert site.hits["/preview/page"] == 1

    server = serve(hub, root=root, port=0)
    try:
        got = httpx.get(server.url + "api/posts", timeout=10)
        assert got.json()["posts"][0]["targets"][0]["card"]["title"] == "Preview title"
        html = httpx.get(server.url, timeout=10)
        csp = html.headers["content-security-policy"]
        assert "img-src 'self'" in csp and "connect-src 'self'" in csp
        assert "renderLinkCard" in html.text
    finally:
        server.close()


def test_unreadable_page_shows_why_there_is_no_card(tmp_path: Path, site: Site) -> None:
    missing = site.url("/preview/missing")
    root = make_repo(tmp_path, {"a.md": f"---\ntargets: [me]\n---\nSee {missing}\n"}, CONFIG)
    hub = PreviewHub()
    hub.update(preview(root, "a.md"))
    deadline = time.monotonic() + 10
    card: dict[str, Any] = {}
    while time.monotonic() < deadline:
        card = hub.snapshot()["posts"][0]["targets"][0]["card"]
        if card.get("warning"):
            break
        time.sleep(0.05)
    assert card["title"] is None and "404" in card["warning"]
