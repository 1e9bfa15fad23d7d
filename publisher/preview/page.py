"""The live preview page (`publisher watch --serve`): the latest preview of every post
(`PreviewHub`) and a small HTTP server on 127.0.0.1 (stdlib, in a thread) with the page,
a JSON snapshot, server-sent events and the posts' media files.

    >>> hub = PreviewHub()
    >>> server = serve(hub, root=Path("."), port=0)  # doctest: +SKIP
    >>> print(server.url)  # doctest: +SKIP
    http://127.0.0.1:40123/

Everything taken from a post is untrusted: the page only ever sets it as text
(``textContent``), never as HTML, and only http(s) URLs become links.
"""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import NotRequired, TypedDict
from urllib.parse import unquote, urlsplit

from publisher.preview.views import CardJson, PostJson, PostPreview
from publisher.rules import limits

__all__ = ["PreviewHub", "PreviewServer", "Snapshot", "page_html", "serve"]


# --------------------------------------------------------------------------- the hub


class _CardText(TypedDict):
    """What the hub read of a link card's page (`warning`: why it could not)."""

    title: str | None
    description: str | None
    warning: NotRequired[str]


class Snapshot(TypedDict):
    """Every post's latest preview, as `/api/posts` and the `snapshot` event send it."""

    version: int
    info: dict[str, str]
    scanned: bool
    posts: list[PostJson]


class PreviewHub:
    """The latest preview of every post, and a version number that changes with them.
    Thread-safe: the watch loop writes, the page's connections read."""

    def __init__(self, *, fetch_cards: bool = True) -> None:
        self._posts: dict[str, PostJson] = {}
        self._changes: list[tuple[int, str]] = []  # (version, rel) of each change
        self._version = 0
        self._cond = threading.Condition()
        self.info: dict[str, str] = {}  # shown in the page header: root, settle, env
        self.scanned = False  # every post was loaded once: the page is complete
        self.fetch_cards = fetch_cards
        self._cards: dict[str, _CardText | None] = {}  # link -> title, description
        self._fetching: set[str] = set()

    def update(self, preview: PostPreview) -> None:
        data = preview.as_dict()
        for t in data["targets"]:
            card = t["card"]
            if card:
                self._fill_card(preview.rel, card)
        self._bump(preview.rel, data)

    # -- link cards: read here, in the background (bounded: `linkcard.fetch_card`), so
    # that the page itself loads nothing from the internet.

    def _fill_card(self, rel: str, card: CardJson) -> None:
        url = card["url"]
        with self._cond:
            known = self._cards.get(url)
            if known is not None:
                _fill(card, known)
                return
            if url in self._cards or not self.fetch_cards or url in self._fetching:
                return
            self._fetching.add(url)
        threading.Thread(
            target=self._fetch_card, args=(rel, url), name="preview-card", daemon=True
        ).start()

    def _fetch_card(self, rel: str, url: str) -> None:
        from publisher.clients.linkcard import fetch_card

        got, warnings = fetch_card(url, with_image=False)
        found: _CardText = (
            {"title": got.title, "description": got.description}
            if got is not None
            else {"title": None, "description": None, "warning": "; ".join(warnings)}
        )
        with self._cond:
            self._cards[url] = found
            self._fetching.discard(url)
            data = self._posts.get(rel)
        if data is None:
            return
        fresh: PostJson = json.loads(json.dumps(data))  # a new version: readers keep the old one
        for t in fresh["targets"]:
            card = t["card"]
            if card is not None and card["url"] == url:
                _fill(card, found)
        self._bump(rel, fresh)

    def remove(self, rel: str) -> None:
        self._bump(rel, None)

    def mark_scanned(self) -> None:
        """Every post was loaded once (watch's first scan): the page may say it is ready."""
        with self._cond:
            self.scanned = True
            self._version += 1
            self._changes.append((self._version, ""))  # "": not a post; the page re-reads info
            del self._changes[:-1000]
            self._cond.notify_all()

    def _bump(self, rel: str, data: PostJson | None) -> None:
        with self._cond:
            if data is None:
                self._posts.pop(rel, None)
            else:
                self._posts[rel] = data
            self._version += 1
            self._changes.append((self._version, rel))
            del self._changes[:-1000]
            self._cond.notify_all()

    def snapshot(self) -> Snapshot:
        with self._cond:
            return {
                "version": self._version,
                "info": self.info,
                "scanned": self.scanned,
                "posts": sorted(self._posts.values(), key=lambda p: -p["updated"]),
            }

    def wait(
        self, since: int, timeout: float
    ) -> tuple[int, list[tuple[str, PostJson | None]] | None]:
        """Block until the version passes ``since`` (or ``timeout``); return the new
        version and the changed posts as ``(rel, data or None)``, or None when the
        caller fell too far behind and must take a fresh snapshot."""
        with self._cond:
            self._cond.wait_for(lambda: self._version > since, timeout)
            if self._version == since:
                return since, []
            if not self._changes or self._changes[0][0] > since + 1:
                return self._version, None
            rels = dict.fromkeys(rel for v, rel in self._changes if v > since)
            return self._version, [(rel, self._posts.get(rel)) for rel in rels]

    def close(self) -> None:
        """Wake every waiting connection so that it can end."""
        with self._cond:
            self._version += 1
            self._changes.append((self._version, ""))
            self._cond.notify_all()


