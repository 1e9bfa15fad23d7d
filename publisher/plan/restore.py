"""Lost records restored from git history (or, through `reconcile`, from the server's
post log): what a committed version of a file knows better than the file does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from publisher.plan.values import Action, TargetPlan
from publisher.post import Post, ResolvedTarget
from publisher.record import TargetRecord, moment
from publisher.run import Run

__all__ = ["Block", "Restored", "from_history", "restored"]

#: A `published` block as committed (or as `reconcile` builds one from a post log).
Block = Mapping[str, object]
#: Per target label: the record to restore, typed and as written.
Restored = dict[str, tuple[TargetRecord, dict[str, object]]]

_SENT = frozenset({"published", "publishing", "queued", "pending"})


def from_history(
    post: Post, run: Run, records: Mapping[str, TargetRecord], history: Sequence[Block]
) -> Restored:
    """Targets whose record a committed version of the file knows better: (the record
    as `TargetRecord`, as written), for

    - a target with no record that a version recorded as sent (or maybe sent);
    - a failure (failed, rejected) no newer than a version's record of it as sent: an
      old failed record merged back over the newer good one;
    - a post recorded with fewer thread parts (or `earlier` URIs) than a version
      recorded for the same post: a lost `parts:` list.
    """
    if not history:
        return {}
    from publisher.record import PublishedRecord, block_of

    current = _mapping((block_of(post.doc.data) or {}).get("targets")) if post.doc else {}
    found: Restored = {}
    for t in post.targets:
        chosen = _chosen(t, records.get(t.label), current, history, run)
        if chosen is None:
            continue
        try:
            typed = PublishedRecord.model_validate({"targets": {t.label: chosen}})
        except ValueError:
            continue
        found[t.label] = (typed.targets[t.label], chosen)
    return found


def _chosen(
    t: ResolvedTarget,
    rec: TargetRecord | None,
    current: Mapping[str, object],
    history: Sequence[Block],
    run: Run,
) -> dict[str, object] | None:
    """The record of `t` to restore from `history` (newest first), or None."""
    from publisher.record import counts, direct_record, unite_target

    mine = current.get(t.label) if rec is not None else None
    merged: dict[str, object] | None = dict(mine) if isinstance(mine, dict) else None
    for block in history:
        raw = _mapping(block.get("targets")).get(t.label)
        if not isinstance(raw, dict) or not (counts(block, run) or direct_record(raw)):
            continue
        if raw.get("status") not in _SENT:
            continue
        if rec is None:
            return dict(raw)
        if rec.uri and raw.get("uri") == rec.uri and merged is not None:
            merged = unite_target(merged, raw)
            continue
        when = raw.get("at") or block.get("updatedAt")
        if (
            not rec.uri
            and rec.status in ("failed", "rejected")
            and (rec.error is None or rec.error.code != "outcome_unknown")
            # records say when to the second: a failure and the success that followed
            # it in the same second tie (a sent target is never sent again but by an
            # edit and a new run, so the sent one is the newer)
            and moment(when) >= moment(rec.at)
        ):
            return {**raw, "at": when} if raw.get("status") == "pending" else dict(raw)
    if merged is not None and merged != mine:
        return merged
    return None


def _mapping(value: object) -> Mapping[str, object]:
    return value if isinstance(value, Mapping) else {}


def restored(p: TargetPlan, found: Restored) -> TargetPlan:
    """`p` once its record is restored: a target with nothing else to do restores."""
    if p.label not in found:
        return p
    action = Action.RESTORE if p.action == Action.NONE else p.action
    where = found[p.label][1].get("_from", "git history")
    reason = f"its record was lost and is restored from {where}; {p.reason}"
    return TargetPlan(p.label, p.platform, action, reason, p.target)
