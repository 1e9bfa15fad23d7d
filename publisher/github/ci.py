"""`publisher ci`: the GitHub Action's entry point, as a library.

The composite action (``action.yml``) runs ``publisher ci`` with its inputs in the
environment (the contract is in ``docs/action.md``); this module reads them and the
Actions environment, chooses a mode and tells the story of the event:

- ``publish`` (a push to the default branch): the posts changed by the push, plus
  every post with no record yet, are planned and published exactly as ``publisher
  publish`` does; queued posts whose file the push deleted are canceled; the
  written-back files are committed as github-actions[bot] and pushed (rebase and
  retry, merging ``published`` records on a conflict).
- ``preview`` (a pull request): the same plan, computed with no key and no network
  write, shown per post and target in the job summary and one PR comment.
- ``validate`` (anything else): annotations and a summary.

Post text is untrusted: it reaches the log only inside ``::stop-commands::``, the
summary and the PR comment only escaped. The API key is masked before anything else
is printed. Exit codes: 0 ok, 1 an invalid post / failed target / push failure,
2 usage or configuration.
"""

from __future__ import annotations

import dataclasses
import html
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path, PurePosixPath
from typing import Any, TextIO

from publisher import record
from publisher.config import Config, ConfigError, load_config
from publisher.errors import UsageError
from publisher.github.actions import (
    ActionsEnv,
    GitHubApiError,
    GitHubError,
    add_mask,
    annotation,
    append_summary,
    stop_commands,
    upsert_pr_comment,
    write_outputs,
)
from publisher.run import Run

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
MODES = ("auto", "publish", "preview", "validate")
PUSH_ATTEMPTS = 5
COMMENT_LIMIT = 60_000
"""GitHub refuses comment bodies over 65,536 characters; keep a margin."""
SENT = frozenset({"published", "publishing"})
_TRUE = ("true", "True", "TRUE")
_FALSE = ("false", "False", "FALSE")


# ---------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Inputs:
    """The action's inputs, read from the environment (empty means unset)."""

    mode: str = "auto"
    path: str | None = None
    commit: bool = True
    push: bool = True
    commit_message: str | None = None
    sandbox: bool = False
    api_key: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Inputs:
        """Parse the ``PUBLISHER_*`` variables; raises :class:`UsageError` on bad values."""

        def value(name: str) -> str | None:
            text = environ.get(name, "").strip()
            return text or None

        mode = value("PUBLISHER_MODE") or "auto"
        if mode not in MODES:
            raise UsageError(f"input mode must be one of {', '.join(MODES)}; got {mode!r}")
        return cls(
            mode=mode,
            path=value("PUBLISHER_PATH"),
            commit=parse_bool("commit", environ.get("PUBLISHER_COMMIT"), True),
            push=parse_bool("push", environ.get("PUBLISHER_PUSH"), True),
            commit_message=value("PUBLISHER_COMMIT_MESSAGE"),
            sandbox=parse_bool("sandbox", environ.get("PUBLISHER_SANDBOX"), False),
            api_key=value("LETMEPOST_API_KEY"),
            token=value("GITHUB_TOKEN"),
        )


def parse_bool(name: str, raw: str | None, default: bool) -> bool:
    """A boolean input, parsed like ``core.getBooleanInput``; empty gives ``default``."""
    text = (raw or "").strip()
    if not text:
        return default
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UsageError(
        f"input {name} must be true or false (true, True, TRUE, false, False, FALSE); "
        f"got {text[:40]!r}"
    )


def choose_mode(requested: str, env: ActionsEnv) -> tuple[str, str]:
    """The mode to run and why: ``auto`` publishes on a push to the default branch,
    previews on a pull request and validates otherwise."""
    if requested != "auto":
        return requested, f"mode: {requested}"
    if env.is_default_branch_push:
        return "publish", f"push to the default branch {env.default_branch}"
    if env.pull_request is not None:
        return "preview", f"pull request #{env.pull_request.number}"
    what = env.event_name or "no event"
    if env.event_name == "push":
        what = f"push to {env.branch or env.ref or 'a ref'}, not the default branch"
    return "validate", what


