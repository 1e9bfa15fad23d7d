"""`publisher watch`: preview on every save, publish once settled, optionally serve a
live preview page. A thin layer over `publisher.preview.watch.Watcher`: it picks the output
(a live rich view on a terminal, plain lines when piped), the API, and turns Ctrl-C
into a clean stop."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from publisher.commands.common import UsageError, config_from, run_from

if TYPE_CHECKING:
    from publisher.config import Config
    from publisher.preview.watch import Listener
    from publisher.run import Run

__all__ = ["Options", "main", "stop_on_signals"]


@dataclass(frozen=True)
class Options:
    paths: tuple[Path, ...] = ()
    config: Path | None = None
    settle: float = 3.0  # seconds a post must stay unchanged before it is published
    publish: bool = False
    no_publish: bool = False
    sandbox: bool = False
    commit: bool = False  # git commit written-back files
    serve: bool = False  # serve a live preview page on 127.0.0.1
    port: int = 8790


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event, view: Listener) -> Iterator[None]:
    """Ctrl-C (and SIGTERM) set ``stop`` instead of raising: the loop ends after the
    request in flight and its write-back, never between them."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            view.event(None, "stopping: finishing the request in flight and its write-back")
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _check_paths(options: Options, config: Config) -> None:
    for path in options.paths:
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
    if not options.paths and not config.posts_dir.is_dir():
        raise UsageError(f"{config.posts_dir}: the posts folder does not exist")
    if options.settle < 0:
        raise UsageError("--settle must be 0 or more seconds")


def _publishes(options: Options, config: Config, run: Run) -> bool:
    """Whether settled posts are published (`--commit` needs it, and a work tree).
    An editor's autosave must never post for real by surprise: a live run publishes
    only when asked; a sandbox run (nothing leaves for a real platform) by default."""
    from publisher.git import in_work_tree

    publish = (options.publish or run.sandbox) and not options.no_publish
    if options.commit and not publish:
        raise UsageError(
            "--commit commits written-back results: it needs publishing (add --publish)"
        )
    if options.commit and not in_work_tree(config.root):
        raise UsageError(f"--commit: {config.root} is not inside a git work tree")
    return publish


def main(options: Options) -> int:
    from publisher.git import commit_local
    from publisher.preview.terminal import HubListener, LiveView, PlainView
    from publisher.preview.watch import Watcher

    config = config_from(options.config, options.paths)
    _check_paths(options, config)
    run = run_from(config, sandbox=options.sandbox)
    publish = _publishes(options, config, run)
    view: LiveView | PlainView = LiveView() if sys.stdout.isatty() else PlainView()
    listeners: list[Listener] = [view]
    stop = threading.Event()
    with contextlib.ExitStack() as stack:
        hub = None
        if options.serve:
            from publisher.preview.page import PreviewHub, serve

            hub = PreviewHub()
            try:
                server = serve(hub, root=config.root, port=options.port)
            except OSError as exc:
                raise UsageError(
                    f"cannot serve on 127.0.0.1:{options.port} ({exc.strerror or exc}): "
                    "choose another port with --port"
                ) from None
            stack.callback(server.close)
            listeners.append(HubListener(hub))
        api = stack.enter_context(run.connect()) if publish else None
        stack.enter_context(stop_on_signals(stop, view))
        stack.enter_context(view)
        if hub is not None:
            mode = (
                "preview only" if api is None else f"publishes after {options.settle:g} s unchanged"
            )
            hub.info = {"root": config.root.name, "mode": f"{mode} ({run.env})"}
            view.event(None, f"preview page at {server.url}")
        if api is not None and api.sandbox is not None:
            view.event(None, f"sandbox at {api.sandbox.url} (state in .publisher/)")
        watcher = Watcher(
            config,
            options.paths,
            listeners=listeners,
            settle=options.settle,
            run=run,
            api=api,
            commit=commit_local if options.commit else None,
            stop=stop,
        )
        watcher.watch()
        view.event(None, "stopped")
    return 0
