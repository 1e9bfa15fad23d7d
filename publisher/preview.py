"""What a post will look like, per target: the data behind `publisher watch`'s previews,
their plain-text lines, and the live preview page (``--serve``).

The data (`PostPreview`, `TargetPreview`) is built from a `Post` and its `FilePlan`;
`PostPreview.lines()` renders it as plain lines that each start with the file path
(easy to grep); `PreviewHub` keeps the latest preview of every post; `serve()` runs a
small HTTP server on 127.0.0.1 (stdlib, in a thread) with the page, a JSON snapshot,
server-sent events and the posts' media files.

    >>> hub = PreviewHub()
    >>> server = serve(hub, root=Path("."), port=0)  # doctest: +SKIP
    >>> print(server.url)  # doctest: +SKIP
    http://127.0.0.1:40123/

Everything taken from a post is untrusted: the page only ever sets it as text
(``textContent``), never as HTML, and only http(s) URLs become links.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import regex

from publisher import limits
from publisher.plan import FilePlan
from publisher.post import Post, Problem
from publisher.report import ACTION_WORDS

# Links, @mentions (handles may contain dots) and #hashtags, as the platforms see them.
_HIGHLIGHT = regex.compile(
    r"(?P<link>https?://[^\s<>\"']+?)(?=[.,;:!?)\]']*(?:\s|$))"
    r"|(?<![\w@])(?P<mention>@[\p{L}\p{N}_](?:[\p{L}\p{N}_.-]*[\p{L}\p{N}_])?)"
    r"|(?<![\w#&])(?P<tag>#[\p{L}\p{N}_]*\p{L}[\p{L}\p{N}_]*)"
)
_UNIT_SHORT = {"graphemes": "graphemes", "weighted": "weighted", "utf16": "UTF-16 units"}


def segments(text: str) -> list[tuple[str, str]]:
    """``text`` as ``(kind, value)`` runs: kind is text, link, mention or tag.

    >>> segments("Hi @bob.test, see https://x.org. #v2")
    [('text', 'Hi '), ('mention', '@bob.test'), ('text', ', see '), ('link', 'https://x.org'), ('text', '. '), ('tag', '#v2')]
    """
    out: list[tuple[str, str]] = []
    pos = 0
    for m in _HIGHLIGHT.finditer(text):
        if m.start() > pos:
            out.append(("text", text[pos : m.start()]))
        kind = m.lastgroup or "text"
        out.append((kind, m.group(0)))
        pos = m.end()
    if pos < len(text):
        out.append(("text", text[pos:]))
    return out


@dataclass(frozen=True, slots=True)
class MediaPreview:
    kind: str
    alt: str | None
    name: str  # as written in the post (path or URL)
    src: str | None  # the page's URL for a local file (/media/...); None for remote media

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "alt": self.alt, "name": self.name, "src": self.src}


@dataclass(frozen=True, slots=True)
class TargetPreview:
    """One target of a post: the final text and what publishing will do (or did)."""

    label: str
    platform: str | None
    text: str
    length: limits.Length | None
    action: str  # the plan's action, or "none" for drafts and invalid posts
    reason: str
    media: tuple[MediaPreview, ...] = ()
    first_comment: str | None = None
    problems: tuple[Problem, ...] = ()
    result: dict[str, Any] | None = None  # the recorded status, url, uri, error

    @property
    def name(self) -> str:
        if not self.platform or self.label == self.platform:
            return self.label
        return f"{self.label} ({self.platform})"

    def badge(self) -> str:
        """A word for the card: what publishing will do, else what the target is."""
        if self.action != "none":
            return ACTION_WORDS.get(self.action, self.action)
        if self.result and self.result.get("status"):
            return str(self.result["status"])
        return self.reason.split(":", 1)[0] or "nothing to do"

    def meter(self) -> str:
        """``bluesky 214/300 graphemes`` (``OVER`` appended past the limit)."""
        if self.length is None:
            return f"{self.name} {limits.graphemes(self.text)} graphemes (no known limit)"
        unit = _UNIT_SHORT[self.length.unit]
        over = " OVER" if self.length.over else ""
        return f"{self.name} {self.length.used}/{self.length.limit} {unit}{over}"

    def as_dict(self) -> dict[str, Any]:
        length = None
        if self.length is not None:
            length = {
                "used": self.length.used,
                "limit": self.length.limit,
                "unit": self.length.unit,
                "over": self.length.over,
            }
        return {
            "label": self.label,
            "platform": self.platform,
            "name": self.name,
            "text": self.text,
            "segments": segments(self.text),
            "length": length,
            "action": self.action,
            "actionWord": self.badge(),
            "reason": self.reason,
            "media": [m.as_dict() for m in self.media],
            "firstComment": self.first_comment,
            "problems": [p.as_dict() for p in self.problems],
            "result": self.result,
        }


@dataclass
class PostPreview:
    """One post file as `watch` shows it."""

    rel: str
    state: str  # the plan's file state (new, draft, invalid, up to date, ...) or "deleted"
    targets: list[TargetPreview] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # not tied to one target
    scheduled_at: str | None = None
    note: str = ""  # what watch itself will do: "publishes when unchanged for 3 s", ...
    publish_at: float | None = None  # wall-clock time (epoch seconds) of the planned publish
    updated: float = field(default_factory=time.time)

    @property
    def errors(self) -> list[Problem]:
        found = [p for p in self.problems if p.severity == "error"]
        return found + [p for t in self.targets for p in t.problems if p.severity == "error"]

    def lines(self) -> list[str]:
        """Plain lines, each starting with the file path."""
        head = self.state
        if self.scheduled_at:
            head += f", scheduled for {self.scheduled_at}"
        if self.note:
            head += f" · {self.note}"
        out = [f"{self.rel}: {head}"]
        for t in self.targets:
            if t.action == "none":
                line = f"{self.rel}: {t.meter()} · {t.reason or 'nothing to do'}"
            else:
                word = ACTION_WORDS.get(t.action, t.action)
                line = f"{self.rel}: {t.meter()} · {word}" + (f" ({t.reason})" if t.reason else "")
            result = t.result or {}
            link = result.get("url") or result.get("uri")
            if link:
                line += f" · {link}"
            out.append(line)
        texts = {t.text for t in self.targets}
        for t in self.targets:
            prefix = "text" if len(texts) == 1 else f"{t.label} text"
            out += [f"{self.rel}: {prefix} | {line}" for line in t.text.splitlines()]
            for m in t.media:
                out.append(f"{self.rel}: {prefix} | [{m.kind} {m.name}: {m.alt or 'no alt text'}]")
            if t.first_comment:
                out.append(f"{self.rel}: {t.label} first comment | {t.first_comment}")
            if len(texts) == 1:
                break
        everything = self.problems + [p for t in self.targets for p in t.problems]
        out += [str(p) for p in sorted(everything, key=lambda p: (p.line, p.col))]
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.rel,
            "state": self.state,
            "scheduledAt": self.scheduled_at,
            "note": self.note,
            "publishAt": self.publish_at,
            "updated": self.updated,
            "problems": [p.as_dict() for p in self.problems],
            "targets": [t.as_dict() for t in self.targets],
        }


def build_preview(
    post: Post,
    file_plan: FilePlan,
    *,
    root: Path,
    note: str = "",
    publish_at: float | None = None,
) -> PostPreview:
    """The preview of one loaded post and its plan. ``root`` is the repository root
    (media are served relative to it)."""
    planned = {t.label: t for t in file_plan.targets}
    records = post.record.targets if post.record is not None else {}
    claimed: set[Problem] = set()
    targets = []
    for t in post.targets:
        prefix = f"{t.label}: "
        mine = tuple(p for p in post.problems if p.message.startswith(prefix))
        claimed.update(mine)
        tp = planned.get(t.label)
        if tp is not None:
            action, reason = tp.action, tp.reason
        else:
            action, reason = "none", _why_nothing(file_plan.state)
        rec = records.get(t.label)
        result = None
        if rec is not None:
            result = {
                "status": rec.status,
                "url": rec.url,
                "uri": rec.uri,
                "at": rec.at,
                "error": rec.error.message if rec.error else None,
            }
        length = None
        if t.platform in limits.PLATFORMS:
            length = limits.measure(t.platform, t.text)
        targets.append(
            TargetPreview(
                label=t.label,
                platform=t.platform,
                text=t.text,
                length=length,
                action=action,
                reason=reason,
                media=tuple(_media(m, root) for m in t.media),
                first_comment=t.first_comment,
                problems=mine,
                result=result,
            )
        )
    return PostPreview(
        rel=post.rel,
        state=file_plan.state,
        targets=targets,
        problems=[p for p in post.problems if p not in claimed],
        scheduled_at=post.scheduled_iso,
        note=note,
        publish_at=publish_at,
    )


def _why_nothing(state: str) -> str:
    if state == "draft":
        return "draft"
    if state == "invalid":
        return "invalid: fix the errors first"
    return state


def _media(m: Any, root: Path) -> MediaPreview:
    src = None
    if m.path is not None:
        try:
            src = "/media/" + quote(m.path.relative_to(root).as_posix())
        except ValueError:
            src = None
    return MediaPreview(kind=m.kind, alt=m.alt, name=m.rel or m.url or "", src=src)


# --------------------------------------------------------------------------- the hub


class PreviewHub:
    """The latest preview of every post, and a version number that changes with them.
    Thread-safe: the watch loop writes, the page's connections read."""

    def __init__(self) -> None:
        self._posts: dict[str, dict[str, Any]] = {}
        self._changes: list[tuple[int, str]] = []  # (version, rel) of each change
        self._version = 0
        self._cond = threading.Condition()
        self.info: dict[str, Any] = {}  # shown in the page header: root, settle, env

    def update(self, preview: PostPreview) -> None:
        self._bump(preview.rel, preview.as_dict())

    def remove(self, rel: str) -> None:
        self._bump(rel, None)

    def _bump(self, rel: str, data: dict[str, Any] | None) -> None:
        with self._cond:
            if data is None:
                self._posts.pop(rel, None)
            else:
                self._posts[rel] = data
            self._version += 1
            self._changes.append((self._version, rel))
            del self._changes[:-1000]
            self._cond.notify_all()

    def snapshot(self) -> dict[str, Any]:
        with self._cond:
            return {
                "version": self._version,
                "info": self.info,
                "posts": sorted(self._posts.values(), key=lambda p: -p["updated"]),
            }

    def wait(self, since: int, timeout: float) -> tuple[int, list[tuple[str, Any]] | None]:
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
    return resources.files("publisher").joinpath("preview_assets/index.html").read_text("utf-8")


class _Handler(BaseHTTPRequestHandler):
    server: PreviewServer
    protocol_version = "HTTP/1.1"
    server_version = "publisher-watch"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
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
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", _CSP)
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        self.wfile.write(body)

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
            data = target.read_bytes() if wanted else None
        except (OSError, ValueError, RuntimeError):
            data = None
        if data is None:
            self._send(404, b"not found\n", "text/plain; charset=utf-8")
            return
        self._send(200, data, mime or "application/octet-stream")

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
                    if data is None:
                        self._event("removed", {"path": rel})
                    else:
                        self._event("post", data)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the page went away

    def _event(self, name: str, data: Any) -> None:
        self.wfile.write(b"event: " + name.encode() + b"\ndata: " + _json(data) + b"\n\n")
        self.wfile.flush()


def _json(value: Any) -> bytes:
    # "<" escaped as well, so the JSON could never close a <script> if it were inlined.
    return json.dumps(value, ensure_ascii=False, default=str).replace("<", "\\u003c").encode()
