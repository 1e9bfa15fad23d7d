"""The state one post's checks share (`Checker`): the post being filled in, its
document, the configuration, the run's `Snapshot`, and `problem()`, which places
each problem at its line once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from publisher.config import Config
from publisher.document import Document, Loc
from publisher.post import MediaFile, Post, Problem
from publisher.validate.media_cache import Snapshot

__all__ = ["Checker"]


class Checker:
    """One post's checking in progress (this package's functions take it as `c`)."""

    def __init__(
        self,
        post: Post,
        doc: Document,
        config: Config,
        now: dt.datetime,
        snapshot: Snapshot,
    ) -> None:
        self.post, self.doc, self.config, self.now = post, doc, config, now
        self.snapshot = snapshot
        if not snapshot.enabled:
            snapshot.enabled.append(config.enabled_platforms())
        self.enabled_platforms = snapshot.enabled[0]  # None: not known, no warnings
        self.media_read: dict[Loc, list[MediaFile]] = {}
        # After a validation error: the original index of each target still checked,
        # and whether `targets` itself was invalid (so neither it nor the defaults apply).
        self.target_index: list[int] | None = None
        self.targets_checked = False
        self.fm_extras: bool | None = None  # whether the post sets any Bluesky extra
        self.reported: set[tuple[Any, ...]] = set()  # each problem once

    def problem(self, loc: Loc, code: str, message: str, severity: str = "error") -> None:
        target = loc[1] if len(loc) > 1 and loc[0] == "targets" and type(loc[1]) is int else None
        if severity == "error":  # shown whenever the post is: place it now
            line, col = self.doc.line_of(loc)
            key: tuple[Any, ...] = (line, col, code, message)
            found = Problem(self.post.rel, line, col, code, message, severity, target=target)
        else:
            key = (loc, code, message, severity)
            doc = self.doc
            found = Problem(
                self.post.rel,
                0,
                0,
                code,
                message,
                severity,
                locate=lambda: doc.line_of(loc),
                target=target,
            )
        if key not in self.reported:
            self.reported.add(key)
            self.post.problems.append(found)
