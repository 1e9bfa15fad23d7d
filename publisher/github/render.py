"""Markdown from the Action's `Report`: the job summary of each mode, the pull
request's preview comment, and the commit message of the write-back.

The preview is drawn from the one preview model (`Report.previews()`, built by
`publisher.preview.views.build_preview`), the same data `watch` and its live page show.
Post text is untrusted: it reaches Markdown only through `md` (escaped, no HTML, no
@mention) or `pre` (verbatim inside ``<pre>``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from publisher.github.outcome import SENT, Report
from publisher.report import ACTION_WORDS, plural

if TYPE_CHECKING:
    from publisher.plan import Step
    from publisher.post import Problem
    from publisher.preview.views import PostPreview

__all__ = [
    "commit_message",
    "git_summary",
    "link",
    "md",
    "pre",
    "preview_markdown",
    "preview_text",
    "publish_summary",
    "validate_summary",
]


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
    "keep": "📝",
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
    for f, t in [*report.kept, *report.new_blocks]:
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
        f"{md(report.reason)} · {plural(len(report.plan.files), 'post')} considered · env {report.env}",
        "",
        f"**{ok} published, {queued} queued, {report.failed} failed**",
        "",
        _sandbox_md(report, "this run published them"),
    ]
    text.append(
        _table(["Post", "Target", "Status", "Link / error"], rows)
        if rows
        else "Nothing to publish: every post is up to date."
    )
    if report.stopped:
        text.append(f"\n**Stopped:** {md(report.stopped)}")
    return "\n".join(text) + "\n" + _waiting_md(report) + _problems_md(report)


def _sandbox_md(report: Report, verb: str) -> str:
    """Posts that look finished (a `published` block) but were only tried in the
    sandbox: the live run publishes them for real."""
    files = report.sandbox_only
    if not files:
        return ""
    names = ", ".join(md(report.where(f.path)) for f in files)
    return (
        f"> ⚠️ **Tried in the sandbox only:** {names}. Their `published` block holds "
        f"sandbox results, which do not count for real accounts: {verb} for real.\n\n"
    )


def _waiting_md(report: Report) -> str:
    """Every target that waits for a person, on every run: the ones an earlier run
    reported (they no longer fail the run) and the ones this run found."""
    if not report.refused:
        return ""
    known = report.waiting
    lines = [
        f"- ⛔ {md(report.where(f.path))} · {md(t.label)}: {md(t.reason)}"
        + (" _(reported by an earlier run)_" if (f, t) in known else "")
        for f, t in report.refused
    ]
    head = f"\n### Waiting for a person ({len(lines)})\n\n"
    note = (
        "\nNothing is sent for these until the post is fixed or released; a block already "
        "reported by an earlier run does not fail this one.\n"
        if known
        else ""
    )
    return head + "\n".join(lines) + "\n" + note


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


def _when(preview: PostPreview) -> str:
    if preview.state == "draft":
        return "Draft: never published."
    when = f"at {preview.scheduled_at}" if preview.scheduled_at else "immediately"
    return f"Publishes {when}."


def _texts(preview: PostPreview) -> dict[str, list[str]]:
    """The distinct texts of a post (first comments included), with the targets using
    each."""
    texts: dict[str, list[str]] = {}
    for t in preview.targets:
        if not t.in_post:
            continue
        texts.setdefault(t.text, []).append(t.label)
        if t.first_comment:
            texts.setdefault(t.first_comment, []).append(f"{t.label} (first comment)")
    return texts


def _sorted(problems: Iterable[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line, p.col))


def _all_problems(preview: PostPreview) -> list[Problem]:
    return _sorted([*preview.problems, *(p for t in preview.targets for p in t.problems)])


def preview_markdown(report: Report) -> str:
    """Per post and target: final text, length against the limit, media, schedule and
    what publishing would do."""
    out = [
        "## publisher: preview",
        "",
        f"{md(report.reason)} · {plural(len(report.plan.files), 'post')} · nothing was sent",
        "",
        _sandbox_md(report, "merging publishes them"),
    ]
    if not report.plan.files and not report.selection.deleted:
        out.append("No post is changed or waiting to be published.")
    for pv in report.previews():
        out += [f"### {md(report.where(pv.rel))} — {md(pv.state)}", ""]
        problems = _all_problems(pv)
        if pv.state == "invalid":
            errors = [p for p in problems if p.severity == "error"]
            out += [f"- ❌ line {p.line}: {md(p.code)}: {md(p.message)}" for p in errors]
            out.append("")
            continue
        out += [_when(pv), ""]
        if pv.targets:
            cells = [
                [
                    md(t.label),
                    ("❌ " if t.length is not None and t.length.over else "") + md(t.length_text()),
                    "<br>".join(md(m) for m in t.media_lines()) or "—",
                    f"{md(ACTION_WORDS.get(t.action, t.action))}: {md(t.reason)}",
                ]
                for t in pv.targets
            ]
            out += [_table(["Target", "Length", "Media", "Would"], cells), ""]
        for text, labels in _texts(pv).items():
            out += [f"**Text for {md(', '.join(labels))}:**", "", pre(text), ""]
        for t in pv.targets:
            if t.in_post and (t.reply_to or t.quote):
                what = f"replies to {t.reply_to}" if t.reply_to else f"quotes {t.quote}"
                out += [f"**{md(t.name)}** {md(what)}", ""]
            if t.in_post and t.parts:
                out += [f"**Thread on {md(t.name)}: {len(t.parts) + 1} parts**", ""]
                for text, meter in zip(t.parts, t.part_meters(), strict=True):
                    out += [f"_{md(meter)}_", "", pre(text), ""]
        warnings = [p for p in problems if p.severity != "error"]
        out += [f"- ⚠️ line {p.line}: {md(p.code)}: {md(p.message)}" for p in warnings]
        out += _steps_md(_steps_of(report, pv.rel))
        out.append("")
    for d in report.selection.deleted:
        queued = ", ".join(q[0] for q in d.queued)
        out += [f"### {md(d.path)} — deleted", "", f"Would cancel the queued {md(queued)}.", ""]
    return "\n".join(out).rstrip() + "\n" + _waiting_md(report)


def _steps_of(report: Report, rel: str) -> list[Step]:
    for f in report.plan.files:
        if f.path == rel:
            return list(f.steps)
    return []


def _steps_md(steps: Sequence[Step]) -> list[str]:
    """The requests publishing would send (the plan's steps, as `apply` runs them)."""
    if not steps:
        return []
    items = [f"{i}. {md(step.describe())}" for i, step in enumerate(steps, 1)]
    n = len(steps)
    head = f"<details><summary>{n} request{'s' if n != 1 else ''} on merge</summary>"
    return ["", head, "", *items, "", "</details>"]


def preview_text(report: Report) -> str:
    """The same preview as plain text, for the log (print it inside stop-commands)."""
    out = []
    for pv in report.previews():
        out.append(f"{report.where(pv.rel)}: {pv.state}")
        problems = _all_problems(pv)
        if pv.state == "invalid":
            out += [
                f"  line {p.line}: {p.code}: {p.message}" for p in problems if p.severity == "error"
            ]
            continue
        out.append(f"  {_when(pv)}")
        for t in pv.targets:
            over = " OVER" if t.length is not None and t.length.over else ""
            word = ACTION_WORDS.get(t.action, t.action)
            out.append(f"  {t.label}: {t.length_text()}{over}; {word}: {t.reason}")
            out += [f"    {m}" for m in t.media_lines()]
        for text, labels in _texts(pv).items():
            out.append(f"  text for {', '.join(labels)}:")
            out += [f"    {line}" for line in text.splitlines()]
        out += [f"  request: {step.describe()}" for step in _steps_of(report, pv.rel)]
    for d in report.selection.deleted:
        out.append(f"{d.path}: deleted; would cancel {', '.join(q[0] for q in d.queued)}")
    return "\n".join(out)


def validate_summary(report: Report) -> str:
    invalid = len(report.plan.invalid)
    files = len(report.plan.files)
    head = f"## publisher: validate\n\n{md(report.reason)} · {plural(files, 'post')} checked · "
    head += f"**{invalid} invalid**\n" if invalid else "all valid\n"
    return head + _problems_md(report)


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
