"""Ask before creating: before a target with no usable record is sent as new, the
places that may know it went out already are asked, like Terraform's refresh. A
target found there is adopted (its record written, nothing sent), never posted again.

1. Git history (`history.committed_records`): the file's committed versions on every
   ref the clone has and on the run's `refs` (a push event's ``before``, fetched by
   its id when a force push left it out of the clone), renames followed. One ``git
   log`` and one ``git cat-file --batch`` per run.
2. The server:
   - letmepost: the account's post log, ``GET /v1/posts?after=`` the first commit of
     the oldest file looked for (at most `WINDOW` back), read once per run for every
     file (at most `PAGES` pages of 200), matched by platform, account and words (or
     nearly: a typo fixed since is adopted with a hash of its own words, so `onEdit`
     decides). Only for files git knows, only posts made after the file's first
     commit (a new file saying what an old one said is a new post), that no file
     records, and that one target alone could claim (else neither does: each goes
     its own way). This is what still knows a post once the server has forgotten
     its Idempotency-Key (24 h).
   - direct Bluesky: the record at the target's derived record key
     (`identity.record_key`): `free_key`, asked by the backend right before it
     creates (the request that would create is the one that asks), and adopted when
     it is this post (`same_post`).

`plan` stays offline (git history only) unless asked (``--refresh``); ``publish``
and ``ci`` reconcile. `Reconciler` keeps what it learnt for the run: the plan is
made again (an open connection, the accounts list) without asking twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from publisher import identity
from publisher.plan import Action, FilePlan, Plan, make_plan

if TYPE_CHECKING:
    from publisher.clients.atproto import BlueskyAccount
    from publisher.post import Post, ResolvedTarget
    from publisher.record import Record
    from publisher.run import Connection, Run

__all__ = ["PAGES", "WINDOW", "Reconciler", "free_key", "same_post"]

#: How far back the letmepost post log is read at most.
WINDOW = dt.timedelta(days=30)
#: At most this many pages of 200 posts per run.
PAGES = 10
#: How far a server's clock and git's may disagree (seconds).
SKEW = 300
#: Post statuses that mean it is (or will be) out.
_OUT = frozenset({"published", "publishing", "queued", "validated"})


class Reconciler:
    """The plan of `posts` for `run`, with what git history and the server know."""

    def __init__(
        self, posts: Sequence[Post], run: Run, *, refs: Sequence[str] = (), **options: Any
    ) -> None:
        self.posts, self.run, self.refs, self.options = list(posts), run, tuple(refs), options
        self._history: dict[str, list[dict[str, Any]]] | None = None
        self._server: dict[str, list[dict[str, Any]]] | None = None
        self._born: dict[str, int] = {}  # post path -> its file's first commit time
        self.asked: list[str] = []  # what was asked, for the run's story

    def plan(self, api: Connection | None = None, *, accounts: bool = True) -> Plan:
        """The plan; with `api` (an open connection with a client) the server is
        asked too (once), and platform-only targets are checked against the
        accounts list."""
        plan = make_plan(self.posts, self.run, **self.options)
        if not _asks(plan):
            return self._with_accounts(plan, api, accounts)
        if self._history is None:
            from publisher.history import committed_records

            self._history = committed_records(plan, self.refs, self._born)
            self.asked.append("git history")
        history = self._history
        if history:
            plan = make_plan(self.posts, self.run, **self.options, history=history)
        if api is not None and api.client is not None and self._server is None:
            self._server = self._letmepost(plan, api)
        if self._server:
            paths = {*history, *self._server}
            history = {p: [*self._server.get(p, []), *history.get(p, [])] for p in paths}
            plan = make_plan(self.posts, self.run, **self.options, history=history)
        self._history_used = history
        return self._with_accounts(plan, api, accounts)

    def _with_accounts(self, plan: Plan, api: Connection | None, accounts: bool) -> Plan:
        if not accounts or api is None or not plan.needs_accounts:
            return plan
        found = api.accounts()
        if found is None:
            return plan
        history = getattr(self, "_history_used", None) or None
        return make_plan(self.posts, self.run, **self.options, history=history, accounts=found)

    # -- letmepost: the post log ----------------------------------------------------

    def _letmepost(self, plan: Plan, api: Connection) -> dict[str, list[dict[str, Any]]]:
        """Per post path, a block holding what the post log says went out for its
        new letmepost targets (as `make_plan(history=...)` reads it)."""
        wanted = [
            (f, tp)
            for f in plan.files
            for tp in f.targets
            if tp.action in (Action.PUBLISH, Action.RETRY)
            and tp.target is not None
            and tp.backend == "letmepost"
            and not _recorded_out(f, tp.label)
            and f.post.rel in self._born  # a file git does not know has no lost post
        ]
        if not wanted:
            return {}
        # the window: since the oldest of these files was first committed (no post of
        # a file is older), at most `WINDOW` back
        oldest = min(self._born[f.post.rel] for f, _ in wanted) - SKEW
        after = max(dt.datetime.now(dt.UTC) - WINDOW, dt.datetime.fromtimestamp(oldest, dt.UTC))
        rows = _post_log(api, after)
        self.asked.append(f"letmepost post log ({len(rows)} posts)")
        if not rows:
            return {}
        taken = _recorded_ids(self.posts)
        out: dict[str, list[dict[str, Any]]] = {}
        done: set[tuple[str, str]] = set()
        for exact in (True, False):  # the same words first; then a typo fixed since
            claims: dict[str, list[tuple[FilePlan, Any]]] = {}
            for f, tp in wanted:
                if (f.path, tp.label) in done:
                    continue
                # no post of a file is older than the file (a margin for clocks apart)
                since = dt.datetime.fromtimestamp(self._born[f.post.rel] - SKEW, dt.UTC)
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
            for (path, label), rids in mine.items():
                f, tp = next((f, tp) for f, tp in wanted if (f.path, tp.label) == (path, label))
                row = min((r for r in rows if str(r.get("id")) in rids), key=_created)
                taken.add(str(row.get("id")))
                rec = _adopted(row, tp.target, rows, taken)  # takes its parts too
                block = {
                    "env": str(self.run.env),
                    "api": self.run.api,
                    "updatedAt": rec.get("at"),
                    "targets": {tp.label: {**rec, "_from": "the letmepost post log"}},
                }
                out.setdefault(f.post.rel, []).append(block)
                done.add((path, label))
        return out


def _created(row: Mapping[str, Any]) -> dt.datetime:
    from publisher.record import iso_z

    when = iso_z(row.get("createdAt"))
    if when is None:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(when.replace("Z", "+00:00"))


def _asks(plan: Plan) -> bool:
    from publisher.history import ASKS_HISTORY

    return any(tp.action in ASKS_HISTORY for f in plan.files for tp in f.targets)


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


def _post_log(api: Connection, after: dt.datetime) -> list[dict[str, Any]]:
    """The account's posts since `after`: one listing, paged (at most `PAGES`)."""
    from publisher.clients.letmepost import ApiError, NetworkError

    assert api.client is not None
    params: dict[str, Any] = {"after": after.strftime("%Y-%m-%dT%H:%M:%SZ"), "limit": 200}
    rows: list[dict[str, Any]] = []
    try:
        for _ in range(PAGES):
            page = api.client.list_posts(**params)
            rows.extend(r for r in page.get("data") or [] if isinstance(r, dict))
            cursor = page.get("nextCursor")
            if not cursor:
                break
            params["cursor"] = cursor
    except (ApiError, NetworkError):
        return rows  # what was read; the Idempotency-Key still guards the rest
    return rows


