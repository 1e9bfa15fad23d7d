"""Identifier formats: sandbox ids, media ids and platform-native-looking post ids."""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
import uuid

__all__ = [
    "api_key",
    "atproto_cid",
    "digits",
    "media_id",
    "new_uuid",
    "sandbox_cid",
    "shortcode",
    "snowflake",
    "tid",
]

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_TWITTER_EPOCH_MS = 1288834974657


def new_uuid() -> str:
    return str(uuid.uuid4())


def api_key(env: str) -> str:
    """``lmp_live_`` / ``lmp_test_`` + 32 base64url characters (24 random bytes)."""
    return f"lmp_{env}_" + base64.urlsafe_b64encode(secrets.token_bytes(24)).decode()


def media_id() -> str:
    return "med_" + "".join(secrets.choice(_BASE62) for _ in range(22))


def sandbox_cid() -> str:
    return "sandbox_" + secrets.token_hex(16)


def atproto_cid() -> str:
    """A CIDv1 (dag-cbor, sha-256) in base32: ``bafyrei`` + 52 characters."""
    raw = bytes([0x01, 0x71, 0x12, 0x20]) + hashlib.sha256(secrets.token_bytes(32)).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def tid(now: float) -> str:
    """A 13-character atproto TID from microseconds since the epoch and a random clock id."""
    n = (int(now * 1_000_000) << 10) | secrets.randbelow(1024)
    out = []
    for _ in range(13):
        out.append(_TID_ALPHABET[n & 31])
        n >>= 5
    return "".join(reversed(out))


def snowflake(now: float) -> str:
    """A 19-digit X/Twitter-style snowflake id."""
    return str(((int(now * 1000) - _TWITTER_EPOCH_MS) << 22) | secrets.randbits(22))


def digits(n: int) -> str:
    return str(secrets.randbelow(9 * 10 ** (n - 1)) + 10 ** (n - 1))


def shortcode(n: int = 11) -> str:
    alphabet = string.ascii_letters + string.digits + "_-"
    return "".join(secrets.choice(alphabet) for _ in range(n))
