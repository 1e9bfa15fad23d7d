"""Sandbox settings and seeded accounts (no heavy imports: used on the CLI start-up path)."""

from __future__ import annotations

import json
import tomllib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from publisher.rules.platforms import PLATFORMS as _REGISTERED

from .shapes import Account

__all__ = [
    "BODY_MAX_BYTES",
    "DEFAULT_PROFILE_ID",
    "HEADER_TIMEOUT",
    "MEDIA_MAX_BYTES",
    "ORG_ID",
    "PLATFORMS",
    "SANDBOX_NS",
    "SERVER_VERSIONS",
    "SandboxConfig",
    "default_accounts",
    "load_accounts_file",
    "normalize_accounts",
    "parse_rate_limit",
]

#: The API's platform enum, in its (alphabetical) order, as its errors list it.
PLATFORMS: tuple[str, ...] = tuple(sorted(_REGISTERED))

#: Namespace of every deterministic id the sandbox derives (accounts, profile, org).
SANDBOX_NS = uuid.UUID("5b0c1a43-6d2e-4c8f-9a51-3e7b2d90f1c4")
ORG_ID = str(uuid.uuid5(SANDBOX_NS, "org"))
DEFAULT_PROFILE_ID = str(uuid.uuid5(SANDBOX_NS, "profile:default"))
MEDIA_MAX_BYTES = 200 * 1024 * 1024
#: Largest JSON request body (POST /v1/posts, PATCH, retry). The real server's limit is
#: unknown [?]; 16 MiB holds 25 targets of the longest texts plus a few inline images.
BODY_MAX_BYTES = 16 * 1024 * 1024
#: Seconds a client gets to send a request's headers before the connection is closed.
HEADER_TIMEOUT = 10.0
#: The letmepost server versions the sandbox can play (docs/letmepost-servers.md):
#: ``newest`` (the hosted service) and ``fork-d28bf71`` (the open-source fork at d28bf71:
#: PATCH reads ``scheduledAt`` only, no ``/retry``, ``lmp_test_`` keys publish like live
#: keys, no in-progress claim on an Idempotency-Key, replays with keys in jsonb order,
#: key scopes never checked, no rate limit on GET/PATCH/DELETE).
SERVER_VERSIONS = ("newest", "fork-d28bf71")


@dataclass
class SandboxConfig:
    """How a sandbox behaves. Every field can also be set from the ``publisher sandbox`` CLI.

    ``rate_limit`` is ``(points, seconds)`` or ``None`` for no limit; ``quota`` is the
    monthly number of target slots for live keys (``None``: unlimited; the real free tier
    is 50). ``body_max_bytes`` caps JSON request bodies (413 ``body.size_max``);
    ``header_timeout`` is how long a client may take to send its request headers (a
    slowloris client is then disconnected; fixed at start-up). ``scheduler=False`` freezes the publishing of due posts (queued posts stay
    queued, even when the clock moves). The fault fields arm the same faults as ``POST /_sandbox/faults``.
    """

    rate_limit: tuple[int, float] | None = (120, 60.0)
    quota: int | None = None
    media_max_bytes: int = MEDIA_MAX_BYTES
    body_max_bytes: int = BODY_MAX_BYTES
    header_timeout: float = HEADER_TIMEOUT
    accounts: Sequence[Mapping[str, object]] | None = None
    latency_ms: int = 0
    fail_5xx: int = 0
    fail_5xx_status: int = 500
    drop_after_store: int = 0
    burst_429: int = 0
    worker_interval: float = 0.2
    scheduler: bool = True
    access_log: bool = False
    server_version: str = "newest"
    extra_faults: dict[str, object] = field(default_factory=dict)

    def initial_faults(self) -> dict[str, object]:
        """The fault settings armed at start-up, in the ``/_sandbox/faults`` JSON shape."""
        faults: dict[str, object] = dict(self.extra_faults)
        if self.latency_ms:
            faults["latency_ms"] = self.latency_ms
        if self.fail_5xx:
            faults["fail_5xx"] = {"count": self.fail_5xx, "status": self.fail_5xx_status}
        if self.drop_after_store:
            faults["drop_after_store"] = self.drop_after_store
        if self.burst_429:
            faults["burst_429"] = {"count": self.burst_429}
        return faults


def parse_rate_limit(text: str) -> tuple[int, float] | None:
    """Parse ``"N/SECONDS"`` (e.g. ``120/60``) or ``"off"``."""
    if text.strip().lower() in ("off", "none", "0"):
        return None
    points, _, seconds = text.partition("/")
    try:
        parsed = (int(points), float(seconds or "60"))
    except ValueError:
        raise ValueError(f"rate limit must be N/SECONDS or off, got {text!r}") from None
    if parsed[0] < 1 or parsed[1] <= 0:
        raise ValueError(f"rate limit must be positive, got {text!r}")
    return parsed


