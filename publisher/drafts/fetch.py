"""One bounded, polite request per feed: conditional (ETag / Last-Modified), size and
time limits, and the private-address rules of every outbound fetch.

``fetch_feed(url, etag=, last_modified=)`` returns a ``FeedAnswer`` (a 200 with its
body, or ``not_modified`` for a 304) or raises ``FeedFetchError`` (a sentence for the
user). What it guarantees:

* ``http``/``https`` only, for the URL and every redirect (at most ``MAX_REDIRECTS``);
  no user name or password in a URL.
* The host is resolved once per hop and every address is checked; the connection goes
  to a checked address (Host header and TLS name stay the host's), so a DNS answer
  that changes after the check cannot send the request elsewhere. Loopback, private,
  link-local, multicast, unspecified and reserved addresses are refused unless
  allowed by ``PUBLISHER_FETCH_ALLOW`` (comma-separated host names, addresses or
  CIDRs, e.g. ``127.0.0.1``) or the ``allow`` argument.
* One deadline of ``timeout`` seconds for the whole request, DNS included; the body
  is streamed and refused past ``max_bytes`` (decoded; gzip inflated no further).

This is the same contract as the safe-fetch module of the link cards (the
``netfetch`` work); the one thing a feed needs beyond it is a 304 answer, so the
interface here is small enough to be pointed at that module.

``httpx`` is imported inside functions.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, NamedTuple, TypeVar
from urllib.parse import urljoin, urlsplit, urlunsplit

if TYPE_CHECKING:
    import httpx

__all__ = [
    "ALLOW_ENV",
    "FEED_TIMEOUT",
    "MAX_FEED_BYTES",
    "FeedAnswer",
    "FeedFetchError",
    "fetch_feed",
    "shown_url",
]

ALLOW_ENV = "PUBLISHER_FETCH_ALLOW"
MAX_FEED_BYTES = 5_000_000
FEED_TIMEOUT = 15.0
MAX_REDIRECTS = 5
USER_AGENT = "publisher-drafts (+https://github.com/publisher-dev/publisher)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/json;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
T = TypeVar("T")


class FeedFetchError(Exception):
    """Why a feed could not be read (a sentence for the user; never a body)."""


class FeedAnswer(NamedTuple):
    final_url: str
    not_modified: bool
    body: bytes
    content_type: str
    etag: str | None
    last_modified: str | None


def shown_url(url: str) -> str:
    """``url`` as it may be printed: no user info, no query, at most 200 characters."""
    try:
        p = urlsplit(url)
        port = f":{p.port}" if p.port else ""
        shown = urlunsplit((p.scheme, (p.hostname or "") + port, p.path, "", ""))
    except ValueError:
        shown = "(an invalid URL)"
    return shown if len(shown) <= 200 else shown[:199] + "…"


def check_feed_url(url: str) -> str | None:
    """Why ``url`` cannot be a feed URL, or None."""
    try:
        _check_url(url)
    except FeedFetchError as exc:
        return str(exc)
    return None


# --------------------------------------------------------------------------- addresses


def _allowlist(
    extra: Iterable[str], environ: Mapping[str, str]
) -> tuple[frozenset[str], tuple[_Network, ...]]:
    hosts: set[str] = set()
    nets: list[_Network] = []
    for raw in (*environ.get(ALLOW_ENV, "").split(","), *extra):
        entry = raw.strip().lower()
        if not entry:
            continue
        try:
            nets.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            continue
        except ValueError:
            pass
        if "/" in entry or not re.fullmatch(r"[a-z0-9_.-]+", entry):
            raise FeedFetchError(
                f"${ALLOW_ENV}: {raw.strip()[:60]!r} is not a host name, an address or a CIDR"
            )
        hosts.add(entry.rstrip("."))
    return frozenset(hosts), tuple(nets)


def _refused(ip: _Address) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return _refused(ip.ipv4_mapped)
    for test, what in (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
    ):
        if test:
            return what
    return None if ip.is_global else "not public"


def _check_address(
    host: str, ip: _Address, allow: tuple[frozenset[str], tuple[_Network, ...]]
) -> None:
    hosts, nets = allow
    if host.lower().rstrip(".") in hosts or any(ip in net for net in nets):
        return
    why = _refused(ip)
    if why is not None:
        named = host if host == str(ip) else f"{host} ({ip})"
        raise FeedFetchError(
            f"{named} is a {why} address: not fetched (allow it with ${ALLOW_ENV}={ip})"
        )


def _resolve(host: str, port: int) -> list[_Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FeedFetchError(f"cannot resolve {host}: {exc}") from None
    out: list[_Address] = []
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in out:
            out.append(ip)
    if not out:
        raise FeedFetchError(f"cannot resolve {host}")
    return out


def _check_url(url: str) -> tuple[str, str, int]:
    try:
        p = urlsplit(url)
        port = p.port
    except ValueError:
        raise FeedFetchError(f"{shown_url(url)} is not a valid URL") from None
    scheme = p.scheme.lower()
    if scheme not in ("http", "https") or not p.hostname:
        raise FeedFetchError(f"{shown_url(url)!r} is not an http(s) URL")
    if p.username is not None or p.password is not None:
        raise FeedFetchError(f"{shown_url(url)}: a URL with a user name or password is not read")
    return scheme, p.hostname, port or (443 if scheme == "https" else 80)


def _pin(url: str, ip: _Address) -> tuple[str, str]:
    p = urlsplit(url)
    port = f":{p.port}" if p.port else ""
    host = p.hostname or ""
    netloc = (f"[{ip}]" if ip.version == 6 else str(ip)) + port
    host_header = (f"[{host}]" if ":" in host else host) + port
    return urlunsplit((p.scheme, netloc, p.path or "/", p.query, "")), host_header


# --------------------------------------------------------------------------- the request


def fetch_feed(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int = MAX_FEED_BYTES,
    timeout: float = FEED_TIMEOUT,
    allow: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
) -> FeedAnswer:
    """GET ``url`` once (see the module's docstring), conditionally when ``etag`` or
    ``last_modified`` is known."""
    deadline = time.monotonic() + timeout
    allowed = _allowlist(allow, os.environ if environ is None else environ)
    headers = {"Accept": ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return _bounded(lambda: _get(url, deadline, max_bytes, headers, allowed), deadline)


def _bounded(fn: Callable[[], T], deadline: float) -> T:
    """``fn()`` in a helper thread, waited for until ``deadline``: not even a hanging
    DNS lookup holds the run longer (an abandoned thread ends on its own timeouts)."""
    result: list[T] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(fn())
        except BaseException as exc:
            error.append(exc)

    worker = threading.Thread(target=run, name="feed-fetch", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()) + 0.25)
    if error:
        raise error[0]
    if not result:
        raise FeedFetchError("timed out")
    return result[0]


def _get(
    url: str,
    deadline: float,
    max_bytes: int,
    headers: Mapping[str, str],
    allow: tuple[frozenset[str], tuple[_Network, ...]],
) -> FeedAnswer:
    import httpx

    seen = {url}
    base = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate", **headers}
    with httpx.Client(headers=base, follow_redirects=False, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FeedFetchError("timed out")
            scheme, host, port = _check_url(url)
            addresses = _resolve(host, port)
            for ip in addresses:
                _check_address(host, ip, allow)
            pinned, host_header = _pin(url, addresses[0])
            try:
                with client.stream(
                    "GET",
                    pinned,
                    headers={"Host": host_header},
                    timeout=remaining,
                    extensions={"sni_hostname": host} if scheme == "https" else {},
                ) as r:
                    if r.status_code in _REDIRECTS and "location" in r.headers:
                        target = urljoin(url, r.headers["location"])
                        _check_url(target)
                        if target in seen:
                            raise FeedFetchError(f"redirect loop at {shown_url(target)}")
                        seen.add(target)
                        url = target
                        continue
                    etag = r.headers.get("etag") or None
                    modified = r.headers.get("last-modified") or None
                    if r.status_code == 304:
                        return FeedAnswer(url, True, b"", "", etag, modified)
                    if r.status_code != 200:
                        raise FeedFetchError(f"answered HTTP {r.status_code}")
                    body = _read(r, deadline, max_bytes)
                    ctype = r.headers.get("content-type", "").split(";")[0].strip().lower()
                    return FeedAnswer(url, False, body, ctype, etag, modified)
            except httpx.TimeoutException:
                raise FeedFetchError("timed out") from None
            except httpx.InvalidURL:
                raise FeedFetchError("it or where it redirects is not a valid URL") from None
            except httpx.HTTPError as exc:
                raise FeedFetchError(f"{type(exc).__name__}: {exc}"[:300]) from None
        raise FeedFetchError(f"more than {MAX_REDIRECTS} redirects")


def _read(r: httpx.Response, deadline: float, max_bytes: int) -> bytes:
    import zlib

    encoding = r.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "", "gzip", "x-gzip", "deflate"):
        raise FeedFetchError(f"content encoding {encoding[:40]!r} is not supported")
    length = r.headers.get("content-length", "")
    if encoding in ("identity", "") and length.isdigit() and int(length) > max_bytes:
        raise FeedFetchError(f"{int(length):,} bytes; at most {max_bytes:,} are read")
    inflate = zlib.decompressobj(47) if encoding not in ("identity", "") else None
    out = bytearray()
    for chunk in r.iter_raw():
        if inflate is not None:
            try:
                chunk = inflate.decompress(chunk, max_bytes + 1 - len(out))
            except zlib.error as exc:
                raise FeedFetchError(f"bad {encoding} body: {exc}") from None
        out += chunk
        if len(out) > max_bytes:
            raise FeedFetchError(f"more than {max_bytes:,} bytes; at most {max_bytes:,} are read")
        if time.monotonic() > deadline:
            raise FeedFetchError("timed out")
    return bytes(out)
