"""The letmepost post log, asked before a target is sent as new (`reconcile`): what
still knows a post once the server has forgotten its Idempotency-Key (24 h).

``GET /v1/posts?after=`` the first commit of the oldest file looked for (at most
`WINDOW` back), read once per run for every file (at most `PAGES` pages of 200),
matched by platform, account and words (or nearly: a typo fixed since is adopted with
a hash of its own words, so `onEdit` decides). Only for files git knows, only posts
made after the file's first commit (a new file saying what an old one said is a new
post), that no file records, and that one target alone could claim (else neither
does: each goes its own way)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from publisher import identity
from publisher.plan.values import Action, FilePlan, Plan, TargetPlan

if TYPE_CHECKING:
    from publisher.clients.letmepost import LetmepostClient
    from publisher.post import Post, ResolvedTarget
    from publisher.run import Run

__all__ = ["PAGES", "WINDOW", "lost_posts"]

#: How far back the letmepost post log is read at most.
WINDOW = dt.timedelta(days=30)
#: At most this many pages of 200 posts per run.
PAGES = 10
#: How far a server's clock and git's may disagree (seconds).
SKEW = 300
#: Post statuses that mean it is (or will be) out.
_OUT = frozenset({"published", "publishing", "queued", "validated"})

#: A post of the log, as the API lists it.
Row = Mapping[str, object]
#: Per post path, `published` blocks as `make_plan(history=...)` reads them.
Blocks = dict[str, list[dict[str, object]]]


def lost_posts(
    plan: Plan, client: LetmepostClient, run: Run, born: Mapping[str, int]
) -> tuple[Blocks, str | None]:
    """Per post path, a block holding what the post log says went out for its new
    letmepost targets, and what was asked (None: nothing needed asking). `born` is
    each file's first commit time (files git does not know have no lost post)."""
    wanted = [
        (f, tp)
        for f in plan.files
        for tp in f.targets
        if tp.action in (Action.PUBLISH, Action.RETRY)
        and tp.target is not None
        and tp.backend == "letmepost"
        and not _recorded_out(f, tp.label)
        and f.post.rel in born  # a file git does not know has no lost post
    ]
    if not wanted:
        return {}, None
    # the window: since the oldest of these files was first committed (no post of a
    # file is older), at most `WINDOW` back
    oldest = min(born[f.post.rel] for f, _ in wanted) - SKEW
    after = max(dt.datetime.now(dt.UTC) - WINDOW, dt.datetime.fromtimestamp(oldest, dt.UTC))
    rows = _post_log(client, after)
    asked = f"letmepost post log ({len(rows)} posts)"
    if not rows:
        return {}, asked
    taken = _recorded_ids([f.post for f in plan.files])
    out: Blocks = {}
    done: set[tuple[str, str]] = set()
    for exact in (True, False):  # the same words first; then a typo fixed since
        for f, tp, row in _claimed(wanted, rows, taken, done, born, exact):
            assert tp.target is not None
            taken.add(str(row.get("id")))
            rec = _adopted(row, tp.target, rows, taken)  # takes its parts too
            block: dict[str, object] = {
                "env": str(run.env),
                "api": run.api,
                "updatedAt": rec.get("at"),
                "targets": {tp.label: {**rec, "_from": "the letmepost post log"}},
            }
            out.setdefault(f.post.rel, []).append(block)
            done.add((f.path, tp.label))
    return out, asked


def _claimed(
    wanted: Sequence[tuple[FilePlan, TargetPlan]],
    rows: Sequence[Row],
    taken: set[str],
    done: set[tuple[str, str]],
    born: Mapping[str, int],
    exact: bool,
) -> list[tuple[FilePlan, TargetPlan, Row]]:
    """Each target's oldest logged post that it alone could claim (no post of a file
    is older than the file, with a margin for clocks apart)."""
    claims: dict[str, list[tuple[FilePlan, TargetPlan]]] = {}
    for f, tp in wanted:
        if (f.path, tp.label) in done or tp.target is None:
            continue
        since = dt.datetime.fromtimestamp(born[f.post.rel] - SKEW, dt.UTC)
        for row in rows:
            rid = str(row.get("id"))
            if rid in taken or _created(row) < since:
                continue
            if _matches(row, tp.target, exact):
                claims.setdefault(rid, []).append((f, tp))
    mine: dict[tuple[str, str], list[str]] = {}
    for rid, who in claims.items():
        if len({(f.path, tp.label) for f, tp in who}) != 1:
            continue  # two targets could claim it: neither does
        mine.setdefault((who[0][0].path, who[0][1].label), []).append(rid)
    out = []
    for (path, label), rids in mine.items():
        f, tp = next((f, tp) for f, tp in wanted if (f.path, tp.label) == (path, label))
        out.append((f, tp, min((r for r in rows if str(r.get("id")) in rids), key=_created)))
    return out


