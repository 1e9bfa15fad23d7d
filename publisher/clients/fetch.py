"""Safe outbound fetches: the one way publisher reads a URL someone else chose (link
cards, their images, feeds).

``fetch(url, max_bytes=, timeout=, accept=)`` returns ``Fetched(final_url, headers,
body)`` or raises ``FetchError`` (the one exception type; its text is a sentence for
the user). What it guarantees:

* ``http``/``https`` only, for the URL and every redirect (at most ``max_redirects``).
* The host is resolved once per hop, every address it resolves to is checked, and the
  connection goes to the checked address (the Host header and TLS name stay the host's):
  a DNS answer that changes between the check and the connection cannot send the fetch
  elsewhere. Loopback, private, link-local, multicast, unspecified, reserved and
  shared addresses are refused (after every redirect too), unless allowed.
* The allowlist: ``PUBLISHER_FETCH_ALLOW`` (comma-separated host names, addresses or
  CIDRs, e.g. ``127.0.0.1,10.0.0.0/8,intranet.local``) plus ``fetch_allow`` of
  publisher.toml (``allow_also()``, called once the configuration is read). A host
  name on the list may resolve to anything; an address or CIDR allows those addresses
  whatever name led there.
* One deadline of ``timeout`` seconds for the whole fetch, DNS included (waited for in a
  helper thread). The body is streamed and never held beyond ``max_bytes`` (decoded):
  a larger body is a FetchError, or with ``partial=True`` its first ``max_bytes``.
  ``Content-Length`` over the cap is refused before a byte is read. gzip and deflate
  are inflated no further than the cap.
* ``accept``: the media types taken (``"text/html"``, ``"image/*"``); anything else
  is refused before the body is read. None takes any type.
* No cookies, no proxies from the environment, no credentials in URLs.

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
    "FetchError",
    "Fetched",
    "NotModified",
    "allow_also",
    "check_address",
    "fetch",
]

ALLOW_ENV = "PUBLISHER_FETCH_ALLOW"
USER_AGENT = "Mozilla/5.0 (compatible; publisher)"
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

T = TypeVar("T")
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class FetchError(Exception):
    """Why a URL could not be read (a sentence for the user; no secret, no body)."""


class NotModified(FetchError):
    """A 304 answer to a conditional request (``If-None-Match`` / ``If-Modified-Since``
    in ``headers``): nothing changed. ``headers`` are the answer's (lower-case names)."""

    def __init__(self, message: str, headers: Mapping[str, str]) -> None:
        super().__init__(message)
        self.headers = headers


class Fetched(NamedTuple):
    final_url: str  # where the redirects ended
    headers: Mapping[str, str]  # of the final answer (lower-case names)
    body: bytes  # decoded (gzip/deflate inflated), at most max_bytes

    @property
    def mime(self) -> str:
        return media_type(self.headers.get("content-type", ""))[0]

    @property
    def charset(self) -> str:
        return media_type(self.headers.get("content-type", ""))[1]


# --------------------------------------------------------------------------- the allowlist

_config_allow: tuple[str, ...] = ()
_allow_lock = threading.Lock()


def allow_also(entries: Iterable[str]) -> None:
    """Add ``fetch_allow`` entries of the configuration to the allowlist (for this
    process; ``PUBLISHER_FETCH_ALLOW`` is read at every fetch)."""
    global _config_allow
    with _allow_lock:
        _config_allow = tuple(dict.fromkeys((*_config_allow, *(e.strip() for e in entries))))


def parse_allow(entries: Iterable[str]) -> tuple[frozenset[str], tuple[_Network, ...]]:
    """(host names, networks) of allowlist entries; ValueError names a bad entry."""
    hosts: set[str] = set()
    nets: list[_Network] = []
    for raw in entries:
        entry = raw.strip().lower()
        if not entry:
            continue
        try:
            nets.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            continue
        except ValueError:
            pass
        if "/" in entry or not re.fullmatch(r"[a-z0-9_.-]+", entry):
            raise ValueError(f"{raw.strip()!r} is not a host name, an address or a CIDR")
        hosts.add(entry.rstrip("."))
    return frozenset(hosts), tuple(nets)


