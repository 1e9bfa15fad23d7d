"""A release to announce: from a GitHub ``release`` event (the payload the Action is
given), or from a tag of this repository plus its release notes file (the section
of ``CHANGELOG.md``, ``CHANGES.md``, ``NEWS.md``, ... whose heading names the tag)."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

from publisher.errors import UsageError

__all__ = [
    "NOTES_FILES",
    "Release",
    "ReleaseError",
    "notes_text",
    "release_from_event",
    "release_from_payload",
    "release_from_tag",
]

NOTES_FILES = (
    "CHANGELOG.md",
    "CHANGES.md",
    "NEWS.md",
    "HISTORY.md",
    "RELEASE_NOTES.md",
    "RELEASES.md",
    "CHANGELOG",
    "CHANGES",
    "NEWS",
    "docs/changelog.md",
    "docs/CHANGELOG.md",
)
MAX_EVENT_BYTES = 25_000_000
MAX_NOTES_BYTES = 5_000_000
MAX_NOTES_CHARS = 100_000  # of a release's notes (the text is fitted to the targets later)


class ReleaseError(UsageError):
    """No release to draft from (a sentence for the user; exit code 2)."""


class NotARelease(ReleaseError):
    """The event is a release event that is not to be announced (edited, a draft)."""


@dataclass(frozen=True)
class Release:
    tag: str
    name: str
    notes: str  # plain text
    url: str | None  # the release's page
    repo: str  # owner/name, or "" when not known
    published: dt.datetime | None

    @property
    def id(self) -> str:
        return self.url or f"release:{self.repo + '@' if self.repo else ''}{self.tag}"

    @property
    def title(self) -> str:
        short = self.repo.rsplit("/", 1)[-1]
        if self.name and self.name != self.tag:
            return self.name
        return f"{short} {self.tag}".strip()


def notes_text(markdown: str) -> str:
    """Release notes as a post's plain text: comments, images and heading marks
    dropped, links as their text, list items kept on their lines."""
    text = markdown.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)
    text = re.sub(r"\[([^\]]+)\]\([^)\s]+\)", r"\1", text)
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"<[^>\n]+>", "", text)
    lines = []
    for line in text.split("\n"):
        line = re.sub(r"^\s{0,3}#{1,6}\s*", "", line.rstrip())
        line = re.sub(r"^(\s*)[*+]\s+", r"\1- ", line)
        line = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", line)
        if re.fullmatch(r"\s*([-=*_]\s*){3,}", line):
            line = ""  # a rule (and `---`, which would split a thread)
        lines.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _str(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def release_from_event(path: Path) -> Release:
    """The release of a GitHub ``release`` event payload file (see
    ``release_from_payload``)."""
    try:
        if path.stat().st_size > MAX_EVENT_BYTES:
            raise ReleaseError(f"{path}: the event file is over {MAX_EVENT_BYTES:,} bytes")
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except OSError as exc:
        raise ReleaseError(f"{path}: cannot read the event: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ReleaseError(f"{path}: the event is not JSON: {str(exc)[:120]}") from None
    return release_from_payload(data, str(path))


def release_from_payload(data: object, where: str = "the event") -> Release:
    """The release of a GitHub ``release`` event. ``NotARelease`` for an event that is
    not ``published`` (edited, deleted, ...) or a draft release; ``ReleaseError`` for
    a payload that is no release event."""
    release = data.get("release") if isinstance(data, dict) else None
    if (
        not isinstance(data, dict)
        or not isinstance(release, dict)
        or not _str(release.get("tag_name"))
    ):
        raise ReleaseError(f"{where}: not a release event (no release.tag_name)")
    action = _str(data.get("action"))
    if action and action not in ("published", "released", "created"):
        raise NotARelease(f"release {_str(release['tag_name'])[:80]} was {action[:40]}")
    if release.get("draft") is True:
        raise NotARelease(f"release {_str(release['tag_name'])[:80]} is a draft release")
    repo_info = data.get("repository")
    repo = _str(repo_info.get("full_name")) if isinstance(repo_info, dict) else ""
    url = _str(release.get("html_url"))
    published = None
    stamp = _str(release.get("published_at")) or _str(release.get("created_at"))
    if stamp:
        try:
            published = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            published = None
    return Release(
        tag=_str(release["tag_name"])[:200],
        name=" ".join(_str(release.get("name")).split())[:300],
        notes=notes_text(_str(release.get("body"))[:MAX_NOTES_CHARS]),
        url=url if re.match(r"^https?://\S+$", url) else None,
        repo=repo[:200],
        published=published,
    )


def _git(root: Path, *args: str) -> str | None:
    from publisher.git import user_git_output

    return user_git_output(root, *args)


def github_repo(remote_url: str) -> str | None:
    """``owner/name`` of a github.com remote URL (https or ssh), else None."""
    m = re.match(
        r"^(?:https?://(?:[^@/]+@)?github\.com/|git@github\.com:|ssh://git@github\.com/)"
        r"([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(?:\.git)?/?$",
        remote_url.strip(),
    )
    return m.group(1) if m else None


def release_from_tag(root: Path, tag: str, notes_file: Path | None = None) -> Release:
    """The release of ``tag`` (which must exist in this repository): its notes are
    the section of the release notes file whose heading names the tag (with or
    without its leading ``v``). ReleaseError when the tag or the notes are missing."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/+-]{0,199}", tag):
        raise ReleaseError(f"--tag {tag[:80]!r} is not a tag name")
    commit = _git(root, "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}^{{commit}}")
    if not commit:
        raise ReleaseError(f"no tag {tag} in this repository (git tag {tag} first)")
    stamp = _git(root, "log", "-1", "--format=%cI", commit)
    published = dt.datetime.fromisoformat(stamp) if stamp else None
    candidates = [notes_file] if notes_file is not None else [root / n for n in NOTES_FILES]
    found = [p for p in candidates if p.is_file()]
    if not found:
        names = ", ".join(NOTES_FILES[:5])
        raise ReleaseError(
            f"{notes_file or root}: no release notes file ({names}, ...; or give --notes FILE)"
            if notes_file is None
            else f"{notes_file}: no such file"
        )
    notes_path = found[0]
    if notes_path.stat().st_size > MAX_NOTES_BYTES:
        raise ReleaseError(f"{notes_path}: over {MAX_NOTES_BYTES:,} bytes")
    section = notes_section(notes_path.read_text(encoding="utf-8-sig", errors="replace"), tag)
    if section is None:
        raise ReleaseError(f"{notes_path}: no section whose heading names {tag}")
    repo = github_repo(_git(root, "remote", "get-url", "origin") or "") or ""
    url = f"https://github.com/{repo}/releases/tag/{tag}" if repo else None
    return Release(tag, "", notes_text(section[:MAX_NOTES_CHARS]), url, repo, published)