# --------------------------------------------------------------------------- logging


class Log:
    """The step's log: workflow commands as given, anything from posts fenced off."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def command(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def untrusted(self, text: str) -> None:
        """Print text that may come from a post: no line of it can run a command."""
        if text:
            print(stop_commands(text), file=self.out, flush=True)


# ------------------------------------------------------------------------- selection


@dataclass
class Deleted:
    """A post file deleted by the change, with the queued targets it leaves behind."""

    path: str  # relative to the repository root
    queued: list[tuple[str, str | None, str]]  # (target label, platform, postId)


@dataclass
class Selection:
    """The posts a run considers, and why."""

    files: list[Path]
    reason: str
    deleted: list[Deleted] = field(default_factory=list)


def repo_root_of(folder: Path) -> Path | None:
    """The work tree root of the git repository containing ``folder``, or None."""
    import git

    try:
        repo = git.Repo(folder, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    return Path(repo.working_tree_dir).resolve() if repo.working_tree_dir else None


def _has_record(path: Path, run: Run) -> bool:
    from publisher.document import DocumentError, load_document

    try:
        doc = load_document(path)
    except (DocumentError, OSError):
        return False
    return record.counts(record.block_of(doc.data), run)


def select_posts(
    config: Config,
    repo_root: Path | None,
    actions: ActionsEnv,
    mode: str,
    run: Run,
) -> Selection:
    """Which post files to plan: the changed ones plus every one without a record.

    A push diffs ``before..after``, a pull request ``base..HEAD``. A first push, a
    force push or a missing ``before`` gives a full scan: every post without a record
    for ``run``. ``validate`` and other events consider every post.
    """
    from publisher.files import find_posts
    from publisher.github.git import GitError, changed_posts

    everything = find_posts([config.posts_dir]) if config.posts_dir.is_dir() else []
    if mode == "validate" or repo_root is None:
        return Selection(everything, "every post")
    before: str | None
    if actions.push is not None:
        before, after, forced = actions.push.before, actions.push.after, actions.push.forced
        after = after if after and after != "0" * 40 else (actions.sha or "HEAD")
    elif actions.pull_request is not None:
        before, after, forced = actions.pull_request.base_sha, "HEAD", False
    else:
        return Selection(everything, f"{actions.event_name or 'no event'}: every post")

    posts_rel = _inside(config.posts_dir, repo_root)
    try:
        change = changed_posts(repo_root, before, after, posts_rel, forced=forced)
    except GitError as exc:
        unrecorded = [p for p in everything if not _has_record(p, run)]
        return Selection(unrecorded, f"{exc}; every post without a record")
    if change.full_scan:
        unrecorded = [p for p in everything if not _has_record(p, run)]
        return Selection(unrecorded, f"{change.reason}; every post without a record")
    changed = {(repo_root / p).resolve() for p in change.changed}
    files = [p for p in everything if p.resolve() in changed or not _has_record(p, run)]
    reason = f"{change.reason}: {len(change.changed)} changed, {len(change.deleted)} deleted"
    deleted = _deleted_with_queue(repo_root, before or "", change.deleted, everything, run)
    return Selection(files, reason, deleted)


def _inside(folder: Path, root: Path) -> str:
    try:
        return folder.resolve().relative_to(root).as_posix()
    except ValueError:
        raise UsageError(f"the posts folder {folder} is outside the repository {root}") from None


def _deleted_with_queue(
    repo_root: Path, before: str, deleted: Sequence[str], current: Iterable[Path], run: Run
) -> list[Deleted]:
    """Deleted posts whose record (read at ``before``) still has queued targets.

    A postId that a current file still records (a post moved with large edits, seen by
    git as delete + add) is not canceled.
    """
    from publisher.document import DocumentError, load_document, parse_document
    from publisher.github.git import file_at

    found: list[Deleted] = []
    for path in deleted:
        raw = file_at(repo_root, before, path)
        if raw is None:
            continue
        try:
            block = record.block_of(parse_document(raw, path).data)
        except DocumentError:
            continue
        queued = record.queued_targets(block, run)
        if queued:
            found.append(Deleted(path, queued))
    if not found:
        return found
    kept: set[str] = set()
    for post_file in current:
        try:
            block = record.block_of(load_document(post_file).data)
        except (DocumentError, OSError):
            continue
        for rec in (block or {}).get("targets", {}).values():
            if isinstance(rec, dict) and rec.get("postId"):
                kept.add(str(rec["postId"]))
    for item in found:
        item.queued = [q for q in item.queued if q[2] not in kept]
    return [item for item in found if item.queued]


# ---------------------------------------------------------------------------- merge


# ---------------------------------------------------------------------------- report


@dataclass
class Report:
    """Everything a run found and did, for the outputs, the summary and the log."""

    reason: str
    env: str
    plan: Any  # publisher.plan.Plan
    where: Callable[[str], str]  # a post's `rel` -> its path from the repository root
    selection: Selection
    outcomes: list[Any] = field(default_factory=list)  # apply.Outcome
    stopped: str | None = None
    written: list[str] = field(default_factory=list)  # post files written back (`rel`)
    commit: str | None = None
    pushed: bool | None = None
    git_error: str | None = None

    @property
    def refused(self) -> list[tuple[Any, Any]]:
        return [
            (f, t) for f in self.plan.files for t in f.targets if t.action in ("refuse", "blocked")
        ]

    @property
    def failed_outcomes(self) -> list[Any]:
        return [o for o in self.outcomes if o.failed]

    @property
    def failed(self) -> int:
        """Invalid posts, failed targets and refused targets."""
        return len(self.plan.invalid) + len(self.failed_outcomes) + len(self.refused)

    def exit_code(self) -> int:
        bad = self.failed or self.stopped or self.git_error
        return EXIT_FAILED if bad else EXIT_OK

    # -- outputs ------------------------------------------------------------------------

    def published(self) -> list[dict[str, Any]]:
        return [
            {
                "file": self.where(o.path),
                "target": o.target,
                "platform": o.platform,
                "uri": o.uri,
                "url": o.url,
            }
            for o in self.outcomes
            if o.status in SENT
        ]

    def planned(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for f in self.plan.files:
            if f.state == "invalid":
                items.append(
                    {
                        "file": self.where(f.path),
                        "state": "invalid",
                        "target": None,
                        "platform": None,
                        "action": "none",
                        "reason": f"{len(f.post.errors)} errors",
                    }
                )
            for t in f.targets:
                items.append(
                    {
                        "file": self.where(f.path),
                        "state": f.state,
                        "target": t.label,
                        "platform": t.platform,
                        "action": t.action,
                        "reason": t.reason,
                    }
                )
        for d in self.selection.deleted:
            for label, platform, _ in d.queued:
                items.append(
                    {
                        "file": d.path,
                        "state": "deleted",
                        "target": label,
                        "platform": platform,
                        "action": "cancel",
                        "reason": "file deleted while queued",
                    }
                )
        return items

    def outputs(self) -> dict[str, Any]:
        return {
            "published": self.published(),
            "planned": self.planned(),
            "failed": str(self.failed),
        }

    # -- annotations --------------------------------------------------------------------

    def annotations(self) -> list[str]:
        lines: list[str] = []
        for f in self.plan.files:
            for p in sorted(f.post.problems, key=lambda p: (p.line, p.col)):
                level = "error" if p.severity == "error" else "warning"
                lines.append(
                    annotation(
                        level,
                        f"{p.code}: {p.message}",
                        file=self.where(p.path),
                        line=p.line,
                        col=p.col,
                        title=f"publisher: {'invalid post' if level == 'error' else 'warning'}",
                    )
                )
        for o in self.failed_outcomes:
            lines.append(
                annotation(
                    "error",
                    f"{o.target}: {o.error or o.status}",
                    file=self.where(o.path),
                    line=o.line,
                    title=f"publisher: {o.target} {o.status}",
                )
            )
        for f, t in self.refused:
            line = _target_line(f.post, t)
            lines.append(
                annotation(
                    "error",
                    f"{t.label}: {t.reason}",
                    file=self.where(f.path),
                    line=line,
                    title=f"publisher: {t.label} {t.action}",
                )
            )
        return lines


def _target_line(post: Any, t: Any) -> int | None:
    if post.doc is None or t.target is None:
        return None
    return post.doc.line_of(("targets", t.target.index))[0]


# ----------------------------------------------------------------------- Markdown


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|~])")


def md(text: object) -> str:
    """Escape untrusted text for a Markdown table cell or line: no HTML, no Markdown,
    no @mention (a zero-width space follows every ``@``), no line break."""
    escaped = html.escape(_MD_SPECIAL.sub(r"\\\1", str(text)), quote=False)
    escaped = escaped.replace("@", "@\u200b")
    return re.sub(r"\r\n|\r|\n", "<br>", escaped)


def pre(text: str) -> str:
    """A ``<pre>`` block showing ``text`` exactly (HTML-escaped; GitHub renders no
    Markdown and no mention inside it)."""
    return f"<pre>{html.escape(text, quote=False)}</pre>"


def link(url: str | None, label: str) -> str:
    if url and url.startswith(("https://", "http://")):
        return f'<a href="{html.escape(url, quote=True)}">{md(label)}</a>'
    return md(label)


_ICONS = {
    "published": "✅",
    "publishing": "✅",
    "queued": "🕒",
    "canceled": "⏹️",
    "failed": "❌",
    "rejected": "❌",
    "error": "❌",
    "refuse": "⛔",
    "blocked": "⛔",
}


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out)


def _problems_md(report: Report) -> str:
    lines = []
    for f in report.plan.files:
        for p in sorted(f.post.problems, key=lambda p: (p.line, p.col)):
            tag = "error" if p.severity == "error" else "warning"
            lines.append(
                f"- {md(report.where(p.path))}:{p.line}:{p.col} {tag} {md(p.code)}: {md(p.message)}"
            )
    if not lines:
        return ""
    return f"\n### Problems ({len(lines)})\n\n" + "\n".join(lines) + "\n"


def publish_summary(report: Report) -> str:
    """The job summary of a publish run: one row per post and target."""
    rows = []
    for o in sorted(report.outcomes, key=lambda o: (o.path, o.target)):
        detail = (
            link(o.url or o.uri, o.url or o.uri or "") if (o.url or o.uri) else md(o.error or "")
        )
        icon = _ICONS.get(o.status, "")
        rows.append([md(report.where(o.path)), md(o.target), f"{icon} {md(o.status)}", detail])
    for f, t in report.refused:
        rows.append(
            [md(report.where(f.path)), md(t.label), f"{_ICONS[t.action]} {t.action}", md(t.reason)]
        )
    for f in report.plan.invalid:
        first = f.post.errors[0]
        rows.append(
            [
                md(report.where(f.path)),
                "",
                "❌ invalid",
                f"line {first.line}: {md(first.code)}: {md(first.message)}",
            ]
        )
    ok = sum(1 for o in report.outcomes if o.status in SENT)
    queued = sum(1 for o in report.outcomes if o.status == "queued")
    text = [
        "## publisher: publish",
        "",
        f"{md(report.reason)} · {len(report.plan.files)} posts considered · env {report.env}",
        "",
        f"**{ok} published, {queued} queued, {report.failed} failed**",
        "",
    ]
    text.append(
        _table(["Post", "Target", "Status", "Link / error"], rows)
        if rows
        else "Nothing to publish: every post is up to date."
    )
    if report.stopped:
        text.append(f"\n**Stopped:** {md(report.stopped)}")
    return "\n".join(text) + "\n" + _problems_md(report)


def git_summary(report: Report) -> str:
    if report.git_error:
        return (
            "\n### ❌ Results not saved to the repository\n\n"
            f"{md(report.git_error)}\n\nEvery result above is also in the step outputs.\n"
        )
    if report.commit is None:
        return ""
    state = "pushed" if report.pushed else "committed (not pushed)"
    return f"\n### Commit\n\nResults {state}: `{report.commit[:12]}` by github-actions\\[bot\\].\n"


def _length(platform: str | None, text: str) -> tuple[str, bool]:
    from publisher.limits import measure

    if not platform:
        return "unknown platform", False
    try:
        length = measure(platform, text)
    except ValueError:
        return f"{platform}: no limit known", False
    unit = {"graphemes": "graphemes", "weighted": "weighted", "utf16": "UTF-16 units"}[length.unit]
    return f"{platform} {length.used}/{length.limit} {unit}", length.over


@dataclass(frozen=True)
class TargetPreview:
    """One target of a post as a preview shows it."""

    label: str
    length: str  # e.g. "bluesky 214/300 graphemes"
    over: bool
    media: list[str]  # e.g. "image img/launch.png (alt: The banner)"
    action: str  # in words, e.g. "publish"
    reason: str


def preview_targets(f: Any) -> tuple[list[TargetPreview], dict[str, list[str]]]:
    """The targets of a planned file, and its distinct texts with the targets using them."""
    from publisher.report import ACTION_WORDS

    rows: list[TargetPreview] = []
    texts: dict[str, list[str]] = {}
    for t in f.targets:
        target = t.target
        length, over, media = "", False, []
        if target is not None:
            length, over = _length(target.platform, target.text)
            for m in target.media:
                alt = f" (alt: {m.alt})" if m.alt else " (no alt text)"
                media.append(f"{m.kind} {m.rel or m.url or '?'}{alt}")
            texts.setdefault(target.text, []).append(t.label)
            if target.first_comment:
                texts.setdefault(target.first_comment, []).append(f"{t.label} (first comment)")
        words = ACTION_WORDS.get(t.action, t.action)
        rows.append(TargetPreview(t.label, length, over, media, words, t.reason))
    return rows, texts


def _when(f: Any) -> str:
    if f.state == "draft":
        return "Draft: never published."
    post = f.post
    return f"Publishes {'at ' + post.scheduled_iso if post.scheduled_at else 'immediately'}."


def preview_markdown(report: Report) -> str:
    """Per post and target: final text, length against the limit, media, schedule and
    what publishing would do."""
    out = [
        "## publisher: preview",
        "",
        f"{md(report.reason)} · {len(report.plan.files)} posts · nothing was sent",
        "",
    ]
    if not report.plan.files and not report.selection.deleted:
        out.append("No post is changed or waiting to be published.")
    for f in report.plan.files:
        out += [f"### {md(report.where(f.path))} — {md(f.state)}", ""]
        if not f.post.valid:
            out += [f"- ❌ line {p.line}: {md(p.code)}: {md(p.message)}" for p in f.post.errors]
            out.append("")
            continue
        out += [_when(f), ""]
        rows, texts = preview_targets(f)
        if rows:
            cells = [
                [
                    md(r.label),
                    ("❌ " if r.over else "") + md(r.length),
                    "<br>".join(md(m) for m in r.media) or "—",
                    f"{md(r.action)}: {md(r.reason)}",
                ]
                for r in rows
            ]
            out += [_table(["Target", "Length", "Media", "Would"], cells), ""]
        for text, labels in texts.items():
            out += [f"**Text for {md(', '.join(labels))}:**", "", pre(text), ""]
        out += [f"- ⚠️ line {p.line}: {md(p.code)}: {md(p.message)}" for p in f.post.warnings]
        out.append("")
    for d in report.selection.deleted:
        labels = ", ".join(q[0] for q in d.queued)
        out += [f"### {md(d.path)} — deleted", "", f"Would cancel the queued {md(labels)}.", ""]
    return "\n".join(out).rstrip() + "\n"


def preview_text(report: Report) -> str:
    """The same preview as plain text, for the log (print it inside stop-commands)."""
    out = []
    for f in report.plan.files:
        out.append(f"{report.where(f.path)}: {f.state}")
        if not f.post.valid:
            out += [f"  line {p.line}: {p.code}: {p.message}" for p in f.post.errors]
            continue
        out.append(f"  {_when(f)}")
        rows, texts = preview_targets(f)
        for r in rows:
            out.append(
                f"  {r.label}: {r.length}{' OVER' if r.over else ''}; {r.action}: {r.reason}"
            )
            out += [f"    {m}" for m in r.media]
        for text, labels in texts.items():
            out.append(f"  text for {', '.join(labels)}:")
            out += [f"    {line}" for line in text.splitlines()]
    for d in report.selection.deleted:
        out.append(f"{d.path}: deleted; would cancel {', '.join(q[0] for q in d.queued)}")
    return "\n".join(out)


def validate_summary(report: Report) -> str:
    invalid = len(report.plan.invalid)
    files = len(report.plan.files)
    head = f"## publisher: validate\n\n{md(report.reason)} · {files} posts checked · "
    head += f"**{invalid} invalid**\n" if invalid else "all valid\n"
    return head + _problems_md(report)


# ------------------------------------------------------------------------------ run


@dataclass
class Context:
    """What every mode needs."""

    inputs: Inputs
    actions: ActionsEnv
    config: Config
    repo_root: Path | None
    log: Log
    environ: Mapping[str, str]

    def where(self, rel: str) -> str:
        """A post path relative to the config root -> relative to the repository root."""
        if self.repo_root is None:
            return rel
        try:
            return (self.config.root / rel).resolve().relative_to(self.repo_root).as_posix()
        except ValueError:
            return rel


def main(
    config_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
) -> int:
    """Run ``publisher ci``; returns the exit code."""
    environ = os.environ if environ is None else environ
    log = Log(out or sys.stdout)
    for name in ("LETMEPOST_API_KEY", "GITHUB_TOKEN"):
        secret = environ.get(name, "").strip()
        if secret:
            log.command(add_mask(secret))  # before anything else is printed
    try:
        ctx = _context(config_path, environ, log)
        mode, why = choose_mode(ctx.inputs.mode, ctx.actions)
        if mode == "publish":
            return _publish(ctx, why)
        return _preview(ctx, why) if mode == "preview" else _validate(ctx, why)
    except (UsageError, ConfigError, GitHubError) as exc:
        log.command(annotation("error", str(exc), title="publisher: configuration"))
        return EXIT_USAGE


def _context(config_path: Path | None, environ: Mapping[str, str], log: Log) -> Context:

    inputs = Inputs.from_environ(environ)
    actions = ActionsEnv.from_environ(environ)
    config = load_config(path=config_path) if config_path else load_config()
    if inputs.path is not None:
        posts = PurePosixPath(inputs.path.replace("\\", "/"))
        if posts.is_absolute() or ".." in posts.parts:
            raise UsageError(f"input path must be a folder inside the repository: {inputs.path!r}")
        config = dataclasses.replace(config, posts=posts.as_posix())
    return Context(inputs, actions, config, repo_root_of(config.root), log, environ)


def _run_of(ctx: Context) -> Any:
    """The Run of this job: the action's sandbox input or api-key."""
    from publisher.run import resolve_run

    inputs = ctx.inputs
    return resolve_run(
        ctx.config, sandbox=inputs.sandbox, environ=ctx.environ, key=inputs.api_key or ""
    )


