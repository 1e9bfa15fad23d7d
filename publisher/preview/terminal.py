"""The watch loop's terminal views and the page's listener: where a `PostPreview` is
shown. `PlainView` prints plain lines (pipes, logs: every line about a post starts with
its path), `LiveView` a live rich view on a terminal, `HubListener` feeds the live page
(`publisher.preview.page.PreviewHub`). rich is imported only by `LiveView`.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, TextIO

from publisher.preview.views import PostPreview, segments

if TYPE_CHECKING:
    from rich.console import Group, RenderableType
    from rich.panel import Panel

    from publisher.preview.page import PreviewHub

__all__ = ["HubListener", "LiveView", "PlainView", "render_post"]


class PlainView:
    """Plain lines for pipes and logs: every line about a post starts with its path."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out

    def __enter__(self) -> PlainView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.out.flush()

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def preview(self, preview: PostPreview, *, initial: bool = False) -> None:
        if initial and not preview.errors:
            return  # the start-up summary counts them; only problems are worth a line
        for line in preview.lines():
            self._print(line)

    def removed(self, rel: str) -> None:
        self._print(f"{rel}: deleted")

    def event(self, rel: str | None, message: str, *, error: bool = False) -> None:
        self._print(f"{rel or 'publisher watch'}: {message}")


class LiveView:
    """A live terminal view (rich): the most recently saved posts, then the last events."""

    MAX_POSTS = 4

    def __init__(self) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console()
        self.posts: dict[str, PostPreview] = {}
        self.events: deque[tuple[str, bool]] = deque(maxlen=8)
        self._lock = threading.Lock()
        self.live = Live(console=self.console, auto_refresh=False, transient=False)

    def __enter__(self) -> LiveView:
        self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.stop()

    def preview(self, preview: PostPreview, *, initial: bool = False) -> None:
        with self._lock:
            self.posts.pop(preview.rel, None)
            self.posts[preview.rel] = preview
            self._refresh()

    def removed(self, rel: str) -> None:
        with self._lock:
            self.posts.pop(rel, None)
            self._note(f"{rel}: deleted", False)

    def event(self, rel: str | None, message: str, *, error: bool = False) -> None:
        with self._lock:
            self._note(f"{rel}: {message}" if rel else message, error)

    def _note(self, line: str, error: bool) -> None:
        self.events.append((f"{time.strftime('%H:%M:%S')}  {line}", error))
        self._refresh()

    def _refresh(self) -> None:
        self.live.update(self.render(), refresh=True)

    def render(self) -> Group:
        from rich.console import Group
        from rich.text import Text

        recent = list(self.posts.values())[-self.MAX_POSTS :]
        parts: list[RenderableType] = [render_post(p) for p in reversed(recent)]
        for line, error in self.events:
            parts.append(Text(line, style="red" if error else "dim"))
        return Group(*parts)


_STATE_STYLE = {"invalid": "red", "edited": "yellow", "draft": "yellow", "blocked": "yellow"}
_SEGMENT_STYLE = {"link": "underline blue", "mention": "magenta", "tag": "cyan"}


def render_post(preview: PostPreview) -> Panel:
    """One post as a rich panel: a meter per target, the text, the problems."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    table = Table.grid(padding=(0, 2))
    for t in preview.targets:
        meter = Text()
        if t.length is not None:
            ratio = min(1.0, t.length.used / max(1, t.length.limit))
            filled = round(ratio * 20)
            style = "red" if t.length.over else ("yellow" if ratio > 0.9 else "green")
            meter.append("█" * filled, style=style).append("░" * (20 - filled), style="dim")
            meter.append(f" {t.length.used}/{t.length.limit} {t.length.unit}", style=style)
            if t.length.over:
                meter.append(" OVER", style="bold red")
        else:
            meter.append("no known limit", style="dim")
        badge = t.badge()
        link = (t.result["url"] or t.result["uri"]) if t.result else None
        detail = link or (t.reason if t.reason != badge else "")
        table.add_row(Text(t.name, style="bold"), meter, Text(f"{badge}  {detail}".rstrip()))
    body: list[RenderableType] = [table] if preview.targets else []
    in_post = [t for t in preview.targets if t.in_post]
    distinct = len({t.text for t in in_post})
    shown: set[str] = set()
    for t in in_post:
        if t.text in shown:
            continue
        shown.add(t.text)
        text = Text()
        for kind, value in segments(t.text):
            text.append(value, style=_SEGMENT_STYLE.get(kind, ""))
        label = "text" if distinct == 1 else f"{t.label} text"
        body += [Text(f"\n{label}:", style="dim"), text]
    everything = preview.problems + [p for t in preview.targets for p in t.problems]
    for p in sorted(everything, key=lambda p: (p.line, p.col)):
        body.append(Text(str(p), style="red" if p.severity == "error" else "yellow"))

    title = Text(preview.rel, style="bold")
    title.append(f"  {preview.state}", style=_STATE_STYLE.get(preview.state, "green"))
    return Panel(Group(*body), title=title, title_align="left", subtitle=preview.note or None)


class HubListener:
    """Feeds the preview page."""

    def __init__(self, hub: PreviewHub) -> None:
        self.hub = hub

    def preview(self, preview: PostPreview, *, initial: bool = False) -> None:
        self.hub.update(preview)

    def removed(self, rel: str) -> None:
        self.hub.remove(rel)

    def scanned(self) -> None:
        self.hub.mark_scanned()

    def event(self, rel: str | None, message: str, *, error: bool = False) -> None:
        """Events reach the page through the posts' previews (their recorded results)."""