def _b32(n: int, length: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    out = []
    for _ in range(length):
        out.append(alphabet[n % 32])
        n //= 32
    return "".join(out)


def _platform_account_id(platform: str, account_id: str) -> str:
    """A stable, platform-looking account id derived from the account's uuid."""
    n = uuid.UUID(account_id).int
    if platform == "bluesky":
        return "did:plc:" + _b32(n, 24)
    if platform == "linkedin":
        return "urn:li:person:" + _b32(n, 10)
    if platform == "tiktok":
        return "_000" + _b32(n, 20)
    return str(10**15 + n % (9 * 10**15))


def default_accounts() -> list[dict[str, object]]:
    """One account per platform, two on LinkedIn (so a bare ``linkedin`` is ambiguous)."""
    specs = [
        ("bluesky", "Sandbox Bluesky"),
        ("twitter", "Sandbox X"),
        ("threads", "Sandbox Threads"),
        ("facebook", "Sandbox Facebook Page"),
        ("instagram", "Sandbox Instagram"),
        ("pinterest", "Sandbox Pinterest"),
        ("tiktok", "Sandbox TikTok"),
        ("linkedin", "Sandbox LinkedIn (personal)"),
        ("linkedin", "Sandbox LinkedIn (company)"),
    ]
    return [{"platform": p, "displayName": name} for p, name in specs]


def normalize_accounts(raw: Sequence[object]) -> list[Account]:
    """Fill stable ids and platform extras into account specs; raise ValueError on bad input.

    A spec needs ``platform``; ``id`` defaults to uuid5 of ``platform:index`` (index counts
    accounts of that platform), ``profileId`` to the default profile.
    """
    seen: dict[str, int] = {}
    out: list[Account] = []
    for i, spec in enumerate(raw):
        platform = spec.get("platform") if isinstance(spec, dict) else None
        if not isinstance(spec, dict) or not isinstance(platform, str) or platform not in PLATFORMS:
            raise ValueError(f"account #{i + 1}: 'platform' must be one of {', '.join(PLATFORMS)}")
        index = seen.get(platform, 0)
        seen[platform] = index + 1
        account_id = str(spec.get("id") or uuid.uuid5(SANDBOX_NS, f"{platform}:{index}"))
        try:
            uuid.UUID(account_id)
        except ValueError:
            raise ValueError(f"account #{i + 1}: id {account_id!r} is not a uuid") from None
        account: Account = {
            "id": account_id,
            "profileId": str(spec.get("profileId") or DEFAULT_PROFILE_ID),
            "platform": platform,
            "platformAccountId": str(
                spec.get("platformAccountId") or _platform_account_id(platform, account_id)
            ),
            "displayName": str(spec.get("displayName") or f"Sandbox {platform} {index + 1}"),
            "tokenExpiresAt": spec.get("tokenExpiresAt"),
        }
        if platform == "pinterest":
            pin = _extras(spec, "pinterest", i)
            account["pinterest"] = {
                "defaultBoardId": pin.get("defaultBoardId", "9876543210123456789"),
                "defaultBoardName": pin.get("defaultBoardName", "Sandbox board"),
            }
        if platform == "instagram":
            ig = _extras(spec, "instagram", i)
            account["instagram"] = {
                "kind": ig.get("kind", "business"),
                "accountType": ig.get("accountType", "BUSINESS"),
                "grantedScopes": ig.get(
                    "grantedScopes", ["instagram_basic", "instagram_content_publish"]
                ),
            }
        out.append(account)
    return out


def _extras(spec: Mapping[str, object], platform: str, i: int) -> Mapping[str, object]:
    """An account's platform extras (``pinterest``, ``instagram``): an object, maybe empty."""
    extras = spec.get(platform) or {}
    if not isinstance(extras, dict):
        raise ValueError(f"account #{i + 1}: {platform!r} must be an object")
    return extras


def load_accounts_file(path: Path) -> list[Account]:
    """Read account specs from JSON (a list, or ``{"accounts": [...]}``) or TOML (``[[accounts]]``)."""
    text = path.read_text(encoding="utf-8")
    data: object = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    if isinstance(data, dict):
        data = data.get("accounts")
    if not isinstance(data, list) or not data:
        raise ValueError(f"{path}: expected a non-empty list of accounts")
    return normalize_accounts(data)
