"""One sandbox's state, shared by every handler: store, clock, config, faults, the
publishing engine, the rate limiter; and the questions handlers ask of it (which server
version it plays, whose post a key may see)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from .clock import SandboxClock, parse_iso_z
from .config import SandboxConfig, default_accounts, normalize_accounts
from .errors import not_found, validation
from .faults import Faults
from .publishing import Engine
from .shapes import ApiKeyRow, PostRow
from .store import Store, key_hash
from .views import account_view

__all__ = ["RateLimiter", "Sandbox"]


class RateLimiter:
    """Fixed window per API key, started by the first point (like rate-limiter-flexible)."""

    def __init__(self, limit: tuple[int, float] | None) -> None:
        self.limit = limit
        self._buckets: dict[str, tuple[float, int]] = {}

    def reset(self, limit: tuple[int, float] | None) -> None:
        self.limit = limit
        self._buckets.clear()

    def consume(self, key_id: str, now: float) -> tuple[bool, dict[str, str]]:
        if self.limit is None:
            return True, {}
        points, duration = self.limit
        start, used = self._buckets.get(key_id, (now, 0))
        if now >= start + duration:
            start, used = now, 0
        used += 1
        self._buckets[key_id] = (start, used)
        reset = max(1, math.ceil(start + duration - now))
        headers = {
            "RateLimit-Limit": str(points),
            "RateLimit-Remaining": str(max(0, points - used)),
            "RateLimit-Reset": str(reset),
        }
        if used > points:
            headers["Retry-After"] = str(reset)
            return False, headers
        return True, headers


class Sandbox:
    """The state of one sandbox (its database at ``db_path``), as ``config`` starts it."""

    def __init__(self, db_path: Path, config: SandboxConfig) -> None:
        self.store = Store(db_path)
        self.base_config = config
        self.config = dataclasses.replace(config)
        self.clock = SandboxClock(float(self.store.meta("clock_offset") or 0.0))
        self.faults = Faults(config.initial_faults())
        now = self.clock.now()
        keys = self.store.ensure_keys(now)
        self.test_key: str = keys["test"]["secret"]
        self.live_key: str = keys["live"]["secret"]
        self._keys = {k["hash"]: k for k in keys.values()}
        if config.accounts is not None:
            self.store.sync_accounts(normalize_accounts(config.accounts), now)
        elif not self.store.has_accounts():
            self.store.sync_accounts(normalize_accounts(default_accounts()), now)
        self.engine = Engine(self.store, self.clock, self.config, self.faults)
        self.rate = RateLimiter(self.config.rate_limit)

    @property
    def fork(self) -> bool:
        """Whether this sandbox plays the open-source fork at d28bf71."""
        return self.config.server_version == "fork-d28bf71"

    @property
    def accounts(self) -> list[dict[str, object]]:
        return [account_view(a) for a in self.engine.accounts.values()]

    def key(self, token: str) -> ApiKeyRow | None:
        """The API key whose secret is ``token``."""
        return self._keys.get(key_hash(token))

    def sandbox_key(self, key: ApiKeyRow) -> bool:
        """Whether ``key`` publishes nowhere (the fork has no sandbox mode: an
        ``lmp_test_`` key publishes like a live key)."""
        return key["env"] == "test" and not self.fork

    def visible_post(self, post_id: str, key: ApiKeyRow) -> PostRow:
        row = self.store.post(post_id)
        if row is None:
            raise not_found(f"Post {post_id} not found")
        # [C] a sandbox key may not touch live posts; [?] the reverse and reads: the
        # stricter choice, each environment sees only its own posts.
        if bool(row["sandbox"]) != self.sandbox_key(key):
            raise not_found(f"Post {post_id} not found", "api_key.environment_scope")
        return row

    def view(self, view: dict[str, object], *drop: str) -> dict[str, object]:
        """A post as this server version shows it (the fork has no `sandbox` flag)."""
        if self.fork:
            for name in ("sandbox", *drop):
                view.pop(name, None)
        return view

    def editable(self, row: PostRow) -> None:
        """Refuse a change to a post that is no longer queued for later (409)."""
        if row["status"] != "queued":
            raise validation(
                "post.status",
                f'Cannot modify a post in status "{row["status"]}". Only queued scheduled '
                "posts can be rescheduled or canceled.",
                409,
            )
        due = parse_iso_z(row["scheduled_at"]) if row["scheduled_at"] else None
        if due is None or due <= self.clock.now():
            raise validation(
                "post.scheduledAt.window",
                "This post is already firing or has no scheduledAt. The window for changes "
                "has closed.",
                409,
            )

    def reset(self) -> None:
        """Wipe posts, idempotency, media, quota use and rate-limit state; clear faults,
        put the clock back to real time and restore the start-up config."""
        self.store.reset()
        self.faults.clear()
        self.clock.reset()
        self.store.set_meta("clock_offset", "0")
        for f in dataclasses.fields(self.config):
            setattr(self.config, f.name, getattr(self.base_config, f.name))
        self.rate.reset(self.config.rate_limit)

    def close(self) -> None:
        self.store.close()
