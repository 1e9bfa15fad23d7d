"""Merging two `published` blocks of one post so no result is lost: what the Action
needs after a rebase (`merge_published`), and what the history restore unites
(`unite_target`, `committed_blocks`)."""

from __future__ import annotations

from collections.abc import Mapping

from publisher.record.block import DERIVED_KEYS, block_of, moment, targets_of

__all__ = ["committed_blocks", "merge_published", "merge_records", "unite_target"]


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _mapping(value: object) -> dict[object, object]:
    return value if isinstance(value, dict) else {}


def _pick_target(ours: dict[str, object], theirs: dict[str, object]) -> dict[str, object]:
    """The better of two records of one target: the one with a uri, else the newer;
    for the same post, its thread parts and earlier URIs are united (a part one side
    recorded is never lost)."""
    if bool(ours.get("uri")) != bool(theirs.get("uri")):
        return ours if ours.get("uri") else theirs
    if ours.get("uri") and (ours.get("uri"), ours.get("status")) == (
        theirs.get("uri"),
        theirs.get("status"),
    ):
        parts = _merge_parts(_list(ours.get("parts")), _list(theirs.get("parts")))
        earlier = [*_list(theirs.get("earlier"))]
        earlier += [u for u in _list(ours.get("earlier")) if u not in earlier]
        if parts == _list(theirs.get("parts")) and earlier == _list(theirs.get("earlier")):
            return theirs  # the same result: keep the remote's bytes
        merged = {**theirs, "parts": parts} if parts else dict(theirs)
        if earlier:
            merged["earlier"] = earlier
        return merged
    return ours if moment(ours.get("at")) > moment(theirs.get("at")) else theirs


def unite_target(mine: Mapping[str, object], other: Mapping[str, object]) -> dict[str, object]:
    """`mine` with what `other` (a record of the same post) knows and `mine` lost:
    its thread parts (a part `mine` lacks, or has with no uri) and earlier URIs."""
    parts = _merge_parts(_list(other.get("parts")), _list(mine.get("parts")))
    earlier = list(_list(mine.get("earlier")))
    earlier += [u for u in _list(other.get("earlier")) if u not in earlier]
    out = dict(mine)
    if parts:
        out["parts"] = parts
    if earlier:
        out["earlier"] = earlier
    return out


def _part(parts: list[object], i: int) -> dict[object, object] | None:
    found = parts[i] if i < len(parts) else None
    return found if isinstance(found, dict) else None


def _merge_parts(ours: list[object], theirs: list[object]) -> list[object]:
    """Part by part, the record with a uri (else the remote's)."""
    out: list[object] = []
    for i in range(max(len(ours), len(theirs))):
        mine = _part(ours, i)
        remote = _part(theirs, i)
        if remote is None or (mine is not None and mine.get("uri") and not remote.get("uri")):
            out.append(mine if mine is not None else {})
        else:
            out.append(remote)
    return out


def merge_records(
    ours: dict[str, object] | None, theirs: dict[str, object] | None
) -> dict[str, object] | None:
    """Merge two ``published`` records of one post, so no result is lost.

    Targets are united; for a target both record, the one with a ``uri`` wins, else the
    newer ``at``; an identical result keeps the remote's. Returns ``theirs`` itself
    (the same object) when ours adds nothing.
    """
    if ours is None or theirs is None:
        return theirs if ours is None else ours
    if ours.get("env", "live") != theirs.get("env", "live"):
        return ours if ours.get("env", "live") == "live" else theirs
    their_targets = targets_of(theirs)
    targets = dict(their_targets)
    for label, rec in targets_of(ours).items():
        targets[label] = _pick_target(rec, targets[label]) if label in targets else rec
    media = {**_mapping(ours.get("media")), **_mapping(theirs.get("media"))}
    if targets == their_targets and media == _mapping(theirs.get("media")):
        return theirs
    newer = ours if moment(ours.get("updatedAt")) > moment(theirs.get("updatedAt")) else theirs
    merged = {k: v for k, v in theirs.items() if k not in DERIVED_KEYS}
    merged.update(hash=newer.get("hash"), updatedAt=newer.get("updatedAt"), targets=targets)
    if media:
        merged["media"] = media
    return merged


def committed_blocks(versions: Mapping[str, list[bytes]]) -> dict[str, list[dict[str, object]]]:
    """The `published` blocks of committed versions of post files (from
    `git.committed_versions`), per path as `Post.rel` says it is given in the
    mapping's keys, newest first; versions that cannot be read are skipped. Raw
    blocks, as `block_of` gives them."""
    from publisher.document import DocumentError, parse_document

    out: dict[str, list[dict[str, object]]] = {}
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