def _fill(card: CardJson, found: _CardText) -> None:
    """A card with what its page said."""
    card["title"], card["description"] = found["title"], found["description"]
    if "warning" in found:
        card["warning"] = found["warning"]


# --------------------------------------------------------------------------- the server

_MEDIA_TYPES = frozenset({"image", "video"})
_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src 'self'; media-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'"
)


class PreviewServer(ThreadingHTTPServer):
    """The preview page's HTTP server (127.0.0.1 only), run in a daemon thread."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, hub: PreviewHub, root: Path, port: int) -> None:
        self.hub = hub
        self.root = root.resolve()
        self.closing = threading.Event()
        super().__init__(("127.0.0.1", port), _Handler)
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.2}, name="preview", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> PreviewServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self.closing.set()
        self.hub.close()
        self.shutdown()
        self.server_close()


def serve(hub: PreviewHub, *, root: Path, port: int = 8790) -> PreviewServer:
    """Start the preview server on 127.0.0.1:``port`` (0 picks a free port)."""
    return PreviewServer(hub, root, port).start()


def page_html() -> str:
    return resources.files("publisher.preview").joinpath("assets/index.html").read_text("utf-8")


class _Handler(BaseHTTPRequestHandler):
    server: PreviewServer
    protocol_version = "HTTP/1.1"
    server_version = "publisher-watch"
    sys_version = ""

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the watch output is for posts, not for requests."""

    def do_GET(self) -> None:
        if not self._host_ok():
            self._send(421, b"unknown host\n", "text/plain; charset=utf-8")
            return
        path = urlsplit(self.path).path
        if path == "/":
            self._send(200, page_html().encode(), "text/html; charset=utf-8")
        elif path == "/api/posts":
            self._send(200, _json(self.server.hub.snapshot()), "application/json")
        elif path == "/events":
            self._events()
        elif path.startswith("/media/"):
            self._media(unquote(path[len("/media/") :]))
        else:
            self._send(404, b"not found\n", "text/plain; charset=utf-8")

    def _host_ok(self) -> bool:
        """Refuse other Host names: a web page that rebinds its own name to 127.0.0.1
        must not read the posts."""
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        return host in ("127.0.0.1", "localhost")

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self._head(status, len(body), ctype)
        self.wfile.write(body)

    def _head(self, status: int, length: int, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", _CSP)
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()

    def _media(self, rel: str) -> None:
        """A media file from inside the repository (images and videos only)."""
        root = self.server.root
        try:  # NUL bytes, over-long names, loops: all simply not found
            target = (root / rel).resolve()
            inside = target.is_relative_to(root) and not any(
                part.startswith(".") for part in target.relative_to(root).parts
            )
            mime = limits.mime_from_extension(target.name) or ""
            wanted = inside and limits.kind_of_mime(mime) in _MEDIA_TYPES and target.is_file()
            handle = open(target, "rb") if wanted else None  # noqa: SIM115 - closed below
        except (OSError, ValueError, RuntimeError):
            handle = None
        if handle is None:
            self._send(404, b"not found\n", "text/plain; charset=utf-8")
            return
        with handle:  # sized first, then streamed: never the whole file in memory
            from publisher.files import MAX_MEDIA_BYTES

            size = os.fstat(handle.fileno()).st_size
            if size > MAX_MEDIA_BYTES:
                self._send(413, b"too large to preview\n", "text/plain; charset=utf-8")
                return
            self._head(200, size, mime or "application/octet-stream")
            while chunk := handle.read(1 << 20):
                self.wfile.write(chunk)

    def _events(self) -> None:
        """Server-sent events: a snapshot, then every changed post as it changes."""
        hub, closing = self.server.hub, self.server.closing
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Accel-Buffering", "no")
        self.end_headers()
        self.close_connection = True
        try:
            snap = hub.snapshot()
            version = snap["version"]
            self._event("snapshot", snap)
            while not closing.is_set():
                version, changed = hub.wait(version, timeout=15)
                if closing.is_set():
                    break
                if changed is None:
                    snap = hub.snapshot()
                    version = snap["version"]
                    self._event("snapshot", snap)
                elif not changed:
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                for rel, data in changed or ():
                    if not rel:  # not a post: the hub's own state changed
                        self._event("info", {"info": hub.info, "scanned": hub.scanned})
                    elif data is None:
                        self._event("removed", {"path": rel})
                    else:
                        self._event("post", data)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the page went away

    def _event(self, name: str, data: object) -> None:
        self.wfile.write(b"event: " + name.encode() + b"\ndata: " + _json(data) + b"\n\n")
        self.wfile.flush()


def _json(value: object) -> bytes:
    # "<" escaped as well, so the JSON could never close a <script> if it were inlined.
    from publisher.redaction import redact

    text = json.dumps(value, ensure_ascii=False, default=str)
    return redact(text).replace("<", "\\u003c").encode()  # no secret reaches the page
