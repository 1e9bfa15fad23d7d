"""A local, letmepost-compatible HTTP server backed by SQLite (see ``letmepost-api.md``).

    >>> from publisher.sandbox import start_sandbox
    >>> with start_sandbox(Path("/tmp/sandbox.db")) as sb:  # doctest: +SKIP
    ...     httpx.post(f"{sb.url}/v1/posts", headers={"Authorization": f"Bearer {sb.test_key}"},
    ...                json={"targets": [{"platform": "bluesky"}], "text": "hello"})

The server (starlette, uvicorn) is imported only when a sandbox starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .config import SandboxConfig

if TYPE_CHECKING:
    from .server import SandboxHandle, start_sandbox

__all__ = ["SandboxConfig", "SandboxHandle", "start_sandbox"]


def __getattr__(name: str) -> object:
    if name in ("SandboxHandle", "start_sandbox"):
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
