"""The sandbox clock: real time plus a movable offset, so tests never wait for real time."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime

__all__ = ["SandboxClock", "iso", "parse_iso_any", "parse_iso_z"]

_ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


class SandboxClock:
    """Seconds since the epoch as the sandbox sees them (``time.time() + offset``)."""

    def __init__(self, offset: float = 0.0) -> None:
        self._offset = offset
        self._lock = threading.Lock()

    @property
    def offset(self) -> float:
        return self._offset

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def set(self, when: float) -> None:
        with self._lock:
            self._offset = when - time.time()

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0


def iso(ts: float) -> str:
    """``2026-06-16T12:00:00.000Z`` (the JavaScript ``toISOString`` form)."""
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_iso_z(text: str) -> float | None:
    """Parse an ISO-8601 instant that ends in ``Z`` (zod ``datetime()``); None if invalid."""
    if not isinstance(text, str) or not _ISO_Z.match(text):
        return None
    try:
        return datetime.fromisoformat(text[:-1] + "+00:00").timestamp()
    except ValueError:
        return None


def parse_iso_any(text: str) -> float | None:
    """Parse any ISO-8601 instant (query filters accept offsets; naive means UTC)."""
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    except (ValueError, AttributeError):
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()
