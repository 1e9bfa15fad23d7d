"""What one run of the Action found and did (`Report`), as step outputs and annotations.

The Markdown views of it (job summary, PR comment, commit message) are in
`publisher.github.render`; the log's plain text in `publisher.github.ci`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from publisher.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from publisher.github.actions import AnnotationLevel, annotation
from publisher.github.select import Selection

if TYPE_CHECKING:
    from publisher.apply import Outcome
    from publisher.plan import FilePlan, Plan, TargetPlan
    from publisher.post import Post
    from publisher.preview.views import PostPreview

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "SENT",
    "Outputs",
    "PlannedItem",
    "PublishedItem",
    "Report",
]

SENT = frozenset({"published", "publishing"})


class PublishedItem(TypedDict):
    """One target this run published: an item of the `published` output."""

    file: str
    target: str
    platform: str | None
    uri: str | None
    url: str | None


class PlannedItem(TypedDict):
    """One target (or an invalid file, or a deleted file's queued target) and what the
    plan does with it: an item of the `planned` output."""

    file: str
    state: str
    target: str | None
    platform: str | None
    action: str
    reason: str


class Outputs(TypedDict):
    """The Action's step outputs (`action.yml`)."""

    published: list[PublishedItem]
    planned: list[PlannedItem]
    failed: str


@dataclass
class Report:
    """Everything a run found and did, for the outputs, the summary and the log."""

    reason: str
    env: str
    plan: Plan
    where: Callable[[str], str]  # a post's `rel` -> its path from the repository root
    selection: Selection
    root: Path | None = None  # the config root (media paths of the previews)
    outcomes: list[Outcome] = field(default_factory=list)
    stopped: str | None = None
    written: list[str] = field(default_factory=list)  # post files written back (`rel`)
    commit: str | None = None
    pushed: bool | None = None
    git_error: str | None = None

    @property
    def refused(self) -> list[tuple[FilePlan, TargetPlan]]:
        return [
            (f, t) for f in self.plan.files for t in f.targets if t.action in ("refuse", "blocked")
        ]

    @property
    def waiting(self) -> list[tuple[FilePlan, TargetPlan]]:
        """Blocked or refused targets in files this event did not change: an earlier run
        reported them (and failed); they are listed, and fail no run again."""
        return [(f, t) for f, t in self.refused if not self.selection.changed_by_event(f.post.path)]

    @property
    def new_blocks(self) -> list[tuple[FilePlan, TargetPlan]]:
        """Blocked or refused targets this event's change made (or a full scan found)."""
        return [(f, t) for f, t in self.refused if self.selection.changed_by_event(f.post.path)]

    @property
    def sandbox_only(self) -> list[FilePlan]:
        """Files whose `published` block holds only sandbox results (tried with
        `--sandbox` or `sandbox: true`, then committed) and that this live run publishes
        for real: they look finished, and are not."""
        if self.env == "sandbox":
            return []
        return [
            f
            for f in self.plan.files
            if f.post.record is not None
            and f.post.record.env == "sandbox"
            and any(t.action == "publish" for t in f.targets)
        ]

    @property
    def kept(self) -> list[tuple[FilePlan, TargetPlan]]:
        """Targets edited after publishing and kept as published (onEdit: keep)."""
        return [(f, t) for f in self.plan.files for t in f.targets if t.action == "keep"]

    @property
    def failed_outcomes(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.failed]

    @property
    def failed(self) -> int:
        """Invalid posts, failed targets and the refused or blocked targets this event
        made (a known block, `waiting`, does not count: it failed the run that found it)."""
        return len(self.plan.invalid) + len(self.failed_outcomes) + len(self.new_blocks)

    def exit_code(self) -> int:
        bad = self.failed or self.stopped or self.git_error
        return EXIT_FAILED if bad else EXIT_OK

    def previews(self) -> list[PostPreview]:
        """The preview (`publisher.preview.views.PostPreview`) of every planned file, in
        plan order: the same model `watch` and its live page show."""
        from publisher.preview.views import build_preview

        root = self.root or Path(".")
        return [build_preview(f.post, f, root=root) for f in self.plan.files]

    # -- outputs ------------------------------------------------------------------------

    def published(self) -> list[PublishedItem]:
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

    def planned(self) -> list[PlannedItem]:
        items: list[PlannedItem] = []
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

    def outputs(self) -> Outputs:
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
                level: AnnotationLevel = "error" if p.severity == "error" else "warning"
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
        for f, t in self.kept:
            lines.append(
                annotation(
                    "notice",
                    f"{t.label}: {t.reason}",
                    file=self.where(f.path),
                    line=_target_line(f.post, t),
                    title=f"publisher: {t.label} edited after publishing",
                )
            )
        for f in self.sandbox_only:
            lines.append(
                annotation(
                    "warning",
                    "its published block holds sandbox results only: this live run publishes "
                    "it for real",
                    file=self.where(f.path),
                    title="publisher: tried in the sandbox only",
                )
            )
        waiting = self.waiting
        for f, t in self.refused:
            known = (f, t) in waiting
            lines.append(
                annotation(
                    "warning" if known else "error",
                    f"{t.label}: {t.reason}"
                    + (" (reported by an earlier run; waiting for a person)" if known else ""),
                    file=self.where(f.path),
                    line=_target_line(f.post, t),
                    title=f"publisher: {t.label} {'waiting' if known else t.action}",
                )
            )
        return lines


def _target_line(post: Post, t: TargetPlan) -> int | None:
    if post.doc is None or t.target is None:
        return None
    return post.doc.line_of(("targets", t.target.index))[0]
