"""Printing for people: problems, the plan table, results. Plain text that reads well
in a terminal, a CI log and a pipe alike (no colour codes unless on a terminal)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from publisher.post import Post

if TYPE_CHECKING:  # `validate` prints problems without planning anything
    from publisher.apply import RunResult
    from publisher.plan import Plan, TargetPlan

__all__ = [
    "ACTION_WORDS",
    "dump_json",
    "plan_table",
    "plural",
    "print_problems",
    "problems_summary",
    "result_table",
    "table",
]

ACTION_WORDS = {
    "publish": "publish",
    "retry": "retry",
    "repost": "post again",
    "update": "update queued",
    "cancel": "cancel queued",
    "resume": "resume",
    "sync": "fetch result",
    "none": "-",
    "refuse": "REFUSED",
    "blocked": "blocked",
    "keep": "kept",
    "continue": "continue thread",
}


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 file``, ``2 files``; ``many`` for irregular plurals."""
    return f"{n} {word if n == 1 else many or word + 's'}"


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    """Columns padded to their widest cell, two spaces apart; the last is not padded."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in headers]
    widths = [
        max(len(h), max(map(len, col), default=0)) for h, col in zip(headers, columns, strict=True)
    ]
    fmt = "".join(f"{{:<{w}}}  " for w in widths[:-1]) + "{}"
    rule = ["-" * w for w in widths[:-1]] + ["-" * max(len(headers[-1]), 6)]
    out = [fmt.format(*headers).rstrip(), fmt.format(*rule).rstrip()]
    out += [fmt.format(*r).rstrip() for r in rows]
    return "\n".join(out)


def print_problems(posts: Sequence[Post], out: TextIO = sys.stdout) -> None:
    for post in posts:
        for problem in sorted(post.problems, key=lambda p: (p.line, p.col)):
            print(problem, file=out)


def problems_summary(posts: Sequence[Post]) -> str:
    errors = sum(len(p.errors) for p in posts)
    warnings = sum(len(p.warnings) for p in posts)
    bad = sum(1 for p in posts if not p.valid)
    noun = "file" if len(posts) == 1 else "files"
    if errors:
        return f"{len(posts)} {noun} checked: {bad} invalid, {errors} errors, {warnings} warnings"
    return f"{len(posts)} {noun} checked: all valid ({warnings} warnings)"


def _snippet(text: str, width: int = 40) -> str:
    line = " ".join(text.split())
    return json.dumps(line if len(line) <= width else line[: width - 1] + "…", ensure_ascii=False)


def _thread_lines(t: TargetPlan) -> list[str]:
    """A thread's parts under its target's row, one line each: what this run does with
    each part (part 1 is the target's own action)."""
    resolved = t.target
    if resolved is None or not resolved.parts:
        return []
    texts = [resolved.text, *resolved.parts]
    total = len(texts)
    changed = dict(t.changes)  # a thread edited after publishing: how, part by part
    lines = []
    for n, text in enumerate(texts, start=1):
        if n == 1:
            what = ACTION_WORDS.get(t.action, t.action)
        elif n in t.resent:
            what = "resend under its key (its answer was lost)"
        elif n in t.parts:
            what = f"reply to part {n - 1}"
        elif t.action in ("publish", "retry", "repost") and not t.parts:
            what = "waits for part 1 (sync sends it)"
        elif n in changed:
            what = "not sent"
        else:
            what = "-"
        if n in changed and changed[n] != "removed":
            what = f"{changed[n]}: {what}"
        lines.append(f"  part {n}/{total}: {what} {_snippet(text)}")
    for n, change in t.changes:  # published parts no longer in the file
        if change == "removed":
            stays = "stays on the platform" + (" (recorded under earlier)" if t.parts else "")
            lines.append(f"  part {n} (published): removed from the file: {stays}")
    return lines


def plan_table(plan: Plan) -> str:
    rows = []
    for f in plan.files:
        if not f.targets:
            detail = ""
            if f.state == "invalid":
                first = f.post.errors[0]
                more = len(f.post.errors) - 1
                detail = f"{first.code} (line {first.line})" + (f" +{more} more" if more else "")
            rows.append([f.path, f.state, detail])
            continue
        for i, t in enumerate(f.targets):
            where = (
                t.label if t.label == t.platform or not t.platform else f"{t.label} ({t.platform})"
            )
            if t.action == "none":
                what = t.reason
            else:
                what = f"{ACTION_WORDS.get(t.action, t.action)} ({t.reason})"
            rows.append(
                [
                    f.path if i == 0 else "",
                    f.state if i == 0 else "",
                    f"{where}: {what}",
                ]
            )
            rows += [["", "", line] for line in _thread_lines(t)]
    text = table(rows, ["FILE", "STATE", "TARGETS"]) if rows else "no posts found"
    for group in plan.duplicates:
        text += "\n\nidentical content: " + ", ".join(group)
    counts = ", ".join(f"{n} {state}" for state, n in sorted(plan.counts().items()))
    from publisher.plan import CREATES  # planning is loaded by whoever made `plan`

    sends = sum(1 for f in plan.files for t in f.targets if t.action in CREATES)
    replies = sum(len(t.parts) - len(t.resent) for f in plan.files for t in f.targets)
    resends = sum(len(t.resent) for f in plan.files for t in f.targets)
    also = f" and {plural(replies, 'thread reply', 'thread replies')}" if replies else ""
    again = f" ({plural(resends, 'lost answer')} to learn first)" if resends else ""
    text += (
        f"\n\n{plural(len(plan.files), 'file')} ({counts}); {plural(sends, 'target post')}{also} "
        f"to send{again} "
        f"({plan.env})"
    )
    return text


def dump_json(value: object, out: TextIO = sys.stdout) -> None:
    """`value` as JSON: the outer two levels indented for people, everything deeper on one
    line each. `json.dump(indent=...)` runs the pure-Python encoder, piece by piece (a
    third of `plan --json`'s time on 5,000 posts); each line here is one call to the C
    encoder."""
    out.write(_json_text(value, 0))
    out.write("\n")


_COMPACT = json.JSONEncoder(ensure_ascii=False, default=str)  # json.dumps builds one a call


def _compact(value: object) -> str:
    return _COMPACT.encode(value)


def _json_text(value: object, depth: int) -> str:
    if depth >= 2 or not isinstance(value, dict | list) or not value:
        return _compact(value)
    pad, close = "  " * (depth + 1), "  " * depth
    if isinstance(value, dict):
        items = [f"{pad}{_compact(str(k))}: {_json_text(v, depth + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{close}}}"
    items = [pad + _json_text(v, depth + 1) for v in value]
    return "[\n" + ",\n".join(items) + f"\n{close}]"


def result_table(plan: Plan, result: RunResult) -> str:
    """One row per target: what happened and its link (or its error)."""
    rows = []
    for o in sorted(result.outcomes, key=lambda o: (o.path, o.target)):
        detail = o.url or o.uri or o.error or o.note or ""
        if o.note and detail != o.note:  # a warning beside the link (a link card not made)
            detail += f" ({o.note})"
        rows.append([o.path, o.target, o.status, detail])
    held = {"refuse": 0, "blocked": 0, "keep": 0}
    for f in plan.files:
        for t in f.targets:
            if t.action in held:
                held[t.action] += 1
                rows.append([f.path, t.label, ACTION_WORDS[t.action], t.reason])
    text = (
        table(rows, ["FILE", "TARGET", "STATUS", "LINK / ERROR"])
        if rows
        else "nothing to publish: every post is up to date"
    )
    failed = len(result.failed)
    by_hand = sum(1 for o in result.outcomes if o.status == "not deleted")  # nothing written
    ok = sum(1 for o in result.outcomes if not o.failed) - by_hand
    parts = [plural(ok, "target result") + " recorded", f"{failed} failed"]
    if by_hand:
        parts.append(f"{by_hand} to delete by hand")
    if held["blocked"] or held["refuse"]:
        parts.append(f"{held['blocked'] + held['refuse']} blocked")
    if held["keep"]:
        parts.append(f"{held['keep']} edited after publishing (kept)")
    parts.append(plural(len(plan.invalid), "invalid file"))
    summary = ", ".join(parts)
    if result.written:
        summary += f"; {plural(len(result.written), 'file')} updated"
    return f"{text}\n\n{summary} ({plan.env})"
