"""Fault injection: what ``POST /_sandbox/faults`` and the CLI flags arm.

JSON shape (every key optional)::

    {
      "fail_5xx": {"count": 2, "status": 503, "method": "POST", "path": "/v1/posts"},
      "latency_ms": 250,              # or {"ms": 250, "count": 1}
      "drop_after_store": 1,
      "burst_429": {"count": 3, "retry_after": 2},   # or a bare count
      "bluesky": {"code": "platform_unavailable", "count": 1}
    }

Counts go down as faults fire; ``GET /_sandbox/faults`` shows what is left.
"""

from __future__ import annotations

import threading
from typing import Any

from .config import PLATFORMS

__all__ = ["PLATFORM_FAULTS", "FaultError", "Faults", "normalize"]

#: Platform fault codes and the target status each produces (contract §1 mapping).
PLATFORM_FAULTS: dict[str, str] = {
    "platform_unavailable": "failed",
    "platform_rejected": "rejected",
    "platform_auth_failed": "rejected",
    "internal_error": "failed",
    "rate_limited": "failed",
    "first_comment_failed": "published",
}


class FaultError(ValueError):
    """A malformed fault specification."""


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FaultError(f"{name} must be a non-negative integer")
    return value


def normalize(spec: dict[str, Any]) -> dict[str, Any]:
    """Validate a fault spec and bring it to its canonical form."""
    if not isinstance(spec, dict):
        raise FaultError("faults must be a JSON object")
    out: dict[str, Any] = {}
    for key, value in spec.items():
        if key == "fail_5xx":
            value = {"count": value} if isinstance(value, int) else value
            if not isinstance(value, dict):
                raise FaultError("fail_5xx must be a count or an object")
            status = value.get("status", 500)
            if not isinstance(status, int) or not 500 <= status <= 599:
                raise FaultError("fail_5xx.status must be 500..599")
            out[key] = {
                "count": _count(value.get("count", 1), "fail_5xx.count"),
                "status": status,
                "method": (value.get("method") or None) and str(value["method"]).upper(),
                "path": value.get("path") or None,
            }
        elif key == "latency_ms":
            value = {"ms": value} if isinstance(value, int) else value
            if not isinstance(value, dict):
                raise FaultError("latency_ms must be milliseconds or {ms, count}")
            count = value.get("count")
            out[key] = {
                "ms": _count(value.get("ms", 0), "latency_ms.ms"),
                "count": None if count is None else _count(count, "latency_ms.count"),
            }
        elif key == "drop_after_store":
            out[key] = _count(value, key)
        elif key == "burst_429":
            value = {"count": value} if isinstance(value, int) else value
            if not isinstance(value, dict):
                raise FaultError("burst_429 must be a count or {count, retry_after}")
            out[key] = {
                "count": _count(value.get("count", 1), "burst_429.count"),
                "retry_after": _count(value.get("retry_after", 1), "burst_429.retry_after"),
            }
        elif key in PLATFORMS:
            if not isinstance(value, dict) or value.get("code") not in PLATFORM_FAULTS:
                raise FaultError(f"{key}.code must be one of {', '.join(PLATFORM_FAULTS)}")
            out[key] = {
                "code": value["code"],
                "count": _count(value.get("count", 1), f"{key}.count"),
                "message": str(value.get("message") or f"Injected {value['code']} on {key}"),
            }
        else:
            raise FaultError(f"unknown fault {key!r}")
    return out


class Faults:
    """The armed faults; thread-safe (the scheduler consumes platform faults too)."""

    def __init__(self, initial: dict[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, Any] = normalize(initial or {})

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {k: (dict(v) if isinstance(v, dict) else v) for k, v in self._state.items()}

    def merge(self, spec: dict[str, Any]) -> None:
        parsed = normalize(spec)
        with self._lock:
            self._state.update(parsed)

    def replace(self, spec: dict[str, Any]) -> None:
        parsed = normalize(spec)
        with self._lock:
            self._state = parsed

    def clear(self) -> None:
        with self._lock:
            self._state = {}

    def take_burst(self) -> int | None:
        """Retry-After seconds if a 429 burst fires for this request."""
        with self._lock:
            burst = self._state.get("burst_429")
            if not burst or burst["count"] <= 0:
                return None
            burst["count"] -= 1
            return int(burst["retry_after"])

    def take_latency(self) -> float:
        with self._lock:
            lat = self._state.get("latency_ms")
            if not lat or not lat["ms"]:
                return 0.0
            if lat["count"] is not None:
                if lat["count"] <= 0:
                    return 0.0
                lat["count"] -= 1
            return lat["ms"] / 1000.0

    def take_5xx(self, method: str, path: str) -> int | None:
        with self._lock:
            fail = self._state.get("fail_5xx")
            if not fail or fail["count"] <= 0:
                return None
            if fail["method"] and fail["method"] != method:
                return None
            if fail["path"] and fail["path"] != path:
                return None
            fail["count"] -= 1
            return int(fail["status"])

    def take_drop(self) -> bool:
        with self._lock:
            if self._state.get("drop_after_store", 0) <= 0:
                return False
            self._state["drop_after_store"] -= 1
            return True

    def take_platform(self, platform: str) -> dict[str, Any] | None:
        with self._lock:
            fault = self._state.get(platform)
            if not fault or fault["count"] <= 0:
                return None
            fault["count"] -= 1
            return {"code": fault["code"], "message": fault["message"]}