def _load(paths: Sequence[Path], config: Config) -> list[Any]:
    from publisher.post import load_post

    return [load_post(p, config) for p in paths]


def _finish(ctx: Context, report: Report, summary: str) -> None:
    """Outputs, annotations, the summary: all written before any git work."""
    for line in report.annotations():
        ctx.log.command(line)
    if ctx.actions.output_path is not None:
        write_outputs(ctx.actions.output_path, report.outputs())
    if ctx.actions.summary_path is not None:
        append_summary(ctx.actions.summary_path, summary)


def _validate(ctx: Context, why: str) -> int:
    from publisher.plan import make_plan
    from publisher.report import print_problems, problems_summary

    run = _run_of(ctx)
    selection = select_posts(ctx.config, ctx.repo_root, ctx.actions, "validate", run)
    posts = _load(selection.files, ctx.config)
    plan = make_plan(posts, run)
    report = Report(why, plan.env, plan, ctx.where, selection)
    text = StringIO()
    print_problems(posts, out=text)
    ctx.log.untrusted(text.getvalue())
    ctx.log.command(f"publisher: {problems_summary(posts)}")
    _finish(ctx, report, validate_summary(report))
    return EXIT_FAILED if plan.invalid else EXIT_OK


def _preview(ctx: Context, why: str) -> int:
    from publisher.plan import make_plan

    run = _run_of(ctx)
    env = run.env
    selection = select_posts(ctx.config, ctx.repo_root, ctx.actions, "preview", run)
    plan = make_plan(_load(selection.files, ctx.config), run)
    report = Report(f"{why}; {selection.reason}", env, plan, ctx.where, selection)
    ctx.log.untrusted(preview_text(report) or "no post is changed or waiting to be published")
    body = preview_markdown(report)
    _finish(ctx, report, body)
    _comment(ctx, body)
    return EXIT_FAILED if plan.invalid or report.refused else EXIT_OK