def notes_section(text: str, tag: str) -> str | None:
    """The text under the first Markdown heading (``#`` or underlined) naming ``tag``
    (or the tag without its ``v``), up to the next heading of the same or a higher
    level; None when no heading names it."""
    bare = tag[1:] if re.match(r"^[vV]\d", tag) else tag
    names = {re.escape(tag), re.escape(bare)}
    wanted = re.compile(r"(?<![\w.])(?:v|V)?(?:" + "|".join(names) + r")(?![\w]|\.\d)")
    lines = text.replace("\r\n", "\n").split("\n")
    headings: list[tuple[int, int, str]] = []  # (line index, level, text)
    for i, line in enumerate(lines):
        m = re.match(r"^\s{0,3}(#{1,6})\s+(.*)$", line)
        if m:
            headings.append((i, len(m.group(1)), m.group(2)))
        elif i + 1 < len(lines) and line.strip() and re.fullmatch(r"\s*(=+|-+)\s*", lines[i + 1]):
            headings.append((i, 1 if "=" in lines[i + 1] else 2, line))
    for n, (i, level, title) in enumerate(headings):
        if not wanted.search(title):
            continue
        start = i + (2 if not lines[i].lstrip().startswith("#") else 1)
        end = len(lines)
        for j, lvl, _ in headings[n + 1 :]:
            if lvl <= level:
                end = j
                break
        return "\n".join(lines[start:end]).strip()
    return None
