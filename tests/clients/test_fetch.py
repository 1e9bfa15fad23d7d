"""Outbound fetches (publisher/clients/fetch.py, and link cards through it) refuse internal
addresses: served from 127.0.0.1 and 127.0.0.2 here, refused without the allowlist,
read with it; a redirect from an allowed host into a refused one is refused; an image
on an internal address is not the card's thumbnail."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest

from publisher.clients.fetch import ALLOW_ENV, FetchError, check_address, fetch, parse_allow
from publisher.clients.linkcard import fetch_card
from tests.clients.test_linkcard import SMALL_PNG, Site, og_page, send


@pytest.fixture(autouse=True)
def _no_allowlist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_ENV, raising=False)


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    s = Site()
    yield s
    s.close()


@pytest.fixture(scope="module")
def other() -> Iterator[Site]:
    """A second server on 127.0.0.2 (all of 127/8 is loopback on Linux)."""
    s = Site(host="127.0.0.2")
    yield s
    s.close()


def test_loopback_is_refused_without_the_allowlist(site: Site) -> None:
    url = site.page("/plain", "<title>internal</title>")
    with pytest.raises(FetchError, match=r"127\.0\.0\.1 is a loopback address: not fetched"):
        fetch(url, 10_000, 5.0, ["text/html"])
    assert site.hits.get("/plain") is None  # not even connected to


def test_the_allowlist_lets_it_through(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    url = site.page("/allowed", "<title>ok</title>")
    for allow in ("127.0.0.1", "10.0.0.0/8, 127.0.0.0/8", "example.com,127.0.0.1/32"):
        monkeypatch.setenv(ALLOW_ENV, allow)
        final_url, headers, body = fetch(url, 10_000, 5.0, ["text/html"])
        assert (final_url, body) == (url, b"<title>ok</title>")
        assert headers["content-type"].startswith("text/html")


def test_an_allowed_host_name_may_resolve_to_loopback(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.page("/named", "<title>named</title>")
    port = site.server.server_address[1]
    with pytest.raises(FetchError, match="loopback"):
        fetch(f"http://localhost:{port}/named", 10_000, 5.0)
    monkeypatch.setenv(ALLOW_ENV, "localhost")
    got = fetch(f"http://localhost:{port}/named", 10_000, 5.0)
    assert got.body == b"<title>named</title>"
    with pytest.raises(FetchError, match="loopback"):  # the name is allowed, not the address
        fetch(site.url("/named"), 10_000, 5.0)


def test_a_redirect_into_a_refused_address_is_refused(
    site: Site, other: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    inside = site.page("/secret", "<title>the admin panel</title>")
    start = other.redirect("/go", inside)
    monkeypatch.setenv(ALLOW_ENV, "127.0.0.2")
    with pytest.raises(FetchError, match=r"127\.0\.0\.1 is a loopback address"):
        fetch(start, 10_000, 5.0)
    assert site.hits.get("/secret") is None
    monkeypatch.setenv(ALLOW_ENV, "127.0.0.2,127.0.0.1")
    got = fetch(start, 10_000, 5.0)
    assert (got.final_url, got.body) == (inside, b"<title>the admin panel</title>")


def test_link_card_of_an_internal_page_is_no_card(site: Site) -> None:
    url = site.page("/card", og_page(title="Internal"))
    result = fetch_card(url)
    assert result.card is None
    (warning,) = result.warnings
    assert "loopback address: not fetched" in warning and "Internal" not in warning


def test_link_card_image_on_an_internal_address_is_dropped(
    site: Site, other: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.route("/thumb.png", lambda h: send(h, SMALL_PNG, "image/png"))
    page = other.page("/public", og_page(image=site.url("/thumb.png"), title="Public"))
    monkeypatch.setenv(ALLOW_ENV, "127.0.0.2")
    result = fetch_card(page)
    assert result.card is not None and result.card.title == "Public"
    assert result.card.image is None
    (warning,) = result.warnings
    assert "no image" in warning and "loopback" in warning
    assert site.hits.get("/thumb.png") is None

    # The image redirecting inside is refused as well.
    other.redirect("/thumb-redirect.png", site.url("/thumb.png"))
    other.page("/public2", og_page(image="/thumb-redirect.png", title="Public"))
    result = fetch_card(other.url("/public2"))
    assert result.card is not None and result.card.image is None
    assert site.hits.get("/thumb.png") is None


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("fd00::1", "private"),
        ("100.64.0.1", "not public"),  # shared address space (carrier NAT)
    ],
)
def test_internal_addresses_are_refused(address: str, why: str) -> None:
    ip = ipaddress.ip_address(address)
    with pytest.raises(FetchError, match=f"is a {why} address"):
        check_address("somewhere.example", ip, parse_allow([]))
    check_address("somewhere.example", ip, parse_allow([address]))  # unless allowed


def test_public_addresses_pass() -> None:
    for address in ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "1.1.1.1"):
        check_address("example.com", ipaddress.ip_address(address), parse_allow([]))


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/x",
        "http://user:secret@example.com/",
        "http:///nohost",
    ],
)
def test_urls_that_are_never_fetched(url: str) -> None:
    with pytest.raises(FetchError) as info:
        fetch(url, 1000, 2.0)
    assert "secret" not in str(info.value)


def test_a_bad_allowlist_entry_is_named(monkeypatch: pytest.MonkeyPatch, site: Site) -> None:
    monkeypatch.setenv(ALLOW_ENV, "127.0.0.1, not a host/x")
    with pytest.raises(FetchError, match=r"PUBLISHER_FETCH_ALLOW or fetch_allow: 'not a host/x'"):
        fetch(site.url("/plain"), 1000, 2.0)


def test_a_body_over_the_cap_is_refused_before_it_is_read(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ALLOW_ENV, "127.0.0.1")
    url = site.page("/big", b"x" * 50_000, "text/plain")
    with pytest.raises(FetchError, match="50,000 bytes; at most 1,000 are read"):
        fetch(url, 1000, 5.0)
    assert fetch(url, 1000, 5.0, partial=True).body == b"x" * 1000
    with pytest.raises(FetchError, match="is text/plain"):
        fetch(url, 100_000, 5.0, ["text/html", "image/*"])


def test_fetch_allow_in_publisher_toml(tmp_path: Path) -> None:
    from publisher.config import ConfigError, load_config

    (tmp_path / ".git").mkdir()
    (tmp_path / "publisher.toml").write_text('fetch_allow = ["127.0.0.1", "10.0.0.0/8"]\n')
    assert load_config(tmp_path).fetch_allow == ("127.0.0.1", "10.0.0.0/8")
    (tmp_path / "publisher.toml").write_text('fetch_allow = ["http://x/"]\n')
    with pytest.raises(ConfigError, match=r"`fetch_allow`: 'http://x/' is not a host name"):
        load_config(tmp_path)


def test_fetch_allow_in_publisher_toml_lets_a_card_through(
    tmp_path: Path, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live page's preview fetches cards in the CLI process: `fetch_allow` is what
    lets it read a page on this machine (checked here in process, as `config_from`
    registers it)."""
    from publisher.clients import fetch as netfetch
    from publisher.commands.common import config_from

    monkeypatch.setattr(netfetch, "_config_allow", ())
    url = site.page("/toml-card", og_page(title="From the toml"))
    assert fetch_card(url).card is None
    (tmp_path / ".git").mkdir()
    (tmp_path / "publisher.toml").write_text('fetch_allow = ["127.0.0.1"]\n')
    monkeypatch.chdir(tmp_path)
    config_from(tmp_path / "publisher.toml")
    card = fetch_card(url).card
    assert card is not None and card.title == "From the toml"
