"""Link cards (publisher/linkcard.py) against pages and images served by this test on
127.0.0.1: tags and fallbacks, relative images, every bound of the fetch (size,
redirects, schemes, content types, time), thumbnails re-encoded to fit a blob, and a
card posted to the real local PDS."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from PIL import Image

from publisher.clients.linkcard import (
    MAX_THUMB_BYTES,
    Card,
    CardResult,
    fetch_card,
    fit_image,
    pick_link,
)

Handler = Callable[[BaseHTTPRequestHandler], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients hang up on purpose
            super().handle_error(request, client_address)


class Site:
    """A tiny threaded HTTP server: ``site.route(path, handler)``, ``site.url(path)``."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.routes: dict[str, Handler] = {}
        self.hits: dict[str, int] = {}
        self.sent: dict[str, int] = {}
        routes, hits = self.routes, self.hits

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                hits[path] = hits.get(path, 0) + 1
                handler = routes.get(path)
                if handler is None:
                    self.send_error(404)
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    handler(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Server((host, 0), H)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.server.server_address[1]}{path}"

    def route(self, path: str, handler: Handler) -> str:
        self.routes[path] = handler
        return self.url(path)

    def page(self, path: str, html: str | bytes, ctype: str = "text/html; charset=utf-8") -> str:
        body = html.encode("utf-8") if isinstance(html, str) else html
        return self.route(path, lambda h: send(h, body, ctype))

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        def handler(h: BaseHTTPRequestHandler) -> None:
            h.send_response(status)
            h.send_header("Location", location)
            h.send_header("Content-Length", "0")
            h.end_headers()

        return self.route(path, handler)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def send(h: BaseHTTPRequestHandler, body: bytes, ctype: str, **headers: str) -> None:
    h.send_response(200)
    h.send_header("Content-Type", ctype)
    h.send_header("Content-Length", str(len(body)))
    for name, value in headers.items():
        h.send_header(name.replace("_", "-"), value)
    h.end_headers()
    h.wfile.write(body)


