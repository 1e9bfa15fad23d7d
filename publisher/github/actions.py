"""The GitHub Actions environment: event payload, workflow commands, outputs, summary.

Standard library only at import time (httpx is imported inside
:func:`upsert_pr_comment`), so the CLI starts fast.

Workflow commands are escaped exactly like ``@actions/core`` (``command.ts``):
message data escapes ``%``, CR and LF; property values also escape ``:`` and ``,``.
Text that comes from posts is untrusted: print it inside :func:`stop_commands` so a
line starting with ``::`` can never run a workflow command.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from publisher.errors import PublisherError

if TYPE_CHECKING:
    import httpx

__all__ = [
    "COMMENT_MARKER",
    "SUMMARY_LIMIT",
    "ZERO_SHA",
    "ActionsEnv",
    "AnnotationLevel",
    "CommentResult",
    "GitHubApiError",
    "GitHubError",
    "PullRequestEvent",
    "PushEvent",
    "add_mask",
    "annotation",
    "append_summary",
    "command",
    "endgroup",
    "escape_data",
    "escape_property",
    "format_outputs",
    "group",
    "stop_commands",
    "upsert_pr_comment",
    "write_outputs",
]

ZERO_SHA = "0" * 40
"""The ``before`` of a push that created the ref."""

SUMMARY_LIMIT = 1024 * 1024
"""GitHub refuses a step summary over 1 MiB (the upload fails, the step stays green)."""

COMMENT_MARKER = "<!-- publisher-preview -->"

_OUTPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class GitHubError(PublisherError):
    """A problem with the Actions environment or a GitHub API call (never holds a token)."""


class GitHubApiError(GitHubError):
    """The GitHub REST API answered with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"GitHub API error {status}: {message}")
        self.status = status


# --------------------------------------------------------------------------- event


@dataclass(frozen=True)
class PushEvent:
    """The parts of a ``push`` payload publisher uses."""

    before: str | None
    after: str | None
    forced: bool
    created: bool
    deleted: bool
    ref: str | None

    @property
    def is_first_push(self) -> bool:
        """True when ``before`` is missing or all zeros (the push created the ref)."""
        return not self.before or self.before == ZERO_SHA


@dataclass(frozen=True)
class PullRequestEvent:
    """The parts of a ``pull_request`` payload publisher uses."""

    number: int
    base_sha: str | None
    head_sha: str | None
    base_ref: str | None
    head_ref: str | None
    from_fork: bool


