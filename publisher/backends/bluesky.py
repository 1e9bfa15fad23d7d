"""The Bluesky backend: publishing to a Bluesky account directly (atproto), exactly
once, with no server-side idempotency key.

The protocol, per target:

1. check everything that can be checked locally (text, images, first comment); a
   target that fails here is reported and nothing is written or sent;
2. derive the record key (a TID from the post's identity, the target and the part:
   `reconcile.free_key`; a record already there that is this post, made by a run
   that recorded it nowhere, is adopted) and write it to the file's `published` block
   as ``status: pending`` (with the account's ``did``) — before anything is created;
3. create the record with that key (``com.atproto.repo.createRecord``) and record its
   URI and CID;
4. who may reply and quote: a threadgate and a postgate under the post's own record
   key (the only key Bluesky honours for them). They are due from the start: the
   pending record says ``gates: pending``, and the key drops once both exist. A run
   that adopts the post reads each gate back (``getRecord``) before creating it;
5. the first comment (a reply) the same way, with its own key (``commentRkey``); the
   target stays ``pending`` until the gates and the comment are recorded too, so a
   crash or a failure in between is finished by the next run.

The link card of a post with a link and no media (``card``) is read from the page
just before the post is created (bounded: `linkcard.fetch_card`); a page that gives
no card leaves a post without one and a warning in the outcome, never a failure.
The card is not part of the content hash.

Unpublishing (``unpublish: true``, a DELETE step) writes ``status: unpublishing``
before any delete, then deletes the first comment, the gates and the post
(``deleteRecord`` of an absent record succeeds, so a rerun after a crash just deletes
again), then records ``status: unpublished`` with ``unpublishedAt``.

A re-run finds the pending key, reads the record back (``com.atproto.repo.getRecord``)
and adopts it if it exists, instead of posting again (and the PDS refuses a second
record under the same key anyway: a create refused so, by a second runner that lost
the race, adopts the winner's record). Unlike an Idempotency-Key, this holds for any length
of time: the key lives in the file, not in a server's memory.

A direct target never runs against the sandbox (it would post for real), and refuses
``scheduledAt``: Bluesky has no scheduled posts, and nothing would be running at that
moment to publish it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from publisher import identity
from publisher.backends.base import Lost, Reporter, Request, part_attempt
from publisher.backends.bluesky_content import (
    direct_problems,
    images,
    link_card,
    reply_refs,
    reply_to_option,
)
from publisher.backends.bluesky_keys import Found, free_key, own_record, said, same_post, taken
from publisher.backends.bluesky_keys import field_of as _field
from publisher.backends.bluesky_threads import Outcome, ThreadParts
from publisher.config import DEFAULT_PASSWORD_ENV
from publisher.plan.values import CREATES, Action, FileContext, Plan, Step, StepKind, TargetPlan
from publisher.record import Answer, Failure, Sending, Status, web_url

if TYPE_CHECKING:
    from publisher.clients.atproto import BlueskyAccount, BlueskyError, ReplyRule
    from publisher.config import Account
    from publisher.post import ResolvedTarget
    from publisher.record import Record
    from publisher.run import Run

__all__ = ["BlueskyBackend", "direct_problems"]

# BlueskyError codes as recorded in the file, so that the plan knows which to retry.
_RECORDED_CODES = {"server_error": "platform_unavailable"}
_BSKY = "bluesky"


class BlueskyBackend:
    """Direct Bluesky publishing for one run: one login per account, shared by every
    post of the run and kept in memory only.

    ``factory`` builds the account object for a configured ``Account`` (tests use it to
    wrap the real one); by default it is a ``BlueskyAccount`` whose app password is the
    run's (`Run.app_passwords`, read from the variable the config names).
    """

    name = "bluesky"

    def __init__(
        self,
        run: Run,
        *,
        factory: Callable[[Account], BlueskyAccount] | None = None,
        slots: int = 4,
    ) -> None:
        self.sandbox, self.passwords = run.sandbox, run.app_passwords
        self._factory = factory
        self._accounts: dict[tuple[str, str], BlueskyAccount] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(1, slots))  # as many as letmepost's
        self.parts = ThreadParts()  # the record keys of thread parts, read once per run

    def steps(self, file: FileContext, targets: Sequence[TargetPlan]) -> list[Step]:
        """Per target: an unpublish's deletes, or its post: created under a new record
        key, or (resend) read back at its recorded one and created only if absent;
        then each thread's next parts."""
        out: list[Step] = []
        for tp in targets:
            rec = file.records.get(tp.label)
            if tp.action == Action.UNPUBLISH:  # deleted under its recorded record key
                out.append(Step(StepKind.DELETE, self.name, (tp,), rec.rkey if rec else None))
            elif tp.target is not None and (tp.action in CREATES or tp.action == Action.RESUME):
                resend = tp.action == Action.RESUME or (
                    rec is not None
                    and bool(rec.rkey)
                    and rec.status in (Status.PENDING, Status.FAILED)
                )
                out.append(
                    Step(
                        StepKind.RESEND if resend else StepKind.CREATE,
                        self.name,
                        (tp,),
                        key=rec.rkey if resend and rec is not None else None,
                        attempt=int(rec.attempt) if rec is not None else 0,
                    )
                )
        for tp in targets:  # a part's record key is chosen, and written, when it runs
            for n in tp.parts:
                prec, attempt = part_attempt(tp, n, file.records.get(tp.label))
                key = (
                    prec.key or prec.rkey if prec is not None and prec.status == "pending" else None
                )
                out.append(Step(StepKind.PART, self.name, (tp,), key, attempt, part=n))
        return out

    def lost(self, plan: Plan, born: Mapping[str, int]) -> Lost:
        """Nothing to ask ahead: a direct record is looked for at its derived record
        key right before it would be created (`bluesky_keys.free_key`)."""
        return Lost()

    def requests(self, step: Step, record: Record | None) -> list[Request]:
        out = []
        for tp in step.targets:
            t = tp.target
            pds = t.account.pds if t is not None and t.account is not None else None
            method = "com.atproto.repo.createRecord"
            if step.kind is StepKind.DELETE:  # unpublish: the comment, gates, then the post
                method = "com.atproto.repo.deleteRecord"
            elif step.kind is StepKind.PART:
                method = f"com.atproto.repo.createRecord (part {step.part}, a reply)"
            elif t is not None and t.repost:
                method = "com.atproto.repo.createRecord (app.bsky.feed.repost)"
            elif step.key:  # a recorded record key: read back first, created only if absent
                method = "com.atproto.repo.getRecord + createRecord"
            out.append(Request(method, pds or "", target=tp.label, record_key=step.key))
        return out

    def execute(self, step: Step, record: Record | None, reporter: Reporter) -> None:
        assert record is not None
        for tp in step.targets:
            reporter.checkpoint()
            with self._slots:
                if step.kind is StepKind.DELETE:
                    status, values = self.unpublish(record, tp)
                elif step.kind is StepKind.PART:
                    done = self._part(record, tp, step.part)
                    if done is None:
                        continue  # waits for the part before it (said when that failed)
                    status, values = done
                else:
                    status, values = self.publish(record, tp)
            reporter.outcome(tp, status, **values)

    def account(self, acct: Account) -> BlueskyAccount:
        """The (shared) account object for a configured direct account."""
        from publisher.clients.atproto import BlueskyAccount, BlueskyError

        assert acct.handle and acct.pds
        key = (acct.pds, acct.handle.lower())
        with self._lock:
            if key not in self._accounts:
                if self._factory:
                    self._accounts[key] = self._factory(acct)
                else:
                    env_name = acct.password_env or DEFAULT_PASSWORD_ENV
                    password = self.passwords.get(env_name)
                    if not password:
                        raise BlueskyError(
                            "login_failed",
                            f"${env_name} is not set: it must hold the app password of "
                            f"{acct.handle} (accounts.{acct.alias} in the config)",
                        )
                    self._accounts[key] = BlueskyAccount(
                        acct.handle, acct.pds, password, password_env=env_name
                    )
            return self._accounts[key]

    def publish(self, record: Record, tp: TargetPlan) -> Outcome:
        """Publish (or finish) one direct target; returns (outcome status, outcome fields).

        Every step is written to the file before the next request.
        """
        from publisher.clients.atproto import BlueskyError

        t = tp.target
        assert t is not None and t.account is not None
        if self.sandbox:
            return "skipped", {
                "error": "a direct Bluesky account is not published to in a sandbox run "
                "(it would post for real)"
            }
        problems = direct_problems(t)
        if problems:
            return "rejected", {"error": "; ".join(problems)}
        try:
            account = self.account(t.account)
            account.login()
        except BlueskyError as exc:  # nothing was sent: nothing to record
            return "error", {"error": str(exc)}
        notes: list[str] = []
        if t.repost:
            try:
                uri = self._repost(record, t, account)
            except BlueskyError as exc:
                return self._failed(record, t, exc)
            return "published", {"uri": uri, "note": f"reposted {t.repost}"}
        try:
            uri, cid, adopted = self._post(record, t, account, notes)
            if record.target(t.label).get("gates"):
                self._gates(record, t, account, uri, adopted)
            if t.first_comment:
                self._comment(record, t, account, uri, cid)
        except BlueskyError as exc:
            return self._failed(record, t, exc)
        rec = record.target(t.label)
        values = {"uri": rec.get("uri"), "url": web_url(rec.get("uri"))}
        if notes:
            values["note"] = "; ".join(notes)
        return "published", values

    def unpublish(self, record: Record, tp: TargetPlan) -> Outcome:
        """Take a direct post back: its thread's later parts (last first), its first
        comment, gates and the post itself (or the repost) are deleted, with
        ``unpublishing`` on disk first (deletes are idempotent: a rerun
        after a crash deletes again and finishes)."""
        from publisher.clients.atproto import (
            POST_COLLECTION,
            POSTGATE_COLLECTION,
            REPOST_COLLECTION,
            THREADGATE_COLLECTION,
            BlueskyError,
        )

        t = tp.target
        assert t is not None and t.account is not None
        if self.sandbox:
            return "skipped", {"error": "a direct Bluesky account is not changed in a sandbox run"}
        rec = record.target(t.label)
        rkey, crkey = rec.get("rkey"), rec.get("commentRkey")
        if not rkey:
            return "error", {"error": "no record key is recorded: nothing to delete"}
        try:
            account = self.account(t.account)
            if rec.get("did") and rec["did"] != account.did:
                return "error", {
                    "error": f"recorded in the repository of {rec['did']}, not of "
                    f"{account.handle} ({account.did}): delete it there"
                }
            record.unpublishing(t.label)  # on disk before the first delete: a rerun finishes
            parts = [p["rkey"] for p in rec.get("parts") or [] if p.get("rkey")]
            deletes = [(POST_COLLECTION, k) for k in reversed(parts)]
            deletes += [(THREADGATE_COLLECTION, rkey), (POSTGATE_COLLECTION, rkey)]
            if crkey:
                deletes.insert(0, (POST_COLLECTION, crkey))
            own = REPOST_COLLECTION if t.repost else POST_COLLECTION
            deletes.append((own, rkey))
            # the posts it made before (reposts, replaced parts): newest first, with the
            # gates a post of its own may have had under its record key
            for uri in reversed(rec.get("earlier") or []):
                found = own_record(uri, account.did)
                if found is None:
                    continue  # another repository's (recorded by hand): not ours to delete
                collection, key = found
                deletes.append((collection, key))
                if collection == POST_COLLECTION:
                    deletes += [(THREADGATE_COLLECTION, key), (POSTGATE_COLLECTION, key)]
            for collection, key in deletes:
                account.delete_record(collection, key)
        except BlueskyError as exc:
            return "error", {"error": f"{exc}; the next run deletes again"}
        earlier = len(rec.get("earlier") or [])
        record.unpublished(t.label)
        note = "deleted from Bluesky"
        if earlier:
            note += f", with the {earlier} post{'s' if earlier != 1 else ''} it made before"
        return "unpublished", {"uri": rec.get("uri"), "note": note}

    # -- steps ----------------------------------------------------------------------

    def _post(
        self, record: Record, t: ResolvedTarget, account: BlueskyAccount, notes: list[str]
    ) -> tuple[str, str, bool]:
        """The main record: adopted when a recorded key already exists, else created
        under a key that is on disk first. Returns (uri, cid, adopted)."""
        from publisher.clients.atproto import BlueskyError

        rec = record.target(t.label)
        recorded = rec.get("rkey")
        unfinished = isinstance(recorded, str) and rec.get("status") in ("pending", "failed")
        rkey = recorded if unfinished and isinstance(recorded, str) else ""
        found: Found | None = account.get_post(rkey, repo=rec.get("did")) if unfinished else None
        if not unfinished:  # a new post, or a deliberate repost: its derived key
            rkey, found = self._derived(record, t, account, notes)
        if found is not None:  # created by an earlier run that did not record (all of) it
            return self._adopt(record, t, account, found)
        external = link_card(t, notes)  # read before the key is written: nothing to undo
        # What it answers or quotes, resolved before the key is written (a post that is
        # gone is a failure with nothing sent); the reply's root is kept for its thread.
        reply_to, quote = reply_to_option(t), None
        if t.reply_to:
            reply_to = reply_refs(account, t.reply_to)
        if t.quote:
            quote = account.resolve_post(t.quote)
        # on disk before the record exists; a thread under a reply shares its root
        reply_root = f"{reply_to[2]} {reply_to[3]}" if reply_to and t.parts else None
        _announce(record, t, account, rkey, fresh=not unfinished, reply_root=reply_root)
        try:
            uri, cid = account.create_post(
                t.text,
                rkey=rkey,
                images=images(t),
                reply_to=reply_to,
                quote=quote,
                langs=list(t.extras.langs) or None,
                labels=t.extras.labels,
                external=external,
            )
        except BlueskyError as exc:
            # Another run (a second CI runner) created it meanwhile under the same
            # derived key: the PDS refused a second one; that one is adopted.
            made = taken(exc, account, rkey, lambda f: same_post(f, t.text, None))
            if made is None:
                raise
            notes.append("created meanwhile by another run: adopted, not posted again")
            return self._adopt(record, t, account, made)
        self._record_post(record, t, account, uri, cid)
        return uri, cid, False

    def _derived(
        self, record: Record, t: ResolvedTarget, account: BlueskyAccount, notes: list[str]
    ) -> tuple[str, Found | None]:
        """A new post's derived record key, and the post there when a run that
        recorded it nowhere made it (announced at once, to adopt)."""
        # what it made before: `earlier` (written with the pending key: a target with
        # nothing out yet must never be on disk as an empty record)
        record.superseded(t.label, save=False)
        rkey, found = free_key(record, t, account, 1, lambda f: same_post(f, t.text, None))
        if found is not None:  # made by a run that recorded it nowhere: adopted
            root = _field(found, "value", "reply", "root")
            uri, cid = _field(root, "uri"), _field(root, "cid")
            reply_root = f"{uri} {cid}" if t.parts and uri and cid else None
            _announce(record, t, account, rkey, fresh=True, reply_root=reply_root)
            notes.append("found on Bluesky at its record key: adopted, not posted again")
        return rkey, found

    def _adopt(
        self, record: Record, t: ResolvedTarget, account: BlueskyAccount, found: Found
    ) -> tuple[str, str, bool]:
        """A post another run made: recorded as this target's (with a hash of its own
        words when they differ from the file's: the edit policy decides)."""
        uri, cid = str(found["uri"]), str(found["cid"])
        self._record_post(record, t, account, uri, cid)
        _adopted_text(record, t, found)
        return uri, cid, True

    # -- threads and reposts ---------------------------------------------------------

    def _part(self, record: Record, tp: TargetPlan, n: int) -> Outcome | None:
        """Part `n` of the target's thread (`ThreadParts.send`); nothing in a sandbox
        run (part 1 was not posted either)."""
        t = tp.target
        assert t is not None and t.account is not None
        if self.sandbox:
            return None
        acct = t.account

        def login() -> BlueskyAccount:
            account = self.account(acct)
            account.login()
            return account

        return self.parts.send(record, t, n, login)

    def _repost(self, record: Record, t: ResolvedTarget, account: BlueskyAccount) -> str:
        """`repost: URL`: an `app.bsky.feed.repost` record, recorded like a post; its
        record key is on disk before it exists, and a rerun adopts it."""
        from publisher.clients.atproto import REPOST_COLLECTION, BlueskyError

        assert t.repost is not None
        rec = record.target(t.label)
        recorded = rec.get("rkey") if rec.get("status") in ("pending", "failed") else None
        rkey = recorded if isinstance(recorded, str) else ""
        found: Found | None = None
        if rkey:
            found = account.get_record(REPOST_COLLECTION, rkey, repo=rec.get("did"))
        if found is None:
            subject = account.resolve_post(t.repost)  # gone: a failure, nothing written

            def mine(f: Found) -> bool:
                return _field(f, "value", "subject", "uri") == subject[0]

            if not rkey:  # its derived key: made by a run that recorded it nowhere?
                rkey, found = free_key(record, t, account, 1, mine, REPOST_COLLECTION)
                # on disk before the repost exists; one it replaces: `earlier`
                _announce(record, t, account, rkey, fresh=True)
        if found is None:
            try:
                uri, cid = account.create_repost(subject[0], subject[1], rkey)
            except BlueskyError as exc:
                made = taken(exc, account, rkey, mine, REPOST_COLLECTION)
                if made is None:
                    raise
                uri, cid = str(made["uri"]), str(made["cid"])
        else:
            uri, cid = str(found["uri"]), str(found["cid"])
        record.answered(t.label, Answer(Status.PUBLISHED, uri=uri, cid=cid, rkey=rkey))
        return uri

    def _record_post(
        self, record: Record, t: ResolvedTarget, account: BlueskyAccount, uri: str, cid: str
    ) -> None:
        from publisher.clients.atproto import parse_post_uri

        did, rkey = parse_post_uri(uri)
        due = t.first_comment or record.target(t.label).get("gates")
        answer = Answer(
            # pending until the gates and the first comment are recorded too
            Status.PENDING if due else Status.PUBLISHED,
            uri=uri, cid=cid, did=did, rkey=rkey, platform=_BSKY,
        )  # fmt: skip
        record.answered(t.label, answer)

    def _gates(
        self, record: Record, t: ResolvedTarget, account: BlueskyAccount, uri: str, adopted: bool
    ) -> None:
        """The threadgate and postgate under the post's record key. After a crash (the
        post was adopted) each is read back first and created only when absent; a key
        that turns out taken (``record_exists``) is one that exists: never a second."""
        from publisher.clients.atproto import (
            POSTGATE_COLLECTION,
            THREADGATE_COLLECTION,
            BlueskyError,
        )

        rkey = record.target(t.label)["rkey"]
        x = t.extras
        wanted: list[tuple[str, Callable[[], object]]] = []
        if x.threadgate:
            rules = [_REPLY_RULES[r] for r in x.replies]
            allow: ReplyRule | list[ReplyRule] = rules[0] if len(rules) == 1 else rules
            wanted.append(
                (THREADGATE_COLLECTION, lambda: account.create_threadgate(uri, rkey, allow))
            )
        if x.postgate:
            wanted.append((POSTGATE_COLLECTION, lambda: account.create_postgate(uri, rkey)))
        for collection, create in wanted:
            if adopted and account.get_record(collection, rkey) is not None:
                continue
            try:
                create()
            except BlueskyError as exc:
                if exc.code != "record_exists":
                    raise
        status = Status.PENDING if t.first_comment else Status.PUBLISHED
        record.answered(t.label, Answer(status, gates_done=True))

    def _comment(
        self, record: Record, t: ResolvedTarget, account: BlueskyAccount, uri: str, cid: str
    ) -> None:
        from publisher.clients.atproto import BlueskyError, parse_post_uri

        assert t.first_comment is not None
        rec = record.target(t.label)
        # its key is derived from the post's own (a run that adopted the post finds the
        # comment another run made)
        crkey = rec.get("commentRkey") or identity.record_key(
            f"comment:{parse_post_uri(uri)[1]}", 1, 1, 1
        )
        found = account.get_post(crkey, repo=rec.get("did"))
        if found is not None:
            c_uri, c_cid = str(found["uri"]), str(found["cid"])
        else:
            if not rec.get("commentRkey"):
                record.comment_pending(t.label, crkey)  # on disk before the reply exists
            parent = reply_to_option(t)
            root_uri, root_cid = (parent[2], parent[3]) if parent else (uri, cid)
            try:
                c_uri, c_cid = account.create_post(
                    t.first_comment, rkey=crkey, reply_to=(uri, cid, root_uri, root_cid)
                )
            except BlueskyError as exc:
                made = taken(exc, account, crkey, lambda f: True)
                if made is None:
                    raise
                c_uri, c_cid = str(made["uri"]), str(made["cid"])
        answer = Answer(Status.PUBLISHED, first_comment_uri=c_uri, first_comment_cid=c_cid)
        record.answered(t.label, answer)

    def _failed(self, record: Record, t: ResolvedTarget, exc: BlueskyError) -> Outcome:
        """Record a failure after the key was written. The key stays, so the next run
        adopts the record if the request did create it."""
        rec = record.target(t.label)
        code = _RECORDED_CODES.get(exc.code, exc.code)
        failure = Failure(code, str(exc))
        if rec.get("uri"):  # the post is out; only its first comment is missing
            record.failed(t.label, failure, status=Status.PENDING)
            what = "its reply and quote settings" if rec.get("gates") else "the first comment"
            return "failed", {
                "uri": rec["uri"],
                "url": web_url(rec["uri"]),
                "error": f"posted, but {what} failed: {exc}; the next run "
                f"adds {what} (and only that)",
            }
        status = Status.REJECTED if exc.code == "rejected" else Status.FAILED
        record.failed(t.label, failure, status=status, hash=t.hash, platform=_BSKY)
        return str(status), {"error": str(exc)}


#: The reply rules the frontmatter may give (validation checked them).
_REPLY_RULES: dict[str, ReplyRule] = {
    "everyone": "everyone",
    "nobody": "nobody",
    "following": "following",
    "followers": "followers",
    "mentioned": "mentioned",
}


def _adopted_text(record: Record, t: ResolvedTarget, found: Found) -> None:
    """An adopted post whose words differ from the file's (a typo fixed since): its
    recorded hash is not the file's, so the edit policy decides about the difference."""
    text = said(found)
    if identity.normalize_text(text) != identity.normalize_text(t.text):
        record.rehashed(t.label, identity.digest({"adopted": text}))


def _announce(
    record: Record,
    t: ResolvedTarget,
    account: BlueskyAccount,
    rkey: str,
    *,
    fresh: bool,
    reply_root: str | None = None,
) -> None:
    """The record key a create goes under, `pending` on disk before the create (a
    rerun reads it back and adopts what exists); `fresh`: a new post, whatever the
    target made before joins `earlier`."""
    attempt = record.attempt(t.label) + 1
    sending = Sending(attempt, t.hash, rkey=rkey, did=account.did, platform=_BSKY)
    record.pending(t.label, sending, fresh=fresh, gates=bool(t.extras.gates), reply_root=reply_root)
