"""A draft's file: its text from a template, trimmed to fit the tightest target, and
its frontmatter (targets, ``draft: true``, ``source:``, the card's link); written
atomically under a name that is never taken from another file.

Placeholders of a template: ``{title}``, ``{link}``, ``{summary}``, ``{author}``,
``{date}`` (YYYY-MM-DD), ``{feed}`` (the feed's title) and, for releases, ``{tag}``
and ``{repo}``; ``{{`` and ``}}`` are braces. When the text is too long for a target,
the summary is cut at a word (with an ellipsis), then dropped, then the title is cut:
lengths are counted as ``publisher validate`` counts them (``rules.limits.measure``:
graphemes on Bluesky, weighted characters on X, ...), for every target's platform. A
target whose platform is not known from the configuration (a bare account UUID) is
counted as Bluesky and X, the tightest.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from publisher.config import Config
from publisher.rules import limits

__all__ = [
    "DEFAULT_TEMPLATE",
    "PLACEHOLDERS",
    "Draft",
    "check_template",
    "fit_text",
    "platforms_of",
    "render",
    "write_draft",
]

DEFAULT_TEMPLATE = "{title}\n\n{summary}\n\n{link}"
PLACEHOLDERS = ("title", "link", "summary", "author", "date", "feed", "tag", "repo")
_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_SEPARATOR = re.compile(r"^[ \t]*---[ \t]*$", re.MULTILINE)
_UNKNOWN_PLATFORM = ("bluesky", "twitter")
_ELLIPSIS = "…"
_SIMPLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def check_template(template: str) -> str | None:
    """Why ``template`` cannot be used (an unknown placeholder, a lone brace), or None."""
    for m in _FIELD.finditer(template):
        token = m.group(0)
        if token in ("{{", "}}"):
            continue
        name = m.group(1)
        if name is None:
            return f"a lone {token!r} (write {token * 2} for a brace)"
        if name not in PLACEHOLDERS:
            from publisher.hints import did_you_mean

            return (
                f"unknown placeholder {{{name}}}{did_you_mean(name, PLACEHOLDERS)}; "
                f"known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
            )
    return None


def render(template: str, values: Mapping[str, str]) -> str:
    """``template`` with its placeholders replaced (values are never read as a
    template themselves); blank lines left by empty values collapse to one."""

    def sub(m: re.Match[str]) -> str:
        token = m.group(0)
        if token in ("{{", "}}"):
            return token[0]
        # A value never splits the post into a thread: its `---` lines are dropped.
        return _SEPARATOR.sub("", values.get(m.group(1) or "", ""))

    text = _FIELD.sub(sub, template.replace("\r\n", "\n"))
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n ")


def platforms_of(targets: Iterable[str], config: Config) -> tuple[str, ...]:
    """The platforms whose limits a draft for ``targets`` must fit."""
    out: list[str] = []
    uuid = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
    for name in targets:
        platform = None
        account = config.accounts.get(name)
        if account is not None:
            platform = account.platform
        elif name in limits.PLATFORMS:
            platform = name
        elif uuid.match(name):
            platform = next(
                (a.platform for a in config.accounts.values() if a.account_id == name.lower()),
                None,
            )
        for p in (platform,) if platform else _UNKNOWN_PLATFORM:
            if p not in out:
                out.append(p)
    return tuple(out)


def _fits(text: str, platforms: Iterable[str]) -> bool:
    parts = _SEPARATOR.split(text)
    return all(not limits.measure(p, part.strip()).over for p in platforms for part in parts)


def _cut(text: str, keep: int) -> str:
    """The first ``keep`` grapheme clusters of ``text``, back to a word boundary when
    one is near, with an ellipsis; "" for 0."""
    import regex

    clusters = regex.findall(r"\X", text)
    if keep >= len(clusters):
        return text
    if keep <= 0:
        return ""
    head = "".join(clusters[:keep]).rstrip()
    space = max(head.rfind(" "), head.rfind("\n"))
    if space >= len(head) * 2 // 3:
        head = head[:space]
    return head.rstrip(" \n,;:-–—") + _ELLIPSIS


def fit_text(template: str, values: Mapping[str, str], platforms: Iterable[str]) -> str:
    """The template rendered so that it fits every platform in ``platforms``: the
    summary cut, then dropped, then the title cut (never the link). When even that
    does not fit, the shortest text found (``validate`` then says what is over)."""
    import regex

    platforms = tuple(platforms)
    values = dict(values)
    text = render(template, values)
    if _fits(text, platforms):
        return text
    for key in ("summary", "title"):
        full = values.get(key, "")
        n = len(regex.findall(r"\X", full))
        lo, hi, best = 0, n - 1, None  # the longest cut that fits
        while lo <= hi:
            mid = (lo + hi) // 2
            values[key] = _cut(full, mid)
            if _fits(render(template, values), platforms):
                best, lo = mid, mid + 1
            else:
                hi = mid - 1
        values[key] = _cut(full, best) if best is not None else ""
        text = render(template, values)
        if best is not None and best > 0:
            return text
        if _fits(text, platforms):
            return text
    return text


# --------------------------------------------------------------------------- the file


@dataclass(frozen=True)
class Draft:
    """A draft about to be written (or shown, with --dry-run)."""

    folder: Path
    stem: str  # YYYY-MM-DD-slug
    targets: tuple[str, ...]
    text: str
    source: Mapping[str, str]
    title: str
    card: str | None = None
    date: dt.date | None = None

    def content(self) -> str:
        import yaml

        listed = ", ".join(n if _SIMPLE.match(n) else json.dumps(n) for n in self.targets)
        lines = ["---"]
        if self.targets:
            lines.append(f"targets: [{listed}]")
        lines.append("draft: true  # remove this line to publish")
        extra: dict[str, object] = {}
        if self.card:
            extra["card"] = self.card
        extra["source"] = dict(self.source)
        if self.title:
            extra["meta"] = {"title": self.title}
        dumped = yaml.safe_dump(
            extra, allow_unicode=True, sort_keys=False, default_flow_style=False, width=10_000
        )
        lines += dumped.rstrip("\n").split("\n")
        lines.append("---")
        return "\n".join(lines) + "\n" + self.text + "\n"


def slugify(title: str, limit: int = 60) -> str:
    """`Hello, World: v2!` -> `hello-world-v2` (ASCII, at most `limit` characters)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug[:limit].rstrip("-") or "post"


def write_draft(draft: Draft) -> Path:
    """Write ``draft`` under ``<folder>/<stem>.md`` (``-2``, ``-3``, ... when taken):
    a temp file beside it, fsynced, then a hard link, which fails when the name
    exists, so an existing file is never replaced and no reader sees half a file."""
    draft.folder.mkdir(parents=True, exist_ok=True)
    data = draft.content().encode("utf-8")
    for n in range(1, 1000):
        path = draft.folder / (f"{draft.stem}.md" if n == 1 else f"{draft.stem}-{n}.md")
        if path.exists() or path.is_symlink():
            continue
        if _create_new(path, data):
            return path
    raise OSError(f"{draft.folder}: too many posts named {draft.stem}-N.md")


def _create_new(path: Path, data: bytes) -> bool:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links: exclusive create instead
            try:
                out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(out, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
