"""Run the sandbox in a background thread: ``start_sandbox()`` and its ``SandboxHandle``."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import uvicorn

from .app import SandboxApp
from .config import SandboxConfig
from .protocol import header_timeout_protocol

__all__ = ["SandboxHandle", "start_sandbox"]


@dataclass
class SandboxHandle:
    """A running sandbox. ``stop()`` (or leaving the ``with`` block) shuts it down."""

    url: str
    db_path: Path
    test_key: str = field(repr=False)
    live_key: str = field(repr=False)
    accounts: list[dict[str, object]]
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _app: SandboxApp = field(repr=False)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop serving, finish in-flight requests, close the database. Idempotent."""
        if self._thread.is_alive():
            self._server.should_exit = True
            self._thread.join(15)
        self._app.close()

    # -- conveniences over the /_sandbox control API (tests and scripts) -------------------

    def control(
        self, method: str, path: str, body: dict[str, object] | None = None
    ) -> dict[str, object]:
        """Call ``/_sandbox/<path>`` and return its JSON (always an object)."""
        import httpx

        # Plain HTTP on 127.0.0.1: verify=False only skips building a TLS context per call
        # (certifi's bundle: ~50-300 ms, paid by every reset and look-up in the tests).
        url = f"{self.url}/_sandbox/{path}"
        response = httpx.request(method, url, json=body, timeout=30, verify=False)
        response.raise_for_status()
        answer: dict[str, object] = response.json()
        return answer

    def reset(self) -> None:
        """Wipe posts, idempotency, media, quota and rate-limit state; clear faults; real clock."""
        self.control("POST", "reset")

    def set_faults(self, **faults: object) -> dict[str, object]:
        """Arm faults (merged into the current ones), e.g. ``set_faults(drop_after_store=1)``
        or ``set_faults(bluesky={"code": "platform_unavailable", "count": 1})``."""
        return self.control("POST", "faults", faults)

    def clear_faults(self) -> None:
        self.control("DELETE", "faults")

    def advance_clock(self, seconds: float) -> dict[str, object]:
        """Move the sandbox clock forward and publish what became due before returning."""
        return self.control("POST", "clock", {"advance": seconds})

    def configure(self, **settings: object) -> dict[str, object]:
        """Change ``rateLimit`` ("N/S" or None), ``quota``, ``mediaMaxBytes`` or
        ``bodyMaxBytes`` until reset."""
        return self.control("POST", "config", settings)

    def posts(self) -> list[dict[str, object]]:
        """Every post row the sandbox ever created (ground truth for exactly-once checks)."""
        data = self.control("GET", "posts")["data"]
        if not isinstance(data, list):
            raise TypeError(f"/_sandbox/posts answered no list of posts: {data!r}")
        return list(data)

    def __enter__(self) -> SandboxHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_sandbox(
    db_path: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    config: SandboxConfig | None = None,
) -> SandboxHandle:
    """Start a sandbox on ``host:port`` (0: a free port) and return once it accepts requests.

    State lives in ``db_path`` (SQLite, created if missing); keys and posts survive a restart.
    """
    config = config or SandboxConfig()
    app = SandboxApp(Path(db_path), config)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        app.close()
        raise
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app.app,
            http=header_timeout_protocol(config.header_timeout),
            log_level="warning",
            access_log=config.access_log,
            lifespan="on",
            timeout_graceful_shutdown=3,
            server_header=False,
        )
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="sandbox-server", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(5)
            sock.close()
            app.close()
            raise RuntimeError(f"the sandbox did not start on {host}:{bound_port}")
        time.sleep(0.01)
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    return SandboxHandle(
        url=f"http://{shown}:{bound_port}",
        db_path=Path(db_path),
        test_key=app.test_key,
        live_key=app.live_key,
        accounts=app.accounts,
        _server=server,
        _thread=thread,
        _app=app,
    )
