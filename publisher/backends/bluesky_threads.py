"""A direct Bluesky thread's later parts: each a reply to the part before it, its
record key on disk before the record exists, read back (and adopted) by a rerun,
and found at another position of the thread when a part was inserted or removed
while the `published` block was lost (docs/internals.md, "Threads")."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from publisher import identity
from publisher.backends.bluesky_keys import (
    MAX_GENERATIONS,
    Found,
    adopted_hash,
    free_key,
    parent_of,
    said,
    same_post,
    slot,
    taken,
)
from publisher.record import Answer, Failure, Record, Sending, Status

if TYPE_CHECKING:
    from publisher.clients.atproto import BlueskyAccount
    from publisher.post import ResolvedTarget

__all__ = ["Outcome", "ThreadParts"]

#: What a direct step tells the run: (status, the outcome's fields).
Outcome = tuple[str, dict[str, str | None]]


class ThreadParts:
    """The thread parts of one run: every record key read at most once (`seen`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reads: dict[tuple[int, str], Found | None] = {}

    def send(
        self, record: Record, t: ResolvedTarget, n: int, login: Callable[[], BlueskyAccount]
    ) -> Outcome | None:
        """Part `n` of the target's thread, a reply to part n-1 (the root is part 1, or
        the conversation's root when part 1 answers another post). Its record key is on
        disk before the record exists; a rerun adopts it (getRecord). None when the
        part before it is not out (its own outcome said why). `login` gives the
        account, logged in."""
        from publisher.clients.atproto import BlueskyError

        rec = record.target(t.label)
        parent = rec if n == 2 else record.part(t.label, n - 1)
        if not parent or not parent.get("uri") or parent.get("status") != "published":
            if n == 2 and rec.get("status") == "published":
                return "waiting", {"note": f"part {n} waits for part {n - 1}"}
            return None
        root = (str(rec["uri"]), str(rec.get("cid", "")))
        if rec.get("replyRoot"):
            root_uri, root_cid = str(rec["replyRoot"]).split(" ", 1)
            root = (root_uri, root_cid)
        reply_to = (str(parent["uri"]), str(parent.get("cid", "")), *root)
        try:
            uri, cid, rkey, digest = self._made(record, t, n, login(), reply_to)
        except BlueskyError as exc:
            record.failed(t.label, Failure(exc.code, str(exc)), part=n)
            return "failed", {"error": f"part {n}: {exc}"}
        answer = Answer(Status.PUBLISHED, uri=uri, cid=cid, hash=digest, rkey=rkey)
        record.answered(t.label, answer, part=n)
        return "published", {"uri": uri, "note": f"part {n}"}

    def _made(
        self,
        record: Record,
        t: ResolvedTarget,
        n: int,
        account: BlueskyAccount,
        reply_to: tuple[str, str, str, str],
    ) -> tuple[str, str, str, str]:
        """(uri, cid, record key, hash) of part `n`: adopted where a run made it, else
        created under a key on disk first."""
        from publisher.clients.atproto import BlueskyError

        prev = record.part(t.label, n)
        # a recorded key whose answer was lost (pending) or whose create failed
        # (maybe after the PDS stored it): read back, adopted if it exists
        unfinished = prev is not None and prev.get("status") in ("pending", "failed")
        recorded = prev.get("rkey") if prev is not None and unfinished else None
        rkey = recorded if isinstance(recorded, str) else None
        found: Found | None = None
        if rkey:
            found = account.get_post(rkey, repo=record.target(t.label).get("did"))
        text, digest, parent = t.parts[n - 2], t.part_hashes[n - 2], reply_to[0]

        def mine(f: Found) -> bool:
            return same_post(f, text, parent)

        if rkey is None:  # made by a run that recorded it nowhere, at another place?
            rkey, found = self._elsewhere(record, t, account, n, parent) or (None, None)
        if rkey is None:  # its derived key; a run that recorded it nowhere made it?
            rkey, found = free_key(record, t, account, n, mine)
            if found is not None:
                digest = adopted_hash(found, text, digest)
        if recorded is None:  # the part's key is on disk before the record exists
            attempt = int((prev or {}).get("attempt", 0)) + 1
            record.pending(t.label, Sending(attempt, t.part_hashes[n - 2], rkey=rkey), part=n)
        if found is not None:
            return str(found["uri"]), str(found["cid"]), rkey, digest
        try:
            uri, cid = account.create_post(
                text,
                rkey=rkey,
                reply_to=reply_to,
                langs=list(t.extras.langs) or None,
                labels=t.extras.labels,
            )
        except BlueskyError as exc:
            made = taken(exc, account, rkey, mine)  # another run made it meanwhile
            if made is None:
                raise
            uri, cid = str(made["uri"]), str(made["cid"])
            digest = adopted_hash(made, text, digest)
        self.seen(account, rkey, {"uri": uri, "cid": cid, "value": {"text": text}})
        return uri, cid, rkey, digest

    def seen(self, account: BlueskyAccount, rkey: str, made: Found | None = None) -> Found | None:
        """The post at `rkey` (None: absent), read once per run (`made`: this run just
        created it there)."""
        key = (id(account), rkey)
        with self._lock:
            if made is not None:
                self._reads[key] = made
            if key in self._reads:
                return self._reads[key]
        found = account.get_post(rkey)
        with self._lock:
            self._reads[key] = found
        return found

    def _elsewhere(
        self, record: Record, t: ResolvedTarget, account: BlueskyAccount, n: int, parent: str
    ) -> tuple[str, Found] | None:
        """Part `n` made by a run that recorded it nowhere, under the key of another
        position of the thread (a part inserted or removed since, with the block lost):
        a record at a derived key of parts 2..max(now, recorded)+1, any generation up to
        the first absent one, that says this part's words and replies to a post of this
        thread (the part before it preferred). Each key is read once per run; keys of
        posts the record holds are passed over without a request."""
        thread, known, recorded = _thread(record, t)
        words = identity.normalize_text(t.parts[n - 2])
        place = slot(record.post, t)
        last = max(len(t.parts), recorded) + 2
        candidates: list[tuple[str, Found]] = []
        for m in range(2, last + 1):
            for generation in range(1, MAX_GENERATIONS + 1):
                rkey = identity.record_key(record.post.identity, place, m, generation)
                if rkey in known:
                    continue
                found = self.seen(account, rkey)
                if found is None:
                    break
                thread.add(str(found.get("uri") or ""))
                if identity.normalize_text(said(found)) == words:
                    candidates.append((rkey, found))
        for rkey, found in candidates:  # the part before it first, then any of the thread
            if parent_of(found) == parent:
                return rkey, found
        for rkey, found in candidates:
            if parent_of(found) in thread:
                return rkey, found
        return None


def _thread(record: Record, t: ResolvedTarget) -> tuple[set[str], set[str], int]:
    """The URIs of the posts of `t`'s thread the record holds, their record keys, and
    how many parts it records."""
    from publisher.clients.atproto import parse_post_uri

    rec = record.target(t.label)
    recorded = [p for p in rec.get("parts") or [] if isinstance(p, dict)]
    thread = {str(u) for u in (rec.get("uri"), *(rec.get("earlier") or [])) if u}
    thread |= {str(p["uri"]) for p in recorded if p.get("uri")}
    known = set()
    for uri in thread:
        try:
            known.add(parse_post_uri(uri)[1])
        except ValueError:
            continue
    return thread, known, len(recorded)