def _matches(row: Mapping[str, Any], t: Any, exact: bool) -> bool:
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
    row: Mapping[str, Any], t: Any, rows: Sequence[Mapping[str, Any]], taken: set[str]
) -> dict[str, Any]:
    """A target record for a logged post (and its thread's later parts found after
    it, in order, each once)."""
    from publisher.record import iso_z

    rec: dict[str, Any] = {
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


# -- direct Bluesky: the record at its derived key --------------------------------------

#: How many generations of a record key are tried before giving up (each a getRecord):
#: one per deliberate new post of the target, and one per post of another file that
#: once had this path.
MAX_GENERATIONS = 200


def slot(post: Any, t: ResolvedTarget) -> int:
    """Which of the post's targets on `t`'s account `t` is (1 unless a post names one
    account twice): alias renames do not change it."""
    acct = t.account
    assert acct is not None

    def same(o: Any) -> bool:
        a = o.account
        return (
            bool(o.direct)
            and a is not None
            and (a.pds, (a.handle or "").lower())
            == (
                acct.pds,
                (acct.handle or "").lower(),
            )
        )

    return 1 + sum(1 for o in post.targets if o.index < t.index and same(o))


def free_key(
    record: Record,
    t: ResolvedTarget,
    account: BlueskyAccount,
    part: int,
    mine: Callable[[Mapping[str, Any]], bool],
    collection: str = "app.bsky.feed.post",
) -> tuple[str, dict[str, Any] | None]:
    """The derived record key a new record of `t` (thread part `part`) goes under, and
    the record already there when it is this very one (`mine`: made by a run that
    recorded it nowhere), to adopt. Generations the target made before (its `uri`,
    its `earlier` URIs, its parts') are passed over without a request; a record of
    something else (a file deleted, its path used again) moves on to the next."""
    from publisher.clients.atproto import BlueskyError, parse_post_uri

    rec = record.target(t.label)
    known: set[str] = set()
    uris = [rec.get("uri"), *(rec.get("earlier") or [])]
    uris += [p.get("uri") for p in rec.get("parts") or [] if isinstance(p, dict)]
    for uri in uris:
        if not uri:
            continue
        try:
            known.add(parse_post_uri(str(uri))[1])
        except ValueError:
            continue
    place = slot(record.post, t)
    for generation in range(1, MAX_GENERATIONS + 1):
        rkey = identity.record_key(record.post.identity, place, part, generation)
        if rkey in known:
            continue
        found = account.get_record(collection, rkey)
        if found is None:
            return rkey, None
        if mine(found):
            return rkey, found
    raise BlueskyError(
        "record_exists",
        f"{MAX_GENERATIONS} record keys of this post are taken by other records: give the "
        "file an `id:` of its own",
    )


def same_post(found: Mapping[str, Any], text: str, parent: str | None) -> bool:
    """Whether a post found at a derived key is this one: its words (or a small edit
    of them), and for a thread's reply, the same parent."""
    value = found.get("value") or {}
    if parent is not None and ((value.get("reply") or {}).get("parent") or {}).get("uri") != parent:
        return False
    return identity.similar(str(value.get("text") or ""), text)