def _created(row: Row) -> dt.datetime:
    from publisher.record import iso_z

    when = iso_z(row.get("createdAt"))
    if when is None:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(when.replace("Z", "+00:00"))


def _recorded_out(f: FilePlan, label: str) -> bool:
    rec = f.post.record.targets.get(label) if f.post.record is not None else None
    return rec is not None and rec.status in _OUT


def _recorded_ids(posts: Sequence[Post]) -> set[str]:
    """Every letmepost post id a file records (its parts' too): never adopted twice."""
    out: set[str] = set()
    for p in posts:
        if p.record is None:
            continue
        for rec in p.record.targets.values():
            out.update(x for x in [rec.postId, *(q.postId for q in rec.parts or [])] if x)
    return out


def _post_log(client: LetmepostClient, after: dt.datetime) -> list[Row]:
    """The account's posts since `after`: one listing, paged (at most `PAGES`)."""
    from publisher.clients.letmepost import ApiError, NetworkError

    params: dict[str, str | int] = {"after": after.strftime("%Y-%m-%dT%H:%M:%SZ"), "limit": 200}
    rows: list[Row] = []
    try:
        for _ in range(PAGES):
            page = client.list_posts(**params)
            rows.extend(r for r in page.get("data") or [] if isinstance(r, dict))
            cursor = page.get("nextCursor")
            if not cursor:
                break
            params["cursor"] = cursor
    except (ApiError, NetworkError):
        return rows  # what was read; the Idempotency-Key still guards the rest
    return rows


def _matches(row: Row, t: ResolvedTarget, exact: bool) -> bool:
    """Whether a logged post is target `t`: same platform (and account when the
    target names one), out (or queued), the same words (`exact`) or nearly."""
    if row.get("status") not in _OUT or row.get("platform") != t.platform:
        return False
    if t.account_id and row.get("accountId") != t.account_id:
        return False
    said = str(row.get("text") or "")
    if exact:
        return identity.normalize_text(said) == t.text
    return identity.similar(said, t.text)


def _hash(said: str, text: str, digest: str) -> str:
    """The hash to record for an adopted post: `digest` when it says `text`, else one
    of its own words (the file was edited since: `onEdit` decides)."""
    if identity.normalize_text(said) == identity.normalize_text(text):
        return digest
    return identity.digest({"adopted": identity.normalize_text(said)})


def _adopted(
    row: Row, t: ResolvedTarget, rows: Sequence[Row], taken: set[str]
) -> dict[str, object]:
    """A target record for a logged post (and its thread's later parts found after
    it, in order, each once)."""
    from publisher.record import iso_z

    rec: dict[str, object] = {
        "platform": row.get("platform"),
        "account": row.get("accountId"),
        "status": row.get("status"),
        "hash": _hash(str(row.get("text") or ""), t.text, t.hash),
        "postId": row.get("id"),
        "uri": row.get("platformUri"),
        "cid": row.get("platformCid"),
        "at": iso_z(row.get("createdAt")),
    }
    if row.get("status") == "queued":
        rec["scheduledAt"] = row.get("scheduledAt")
    parts = []
    since = str(row.get("createdAt") or "")
    for text, digest in zip(t.parts, t.part_hashes, strict=False):
        match = next(
            (
                r
                for r in sorted(rows, key=lambda r: str(r.get("createdAt") or ""))
                if str(r.get("id")) not in taken
                and str(r.get("createdAt") or "") >= since
                and r.get("platform") == row.get("platform")
                and r.get("accountId") == row.get("accountId")
                and r.get("status") in _OUT
                and identity.similar(str(r.get("text") or ""), text)
            ),
            None,
        )
        if match is None:
            break
        taken.add(str(match.get("id")))
        since = str(match.get("createdAt") or "")
        parts.append(
            {
                "status": match.get("status"),
                "hash": _hash(str(match.get("text") or ""), text, digest),
                "postId": match.get("id"),
                "uri": match.get("platformUri"),
                "cid": match.get("platformCid"),
            }
        )
    if parts:
        rec["parts"] = parts
    return {k: v for k, v in rec.items() if v is not None}
