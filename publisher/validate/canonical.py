"""A target's hash and a post's hash, written out field by field: byte for byte what
`identity.digest` makes of the same values, in a fraction of the time.

`identity.canonical_bytes` runs json's encoder with sorted keys; on a target's dozen
fields that is most of the cost of hashing it, and hashing was a tenth of checking a
post. Here the keys are already in order and the common values (strings, None, the
media triples) are escaped one by one with json's own C function; anything else
(options, Bluesky extras, references) still goes through `identity.canonical_bytes`.
tests/validate/test_canonical.py holds both to the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from json.encoder import encode_basestring

from publisher import identity

__all__ = ["post_hash", "target_hash"]

_sha256 = hashlib.sha256


def _value(value: object) -> str:
    """One JSON value as `identity.canonical_bytes` writes it."""
    if value is None:
        return "null"
    if type(value) is str:
        return str(encode_basestring(value))
    return identity.canonical_bytes(value).decode()


def _media(media: Iterable[list[str | None]]) -> str:
    return (
        "["
        + ",".join(
            f"[{_value(source)},{_value(alt)},{_value(kind)}]" for source, alt, kind in media
        )
        + "]"
    )


def target_hash(
    *,
    account: str | None,
    platform: str | None,
    direct: str | None,
    text: str,
    media: Iterable[list[str | None]],
    first_comment: str | None,
    options: Mapping[str, object] | None,
    scheduled_at: str | None,
    publish_now: bool,
    profile_id: str | None,
    bluesky: Mapping[str, object] | None = None,
    refs: Mapping[str, object] | None = None,
) -> str:
    """`identity.digest` of the target's canonical form::

        {"account": account, "platform": platform, "direct": direct, "text": text,
         "media": [m.canonical() ...], "firstComment": first_comment,
         "options": options, "scheduledAt": scheduled_at, "publishNow": publish_now,
         "profileId": profile_id}

    plus ``"bluesky"`` and ``"refs"`` when given (None: the key is left out, so the
    hashes of targets without them are unchanged). Keys in sorted order."""
    text_json = (
        '{"account":'
        + _value(account)
        + ("" if bluesky is None else ',"bluesky":' + _value(bluesky))
        + ',"direct":'
        + _value(direct)
        + ',"firstComment":'
        + _value(first_comment)
        + ',"media":'
        + _media(media)
        + ',"options":'
        + _value(options)
        + ',"platform":'
        + _value(platform)
        + ',"profileId":'
        + _value(profile_id)
        + ',"publishNow":'
        + (
            "true"
            if publish_now is True
            else "false"
            if publish_now is False
            else _value(publish_now)
        )
        + ("" if refs is None else ',"refs":' + _value(refs))
        + ',"scheduledAt":'
        + _value(scheduled_at)
        + ',"text":'
        + _value(text)
        + "}"
    )
    return "sha256:" + _sha256(text_json.encode()).hexdigest()


def post_hash(target_hashes: Mapping[str, str], parts: Mapping[str, Iterable[str]]) -> str:
    """`identity.post_hash`: without thread parts, the digest of the sorted
    (label, hash) pairs written out here; with them, `identity.post_hash` itself."""
    if parts:
        return identity.post_hash(target_hashes, parts)
    pairs = ",".join(f"[{_value(label)},{_value(h)}]" for label, h in sorted(target_hashes.items()))
    return "sha256:" + _sha256(f"[{pairs}]".encode()).hexdigest()