@pytest.fixture(autouse=True)
def _fetch_from_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pages are served on 127.0.0.1, which link cards refuse unless allowed."""
    monkeypatch.setenv("PUBLISHER_FETCH_ALLOW", "127.0.0.1")


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    s = Site()
    yield s
    s.close()


def png(width: int, height: int, *, noise: bool = False, mode: str = "RGB") -> bytes:
    if noise:
        img = Image.frombytes(mode, (width, height), os.urandom(width * height * len(mode)))
    else:
        img = Image.new(mode, (width, height), (200, 30, 30) if mode == "RGB" else 0)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


SMALL_PNG = png(40, 20)


def og_page(image: str | None = None, title: str = "The title", extra: str = "") -> str:
    img = f'<meta property="og:image" content="{image}">' if image else ""
    return (
        "<!doctype html><html><head><title>Plain title</title>"
        f'<meta property="og:title" content="{title}">'
        '<meta property="og:description" content="The description">'
        f"{img}{extra}</head><body><p>hello</p></body></html>"
    )


def only_warning(result: CardResult, *needles: str) -> str:
    assert result.card is None, result
    (warning,) = result.warnings
    for needle in needles:
        assert needle in warning, warning
    return warning


# ---------------------------------------------------------------------------- tags


def test_og_tags_and_image(site: Site) -> None:
    site.route("/og/pic.png", lambda h: send(h, SMALL_PNG, "image/png"))
    url = site.page("/og/page", og_page(image=site.url("/og/pic.png")))
    card, warnings = fetch_card(url)
    assert warnings == ()
    assert card == Card(
        url=url,
        final_url=url,
        title="The title",
        description="The description",
        image=SMALL_PNG,  # small and a type Bluesky takes: as it was
        image_mime="image/png",
        image_url=site.url("/og/pic.png"),
    )
    external = card.external()
    assert (external.uri, external.title, external.thumb_mime) == (url, "The title", "image/png")


def test_fallback_to_title_and_meta_description(site: Site) -> None:
    url = site.page(
        "/fallback",
        "<html><head><title>\n  Fallback &amp; more\n</title>"
        '<meta name="Description" content="From &quot;meta&quot;"></head><body></body></html>',
    )
    assert fetch_card(url) == CardResult(Card(url, url, "Fallback & more", 'From "meta"'), ())


def test_twitter_tags_when_no_og(site: Site) -> None:
    site.route("/tw/i.png", lambda h: send(h, SMALL_PNG, "image/png"))
    url = site.page(
        "/tw/page",
        '<head><meta name="twitter:title" content="TW"><meta name="twitter:image" '
        'content="i.png"><title>not this</title></head>',
    )
    card, _ = fetch_card(url)
    assert card is not None and card.title == "TW" and card.image == SMALL_PNG


def test_relative_image_resolved_against_the_final_url(site: Site) -> None:
    site.route("/rel/deep/img/p.png", lambda h: send(h, SMALL_PNG, "image/png"))
    site.page("/rel/deep/page.html", og_page(image="img/p.png"))
    start = site.redirect("/rel/start", "/rel/deep/page.html")
    card, warnings = fetch_card(start)
    assert warnings == ()
    assert card is not None
    assert card.url == start and card.final_url == site.url("/rel/deep/page.html")
    assert card.image_url == site.url("/rel/deep/img/p.png") and card.image == SMALL_PNG


def test_base_href_and_protocol_relative_image(site: Site) -> None:
    site.route("/base/assets/b.png", lambda h: send(h, SMALL_PNG, "image/png"))
    host = site.url("")[len("http:") :]
    url = site.page(
        "/base/x/page", og_page(image="b.png", extra=f'<base href="{host}/base/assets/">')
    )
    card, _ = fetch_card(url)
    assert card is not None and card.image_url == site.url("/base/assets/b.png")


def test_charset_from_meta_and_gzip_body(site: Site) -> None:
    html = '<meta charset="iso-8859-1"><title>Caf\xe9 cr\xe8me</title>'.encode("latin-1")
    url = site.route(
        "/latin1",
        lambda h: send(h, gzip.compress(html), "text/html", Content_Encoding="gzip"),
    )
    card, _ = fetch_card(url)
    assert card is not None and card.title == "Café crème" and card.description == ""


def test_long_title_and_description_are_cut(site: Site) -> None:
    url = site.page("/long", og_page(title="é" * 400, extra=""))
    card, _ = fetch_card(url)
    assert card is not None and card.title == "é" * 299 + "…"


def test_page_without_title_gives_no_card(site: Site) -> None:
    url = site.page("/untitled", "<html><body>nothing</body></html>")
    only_warning(fetch_card(url), "no title")


# ---------------------------------------------------------------------------- bounds


def test_endless_page_is_read_up_to_the_cap(site: Site) -> None:
    head = og_page().split("<body>")[0].encode() + b"<body>"

    def endless(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(head)
        sent = len(head)
        while sent < 200_000_000:
            h.wfile.write(b"<p>" + b"x" * 16_000 + b"</p>")
            sent += 16_007
            site.sent["/endless"] = sent

    url = site.route("/endless", endless)
    started = time.monotonic()
    card, _ = fetch_card(url, max_html_bytes=100_000)
    assert card is not None and card.title == "The title"
    assert time.monotonic() - started < 3
    time.sleep(0.2)
    assert site.sent["/endless"] < 20_000_000  # hung up soon after the cap (+ socket buffers)


def test_tags_beyond_the_cap_are_not_seen(site: Site) -> None:
    url = site.page("/late", "<!--" + "x" * 200_000 + "-->" + og_page())
    only_warning(fetch_card(url, max_html_bytes=100_000), "no title")
    assert fetch_card(url, max_html_bytes=300_000).card is not None


def test_redirect_loop(site: Site) -> None:
    site.redirect("/loop/b", "/loop/a", 301)
    url = site.redirect("/loop/a", "/loop/b", 307)
    only_warning(fetch_card(url), "redirect loop")


def test_too_many_redirects(site: Site) -> None:
    for i in range(8):
        site.redirect(f"/hop/{i}", f"/hop/{i + 1}")
    site.page("/hop/8", og_page())
    only_warning(fetch_card(site.url("/hop/0"), max_redirects=5), "more than 5 redirects")
    assert fetch_card(site.url("/hop/0"), max_redirects=8).card is not None


@pytest.mark.parametrize(
    ("target", "needle"),
    [
        ("ftp://127.0.0.1/x", "'ftp://127.0.0.1/x' is not an http(s) URL"),
        ("file:///etc/passwd", "'file:///etc/passwd' is not an http(s) URL"),
        ("data:,hi", "is not a valid URL"),
    ],
)
def test_redirect_to_a_non_http_url(site: Site, target: str, needle: str) -> None:
    url = site.redirect(f"/to-other-scheme/{target.split(':')[0]}", target)
    only_warning(fetch_card(url), needle)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "file:///etc/passwd", "http://", "x"])
def test_non_http_url_is_not_fetched(url: str) -> None:
    only_warning(fetch_card(url), "not an http(s) URL")


@pytest.mark.parametrize(
    ("ctype", "body"),
    [("application/json", b'{"title": "x"}'), ("image/png", SMALL_PNG), ("", b"<title>x</title>")],
    ids=["json", "png", "none"],
)
def test_non_html_page(site: Site, ctype: str, body: bytes) -> None:
    url = site.route(f"/nonhtml/{ctype or 'none'}", lambda h: send(h, body, ctype))
    only_warning(fetch_card(url), "is ")


def test_http_error_status(site: Site) -> None:
    only_warning(fetch_card(site.url("/missing")), "answered 404")


def test_slow_page_times_out(site: Site) -> None:
    def drip(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Connection", "close")
        h.end_headers()
        for _ in range(100):  # 1 byte every 0.1 s: never a read timeout, 10 s in all
            h.wfile.write(b" ")
            h.wfile.flush()
            time.sleep(0.1)

    url = site.route("/drip", drip)
    started = time.monotonic()
    only_warning(fetch_card(url, timeout=1.0), "timed out")
    assert time.monotonic() - started < 2.5  # the page takes 10 s


def test_page_that_never_answers_times_out(site: Site) -> None:
    url = site.route("/stall", lambda h: time.sleep(5))
    started = time.monotonic()
    only_warning(fetch_card(url, timeout=0.8), "timed out")
    assert time.monotonic() - started < 2.5  # the page never answers (5 s)


# ---------------------------------------------------------------------------- images


@pytest.fixture(scope="module")
def noise_png() -> bytes:
    data = png(1400, 1000, noise=True)
    assert len(data) > 4_000_000  # random noise does not compress
    return data


def test_large_image_is_reencoded_to_fit(site: Site, noise_png: bytes) -> None:
    site.route("/big/noise.png", lambda h: send(h, noise_png, "image/png"))
    url = site.page("/big/page", og_page(image="noise.png"))
    card, warnings = fetch_card(url)
    assert warnings == ()
    assert card is not None and card.image is not None
    assert card.image_mime == "image/jpeg" and len(card.image) <= MAX_THUMB_BYTES
    with Image.open(io.BytesIO(card.image)) as img:
        assert img.format == "JPEG" and img.size[0] / img.size[1] == pytest.approx(1.4, 0.01)


def test_image_over_the_download_cap_is_dropped(site: Site, noise_png: bytes) -> None:
    site.route("/cap/noise.png", lambda h: send(h, noise_png, "image/png"))
    url = site.page("/cap/page", og_page(image="noise.png"))
    card, (warning,) = fetch_card(url, max_image_bytes=1_000_000)
    assert card is not None and card.title == "The title" and card.image is None
    assert "no image" in warning and "at most 1,000,000" in warning


@pytest.mark.parametrize(
    ("name", "body", "ctype", "needle"),
    [
        ("garbage.png", b"\x89PNG\r\n\x1a\nnot really", "image/png", "cannot be decoded"),
        ("cut.png", png(300, 300, noise=True)[:5000], "image/png", "cannot be decoded"),
        ("page.png", b"<html></html>", "text/html", "is text/html"),
    ],
    ids=["garbage", "truncated", "html"],
)
def test_unusable_image_leaves_a_card_without_image(
    site: Site, name: str, body: bytes, ctype: str, needle: str
) -> None:
    site.route(f"/bad/{name}", lambda h: send(h, body, ctype))
    url = site.page(f"/bad/page-{name}", og_page(image=name))
    card, (warning,) = fetch_card(url)
    assert card is not None and card.title == "The title"
    assert card.image is None and card.image_mime is None
    assert "no image" in warning and needle in warning


def test_image_type_comes_from_the_bytes(site: Site) -> None:
    site.route("/liar/i.jpg", lambda h: send(h, SMALL_PNG, "image/jpeg"))
    card, _ = fetch_card(site.page("/liar/page", og_page(image="i.jpg")))
    assert card is not None and card.image == SMALL_PNG and card.image_mime == "image/png"


def test_image_type_bluesky_refuses_is_converted() -> None:
    bmp = io.BytesIO()
    Image.new("RGB", (30, 30), (1, 2, 3)).save(bmp, "BMP")
    data, mime = fit_image(bmp.getvalue(), "image/bmp")
    assert mime == "image/jpeg" and Image.open(io.BytesIO(data)).size == (30, 30)


def test_transparent_image_is_flattened_on_white() -> None:
    data, mime = fit_image(png(2500, 300, noise=True, mode="RGBA"), limit=200_000)
    assert mime == "image/jpeg" and len(data) <= 200_000
    with Image.open(io.BytesIO(data)) as img:
        assert img.mode == "RGB" and max(img.size) <= 2000


def test_image_that_cannot_fit() -> None:
    from publisher.clients.linkcard import CardError

    with pytest.raises(CardError, match="cannot be made smaller"):
        fit_image(png(500, 500, noise=True), limit=100)


# ---------------------------------------------------------------------------- pick_link


@pytest.mark.parametrize(
    ("text", "kwargs", "expected"),
    [
        ("see https://a.example/x. and https://b.example", {}, "https://a.example/x"),
        ("(https://a.example/x) then", {"card": True}, "https://a.example/x"),
        ("no link, just example.com", {}, None),
        ("https://a.example", {"card": False}, None),
        ("https://a.example", {"has_media": True}, None),
        ("https://a.example", {"card": "https://other.example/p"}, "https://other.example/p"),
        ("no link", {"card": " https://other.example/p "}, "https://other.example/p"),
    ],
)
def test_pick_link(text: str, kwargs: dict[str, Any], expected: str | None) -> None:
    assert pick_link(text, **kwargs) == expected


def test_pick_link_uses_given_facets() -> None:
    from publisher.clients.atproto import build_facets

    text = "@bob.test #tag https://c.example/"
    facets = build_facets(text, lambda h: "did:plc:bob")
    assert pick_link(text, facets) == "https://c.example/"
    assert pick_link(text, []) is None  # the facets decide, not a second detection


@pytest.mark.parametrize(
    ("card", "has_media"),
    [("ftp://x.example/", False), ("example.com", False), ("https://x.example/", True)],
)
def test_pick_link_refuses_bad_explicit_url(card: str, has_media: bool) -> None:
    with pytest.raises(ValueError, match="card"):
        pick_link("text", card=card, has_media=has_media)


def test_importing_linkcard_is_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, publisher.clients.linkcard;"
        "heavy = {'PIL', 'httpx', 'regex', 'atproto_client'} & set(sys.modules);"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------------------- to Bluesky


@pytest.mark.pds
def test_fetched_card_posted_with_its_thumbnail(site: Site, pds: Any, noise_png: bytes) -> None:
    from publisher.clients.atproto import BlueskyAccount, new_tid

    site.route("/pds/noise.png", lambda h: send(h, noise_png, "image/png"))
    url = site.page("/pds/page", og_page(image="noise.png"))
    text = f"new post: {url}"
    card, warnings = fetch_card(pick_link(text) or "")
    assert card is not None and warnings == ()

    account = BlueskyAccount(pds.handle, pds.url, pds.password)
    rkey = new_tid()
    account.create_post(text, rkey=rkey, external=card.external())
    got = account.get_post(rkey)
    assert got is not None
    external = got["value"]["embed"]["external"]
    assert (external["uri"], external["title"]) == (url, "The title")
    assert external["thumb"]["mimeType"] == "image/jpeg"
    blob = httpx.get(
        f"{pds.url}/xrpc/com.atproto.sync.getBlob",
        params={"did": pds.did, "cid": external["thumb"]["ref"]["$link"]},
        timeout=10,
    )
    assert blob.status_code == 200 and blob.content == card.image
