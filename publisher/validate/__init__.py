"""A post file -> a validated `Post`: targets resolved, media read, limits checked,
every problem placed at ``path:line:col``.

`load_post` never raises for bad input: it returns a `Post` whose `problems` say
what is wrong, so one bad file never stops the others from being checked.

The checks, one module each: `frontmatter` (pydantic's errors in words, the schedule),
`targets` (who each target is, and what it carries), `content` (a target against its
platform's limits, replies and quotes, direct accounts), `media`, `bluesky` (the
Bluesky extras); `base.Checker` is the state they share for one post.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from publisher import identity
from publisher.config import Config
from publisher.document import Document, DocumentError, LinkedFile, load_document
from publisher.post import Post, Problem, display_path, post_ref
from publisher.validate import canonical
from publisher.validate.base import Checker
from publisher.validate.frontmatter import check_schedule, report_validation
from publisher.validate.media_cache import Snapshot
from publisher.validate.quick import QuickPost, quick_frontmatter
from publisher.validate.targets import check_targets

if TYPE_CHECKING:
    from publisher.model import PostFrontmatter

__all__ = ["Snapshot", "load_post", "load_posts"]


def load_post(
    path: Path,
    config: Config,
    *,
    now: dt.datetime | None = None,
    snapshot: Snapshot | None = None,
) -> Post:
    """Read, validate and resolve one post file. Never raises for bad input.

    `load_posts` passes one `snapshot` to all its posts, since they share folders and media."""
    rel = display_path(path, config.root)
    post = Post(path=path, rel=rel, identity=identity.post_identity(rel))
    snapshot = snapshot or Snapshot()
    root = snapshot.paths.resolve(str(config.root)).rstrip(os.sep) + os.sep
    real = snapshot.paths.resolve(os.path.dirname(path) or ".") + os.sep  # once per folder
    doc: Document | None = None
    if real.startswith(root):
        try:  # a plain file is read at once; a link is followed only to see where it goes
            doc = load_document(path, rel, follow_links=False)
        except LinkedFile:
            real = os.path.realpath(path)
        except DocumentError as exc:
            post.problems.append(Problem(rel, exc.line, exc.col, exc.code, exc.message))
            return post
    if not real.startswith(root):
        # A link (or a linked folder) out of the repository: its record would be
        # written outside it, where git does not see it.
        post.problems.append(
            Problem(
                rel,
                1,
                1,
                "path.outside_repository",
                f"this post file resolves to {real.rstrip(os.sep)}, outside the repository "
                f"{root.rstrip(os.sep)}: a post "
                "and its record must stay inside it (it is not read, published or written)",
            )
        )
        return post
    if doc is None:  # a link that stays inside the repository
        try:
            doc = load_document(path, rel)
        except DocumentError as exc:
            post.problems.append(Problem(rel, exc.line, exc.col, exc.code, exc.message))
            return post
    post.doc = doc
    check_post(Checker(post, doc, config, now or dt.datetime.now(dt.UTC), snapshot))
    if all(p.severity == "error" for p in post.problems):
        doc.forget_tree()  # no warning left to place at its line: the YAML's nodes can go
    return post


_froze = False  # whether the last `load_posts` froze what it read


def load_posts(
    paths: Iterable[Path], config: Config, *, now: dt.datetime | None = None
) -> list[Post]:
    """`load_post` for many files, with one `now` for all of them.

    Python's cyclic garbage collector is paused meanwhile: every post kept adds objects
    that each full collection scans again (a quarter of `plan`'s time on 10,000 posts),
    while what reading creates is acyclic and freed by reference counting anyway."""
    global _froze
    now = now or dt.datetime.now(dt.UTC)
    if _froze:  # what an earlier call froze is collectable again (a process that loads twice)
        gc.unfreeze()
        _froze = False
    paused = gc.isenabled()
    gc.disable()
    snapshot = Snapshot()
    try:
        return [load_post(path, config, now=now, snapshot=snapshot) for path in paths]
    finally:
        if paused:
            # What was read lives as long as the run: move it out of the collector's
            # generations, or the first collections after this scan all of it again.
            gc.freeze()
            _froze = True
            gc.enable()


def check_post(c: Checker) -> None:
    """Fill in `c.post` from its document: every field, every problem at its line."""
    post, doc = c.post, c.doc
    for notice in doc.notices:
        post.problems.append(
            Problem(post.rel, notice.line, notice.col, notice.code, notice.message, "warning")
        )
    data = doc.data
    post.draft = data.get("draft") is True
    fm: PostFrontmatter | QuickPost | None = quick_frontmatter(data)  # without pydantic
    if fm is None:
        # pydantic (its import too) only for the shapes the quick path is unsure of
        from pydantic import ValidationError

        from publisher.model import PostFrontmatter

        try:
            fm = PostFrontmatter.model_validate(data)
        except ValidationError as exc:
            # Report each problem once, then go on checking what is valid (the other
            # targets, media, schedule) so one run shows everything there is to fix.
            fm = report_validation(c, exc)
    if fm is None:
        return
    if fm.published is not None:
        _check_writable(c)
        _read_record(c, fm.published)
    check_schedule(c, fm)
    post.publish_now = fm.publishNow
    post.profile_id = fm.profileId or c.config.profile
    post.on_edit = fm.onEdit or c.config.on_edit
    post.edit_acknowledged = fm.onEdit == "keep"
    post.release = dict(fm.release or {})
    post.reply_to, post.quote = fm.replyTo, fm.quote
    if fm.repost is not None:
        _check_repost(c, fm)
    post.unpublish = fm.unpublish  # -- Bluesky extras
    check_targets(c, fm)
    _check_release(c)
    post.identity = identity.post_identity(post.rel, fm.id)
    if post.valid and post.targets:
        post.hash = canonical.post_hash(
            {t.label: t.hash for t in post.targets},
            {t.label: t.part_hashes for t in post.targets if t.part_hashes},
        )


def _check_writable(c: Checker) -> None:
    """A file with a `published` block must be one publish can write back to: what
    `apply` checks before sending (`writeback.check_writable`: no YAML anchors, a
    block-style mapping, ...) is an error here already, at its line. Only files
    whose frontmatter could hold such a thing are parsed again."""
    text = c.doc.frontmatter
    if "&" not in text and "*" not in text and "{" not in text[:1]:
        return
    from publisher.writeback import WritebackError, check_writable

    try:
        check_writable(c.doc.raw, path=c.post.rel)
    except WritebackError as exc:
        c.post.problems.append(
            Problem(
                c.post.rel,
                exc.line or 1,
                1,
                "published.unwritable",
                f"{exc.reason}; publish could not record its results here",
                "error",
            )
        )


def _read_record(c: Checker, published: object) -> None:
    from pydantic import ValidationError

    from publisher.record import PublishedRecord

    try:
        c.post.record = PublishedRecord.model_validate(published)
    except ValidationError as exc:
        first = exc.errors()[0]
        c.problem(
            ("published", *first["loc"]),
            "published.invalid",
            "the `published` block (written by publisher) cannot be read: "
            f"{first['msg']}; restore it from git rather than editing it",
        )


def _check_repost(c: Checker, fm: PostFrontmatter | QuickPost) -> None:
    ref = post_ref(fm.repost or "")
    if ref is None or ref[0] != "bluesky":
        c.problem(
            ("repost",),
            "repost.unsupported",
            f"repost must be a bsky.app post URL or an at:// post URI; got {fm.repost!r}",
        )
    if c.doc.body.strip() or fm.quote or fm.replyTo:
        c.problem(
            ("repost",),
            "repost.body",
            "a repost is the post itself, with nothing of its own: remove the body "
            "(or write `quote:` instead, to say something about it)",
        )


def _check_release(c: Checker) -> None:
    post = c.post
    if not post.release:
        return
    from publisher.record import release_problem

    labels = {t.label for t in post.targets}
    for label, attempt in post.release.items():
        problem = release_problem(label, attempt)
        if problem is not None:
            c.problem(("release", label), "release.invalid", problem)
            continue
        if post.targets and label.split("#part", 1)[0] not in labels:
            c.problem(
                ("release", label),
                "release.unknown_target",
                f"release names {label!r}, which is not one of this post's targets",
            )
