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

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass

from .config import PLATFORMS

__all__ = ["PLATFORM_FAULTS", "Fault", "FaultError", "Faults", "normalize"]

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


@dataclass
class _Fail5xx:
    count: int
    status: int
    method: str | None
    path: object  # compared with the request's path; as given


@dataclass
class _Latency:
    ms: int
    count: int | None  # None: every request


@dataclass
class _Burst:
    count: int
    retry_after: int


@dataclass
class _PlatformFault:
    code: str
    count: int
    message: str


#: One armed fault (``drop_after_store`` is a bare count).
Fault = _Fail5xx | _Latency | _Burst | _PlatformFault | int


def _count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FaultError(f"{name} must be a non-negative integer")
    return value


def _object(value: object, message: str) -> dict[str, object]:
    """``value`` as an object: a bare count means ``{"count": n}``."""
    value = {"count": value} if isinstance(value, int) else value
    if not isinstance(value, dict):
        raise FaultError(message)
    return value


def _fail_5xx(value: object) -> _Fail5xx:
    spec = _object(value, "fail_5xx must be a count or an object")
    status = spec.get("status", 500)
    if not isinstance(status, int) or not 500 <= status <= 599:
        raise FaultError("fail_5xx.status must be 500..599")
    method = spec.get("method")
    return _Fail5xx(
        count=_count(spec.get("count", 1), "fail_5xx.count"),
        status=status,
        method=str(method).upper() if method else None,
        path=spec.get("path") or None,
    )


def _latency(value: object) -> _Latency:
    spec = {"ms": value} if isinstance(value, int) else value
    if not isinstance(spec, dict):
        raise FaultError("latency_ms must be milliseconds or {ms, count}")
    count = spec.get("count")
    return _Latency(
        ms=_count(spec.get("ms", 0), "latency_ms.ms"),
        count=None if count is None else _count(count, "latency_ms.count"),
    )


def _burst(value: object) -> _Burst:
    spec = _object(value, "burst_429 must be a count or {count, retry_after}")
    return _Burst(
        count=_count(spec.get("count", 1), "burst_429.count"),
        retry_after=_count(spec.get("retry_after", 1), "burst_429.retry_after"),
    )


def _platform(key: str, value: object) -> _PlatformFault:
    code = value.get("code") if isinstance(value, dict) else None
    if not isinstance(value, dict) or not isinstance(code, str) or code not in PLATFORM_FAULTS:
        raise FaultError(f"{key}.code must be one of {', '.join(PLATFORM_FAULTS)}")
    return _PlatformFault(
        code=code,
        count=_count(value.get("count", 1), f"{key}.count"),
        message=str(value.get("message") or f"Injected {code} on {key}"),
    )


_PARSERS: dict[str, Callable[[object], Fault]] = {
    "fail_5xx": _fail_5xx,
    "latency_ms": _latency,
    "drop_after_store": lambda value: _count(value, "drop_after_store"),
    "burst_429": _burst,
}


def normalize(spec: object) -> dict[str, Fault]:
    """Validate a fault spec and bring it to its canonical form."""
    if not isinstance(spec, dict):
        raise FaultError("faults must be a JSON object")
    out: dict[str, Fault] = {}
    for key, value in spec.items():
        if key in _PARSERS:
            out[key] = _PARSERS[key](value)
        elif key in PLATFORMS:
            out[key] = _platform(key, value)
        else:
            raise FaultError(f"unknown fault {key!r}")
    return out


def _shown(fault: Fault) -> object:
    return fault if isinstance(fault, int) else dataclasses.asdict(fault)


class Faults:
    """The armed faults; thread-safe (the scheduler consumes platform faults too)."""

    def __init__(self, initial: dict[str, object] | None = None) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, Fault] = normalize(initial or {})

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {k: _shown(v) for k, v in self._state.items()}

    def merge(self, spec: object) -> None:
        parsed = normalize(spec)
        with self._lock:
            self._state.update(parsed)

    def replace(self, spec: object) -> None:
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
            if not isinstance(burst, _Burst) or burst.count <= 0:
                return None
            burst.count -= 1
            return burst.retry_after

    def take_latency(self) -> float:
        with self._lock:
            lat = self._state.get("latency_ms")
            if not isinstance(lat, _Latency) or not lat.ms:
                return 0.0
            if lat.count is not None:
                if lat.count <= 0:
                    return 0.0
                lat.count -= 1
            return lat.ms / 1000.0

    def take_5xx(self, method: str, path: str) -> int | None:
        with self._lock:
            fail = self._state.get("fail_5xx")
            if not isinstance(fail, _Fail5xx) or fail.count <= 0:
                return None
            if fail.method and fail.method != method:
                return None
            if fail.path and fail.path != path:
                return None
            fail.count -= 1
            return fail.status

    def take_drop(self) -> bool:
        with self._lock:
            left = self._state.get("drop_after_store", 0)
            if not isinstance(left, int) or left <= 0:
                return False
            self._state["drop_after_store"] = left - 1
            return True

    def take_platform(self, platform: str) -> tuple[str, str] | None:
        """The (code, message) of an injected platform fault for this target, if one fires."""
        with self._lock:
            fault = self._state.get(platform)
            if not isinstance(fault, _PlatformFault) or fault.count <= 0:
                return None
            fault.count -= 1
            return fault.code, fault.message