def _allowlist(
    environ: Mapping[str, str] | None = None,
) -> tuple[frozenset[str], tuple[_Network, ...]]:
    env = (os.environ if environ is None else environ).get(ALLOW_ENV, "")
    try:
        return parse_allow((*env.split(","), *_config_allow))
    except ValueError as exc:
        raise FetchError(f"${ALLOW_ENV} or fetch_allow: {exc}") from None


def _refused(ip: _Address) -> str | None:
    """Why a connection to ``ip`` is refused, or None when it is a public address."""
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
    if not ip.is_global:
        return "not public"
    return None


def check_address(
    host: str, ip: _Address, allow: tuple[frozenset[str], tuple[_Network, ...]] | None = None
) -> None:
    """FetchError unless ``host`` (which resolved to ``ip``) may be fetched from."""
    hosts, nets = allow if allow is not None else _allowlist()
    if host.lower().rstrip(".") in hosts or any(ip in net for net in nets):
        return
    why = _refused(ip)
    if why is not None:
        named = host if host == str(ip) else f"{host} ({ip})"
        raise FetchError(
            f"{named} is a {why} address: not fetched (allow it with ${ALLOW_ENV} "
            "or fetch_allow in publisher.toml)"
        )


def _resolve(host: str, port: int) -> list[_Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {host}: {exc}") from None
    out: list[_Address] = []
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in out:
            out.append(ip)
    if not out:
        raise FetchError(f"cannot resolve {host}")
    return out


# --------------------------------------------------------------------------- fetching


def media_type(header: str) -> tuple[str, str]:
    """(media type, charset) of a Content-Type header."""
    mime, _, params = header.partition(";")
    m = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", params, re.IGNORECASE)
    return mime.strip().lower(), (m.group(1) if m else "")


def _accepts(accept: Iterable[str] | Callable[[str], bool] | None, mime: str) -> bool:
    if accept is None:
        return True
    if callable(accept):
        return accept(mime)
    for want in accept:
        want = want.lower()
        if want == mime or (want.endswith("/*") and mime.startswith(want[:-1])):
            return True
    return False


def _safe(url: str) -> str:
    """``url`` as it may be shown: no userinfo, no query, cut."""
    try:
        p = urlsplit(url)
        host = p.hostname or ""
        port = f":{p.port}" if p.port else ""
        shown = urlunsplit((p.scheme, host + port, p.path, "", ""))
    except ValueError:
        shown = "(an invalid URL)"
    return shown if len(shown) <= 200 else shown[:199] + "…"


def _check_url(url: str) -> tuple[str, str, int]:
    try:
        p = urlsplit(url)
        port = p.port
    except ValueError:
        raise FetchError(f"{_safe(url)} is not a valid URL") from None
    scheme = p.scheme.lower()
    if scheme not in ("http", "https") or not p.hostname:
        raise FetchError(f"{_safe(url)!r} is not an http(s) URL")
    if p.username is not None or p.password is not None:
        raise FetchError(f"{_safe(url)}: a URL with a user name or password is not fetched")
    return scheme, p.hostname, port or (443 if scheme == "https" else 80)


def fetch(
    url: str,
    max_bytes: int,
    timeout: float,
    accept: Iterable[str] | Callable[[str], bool] | None = None,
    *,
    partial: bool = False,
    max_redirects: int = MAX_REDIRECTS,
    headers: Mapping[str, str] | None = None,
) -> Fetched:
    """GET ``url`` safely (see the module's docstring); ``Fetched(final_url, headers,
    body)`` of a 200 answer, else FetchError (``NotModified``, one, for a 304 answer to
    a conditional request)."""
    deadline = time.monotonic() + timeout
    allow = _allowlist()
    return _bounded(
        lambda: _fetch(url, deadline, max_bytes, accept, partial, max_redirects, headers, allow),
        deadline,
    )


def _bounded(fn: Callable[[], T], deadline: float) -> T:
    """``fn()`` in a helper thread, waited for until ``deadline`` (plus a moment for
    ``fn``'s own deadline checks to answer first). A thread still running then is
    abandoned: its own timeouts end it soon after."""
    result: list[T] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(fn())
        except BaseException as exc:
            error.append(exc)

    worker = threading.Thread(target=run, name="netfetch", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()) + 0.25)
    if error:
        raise error[0]
    if not result:
        raise FetchError("timed out")
    return result[0]


