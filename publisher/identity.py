"""Identity: canonical form, content hashes, Idempotency-Keys and request body bytes.

- A target's hash is SHA-256 over the canonical JSON of everything that target
  publishes (account, resolved text, media by content hash or URL with alt text,
  first comment, options, schedule, publishNow, profileId). The post's hash is the
  hash of its targets' hashes, so reordering `targets` is not an edit, while changing
  anything a target publishes is. Neither includes `published`, `meta`, `source` or
  `draft`.
- Text is normalised before hashing *and* before sending (CRLF -> LF, Unicode NFC,
  trailing spaces on each line removed, blank lines at both ends trimmed), so the bytes
  sent always match the hash they are keyed by.
- An Idempotency-Key is derived from the environment, the post hash, the set of
  targets the request covers and the attempt number: a retry of failed targets or a
  target added later gets its own key and never collides with the first request;
  a re-run after a crash reuses the key of the request whose answer was lost.
- Request bodies are serialised deterministically (sorted keys, no spaces, UTF-8):
  the server fingerprints raw bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

KEY_PREFIX = "pub1"


def normalize_text(text: str) -> str:
    """The text as it will be posted and hashed."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def _iso(value: Any) -> str:
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


# Built once: json.dumps with options builds a new encoder on every call.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_iso)


def canonical_bytes(value: Any) -> bytes:
    """Deterministic JSON bytes: sorted keys, no insignificant whitespace, UTF-8.
    YAML dates and times (an unquoted `2026-01-01` in `options`) go as ISO strings."""
    return _ENCODER.encode(value).encode()


def digest(value: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical_bytes(value)).hexdigest()


def post_hash(target_hashes: Mapping[str, str]) -> str:
    """The post's hash: independent of the order of its targets."""
    return digest(sorted(target_hashes.items()))


def idempotency_key(env: str, post_hash_: str, labels: Iterable[str], attempt: int) -> str:
    """The key for one request covering `labels`; at most 128 characters."""
    material = "\n".join([env, post_hash_, ",".join(sorted(labels)), str(attempt)])
    return f"{KEY_PREFIX}-{env[0]}-{hashlib.sha256(material.encode()).hexdigest()}"


def body_bytes(body: Mapping[str, Any]) -> bytes:
    """The exact bytes sent for a request body."""
    return canonical_bytes(body)
