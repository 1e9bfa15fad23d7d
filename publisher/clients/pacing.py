"""Pacing and retry timing for the letmepost client: exponential backoff with full
jitter (`RetryPolicy`), the rate-limit window and a 429's ``Retry-After`` shared by
every thread of a run (`Pacer`), and ``Retry-After`` read as seconds (`retry_after`)."""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["Pacer", "RetryPolicy", "retry_after"]


@dataclass
class RetryPolicy:
    attempts: int = 6
    base: float = 0.5
    cap: float = 20.0
    max_retry_after: float = 120.0

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
        return rng() * min(self.cap, self.base * (2**attempt))


@dataclass
class Pacer:
    """Shared by every thread of a run: waits for the rate-limit window instead of
    spending requests on 429s, and holds every thread for a 429's ``Retry-After``.

    Waits are slept in slices of at most ``slice`` seconds, each followed by a fresh
    look at the state: a thread that began waiting for a window reset goes as soon as a
    later 429 says to come back earlier, not when its first wait would have ended.
    """

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    remaining: int | None = None
    reset_at: float = 0.0
    #: Nobody sends before this (clock time): set by a 429's Retry-After.
    hold_until: float = 0.0
    waited: float = 0.0
    slice: float = 0.5
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self.clock()
                if now < self.hold_until:
                    wait = self.hold_until - now
                else:
                    if self.reset_at and now >= self.reset_at:
                        self.remaining, self.reset_at = None, 0.0
                    if self.remaining is None or self.remaining > 0:
                        if self.remaining is not None:
                            self.remaining -= 1
                        return
                    wait = self.reset_at - now + 0.05
                wait = min(wait, self.slice)
                self.waited += wait
            self.sleep(wait)

    def update(self, headers: Mapping[str, str]) -> None:
        remaining, reset = headers.get("ratelimit-remaining"), headers.get("ratelimit-reset")
        if remaining is None or reset is None:
            return
        try:
            left, seconds = int(remaining), float(reset)
        except ValueError:
            return
        if not (seconds >= 0 and seconds != float("inf")):
            return
        with self._lock:
            now = self.clock()
            if now < self.hold_until:
                # A 429's Retry-After is in force: it is the server's latest word on when
                # to come back. The first answer after it re-establishes the window.
                return
            at = now + seconds
            if self.remaining is None or at > self.reset_at + 1:
                self.remaining = left  # a new window
            else:
                self.remaining = min(self.remaining, left)
            self.reset_at = max(self.reset_at, at) if self.remaining == 0 else at

    def hold(self, seconds: float) -> None:
        """A 429 said ``Retry-After: seconds``: every thread waits that long, and the
        window the pacer knew (or that came with the 429) no longer counts."""
        with self._lock:
            self.hold_until = max(self.hold_until, self.clock() + seconds)
            self.remaining, self.reset_at = None, 0.0

    def block_for(self, seconds: float) -> None:
        """Hold every thread for ``seconds`` (alias of `hold`, kept for callers)."""
        self.hold(seconds)


def retry_after(
    headers: Mapping[str, str], cap: float, wall: Callable[[], float] = time.time
) -> float | None:
    """Seconds from ``Retry-After`` (delta-seconds or an HTTP date), within [0, cap]."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - wall()
    if seconds != seconds:  # NaN
        return None
    return min(cap, max(0.0, seconds))
