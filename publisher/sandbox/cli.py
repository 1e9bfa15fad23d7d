"""``publisher sandbox``: serve a local letmepost-compatible API until Ctrl-C / SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from .config import SERVER_VERSIONS, SandboxConfig, load_accounts_file, parse_rate_limit

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="publisher sandbox",
        description="Run a local letmepost.dev-compatible API (SQLite store, fault injection).",
    )
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    p.add_argument("--port", type=int, default=8787, help="port (0: any free port)")
    p.add_argument("--db", type=Path, default=Path(".publisher/sandbox.db"), help="SQLite file")
    p.add_argument("--accounts", type=Path, help="JSON or TOML file of connected accounts")
    p.add_argument("--rate-limit", default="120/60", help="per-key limit N/SECONDS, or off")
    p.add_argument("--quota", type=int, help="monthly target slots for live keys (default: none)")
    p.add_argument("--media-max-bytes", type=int, help="largest accepted upload (default 200 MiB)")
    p.add_argument("--body-max-bytes", type=int, help="largest JSON request body (default 16 MiB)")
    p.add_argument(
        "--header-timeout",
        type=float,
        help="seconds a client may take to send its request headers (default 10)",
    )
    p.add_argument("--latency-ms", type=int, default=0, help="delay every /v1 request")
    p.add_argument("--fail-5xx", type=int, default=0, help="fail the next N /v1 requests")
    p.add_argument("--fail-5xx-status", type=int, default=500, help="status of those failures")
    p.add_argument(
        "--drop-after-store",
        type=int,
        default=0,
        help="store the next N posts, then drop the connection without answering",
    )
    p.add_argument("--burst-429", type=int, default=0, help="answer the next N requests with 429")
    p.add_argument("--access-log", action="store_true", help="log every request")
    p.add_argument(
        "--server-version",
        choices=SERVER_VERSIONS,
        default="newest",
        help="the letmepost server to play: newest (the hosted service, default) or "
        "fork-d28bf71 (the open-source server at d28bf71: PATCH keeps text and media, no "
        "/retry, test keys publish, no in-progress claim; docs/letmepost-servers.md)",
    )
    return p


def main(argv: list[str]) -> int:
    """Parse ``argv``, serve until SIGINT/SIGTERM, return the exit code (0 on a clean stop)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        config = SandboxConfig(
            rate_limit=parse_rate_limit(args.rate_limit),
            quota=args.quota,
            accounts=load_accounts_file(args.accounts) if args.accounts else None,
            latency_ms=args.latency_ms,
            fail_5xx=args.fail_5xx,
            fail_5xx_status=args.fail_5xx_status,
            drop_after_store=args.drop_after_store,
            burst_429=args.burst_429,
            access_log=args.access_log,
            server_version=args.server_version,
        )
        if args.media_max_bytes:
            config.media_max_bytes = args.media_max_bytes
        if args.body_max_bytes is not None:
            if args.body_max_bytes < 1:
                raise ValueError("--body-max-bytes must be positive")
            config.body_max_bytes = args.body_max_bytes
        if args.header_timeout is not None:
            if not args.header_timeout > 0:
                raise ValueError("--header-timeout must be positive")
            config.header_timeout = args.header_timeout
    except (OSError, ValueError) as exc:
        print(f"publisher sandbox: {exc}", file=sys.stderr)
        return 2

    from .server import start_sandbox

    try:
        handle = start_sandbox(args.db, host=args.host, port=args.port, config=config)
    except (OSError, RuntimeError) as exc:
        print(f"publisher sandbox: cannot start on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        lines = [
            f"letmepost sandbox on {handle.url}  (db: {args.db}; plays: {args.server_version})",
            f"  test key: {handle.test_key}   "
            + (
                "(publishes like the live key: the fork has no sandbox mode)"
                if args.server_version == "fork-d28bf71"
                else "(sandbox branch: nothing is published)"
            ),
            f"  live key: {handle.live_key}   (emulated platform results; nothing leaves this machine)",
            "  accounts:",
            *(f"    {a['id']}  {a['platform']:<10} {a['displayName']}" for a in handle.accounts),
            f"  export LETMEPOST_API_URL={handle.url}",
            "Press Ctrl-C to stop.",
        ]
        print("\n".join(lines), flush=True)
        while not stop.wait(0.5):
            if not handle.running:
                print("publisher sandbox: the server stopped unexpectedly", file=sys.stderr)
                return 1
    finally:
        handle.stop()
        for sig, old in previous.items():
            signal.signal(sig, old)
    print("sandbox stopped", flush=True)
    return 0
