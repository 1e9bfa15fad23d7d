"""`publisher watch`: preview on every save, publish once settled, optionally serve a
live preview page. A thin layer over `publisher.preview.watch.Watcher`: it picks the output
(a live rich view on a terminal, plain lines when piped), the API, and turns Ctrl-C
into a clean stop."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

from publisher.commands.common import UsageError, config_from, run_from

__all__ = ["main", "stop_on_signals"]


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event, view: Any) -> Iterator[None]:
    """Ctrl-C (and SIGTERM) set ``stop`` instead of raising: the loop ends after the
    request in flight and its write-back, never between them."""

    def handler(signum: int, _frame: Any) -> None:
        if stop.is_set():
            view.event(None, "stopping: finishing the request in flight and its write-back")
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def main(args: argparse.Namespace) -> int:
    from publisher.git import commit_local, in_work_tree
    from publisher.preview.terminal import HubListener, LiveView, PlainView
    from publisher.preview.watch import Watcher

    config = config_from(args)
    for path in args.paths:
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
    if not args.paths and not config.posts_dir.is_dir():
        raise UsageError(f"{config.posts_dir}: the posts folder does not exist")
    if args.settle < 0:
        raise UsageError("--settle must be 0 or more seconds")
    run = run_from(args, config)
    # An editor's autosave must never post for real by surprise: a live run publishes
    # only when asked; a sandbox run (nothing leaves for a real platform) by default.
    publish = (args.publish or run.sandbox) and not args.no_publish
    if args.commit and not publish:
        raise UsageError(
            "--commit commits written-back results: it needs publishing (add --publish)"
        )
    if args.commit and not in_work_tree(config.root):
        raise UsageError(f"--commit: {config.root} is not inside a git work tree")
    view: Any = LiveView() if sys.stdout.isatty() else PlainView()
    listeners: list[Any] = [view]
    stop = threading.Event()
    with contextlib.ExitStack() as stack:
        hub = None
        if args.serve:
            from publisher.preview.page import PreviewHub, serve

            hub = PreviewHub()
            try:
                server = serve(hub, root=config.root, port=args.port)
            except OSError as exc:
                raise UsageError(
                    f"cannot serve on 127.0.0.1:{args.port} ({exc.strerror or exc}): "
                    "choose another port with --port"
                ) from None
            stack.callback(server.close)
            listeners.append(HubListener(hub))
        api = None
        if publish:
            api = stack.enter_context(run.connect())
        stack.enter_context(stop_on_signals(stop, view))
        stack.enter_context(view)
        if hub is not None:
            mode = "preview only" if api is None else f"publishes after {args.settle:g} s unchanged"
            hub.info = {"root": config.root.name, "mode": f"{mode} ({run.env})"}
            view.event(None, f"preview page at {server.url}")
        if api is not None and api.sandbox is not None:
            view.event(None, f"sandbox at {api.sandbox.url} (state in .publisher/)")
        watcher = Watcher(
            config,
            args.paths,
            listeners=listeners,
            settle=args.settle,
            run=run,
            api=api,
            commit=commit_local if args.commit else None,
            stop=stop,
        )
        watcher.watch()
        view.event(None, "stopped")
    return 0