def _fetch(
    url: str,
    deadline: float,
    max_bytes: int,
    accept: Iterable[str] | Callable[[str], bool] | None,
    partial: bool,
    max_redirects: int,
    extra_headers: Mapping[str, str] | None,
    allow: tuple[frozenset[str], tuple[_Network, ...]],
) -> Fetched:
    import httpx

    seen = {url}
    base_headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}
    base_headers.update(extra_headers or {})
    with httpx.Client(headers=base_headers, follow_redirects=False, trust_env=False) as client:
        for _ in range(max_redirects + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FetchError("timed out")
            scheme, host, port = _check_url(url)
            addresses = _resolve(host, port)
            for ip in addresses:
                check_address(host, ip, allow)
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
                            raise FetchError(f"redirect loop at {_safe(target)}")
                        seen.add(target)
                        url = target
                        continue
                    if r.status_code == 304:
                        raise NotModified(f"{_safe(url)} answered 304", dict(r.headers.items()))
                    if r.status_code != 200:
                        raise FetchError(f"{_safe(url)} answered {r.status_code}")
                    mime, _ = media_type(r.headers.get("content-type", ""))
                    if not _accepts(accept, mime):
                        raise FetchError(f"{_safe(url)} is {mime or 'of no content type'}")
                    body = _read(r, deadline, max_bytes, partial)
                    return Fetched(url, dict(r.headers.items()), body)
            except httpx.TimeoutException:
                raise FetchError("timed out") from None
            except httpx.InvalidURL:
                raise FetchError(f"{_safe(url)} or where it redirects is not a valid URL") from None
            except httpx.HTTPError as exc:
                raise FetchError(f"{_safe(url)}: {type(exc).__name__}") from None
        raise FetchError(f"more than {max_redirects} redirects")


def _pin(url: str, ip: _Address) -> tuple[str, str]:
    """``url`` with its host replaced by ``ip``, and the Host header it had."""
    p = urlsplit(url)
    netloc_host = f"[{ip}]" if ip.version == 6 else str(ip)
    port = f":{p.port}" if p.port else ""
    host = p.hostname or ""
    host_header = (f"[{host}]" if ":" in host else host) + port
    return urlunsplit((p.scheme, netloc_host + port, p.path or "/", p.query, "")), host_header


def _read(r: httpx.Response, deadline: float, max_bytes: int, partial: bool) -> bytes:
    """The (decoded) body up to ``max_bytes``; compressed bodies are inflated no
    further than that, so a small gzip bomb stays small."""
    import zlib

    encoding = r.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "", "gzip", "x-gzip", "deflate"):
        raise FetchError(f"content encoding {encoding[:40]!r} is not supported")
    length = r.headers.get("content-length", "")
    if (
        not partial
        and encoding in ("identity", "")
        and length.isdigit()
        and int(length) > max_bytes
    ):
        raise FetchError(f"{int(length):,} bytes; at most {max_bytes:,} are read")
    inflate = zlib.decompressobj(47) if encoding not in ("identity", "") else None
    out = bytearray()
    for chunk in r.iter_raw():
        if inflate is not None:
            try:
                chunk = inflate.decompress(chunk, max_bytes + 1 - len(out))
            except zlib.error as exc:
                raise FetchError(f"bad {encoding} body: {exc}") from None
        out += chunk
        if len(out) > max_bytes:
            if not partial:
                raise FetchError(f"more than {max_bytes:,} bytes")
            del out[max_bytes:]
            break
        if time.monotonic() > deadline:
            raise FetchError("timed out")
    return bytes(out)
