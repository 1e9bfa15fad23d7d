"""The watch loop: preview every saved post, publish it once it has settled.

Example (``PlainView`` prints plain lines; see publisher/preview/terminal.py)::

    stop = threading.Event()
    watcher = Watcher(load_config(), [], listeners=[PlainView()], settle=3.0, stop=stop)
    watcher.watch()  # returns once stop is set, e.g. by a SIGINT handler

On every save the changed file is loaded, validated and planned like `publisher plan`
does, and each `Listener` gets a `PostPreview`. When a `Connection` is given, a post that
was saved during the session, is valid, is not a draft, has work in its plan and
whose content hash has not changed for ``settle`` seconds is published with
`apply.Runner`, which writes the results back into the file after every response.

Why a write-back never publishes again: "unchanged" and "already tried" are judged by
the content hash, which ignores the `published` block, never by bytes or mtimes; and
the plan of a written-back post has nothing left to send. A failed publish is tried
once per content version: `publisher publish` (or an edit) tries again.

Stopping (``stop.set()``, e.g. from a SIGINT handler) is honoured between requests:
the Runner shares the event and checks it only between a write-back and the next
request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from publisher.config import Config
from publisher.files import find_posts, is_post_file
from publisher.lock import LockWaitCancelled, run_lock
from publisher.preview.views import PostPreview, build_preview
from publisher.run import Run

if TYPE_CHECKING:
    from publisher.plan import FilePlan
    from publisher.post import Post
    from publisher.run import Connection

#: watchfiles groups changes until none came for STEP_MS (at most DEBOUNCE_MS): a
#: save is seen within one or two steps. Its own defaults (50 / 1600 ms) are for
#: restarting servers, not for previews.
STEP_MS = 20
DEBOUNCE_MS = 100
#: How often the loop wakes with no change, to publish what has settled.
TICK_MS = 100
#: A file that vanished is reported as deleted only if it is still gone after this
#: long: an atomic save (rename the old file away, write the new one) is not a delete.
DELETE_GRACE = 0.3


Commit = Callable[[Path, Sequence[Path], str], str | None]
"""``commit(root, files, message) -> short sha or None`` (nothing changed); raises on
failure, with a message fit to show. The command passes `publisher.git.commit_local`:
the loop itself runs no git."""


class Listener(Protocol):
    """Receives what the watcher sees: previews, deletions, and events (publishing,
    results, commits, errors). ``rel`` is the post's path relative to the repository
    root, or None for messages about the session."""

    def preview(self, preview: PostPreview, *, initial: bool = False) -> None: ...

    def removed(self, rel: str) -> None: ...

    def event(self, rel: str | None, message: str, *, error: bool = False) -> None: ...


@dataclass
class Tracked:
    """What the watcher knows about one post file."""

    path: Path
    raw: bytes | None = None
    post: Post | None = None
    file_plan: FilePlan | None = None
    content: str | None = None  # the content hash (None while invalid)
    stable_since: float = 0.0  # monotonic time the content last changed
    saved: bool = False  # saved during this session (only those are published)
    tried: set[str] = field(default_factory=set)  # content hashes already published
    gone_since: float | None = None  # monotonic time it was last seen missing


class Watcher:
    """Watches post files; previews and publishes them. See the module docstring."""

    def __init__(
        self,
        config: Config,
        paths: Sequence[Path],
        *,
        listeners: Sequence[Listener],
        settle: float = 3.0,
        run: Run | None = None,
        api: Connection | None = None,
        commit: Commit | None = None,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.listeners = list(listeners)
        self.settle = settle
        self.api = api
        self.invocation = api.run if api is not None else (run or Run())
        self.env = self.invocation.env
        self.commit = commit
        self.stop = stop or threading.Event()
        self.clock = clock
        self.tracked: dict[Path, Tracked] = {}
        roots = [p.resolve() for p in (paths or [config.posts_dir])]
        self.files = {p for p in roots if not p.is_dir()}
        self.dirs = [p for p in roots if p.is_dir()]
        self.ready = False

    # -- the loop -------------------------------------------------------------------------

    def watched(self) -> list[Path]:
        """The folders handed to watchfiles (a single file is watched through its
        folder, so an atomic save that replaces it is still seen)."""
        return sorted({*self.dirs, *(f.parent for f in self.files)})

    def wants(self, path: Path) -> bool:
        """Is ``path`` a post file this session watches (not editor noise)?"""
        if path in self.files:
            return True
        if not is_post_file(path):
            return False
        for folder in self.dirs:
            if path.is_relative_to(folder):
                return not any(p.startswith(".") for p in path.relative_to(folder).parts[:-1])
        return False

    def watch(self) -> None:
        """Scan, then watch until ``stop`` is set."""
        from watchfiles import watch

        for changes in watch(
            *self.watched(),
            watch_filter=lambda _change, path: self.wants(Path(path)),
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
            stop_event=self.stop,
            rust_timeout=TICK_MS,
            yield_on_timeout=True,
            raise_interrupt=False,
        ):
            changed = [Path(path) for _change, path in changes]
            if not self.ready:  # the OS watch is in place: nothing saved from now is missed
                self.scan(skip=changed)
            if changed:
                self.handle(changed)
            self.tick()
            if self.stop.is_set():
                break

    def scan(self, skip: Iterable[Path] = ()) -> None:
        """Load every post once, so the previews (and the page) start complete;
        ``skip`` the ones just saved (they are handled as saves)."""
        skipped = set(skip)
        for path in find_posts([*self.dirs, *self.files]):
            path = path.resolve()
            if path.is_file() and path not in skipped:
                self._load(path, saved=False, initial=True)
        self.ready = True
        for listener in self.listeners:  # the page: every post is there now
            getattr(listener, "scanned", lambda: None)()
        noun = "post" if len(self.tracked) == 1 else "posts"
        where = ", ".join(_show(p, self.config.root) for p in self.watched())
        if self.api is None:
            mode = "preview only" + ("" if self.env == "sandbox" else " (add --publish to publish)")
        else:
            mode = f"publishes ({self.env}) what you save, once unchanged for {self.settle:g} s"
        self._event(None, f"watching {where}: {len(self.tracked)} {noun}; {mode}")

    def handle(self, paths: Iterable[Path]) -> None:
        """React to changed paths: reload what exists, note what vanished."""
        for path in dict.fromkeys(paths):
            if path.is_file():
                self._load(path, saved=True)
            elif path in self.tracked and self.tracked[path].gone_since is None:
                self.tracked[path].gone_since = self.clock()

    def tick(self) -> None:
        """Report confirmed deletions; publish what has settled."""
        now = self.clock()
        for path, tracked in list(self.tracked.items()):
            if tracked.gone_since is not None:
                if path.is_file():
                    tracked.gone_since = None
                    self._load(path, saved=True)
                elif now - tracked.gone_since >= DELETE_GRACE:
                    del self.tracked[path]
                    rel = _show(path, self.config.root)
                    for listener in self.listeners:
                        listener.removed(rel)
                continue
            due = self.publish_due(tracked)
            if due is not None and now >= due and not self.stop.is_set():
                self._publish(tracked)

    # -- one file -------------------------------------------------------------------------

    def publish_due(self, tracked: Tracked) -> float | None:
        """When ``tracked`` will be published (monotonic), or None if it will not be."""
        if self.api is None or not tracked.saved or tracked.post is None:
            return None
        post, fp = tracked.post, tracked.file_plan
        if not post.valid or post.draft or fp is None or not fp.sends:
            return None
        if tracked.content in tracked.tried:
            return None
        return tracked.stable_since + self.settle

    def _load(self, path: Path, *, saved: bool, initial: bool = False, force: bool = False) -> None:
        """(Re)load one post; show it when it changed. ``force`` reloads unchanged bytes
        too (its media files may have changed)."""
        from publisher.reconcile import Reconciler
        from publisher.validate import load_post
        from publisher.writeback import read_post_bytes

        try:
            raw = read_post_bytes(path)  # sized first: a huge file is passed over
        except OSError:
            return  # vanished between the event and now: handled as a deletion
        tracked = self.tracked.get(path)
        if tracked is None:
            tracked = self.tracked[path] = Tracked(path)
        tracked.gone_since = None
        if saved and not tracked.saved:  # its first save in this session starts the clock
            tracked.saved = True
            tracked.stable_since = self.clock()
        same_bytes = raw == tracked.raw
        if same_bytes and not force:
            return  # saved without a change (or our own write, already shown)
        post = load_post(path, self.config)
        # offline, on every save: no git history, no server (`publish` asks them)
        fp = Reconciler([post], self.invocation, ask=False).plan().files[0]
        content = _content(post) if post.valid else None
        changed = content is None or content != tracked.content
        if changed:
            tracked.stable_since = self.clock()
        tracked.raw, tracked.post, tracked.file_plan, tracked.content = raw, post, fp, content
        if changed or not same_bytes:
            self._show(tracked, initial=initial)

    def _show(self, tracked: Tracked, *, initial: bool = False) -> None:
        assert tracked.post is not None and tracked.file_plan is not None
        due = self.publish_due(tracked)
        publish_at = None
        if due is not None:
            publish_at = time.time() + max(0.0, due - self.clock())
        preview = build_preview(
            tracked.post,
            tracked.file_plan,
            root=self.config.root,
            note=self._note(tracked, due),
            publish_at=publish_at,
        )
        for listener in self.listeners:
            listener.preview(preview, initial=initial)

    def _note(self, tracked: Tracked, due: float | None) -> str:
        post, fp = tracked.post, tracked.file_plan
        assert post is not None and fp is not None
        if post.draft:
            return "draft: previewed, never published"
        if not post.valid:
            n = len(post.errors)
            return f"{n} error{'s' if n != 1 else ''}: nothing is published"
        if not fp.sends:
            return "nothing to publish"
        if self.api is None:
            return "preview only (publishing is off: add --publish)"
        if due is not None:
            return f"publishes when unchanged for {self.settle:g} s"
        if tracked.content in tracked.tried:
            return "tried once in this session: edit the post, or run `publisher publish`"
        return "publishes after you save it (watch publishes only posts saved while it runs)"

    def _publish(self, tracked: Tracked) -> None:
        assert self.api is not None
        try:
            with run_lock(
                self.config.root,
                notify=lambda line: self._event(None, line),
                should_stop=self.stop.is_set,
            ):
                self._publish_locked(tracked)
        except LockWaitCancelled:
            return  # stopping while another run held the lock: nothing was sent

    def _publish_locked(self, tracked: Tracked) -> None:
        from publisher.apply import Runner
        from publisher.plan import Plan
        from publisher.reconcile import Reconciler

        assert self.api is not None
        # The file (and its media) as they are now, not as last seen (and another run
        # may have written its record meanwhile).
        self._load(tracked.path, saved=True, force=True)
        due = self.publish_due(tracked)
        if due is None or due > self.clock():
            return
        fp, rel = tracked.file_plan, _show(tracked.path, self.config.root)
        assert fp is not None and tracked.content is not None and tracked.post is not None
        # platform-only targets checked against the accounts list (read once)
        fp = Reconciler([tracked.post], self.invocation, ask=False).plan(self.api).files[0]
        tracked.tried.add(tracked.content)
        names = ", ".join(t.label for t in fp.targets if t.action != "none")
        self._event(rel, f"publishing to {names} ({self.env})")
        runner = Runner(self.invocation, client=self.api.client)
        runner.stop = self.stop  # one event: Ctrl-C stops the run between requests
        try:
            result = runner.run(Plan(run=self.invocation, files=[fp]), concurrency=1)
        except Exception as exc:  # one file's failure must not end the session
            self._event(rel, f"publishing failed: {type(exc).__name__}: {exc}", error=True)
            self._load(tracked.path, saved=True)
            return
        for o in result.outcomes:
            detail = o.url or o.uri or o.error or ""
            if o.note and o.note != detail:  # which part of a thread; why parts wait
                detail = f"{detail} ({o.note})" if detail else o.note
            self._event(rel, f"{o.target} {o.status} {detail}".rstrip(), error=o.failed)
        if result.stopped:
            self._event(rel, f"stopped: {result.stopped}", error=True)
        elif self.stop.is_set() and not result.outcomes:
            self._event(rel, "stopped before anything was sent")
        if self.commit and result.written:
            self._commit([self.config.root / w for w in result.written])
        self._load(tracked.path, saved=True)  # show the recorded results

    def _commit(self, files: list[Path]) -> None:
        rels = ", ".join(_show(f, self.config.root) for f in files)
        assert self.commit is not None
        try:
            sha = self.commit(self.config.root, files, f"publisher: record results of {rels}")
        except Exception as exc:  # a failed commit must not end the session
            self._event(None, f"git commit failed: {exc}", error=True)
            return
        if sha:
            self._event(None, f"committed {rels} as {sha}")

    def _event(self, rel: str | None, message: str, *, error: bool = False) -> None:
        for listener in self.listeners:
            listener.event(rel, message, error=error)


def _show(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


__all__ = ["Commit", "Listener", "Tracked", "Watcher"]


def _content(post: Post) -> str | None:
    """What "unchanged" and "already tried" are judged by: the post's hash and every
    thread part's (a part appended while watch runs is a change to publish)."""
    from publisher import identity

    parts = [list(t.part_hashes) for t in post.targets if t.part_hashes]
    return identity.digest([post.hash, parts]) if parts else post.hash