def _comment(ctx: Context, body: str) -> None:
    """One PR comment, updated in place; a fork or a refusal is a notice, not a failure."""
    pr = ctx.actions.pull_request
    if pr is None or not ctx.inputs.token or not ctx.actions.repository:
        return
    if pr.from_fork:
        ctx.log.command(
            annotation("notice", "pull request from a fork: the preview is in the job summary only")
        )
        return
    if len(body) > COMMENT_LIMIT:
        cut = body.rfind("\n", 0, COMMENT_LIMIT)
        body = body[: max(cut, 0)] + "\n\n_Preview cut short: the job summary has all of it._\n"
    if ctx.actions.run_url:
        body += f"\n<sub>[workflow run]({ctx.actions.run_url})</sub>\n"
    try:
        result = upsert_pr_comment(
            ctx.actions.api_url, ctx.actions.repository, pr.number, ctx.inputs.token, body
        )
    except GitHubApiError as exc:
        level = "notice" if exc.status in (403, 404) else "warning"
        ctx.log.command(
            annotation(
                level,
                f"no preview comment ({exc}); give the job `pull-requests: write` to get one",
            )
        )
        return
    except (GitHubError, ValueError) as exc:
        ctx.log.command(annotation("warning", f"no preview comment: {exc}"))
        return
    ctx.log.command(f"publisher: preview comment {'created' if result.created else 'updated'}")


