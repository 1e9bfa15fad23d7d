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
- A thread's later parts are in the post's hash too (`post_hash(parts=...)`): two
  threads that open alike are different posts. A post without parts hashes as before.
- A post's identity (`post_identity`) is what makes two files two posts whatever they
  say: its `id:` when the frontmatter has one, else its path (relative to the
  folder of publisher.toml). It does not hold the content, so it survives a typo fix
  and a lost `published` block, and any run on any clone derives it alike.
- An Idempotency-Key is derived from the environment, the post's identity, the post
  hash, the set of targets the request covers and the attempt number: a retry of
  failed targets or a target added later gets its own key and never collides with
  the first request; a re-run after a crash reuses the key of the request whose
  answer was lost; two files never share a key.
- A direct Bluesky record's key (`record_key`) is a TID derived from the identity,
  the target's place among the post's targets on that account, the thread part and
  a generation (1 for the first post; a deliberate new post takes the next free one):
  two runs anywhere create the same record, and the second create is refused by the
  PDS and adopted (`similar` says whether a record found there is this post).
- Request bodies are serialised deterministically (sorted keys, no spaces, UTF-8):
  the server fingerprints raw bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import unicodedata
from collections.abc import Iterable, Mapping

__all__ = [
    "KEY_PREFIX",
    "body_bytes",
    "canonical_bytes",
    "digest",
    "idempotency_key",
    "normalize_text",
    "post_hash",
    "post_identity",
    "record_key",
    "similar",
]

KEY_PREFIX = "pub1"


def normalize_text(text: str) -> str:
    """The text as it will be posted and hashed."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def _iso(value: object) -> str:
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


# Built once: json.dumps with options builds a new encoder on every call.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_iso)


def canonical_bytes(value: object) -> bytes:
    """Deterministic JSON bytes: sorted keys, no insignificant whitespace, UTF-8.
    YAML dates and times (an unquoted `2026-01-01` in `options`) go as ISO strings."""
    return _ENCODER.encode(value).encode()


def digest(value: object) -> str:
    return "sha256:" + hashlib.sha256(canonical_bytes(value)).hexdigest()


def post_hash(
    target_hashes: Mapping[str, str], parts: Mapping[str, Iterable[str]] | None = None
) -> str:
    """The post's hash: independent of the order of its targets; a thread's later
    parts (`parts`: per target, its part hashes) are in it too."""
    threads = {label: list(h) for label, h in (parts or {}).items() if h}
    if not threads:
        return digest(sorted(target_hashes.items()))  # as before parts were hashed
    return digest([sorted(target_hashes.items()), sorted(threads.items())])


def post_identity(path: str, explicit: str | None = None) -> str:
    """What makes a file one post: `id:` when given, else its path (posix, relative
    to the folder of publisher.toml). Both kinds are told apart, so an `id:` never
    equals another file's path."""
    return f"id:{explicit}" if explicit else f"path:{path}"


def idempotency_key(
    env: str, post_hash_: str, labels: Iterable[str], attempt: int, ident: str | None = None
) -> str:
    """The key for one request covering `labels`; at most 128 characters. `ident`
    (the post's identity) keeps two files' keys apart even when they say the same
    (None: the keys of versions before identities, for tests of old records)."""
    fields = [env, post_hash_, ",".join(sorted(labels)), str(attempt)]
    if ident is not None:
        fields.insert(0, ident)
    material = "\n".join(fields)
    return f"{KEY_PREFIX}-{env[0]}-{hashlib.sha256(material.encode()).hexdigest()}"


_TID_CHARS = "234567abcdefghijklmnopqrstuvwxyz"
#: Derived TIDs lie before 2020-01-01 (in microseconds): never in the future, and
#: never equal to a TID a clock made for a post written after that day.
_TID_SPAN = 1_577_836_800_000_000


def record_key(ident: str, slot: int = 1, part: int = 1, generation: int = 1) -> str:
    """The record key (a TID: 13 base32-sortable characters, as the PDS requires) of
    a direct Bluesky record: the `slot`-th target of the post `ident` on one account
    (1 unless a post names an account twice), thread part `part`, `generation`
    (1 for the first post, then one more for each deliberate new post)."""
    material = "\n".join(["publisher-rkey-1", ident, str(slot), str(part), str(generation)])
    n = int.from_bytes(hashlib.sha256(material.encode()).digest()[:8], "big")
    micros, clock = (n >> 10) % _TID_SPAN, n & 0x3FF
    value = (micros << 10) | clock
    return "".join(_TID_CHARS[(value >> shift) & 31] for shift in range(60, -1, -5))


def similar(found: str, text: str) -> bool:
    """Whether a post found under a record key (`found`'s text) is this post as it is
    now (`text`): the same words, or a small edit of them (a typo fixed). Another post
    that happens to sit there (a file deleted, its path used again) is not."""
    a, b = normalize_text(found), normalize_text(text)
    if a == b:
        return True
    import difflib

    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= 0.9


def body_bytes(body: Mapping[str, object]) -> bytes:
    """The exact bytes sent for a request body."""
    return canonical_bytes(body)
