"""A thread's later parts: which parts a run sends, as replies, and how an edited
thread differs from what is published, part by part (docs/internals.md, "Threads")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace

from publisher.plan.target import KEY_WINDOW, UNSTORED_CODES, older_than
from publisher.plan.values import CREATES, Action, TargetPlan
from publisher.post import RETRYABLE_CODES, Post, ResolvedTarget
from publisher.record import PartRecord, Status, TargetRecord

__all__ = ["plan_parts"]

_LIVE_PART = frozenset({"published", "publishing"})


def plan_parts(
    tp: TargetPlan,
    t: ResolvedTarget,
    rec: TargetRecord | None,
    post: Post,
    repost: bool,
    *,
    now: dt.datetime,
    retry_failed: bool = False,
) -> TargetPlan:
    """A thread's later parts: which this run sends, as replies, once part 1 is out.

    - A part left `pending` (a crash, a lost answer) is resolved first: resent under
      its key (read back, for a direct account), before anything else happens to the
      thread; its other changes are planned by the run after.
    - Parts added at the end of a published thread go out alone, as replies.
    - Parts inserted, removed, moved or edited: the thread differs from what is out
      from part d on. `onEdit: keep` sends nothing and says so part by part; `onEdit:
      repost` (or --repost) posts parts d..n again, replying to part d-1, and the parts
      they replace are kept under `earlier`. Parts removed from the end stay out.
    - A scheduled part 1 leaves the rest to `sync`."""
    if tp.action in (Action.REFUSE, Action.BLOCKED, Action.CANCEL, Action.UNPUBLISH):
        return tp
    recorded = list(rec.parts or []) if rec is not None else []
    pending = [n for n, p in enumerate(recorded, start=2) if p.status == "pending"]
    if pending and rec is not None and rec.status in _LIVE_PART and tp.action in CREATES:
        return _resolve_pending(tp, t, recorded, pending, post, now, retry_failed)
    if tp.action in CREATES:  # a new thread (or posted once more): every part after it
        if post.scheduled_at is not None:
            return tp  # part 1 is queued; `sync` sends the rest once it is out
        return replace(tp, parts=tuple(range(2, len(t.parts) + 2)))
    if tp.action not in (Action.NONE, Action.SYNC, Action.RESUME, Action.KEEP) or rec is None:
        return tp
    if rec.status in (Status.UNPUBLISHED, Status.UNPUBLISHING):
        return tp  # taken back: its parts with it
    if tp.action == Action.NONE and rec.status == "queued":
        return tp
    part_one = tp.reason if tp.action == Action.KEEP else None
    live = {n: p for n, p in enumerate(recorded, start=2) if p.status in _LIVE_PART}
    diverge = next(
        (
            n
            for n in sorted(live)
            if n - 2 >= len(t.part_hashes) or live[n].hash != t.part_hashes[n - 2]
        ),
        None,
    )
    if diverge is None:
        return _unfinished(tp, t, recorded, pending, post, now, retry_failed, part_one)
    if pending:  # first learn what became of it; the edit is planned after that
        return _resolve_pending(tp, t, recorded, pending, post, now, retry_failed)
    return _edited_thread(tp, t, live, diverge, post, repost, part_one)


def _unfinished(
    tp: TargetPlan,
    t: ResolvedTarget,
    recorded: list[PartRecord],
    pending: list[int],
    post: Post,
    now: dt.datetime,
    retry_failed: bool,
    part_one: str | None,
) -> TargetPlan:
    """A thread whose published parts all match the file: the parts not out yet (added
    at the end, pending, failed), in order, up to the first that must wait."""
    send: list[int] = []
    for n, digest in enumerate(t.part_hashes, start=2):
        prec = recorded[n - 2] if n - 2 < len(recorded) else None
        blocked = _part_blocked(t, n, prec, digest, post, now, retry_failed)
        if blocked:
            # A part that may be out already (or was refused) stops the thread there:
            # the parts after it would reply to the wrong post.
            return replace(tp, action=Action.BLOCKED, reason=blocked, parts=tuple(send))
        if prec is None or prec.status in ("pending", "failed", "rejected", "canceled"):
            send.append(n)
    if not send:
        return tp
    if tp.action not in (Action.NONE, Action.KEEP):
        return replace(tp, parts=tuple(send), resent=tuple(n for n in send if n in pending))
    new = sum(1 for n in send if n - 2 >= len(recorded))
    what = f"{new} new part{'s' if new != 1 else ''}" if new else "unfinished parts"
    reason = f"{what} to post as replies"
    lost = [n for n in send if n in pending]
    if lost:
        which = ", ".join(map(str, lost))
        reason = (
            f"part {which}: a request was started but its result was not recorded: "
            "resent under its key first" + (f"; {what} to post as replies" if new else "")
        )
    if part_one is not None:
        reason = f"part 1 {part_one}; {reason}"
    return replace(tp, action=Action.CONTINUE, reason=reason, parts=tuple(send), resent=tuple(lost))


def _resolve_pending(
    tp: TargetPlan,
    t: ResolvedTarget,
    recorded: list[PartRecord],
    pending: list[int],
    post: Post,
    now: dt.datetime,
    retry_failed: bool,
) -> TargetPlan:
    """Parts whose request went out and whose answer was lost: each is resent under
    its recorded key (or read back at its record key) before anything else happens to
    the thread, so its result is recorded, never lost nor posted twice."""
    for n in pending:
        if n - 2 >= len(t.part_hashes):
            return replace(
                tp,
                action=Action.BLOCKED,
                reason=f"part {n} was removed from the file while its request's answer is "
                "pending: put it back as it was and run `publisher publish` to learn what "
                "became of it (then remove it: it stays recorded)",
            )
        digest = t.part_hashes[n - 2]
        blocked = _part_blocked(t, n, recorded[n - 2], digest, post, now, retry_failed)
        if blocked:
            return replace(tp, action=Action.BLOCKED, reason=blocked, parts=())
    which = ", ".join(map(str, pending))
    reason = (
        f"part {which}: a request was started but its result was not recorded: resent under "
        "its key first; the thread's other changes are planned once it is recorded (run "
        "`publisher publish` again)"
    )
    return replace(
        tp, action=Action.CONTINUE, reason=reason, parts=tuple(pending), resent=tuple(pending)
    )


def _edited_thread(
    tp: TargetPlan,
    t: ResolvedTarget,
    live: Mapping[int, PartRecord],
    diverge: int,
    post: Post,
    repost: bool,
    part_one: str | None,
) -> TargetPlan:
    """A published thread whose parts differ from the file from part `diverge` on."""
    changes = _part_changes(t, live, diverge)
    said = ", ".join(f"part {n} {what}" for n, what in changes) or f"part {diverge} changed"
    last = len(t.parts) + 1
    if part_one is not None:
        said = f"part 1 edited, {said}"
    if diverge > last:  # only parts removed from the end: nothing to post
        return replace(
            tp,
            action=Action.KEEP,
            reason=f"{said} after publishing: the removed parts stay on the platform "
            "(platforms cannot edit a thread; `unpublish: true` takes the whole thread back)",
            changes=changes,
        )
    which = f"part {diverge}" if diverge == last else f"parts {diverge}-{last}"
    if (repost or post.on_edit == "repost") and part_one is None:
        why = "--repost" if repost else "onEdit: repost"
        return replace(
            tp,
            action=Action.CONTINUE,
            reason=f"{said} after publishing; {why} posts {which} again as replies to part "
            f"{diverge - 1} (the parts they replace stay recorded under `earlier`)",
            parts=tuple(range(diverge, last + 1)),
            changes=changes,
        )
    reason = (
        f"{said} after publishing: not reposted (set `onEdit: repost` to post {which} again, "
        "or `onEdit: keep` to keep it without this notice)"
    )
    newest = max(live)
    if newest - 2 < len(t.part_hashes) and live[newest].hash == t.part_hashes[newest - 2]:
        # the published thread still ends where it did: parts added after it go out
        added = tuple(range(newest + 1, last + 1))
        if added:
            return replace(
                tp,
                action=Action.CONTINUE,
                reason=f"{reason}; {_count(len(added), 'part')} added at the end: posted "
                "as replies",
                parts=added,
                changes=changes,
            )
    if post.edit_acknowledged:  # `onEdit: keep` in the file: known, no notice
        return replace(
            tp, action=Action.NONE, reason="published; parts edited since, kept", changes=changes
        )
    return replace(tp, action=Action.KEEP, reason=reason, changes=changes)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _part_changes(
    t: ResolvedTarget, live: Mapping[int, PartRecord], diverge: int
) -> tuple[tuple[int, str], ...]:
    """Part by part, how the file's parts from `diverge` on differ from the published
    ones: inserted, added (at the end), removed, moved, edited. A recorded part is
    recognised wherever it now stands by its hash at its old position."""
    import difflib

    old = [n for n in sorted(live) if n >= diverge]
    new: list[int | str] = []
    for n, text in enumerate(t.parts[diverge - 2 :], start=diverge):
        found = next((m for m in old if live[m].hash == t.part_hash(m, text)), None)
        new.append(found if found is not None else f"new{n}")
    out: list[tuple[int, str]] = []
    moved_from = {m for m in new if isinstance(m, int)}
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            pairs = zip(range(i1, i2), range(j1, j2), strict=True)
            out += [(diverge + j, f"was part {old[i]}") for i, j in pairs if old[i] != diverge + j]
            continue
        gone = [m for m in old[i1:i2] if m not in moved_from]
        came = list(range(diverge + j1, diverge + j2))
        if (
            op == "replace"
            and len(gone) == len(came)
            and all(not isinstance(new[j - diverge], int) for j in came)
        ):
            out += [(n, "edited") for n in came]
            continue
        for n in came:
            m = new[n - diverge]
            if isinstance(m, int):
                out.append((n, f"moved (was part {m})"))
            else:
                out.append((n, "added" if n > max(old, default=1) else "inserted"))
        out += [(m, "removed") for m in gone]
    return tuple(sorted(out, key=lambda c: (c[0], c[1] != "removed")))


def _part_blocked(
    t: ResolvedTarget,
    n: int,
    prec: PartRecord | None,
    digest: str,
    post: Post,
    now: dt.datetime,
    retry_failed: bool,
) -> str | None:
    """Why part `n` must wait for a person (the same rules as a target's): an answer
    lost while the part changed, a request older than the server's key memory, a
    refusal the part has not been fixed for. None when it may go (or is done)."""
    if prec is None or prec.status not in ("pending", "failed", "rejected"):
        return None
    label = f"{t.label}#part{n}"
    if retry_failed or post.release.get(label) == int(prec.attempt):
        return None
    hint = (
        f"add `release: {{{label}: {int(prec.attempt)}}}` to the frontmatter (the Action "
        "honours it), or run with --retry-failed"
    )
    if prec.status == "pending":
        if not t.direct and older_than(prec.at, KEY_WINDOW, now):
            return (
                f"part {n}: a request sent at {prec.at} got no answer, and the server forgets "
                f"keys after 24 h: it may be published already. Check the platform, then {hint}"
            )
        return None
    code = prec.error.code if prec.error else "unknown"
    if code == "outcome_unknown":
        return (
            f"part {n}: an earlier request may have published it (its answer was lost, and "
            f"the part changed since): check the platform, then {hint}"
        )
    if prec.hash != digest or code in RETRYABLE_CODES or code in UNSTORED_CODES or t.direct:
        return None  # changed since, or worth another try (a direct part adopts its key)
    return f"part {n}: {prec.status} with {code}: fix the part, or {hint}"