def _publish(ctx: Context, why: str) -> int:
    from publisher.apply import RunResult
    from publisher.lock import run_lock
    from publisher.plan import make_plan
    from publisher.report import result_table

    inputs = ctx.inputs
    if ctx.repo_root is None:
        raise UsageError(f"{ctx.config.root} is not a git checkout: publish mode commits results")
    branch = ctx.actions.branch
    if inputs.push and inputs.commit and branch is None:
        raise UsageError(
            f"cannot push the results: {ctx.actions.ref or 'no ref'} is not a branch "
            "(set push: false to only commit)"
        )
    run = _run_of(ctx)
    with run_lock(ctx.config.root), run.connect(need_key=False) as api:
        selection = select_posts(ctx.config, ctx.repo_root, ctx.actions, "publish", run)
        plan = make_plan(_load(selection.files, ctx.config), run)
        if api.client is None and (selection.deleted or plan.needs_letmepost):
            raise UsageError(
                "publishing needs the api-key input (LETMEPOST_API_KEY): pass "
                "${{ secrets.LETMEPOST_API_KEY }}, or set sandbox: true to try it locally"
            )
        reason = f"{why}; {selection.reason}"
        report = Report(reason, api.env, plan, ctx.where, selection)
        _run(ctx, api, report)
    ctx.log.untrusted(
        result_table(plan, RunResult(outcomes=report.outcomes, written=report.written))
    )
    _finish(ctx, report, publish_summary(report))
    if inputs.commit and report.written:
        _save(ctx, report, sorted(report.written), branch)
    if ctx.actions.summary_path is not None:
        append_summary(ctx.actions.summary_path, git_summary(report))
    return report.exit_code()