@dataclass(frozen=True)
class ActionsEnv:
    """What a step running in GitHub Actions can learn from its environment."""

    in_actions: bool = False
    event_name: str = ""
    event: Mapping[str, object] = field(default_factory=dict)  # the payload, untrusted
    ref: str = ""
    ref_name: str = ""
    sha: str = ""
    workspace: Path | None = None
    output_path: Path | None = None
    summary_path: Path | None = None
    repository: str = ""
    server_url: str = "https://github.com"
    api_url: str = "https://api.github.com"
    run_id: str = ""
    default_branch: str | None = None
    push: PushEvent | None = None
    pull_request: PullRequestEvent | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> ActionsEnv:
        """Read the ``GITHUB_*`` variables and the event payload.

        Raises :class:`GitHubError` if ``GITHUB_EVENT_PATH`` names a file that is
        missing or not a JSON object.
        """
        env = os.environ if environ is None else environ
        event: dict[str, object] = {}
        event_path = env.get("GITHUB_EVENT_PATH")
        if event_path:
            try:
                from publisher.files import read_bounded

                # GitHub caps a webhook payload at 25 MB: anything larger is not one.
                loaded = json.loads(read_bounded(event_path, 32 * 1024 * 1024))
            except FileNotFoundError:
                raise GitHubError(
                    f"GITHUB_EVENT_PATH points to a missing file: {event_path}"
                ) from None
            except (OSError, ValueError) as exc:
                raise GitHubError(f"cannot read the event payload {event_path}: {exc}") from None
            if not isinstance(loaded, dict):
                raise GitHubError(f"the event payload {event_path} is not a JSON object")
            event = loaded

        event_name = env.get("GITHUB_EVENT_NAME", "")
        default_branch = _str_or_none(_mapping(event.get("repository")).get("default_branch"))
        push = _push_event(event) if event_name == "push" else None
        pull_request = (
            _pull_request_event(event)
            if event_name in {"pull_request", "pull_request_target"}
            else None
        )
        return cls(
            in_actions=env.get("GITHUB_ACTIONS") == "true",
            event_name=event_name,
            event=event,
            ref=env.get("GITHUB_REF", ""),
            ref_name=env.get("GITHUB_REF_NAME", ""),
            sha=env.get("GITHUB_SHA", ""),
            workspace=_path_or_none(env.get("GITHUB_WORKSPACE")),
            output_path=_path_or_none(env.get("GITHUB_OUTPUT")),
            summary_path=_path_or_none(env.get("GITHUB_STEP_SUMMARY")),
            repository=env.get("GITHUB_REPOSITORY", ""),
            server_url=(env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/"),
            api_url=(env.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
            run_id=env.get("GITHUB_RUN_ID", ""),
            default_branch=default_branch,
            push=push,
            pull_request=pull_request,
        )

    @property
    def branch(self) -> str | None:
        """The branch a push went to (``refs/heads/<branch>``), else None."""
        ref = (self.push.ref if self.push and self.push.ref else None) or self.ref
        prefix = "refs/heads/"
        return ref[len(prefix) :] if ref.startswith(prefix) else None

    @property
    def is_default_branch_push(self) -> bool:
        """True for a push (not a branch deletion) to the repository's default branch."""
        return (
            self.event_name == "push"
            and self.push is not None
            and not self.push.deleted
            and self.default_branch is not None
            and self.branch == self.default_branch
        )

    @property
    def on_default_branch(self) -> bool:
        """True when this run is on the repository's default branch, the one branch
        publisher publishes from: a push to it (not its deletion), a manual run or any
        other event on it, or a schedule (GitHub runs schedules on the default branch
        only, and their payload names no repository). False for a pull request, a tag,
        another branch, or when the default branch cannot be told."""
        if self.pull_request is not None or self.event_name.startswith("pull_request"):
            return False
        if self.push is not None and self.push.deleted:
            return False
        branch = self.branch
        if branch is None:
            return False
        if self.default_branch is not None:
            return branch == self.default_branch
        return self.event_name == "schedule"

    @property
    def run_url(self) -> str | None:
        """Link to this workflow run, when the run is known."""
        if not (self.repository and self.run_id):
            return None
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _path_or_none(value: str | None) -> Path | None:
    return Path(value) if value else None


def _push_event(event: Mapping[str, object]) -> PushEvent:
    return PushEvent(
        before=_str_or_none(event.get("before")),
        after=_str_or_none(event.get("after")),
        forced=event.get("forced") is True,
        created=event.get("created") is True,
        deleted=event.get("deleted") is True,
        ref=_str_or_none(event.get("ref")),
    )


def _pull_request_event(event: Mapping[str, object]) -> PullRequestEvent | None:
    pr = event.get("pull_request")
    if not isinstance(pr, dict):
        return None
    number = event.get("number", pr.get("number"))
    if not isinstance(number, int) or isinstance(number, bool):
        return None
    base = _mapping(pr.get("base"))
    head = _mapping(pr.get("head"))
    head_repo = _object(head.get("repo"))
    base_repo = _object(base.get("repo"))
    if head_repo is None:
        from_fork = True  # the fork was deleted: treat as untrusted
    elif head_repo.get("fork") is True:
        from_fork = True
    else:
        from_fork = (
            base_repo is not None
            and head_repo.get("full_name") is not None
            and head_repo.get("full_name") != base_repo.get("full_name")
        )
    return PullRequestEvent(
        number=number,
        base_sha=_str_or_none(base.get("sha")),
        head_sha=_str_or_none(head.get("sha")),
        base_ref=_str_or_none(base.get("ref")),
        head_ref=_str_or_none(head.get("ref")),
        from_fork=from_fork,
    )


# --------------------------------------------------------------- workflow commands


def escape_data(value: object) -> str:
    """Escape a command's message like ``@actions/core`` ``escapeData``."""
    return str(value).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: object) -> str:
    """Escape a command property value like ``@actions/core`` ``escapeProperty``."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: object = "", **properties: object) -> str:
    """Format ``::name key=value,...::message``; properties that are None are left out."""
    props = ",".join(
        f"{key}={escape_property(value)}" for key, value in properties.items() if value is not None
    )
    head = f"::{name} {props}" if props else f"::{name}"
    return f"{head}::{escape_data(message)}"


AnnotationLevel = Literal["error", "warning", "notice"]


def annotation(
    level: AnnotationLevel,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    col: int | None = None,
    end_line: int | None = None,
    end_col: int | None = None,
    title: str | None = None,
) -> str:
    """An ``::error``/``::warning``/``::notice`` line pointing at ``file`` and ``line``."""
    if level not in ("error", "warning", "notice"):
        raise ValueError(f"unknown annotation level: {level!r}")
    return command(
        level,
        message,
        title=title,
        file=file,
        line=line,
        endLine=end_line,
        col=col,
        endColumn=end_col,
    )


def add_mask(value: str) -> str:
    """``::add-mask::`` for a secret; print it before the value could ever be printed."""
    return command("add-mask", value)


def group(title: str) -> str:
    """Start a collapsible log group."""
    return command("group", title)


def endgroup() -> str:
    """End the current log group."""
    return command("endgroup")


def stop_commands(text: str) -> str:
    """Wrap untrusted ``text`` so no line of it is run as a workflow command.

    The token is random and checked not to occur in the text, so the text cannot end
    the block itself. The result ends with the resume line and no trailing newline.
    """
    token = secrets.token_hex(16)
    while token in text:  # pragma: no cover - 128 random bits
        token = secrets.token_hex(16)
    body = text if text.endswith("\n") else text + "\n"
    return f"::stop-commands::{token}\n{body}::{token}::"


# ------------------------------------------------------------------- file commands


def format_outputs(mapping: Mapping[str, object]) -> str:
    """Render ``GITHUB_OUTPUT`` lines.

    Strings without a line break are written as ``name=value``; strings with one use a
    ``name<<ghadelimiter_<uuid>`` heredoc whose delimiter is checked not to occur in
    the value; anything else (lists, dicts, numbers, booleans) as one-line JSON.
    """
    from publisher.redaction import redact

    lines: list[str] = []
    for name, value in mapping.items():
        if not _OUTPUT_NAME.match(name):
            raise ValueError(f"invalid output name: {name!r}")
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        text = redact(text)
        if "\n" not in text and "\r" not in text:
            lines.append(f"{name}={text}\n")
            continue
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
        while delimiter in text:
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
        lines.append(f"{name}<<{delimiter}\n{text}\n{delimiter}\n")
    return "".join(lines)


def write_outputs(path: str | os.PathLike[str], mapping: Mapping[str, object]) -> None:
    """Append step outputs to the ``GITHUB_OUTPUT`` file at ``path``."""
    text = format_outputs(mapping)
    with open(path, "a", encoding="utf-8", newline="") as fh:
        fh.write(text)


def append_summary(
    path: str | os.PathLike[str], markdown: str, *, limit: int = SUMMARY_LIMIT
) -> bool:
    """Append Markdown to the step summary at ``path``, keeping the file within ``limit``.

    If the text would push the file past the limit, it is cut at a line boundary and
    a note saying so is appended instead. Returns True when it was truncated.
    """
    from publisher.redaction import redact

    markdown = redact(markdown)
    if not markdown.endswith("\n"):
        markdown += "\n"
    data = markdown.encode("utf-8")
    try:
        used = os.path.getsize(path)
    except FileNotFoundError:
        used = 0
    budget = limit - used
    truncated = len(data) > budget
    if truncated:
        note = (
            "\n> **Note:** this summary was truncated: it would have passed GitHub's 1 MiB "
            f"step-summary limit ({len(data) - max(budget, 0)} more bytes). "
            "The job log has the full report.\n"
        ).encode()
        room = budget - len(note)
        if room < 0:
            data = b""
        else:
            kept = data[:room]
            cut = kept.rfind(b"\n")
            kept = kept[: cut + 1] if cut >= 0 else b""
            data = kept + note
    if data:
        with open(path, "ab") as fh:
            fh.write(data)
    return truncated


# ------------------------------------------------------------------- PR comments


@dataclass(frozen=True)
class CommentResult:
    """The PR comment after :func:`upsert_pr_comment`."""

    id: int
    url: str | None
    created: bool


def upsert_pr_comment(
    api_url: str,
    repo: str,
    pr_number: int,
    token: str,
    body: str,
    marker: str = COMMENT_MARKER,
    client: httpx.Client | None = None,
) -> CommentResult:
    """Create or update our one comment on a pull request.

    Our comment is a bot's whose body starts with the hidden ``marker``; all pages of
    ``GET /repos/{repo}/issues/{n}/comments`` are searched. If found it is edited in
    place (``PATCH``), else a new one is created (``POST``). If editing is refused
    (403/404: not ours to edit, or deleted meanwhile) a new comment is created.
    Raises :class:`GitHubApiError` on other errors; the token never appears in it.
    A fork's read-only token gets 403 on ``POST``: callers should warn, not fail.
    """
    import httpx

    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repo):
        raise ValueError(f"not an owner/name repository: {repo!r}")
    from publisher.redaction import redact

    body = redact(body)
    text = body if body.lstrip().startswith(marker) else f"{marker}\n{body}"
    base = api_url.rstrip("/")
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": "publisher-action",
    }
    own_client = client is None
    http = client if client is not None else httpx.Client(timeout=30.0)
    try:
        existing = _find_comment(
            http, f"{base}/repos/{repo}/issues/{pr_number}/comments", headers, marker
        )
        if existing is not None:
            response = http.patch(
                f"{base}/repos/{repo}/issues/comments/{existing}",
                headers=headers,
                json={"body": text},
            )
            if response.status_code not in (403, 404):
                return _comment_result(response, created=False)
        response = http.post(
            f"{base}/repos/{repo}/issues/{pr_number}/comments",
            headers=headers,
            json={"body": text},
        )
        return _comment_result(response, created=True)
    except httpx.HTTPError as exc:
        raise GitHubError(f"GitHub API request failed: {type(exc).__name__}") from None
    finally:
        if own_client:
            http.close()


def _find_comment(
    http: httpx.Client, url: str, headers: Mapping[str, str], marker: str
) -> int | None:
    next_url: str | None = url
    params: dict[str, int] | None = {"per_page": 100}
    pages = 0
    while next_url and pages < 100:
        response = http.get(next_url, headers=headers, params=params)
        comments = _json_or_raise(response)
        if not isinstance(comments, list):
            raise GitHubApiError(response.status_code, "expected a list of comments")
        for comment in comments:
            if isinstance(comment, dict) and _ours(comment, marker):
                return int(comment["id"])
        next_url = response.links.get("next", {}).get("url")
        params = None  # the next link carries its own query
        pages += 1
    return None


def _object(value: object) -> Mapping[str, object] | None:
    """`value` if it is a JSON object, else None (an event's fields are untrusted)."""
    return value if isinstance(value, dict) else None


def _mapping(value: object) -> Mapping[str, object]:
    """`value` if it is a JSON object, else an empty one (an event's fields are untrusted)."""
    return value if isinstance(value, dict) else {}


def _ours(comment: Mapping[str, object], marker: str) -> bool:
    """A comment carrying our marker AND written by a bot (the Actions token's
    github-actions[bot], or an App). Anyone can paste the marker into a comment of
    their own; editing theirs would put the preview under their name."""
    user = _mapping(comment.get("user"))
    return user.get("type") == "Bot" and str(comment.get("body") or "").lstrip().startswith(marker)


def _comment_result(response: httpx.Response, *, created: bool) -> CommentResult:
    """The comment GitHub answered with (its id and link)."""
    data = _mapping(_json_or_raise(response))
    comment_id, url = data.get("id"), data.get("html_url")
    if isinstance(comment_id, bool) or not isinstance(comment_id, int | str):
        raise GitHubApiError(response.status_code, "the answer names no comment")
    return CommentResult(
        id=int(comment_id), url=url if isinstance(url, str) else None, created=created
    )


def _json_or_raise(response: httpx.Response) -> object:
    if response.status_code >= 400:
        try:
            message = str(response.json().get("message", ""))
        except (ValueError, AttributeError):
            message = response.text[:200]
        raise GitHubApiError(response.status_code, message or response.reason_phrase)
    return response.json()
