"""Publishing to a Bluesky account directly (atproto), exactly once, with no
server-side idempotency key.

The protocol, per target:
1. choose the record key (a TID) and write it to the file's `published` block as
   ``status: pending`` — before anything is created;
2. create the record with that key (``com.atproto.repo.createRecord``);
3. record the URI and CID.

A re-run after a crash between 1 and 3 finds the pending key, reads the record back
(``com.atproto.repo.getRecord``) and adopts it if it exists, instead of posting again;
the PDS refuses a second record under the same key anyway. The first comment (a reply)
follows the same steps with its own key. Unlike an Idempotency-Key this holds for any
length of time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from publisher.apply import Book
    from publisher.config import Account
    from publisher.plan import TargetPlan
    from publisher.post import ResolvedTarget


class DirectBluesky:
    """Direct Bluesky publishing for one run: one login per account, reused."""

    def __init__(
        self,
        environ: Mapping[str, str],
        *,
        factory: Callable[[Account], Any] | None = None,
    ) -> None:
        self.environ = environ
        self._factory = factory
        self._accounts: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def account(self, t: ResolvedTarget) -> Any:
        from publisher.bluesky import BlueskyAccount, BlueskyError

        acct = t.account
        assert acct is not None and acct.handle and acct.pds
        key = (acct.pds, acct.handle)
        with self._lock:
            if key not in self._accounts:
                if self._factory:
                    self._accounts[key] = self._factory(acct)
                else:
                    env_name = acct.password_env or "BLUESKY_APP_PASSWORD"
                    password = self.environ.get(env_name)
                    if not password:
                        raise BlueskyError(
                            "auth",
                            f"${env_name} is not set: it must hold the app password of {acct.handle}",
                        )
                    self._accounts[key] = BlueskyAccount(
                        acct.handle, acct.pds, password, password_env=env_name
                    )
            return self._accounts[key]

    def publish(self, book: Book, tp: TargetPlan) -> tuple[str, dict[str, Any]]:
        """Publish (or resume) one direct target; returns (status, outcome fields)."""
        from publisher.apply import now_iso, web_url
        from publisher.bluesky import BlueskyError, new_tid

        t = tp.target
        assert t is not None
        try:
            account = self.account(t)
            rec = book.target(t.label)
            rkey = rec.get("rkey")
            resumable = (
                bool(rkey)
                and rec.get("status") in ("pending", "failed")
                and rec.get("hash") == t.hash
            )
            uri = cid = None
            if resumable and (found := account.get_post(rkey)) is not None:
                uri, cid = found["uri"], found["cid"]  # created before a crash: adopt it
            elif rec.get("status") == "published" and rec.get("hash") == t.hash:
                uri, cid = rec["uri"], rec["cid"]  # only the first comment is missing
            if uri is None:
                if not resumable:
                    rkey = new_tid()
                book.set_target(
                    t.label,
                    {
                        "platform": "bluesky",
                        "status": "pending",
                        "hash": t.hash,
                        "did": account.did,
                        "rkey": rkey,
                        "attempt": book.attempt(t.label) + 1,
                        "at": now_iso(),
                    },
                )
                book.target(t.label).pop("error", None)
                book.save()  # the key is on disk before the record exists
                uri, cid = account.create_post(t.text, rkey=rkey, images=_images(t))
            book.set_target(
                t.label,
                {
                    "status": "published",
                    "uri": uri,
                    "cid": cid,
                    "url": web_url(uri, "bluesky"),
                    "at": now_iso(),
                },
            )
            book.target(t.label).pop("error", None)
            book.save()
            if t.first_comment:
                self._comment(book, t, account, uri, cid)
        except BlueskyError as exc:
            published = book.target(t.label).get("status") == "published"
            book.set_target(
                t.label,
                {
                    "platform": "bluesky",
                    "status": "published" if published else "failed",
                    "hash": t.hash,
                    "error": {"code": exc.code, "message": str(exc)},
                },
            )
            book.save()
            return "failed", {"error": str(exc)}
        rec = book.target(t.label)
        return "published", {"uri": rec.get("uri"), "url": rec.get("url")}

    def _comment(self, book: Book, t: ResolvedTarget, account: Any, uri: str, cid: str) -> None:
        from publisher.bluesky import new_tid

        rec = book.target(t.label)
        if rec.get("firstCommentUri"):
            return
        crkey = rec.get("commentRkey")
        found = account.get_post(crkey) if crkey else None
        if found is None:
            if not crkey:
                crkey = new_tid()
                book.set_target(t.label, {"commentRkey": crkey})
                book.save()
            c_uri, c_cid = account.create_post(
                t.first_comment, rkey=crkey, reply_to=(uri, cid, uri, cid)
            )
        else:
            c_uri, c_cid = found["uri"], found["cid"]
        book.set_target(t.label, {"firstCommentUri": c_uri, "firstCommentCid": c_cid})
        book.save()


def _images(t: ResolvedTarget) -> list[tuple[bytes, str, str]]:
    return [(m.path.read_bytes(), m.mime or "", m.alt or "") for m in t.media if m.path is not None]