def _run(ctx: Context, api: Any, report: Report) -> None:
    from publisher.apply import Outcome, Runner

    runner = Runner(api.run, client=api.client, environ=ctx.environ)
    result = runner.run(report.plan)
    report.outcomes = list(result.outcomes)
    report.stopped = result.stopped
    report.written = list(result.written)
    root = ctx.repo_root or ctx.config.root
    for d in report.selection.deleted:
        rel = Path(os.path.relpath(root / d.path, ctx.config.root)).as_posix()
        for label, platform, post_id in d.queued:
            status, error = _cancel(api.client, post_id)
            report.outcomes.append(Outcome(rel, label, platform, "cancel", status, error=error))


def _cancel(client: Any, post_id: str) -> tuple[str, str | None]:
    from publisher.client import ApiError, NetworkError

    try:
        client.delete_post(post_id)
    except ApiError as exc:
        if exc.status == 409:
            return "gone out", None  # no longer queued: nothing left to cancel
        return "error", f"could not cancel the queued post: {exc}"
    except NetworkError as exc:
        return "error", f"could not cancel the queued post: {exc}"
    return "canceled", None


def commit_message(first_line: str | None, report: Report, files: Sequence[str]) -> str:
    """The commit's message: the configured first line (or a default), then the posts."""
    head = first_line or (
        f"publisher: record results of {len(files)} post{'s' if len(files) != 1 else ''}"
    )
    lines = [head, ""]
    for rel in files:
        statuses = [f"{o.target} {o.status}" for o in report.outcomes if o.path == rel]
        lines.append(f"- {report.where(rel)}: {', '.join(statuses)}")
    return "\n".join(lines)


