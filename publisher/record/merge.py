"""Merging two `published` blocks of one post so no result is lost: what the Action
needs after a rebase (`merge_published`), and what the history restore unites
(`unite_target`, `committed_blocks`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from publisher.record.block import DERIVED_KEYS, block_of

__all__ = ["committed_blocks", "merge_published", "merge_records", "unite_target"]


def _moment(value: Any) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _pick_target(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """The better of two records of one target: the one with a uri, else the newer;
    for the same post, its thread parts and earlier URIs are united (a part one side
    recorded is never lost)."""
    if bool(ours.get("uri")) != bool(theirs.get("uri")):
        return ours if ours.get("uri") else theirs
    if ours.get("uri") and (ours.get("uri"), ours.get("status")) == (
        theirs.get("uri"),
        theirs.get("status"),
    ):
        parts = _merge_parts(ours.get("parts") or [], theirs.get("parts") or [])
        earlier = [*(theirs.get("earlier") or [])]
        earlier += [u for u in ours.get("earlier") or [] if u not in earlier]
        if parts == (theirs.get("parts") or []) and earlier == (theirs.get("earlier") or []):
            return theirs  # the same result: keep the remote's bytes
        merged = {**theirs, "parts": parts} if parts else dict(theirs)
        if earlier:
            merged["earlier"] = earlier
        return merged
    return ours if _moment(ours.get("at")) > _moment(theirs.get("at")) else theirs


def unite_target(mine: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """`mine` with what `other` (a record of the same post) knows and `mine` lost:
    its thread parts (a part `mine` lacks, or has with no uri) and earlier URIs."""
    parts = _merge_parts(other.get("parts") or [], mine.get("parts") or [])
    earlier = list(mine.get("earlier") or [])
    earlier += [u for u in other.get("earlier") or [] if u not in earlier]
    out = dict(mine)
    if parts:
        out["parts"] = parts
    if earlier:
        out["earlier"] = earlier
    return out


def _merge_parts(ours: list[Any], theirs: list[Any]) -> list[Any]:
    """Part by part, the record with a uri (else the remote's)."""
    out = []
    for i in range(max(len(ours), len(theirs))):
        mine = ours[i] if i < len(ours) and isinstance(ours[i], dict) else None
        remote = theirs[i] if i < len(theirs) and isinstance(theirs[i], dict) else None
        if remote is None or (mine is not None and mine.get("uri") and not remote.get("uri")):
            out.append(mine if mine is not None else {})
        else:
            out.append(remote)
    return out


def merge_records(
    ours: dict[str, Any] | None, theirs: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Merge two ``published`` records of one post, so no result is lost.

    Targets are united; for a target both record, the one with a ``uri`` wins, else the
    newer ``at``; an identical result keeps the remote's. Returns ``theirs`` itself
    (the same object) when ours adds nothing.
    """
    if ours is None or theirs is None:
        return theirs if ours is None else ours
    if ours.get("env", "live") != theirs.get("env", "live"):
        return ours if ours.get("env", "live") == "live" else theirs
    their_targets = {k: v for k, v in (theirs.get("targets") or {}).items() if isinstance(v, dict)}
    targets = dict(their_targets)
    for label, rec in (ours.get("targets") or {}).items():
        if isinstance(rec, dict):
            targets[label] = _pick_target(rec, targets[label]) if label in targets else rec
    media = {**(ours.get("media") or {}), **(theirs.get("media") or {})}
    if targets == their_targets and media == (theirs.get("media") or {}):
        return theirs
    newer = ours if _moment(ours.get("updatedAt")) > _moment(theirs.get("updatedAt")) else theirs
    merged = {k: v for k, v in theirs.items() if k not in DERIVED_KEYS}
    merged.update(hash=newer.get("hash"), updatedAt=newer.get("updatedAt"), targets=targets)
    if media:
        merged["media"] = media
    return merged


def committed_blocks(versions: Mapping[Any, list[bytes]]) -> dict[str, list[dict[str, Any]]]:
    """The `published` blocks of committed versions of post files (from
    `git.committed_versions`), per path as `Post.rel` says it is given in the
    mapping's keys, newest first; versions that cannot be read are skipped."""
    from publisher.document import DocumentError, parse_document

    out: dict[str, list[dict[str, Any]]] = {}
    for rel, raws in versions.items():
        for raw in raws:
            try:
                block = block_of(parse_document(raw, str(rel)).data)
            except DocumentError:
                continue
            if block is not None:
                out.setdefault(str(rel), []).append(block)
    return out


def merge_published(path: str, ours: bytes, theirs: bytes) -> bytes:
    """``merge_file`` callback for :func:`publisher.git.push_with_retry`.

    Both versions' ``published`` records are merged and written onto the remote's
    version of the file, so the remote's other edits are kept. Raises when either
    side cannot be read as a post (the push then fails cleanly).
    """
    from publisher.document import parse_document
    from publisher.writeback import set_published

    mine = block_of(parse_document(ours, path).data)
    remote = block_of(parse_document(theirs, path).data)
    merged = merge_records(mine, remote)
    if merged is remote:
        return theirs
    return set_published(theirs, merged, path=path)