def _save(ctx: Context, report: Report, written: list[str], branch: str | None) -> None:
    from publisher.github.git import GitError, commit_files, push_with_retry

    message = commit_message(ctx.inputs.commit_message, report, written)
    try:
        report.commit = commit_files(
            ctx.repo_root or ctx.config.root, [str(ctx.config.root / w) for w in written], message
        )
    except GitError as exc:
        report.git_error = f"commit failed: {exc}"
    if report.commit is None or report.git_error or not ctx.inputs.push or branch is None:
        _git_log(ctx, report)
        return
    try:
        pushed = push_with_retry(
            ctx.repo_root or ctx.config.root,
            branch,
            attempts=PUSH_ATTEMPTS,
            merge_file=record.merge_published,
        )
    except GitError as exc:
        report.git_error = f"push failed: {exc}"
    else:
        report.pushed = pushed.ok
        report.commit = pushed.sha or report.commit
        if not pushed.ok:
            report.git_error = f"push to {branch} failed: {pushed.error}"
        elif pushed.merged_files:
            ctx.log.command(
                f"publisher: merged results with the remote in {len(pushed.merged_files)} files"
            )
    _git_log(ctx, report)


def _git_log(ctx: Context, report: Report) -> None:
    if report.git_error:
        ctx.log.command(
            annotation(
                "error",
                f"{report.git_error}. Every result is in the step outputs and the job summary.",
                title="publisher: results not pushed",
            )
        )
    elif report.commit:
        state = "pushed" if report.pushed else "committed"
        ctx.log.command(f"publisher: results {state} as {report.commit[:12]}")


__all__ = [
    "Inputs",
    "Report",
    "choose_mode",
    "commit_message",
    "main",
    "parse_bool",
    "select_posts",
]
