"""`BlueskyAccount`: one account's records on its PDS. Posts (facets, images, link
cards, quotes, replies, languages, self-labels), threadgates, postgates and reposts,
each created under the record key the caller chose (``createRecord`` with ``rkey``), so
a caller can record the key *before* creating the record and adopt it later with
``get_record`` after a crash; a key that is taken is ``record_exists``, never an
overwrite. Reads: ``get_record``, ``list_records``, handles and post references."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from publisher.clients.atproto.checks import (
    External,
    check_image,
    check_post,
    check_rkey,
    check_strong_ref,
)
from publisher.clients.atproto.errors import BlueskyError, xrpc_error
from publisher.clients.atproto.facets import build_facets
from publisher.clients.atproto.ids import (
    POST_COLLECTION,
    POSTGATE_COLLECTION,
    REPOST_COLLECTION,
    THREADGATE_COLLECTION,
    parse_post_ref,
    parse_post_uri,
)
from publisher.clients.atproto.session import AccountSession, now_iso

__all__ = ["BlueskyAccount", "ReplyRule"]

# Who may reply (app.bsky.feed.threadgate): "everyone" means no gate, "nobody" an
# empty allow list; the others are rules and can be combined.
ReplyRule = Literal["everyone", "nobody", "following", "followers", "mentioned"]
_REPLY_RULES = {
    "following": "app.bsky.feed.threadgate#followingRule",
    "followers": "app.bsky.feed.threadgate#followerRule",
    "mentioned": "app.bsky.feed.threadgate#mentionRule",
}


class BlueskyAccount(AccountSession):
    """One Bluesky account on one PDS, used with an app password from the environment.

    ``password_env`` only names the variable the password came from, for messages.
    Nothing touches the network until a method needs it; the first such call logs in
    (once per process for this PDS and handle).
    """

    def __repr__(self) -> str:
        return f"BlueskyAccount(handle={self._handle!r}, pds_url={self._pds_url!r})"

    def resolve_handle(self, handle: str) -> str | None:
        """The DID of ``handle`` (``com.atproto.identity.resolveHandle``), or None if unknown.

        Network and server failures raise: a mention silently left unlinked could not
        be fixed after publishing.
        """
        handle = handle.removeprefix("@").lower()
        if handle not in self._resolved:
            try:
                out = self._query(
                    "com.atproto.identity.resolveHandle", {"handle": handle}, f"resolve @{handle}"
                )
            except BlueskyError as exc:
                if exc.code != "rejected":
                    raise
                out = {}
            if not out:
                self._resolved[handle] = None
            else:
                from publisher.clients import atproto_answers as answers

                what = f"resolve @{handle}"
                self._resolved[handle] = answers.read(
                    answers.HandleAnswer, out, what, self._pds_url
                ).did
        return self._resolved[handle]

    def upload_image(self, data: bytes, mime: str) -> dict[str, object]:
        """Upload an image blob; returns its blob ref (JSON form, for an embed)."""
        check_image(data, mime, "image")
        out = self._procedure(
            "com.atproto.repo.uploadBlob",
            f"upload image ({len(data)} bytes)",
            content=data,
            input_encoding=mime,
        )
        from publisher.clients import atproto_answers as answers

        answers.read(answers.BlobAnswer, out, "upload image", self._pds_url)
        blob = out["blob"]
        return blob if isinstance(blob, dict) else {}  # an object: the model read it

    def create_post(
        self,
        text: str,
        *,
        rkey: str,
        images: Sequence[tuple[bytes, str, str]] = (),
        reply_to: tuple[str, str, str, str] | None = None,
        created_at: str | None = None,
        langs: Sequence[str] | None = None,
        labels: Sequence[str] = (),
        external: External | None = None,
        quote: tuple[str, str] | None = None,
    ) -> tuple[str, str]:
        """Create ``app.bsky.feed.post/<rkey>``; returns ``(uri, cid)``.

        ``images`` are ``(bytes, mime, alt)``; ``reply_to`` is ``(parent_uri,
        parent_cid, root_uri, root_cid)``; ``langs`` are BCP-47 tags (at most 3);
        ``labels`` self-labels from ``SELF_LABELS``; ``external`` a link card (its
        thumbnail is uploaded as a blob); ``quote`` the ``(uri, cid)`` of a post to
        quote (``app.bsky.embed.record``, or ``app.bsky.embed.recordWithMedia`` with
        the images or the card). Images and a card exclude each other.

        Everything checkable is checked before the first request. A record that
        already exists under ``rkey`` is never overwritten:
        ``BlueskyError(code="record_exists")``.
        """
        check_rkey(rkey)
        check_post(text, images, langs, labels=labels, external=external, quote=quote)
        self._login()
        record: dict[str, object] = {
            "$type": POST_COLLECTION,
            "text": text,
            "createdAt": created_at or now_iso(),
        }
        facets = build_facets(text, self.resolve_handle)
        if facets:
            record["facets"] = facets
        if langs:
            record["langs"] = list(langs)
        if labels:
            record["labels"] = {
                "$type": "com.atproto.label.defs#selfLabels",
                "values": [{"val": v} for v in dict.fromkeys(labels)],
            }
        if reply_to is not None:
            parent_uri, parent_cid, root_uri, root_cid = reply_to
            record["reply"] = {
                "root": {"uri": root_uri, "cid": root_cid},
                "parent": {"uri": parent_uri, "cid": parent_cid},
            }
        media: dict[str, object] | None = None
        if images:
            media = {
                "$type": "app.bsky.embed.images",
                "images": [
                    {"alt": alt, "image": self.upload_image(data, mime)}
                    for data, mime, alt in images
                ],
            }
        elif external is not None:
            card: dict[str, object] = {
                "uri": external.uri,
                "title": external.title,
                "description": external.description,
            }
            if external.thumb is not None:
                card["thumb"] = self.upload_image(external.thumb, external.thumb_mime or "")
            media = {"$type": "app.bsky.embed.external", "external": card}
        if quote is not None:
            quoted = {
                "$type": "app.bsky.embed.record",
                "record": {"uri": quote[0], "cid": quote[1]},
            }
            record["embed"] = (
                {"$type": "app.bsky.embed.recordWithMedia", "record": quoted, "media": media}
                if media
                else quoted
            )
        elif media:
            record["embed"] = media
        return self._create_record(POST_COLLECTION, rkey, record, "post")

    def create_threadgate(
        self, post_uri: str, rkey: str, allow: ReplyRule | Sequence[ReplyRule]
    ) -> tuple[str, str] | None:
        """Say who may reply to this account's post ``post_uri``: an
        ``app.bsky.feed.threadgate`` record whose key is the post's ``rkey`` (Bluesky
        ignores a gate under any other key). Returns ``(uri, cid)``, or None for
        ``"everyone"`` (no gate is the default: nothing is created).

        ``allow``: ``"everyone"``, ``"nobody"`` (an empty allow list), or one or more
        of ``"following"``, ``"followers"``, ``"mentioned"``. A gate holds for the whole
        thread and only on its root post: gate a thread's first post, not its replies.
        """
        rules = [allow] if isinstance(allow, str) else list(allow)
        if not rules or any(r not in (*_REPLY_RULES, "everyone", "nobody") for r in rules):
            choices = ", ".join(("everyone", "nobody", *_REPLY_RULES))
            raise BlueskyError("invalid_gate", f"replies: {allow!r} is not one of {choices}")
        if len(rules) > 1 and ({"everyone", "nobody"} & set(rules)):
            raise BlueskyError(
                "invalid_gate", f"replies: {allow!r}: everyone and nobody combine with nothing"
            )
        self._check_own_post(post_uri, rkey, "threadgate")
        if rules == ["everyone"]:
            return None
        record = {
            "$type": THREADGATE_COLLECTION,
            "post": post_uri,
            "allow": [{"$type": _REPLY_RULES[r]} for r in dict.fromkeys(rules) if r != "nobody"],
            "createdAt": now_iso(),
        }
        return self._create_record(THREADGATE_COLLECTION, rkey, record, "threadgate")

    def create_postgate(
        self, post_uri: str, rkey: str, quotes: bool = False
    ) -> tuple[str, str] | None:
        """Forbid quoting this account's post ``post_uri``: an ``app.bsky.feed.postgate``
        record (with a ``disableRule``) under the post's ``rkey``. Returns ``(uri,
        cid)``, or None when ``quotes`` is true (allowed is the default: nothing is
        created)."""
        self._check_own_post(post_uri, rkey, "postgate")
        if quotes:
            return None
        record = {
            "$type": POSTGATE_COLLECTION,
            "post": post_uri,
            "embeddingRules": [{"$type": "app.bsky.feed.postgate#disableRule"}],
            "createdAt": now_iso(),
        }
        return self._create_record(POSTGATE_COLLECTION, rkey, record, "postgate")

    def create_repost(
        self, subject_uri: str, subject_cid: str, rkey: str, *, created_at: str | None = None
    ) -> tuple[str, str]:
        """Repost ``subject_uri`` (``app.bsky.feed.repost/<rkey>``, a TID the caller
        chose); returns ``(uri, cid)``.

        The PDS keeps one repost per subject: creating one *replaces* (deletes) any
        earlier repost of the same post, even under the same key. So that a key is
        never silently reused, a taken ``rkey`` is looked up first and refused with
        ``record_exists``.
        """
        check_rkey(rkey)
        check_strong_ref(subject_uri, subject_cid, "repost")
        if self.get_record(REPOST_COLLECTION, rkey) is not None:
            raise BlueskyError(
                "record_exists",
                f"a repost with record key {rkey} already exists in {self.handle}'s "
                "repository: it was not created again",
            )
        record = {
            "$type": REPOST_COLLECTION,
            "subject": {"uri": subject_uri, "cid": subject_cid},
            "createdAt": created_at or now_iso(),
        }
        return self._create_record(REPOST_COLLECTION, rkey, record, "repost")

    def _check_own_post(self, post_uri: str, rkey: str, what: str) -> None:
        try:
            did, post_rkey = parse_post_uri(post_uri)
        except ValueError as exc:
            raise BlueskyError("invalid_gate", f"{what}: {exc}") from None
        if post_rkey != rkey:
            raise BlueskyError(
                "invalid_gate",
                f"{what}: record key {rkey!r} must be the post's own ({post_rkey!r})",
            )
        if did != self.did:
            raise BlueskyError(
                "invalid_gate", f"{what}: {post_uri} is not a post of {self.handle} ({self.did})"
            )

    def _create_record(
        self, collection: str, rkey: str, record: Mapping[str, object], what: str
    ) -> tuple[str, str]:
        """``createRecord`` under ``rkey``; a key that is taken is ``record_exists``."""
        session = self._login()
        body = {"repo": session.did, "collection": collection, "rkey": rkey, "record": record}
        try:
            out = self._procedure(
                "com.atproto.repo.createRecord", f"create {what} {rkey}", body=body
            )
        except BlueskyError as exc:
            # The PDS answers a taken key with a 500 (0.4) or a 400: ask whether it is taken.
            if exc.status is not None and self._exists(collection, rkey):
                raise BlueskyError(
                    "record_exists",
                    f"a {what} with record key {rkey} already exists in {session.handle}'s "
                    "repository: it was not created again",
                    status=exc.status,
                ) from exc
            raise
        from publisher.clients import atproto_answers as answers

        ref = answers.read(answers.StrongRef, out, f"create {what} {rkey}", self._pds_url)
        return ref.uri, ref.cid

    def _exists(self, collection: str, rkey: str) -> bool:
        try:
            return self.get_record(collection, rkey) is not None
        except BlueskyError:
            return False

    def get_record(
        self, collection: str, rkey: str, *, repo: str | None = None
    ) -> dict[str, Any] | None:
        """The record ``{"uri", "cid", "value"}`` at ``collection/rkey`` in this account's
        repository (or ``repo``, a DID), or None if it does not exist.

        Failures to ask (network, 5xx, auth) raise ``BlueskyError``: "absent" is only
        ever the server's own answer.
        """
        params = {"repo": repo or self.did, "collection": collection, "rkey": rkey}
        what = f"read {collection}/{rkey}"
        try:
            out = self._query("com.atproto.repo.getRecord", params, what)
            from publisher.clients import atproto_answers as answers

            return answers.read(answers.RecordAnswer, out, what, self._pds_url).as_dict()
        except BlueskyError as exc:
            if exc.status == 400 and isinstance(exc.__cause__, Exception):
                _, name, _ = xrpc_error(exc.__cause__)
                if name == "RecordNotFound":
                    return None
            raise

    def get_post(self, rkey: str, *, repo: str | None = None) -> dict[str, Any] | None:
        """The post ``{"uri", "cid", "value"}`` at ``rkey`` in this account's repository
        (or ``repo``, a DID), or None if it does not exist (``get_record`` of a post)."""
        return self.get_record(POST_COLLECTION, rkey, repo=repo)

    def resolve_post(self, ref: str) -> tuple[str, str]:
        """``(uri, cid)`` of the post ``ref`` names: a ``https://bsky.app/profile/<handle
        or did>/post/<rkey>`` URL or an ``at://`` URI, as for ``replyTo``/``quote``/
        ``repost``. A handle is resolved to its DID and the record read (``getRecord``)
        through this account's PDS.

        ``BlueskyError`` with code ``invalid_post_ref`` (not a post URL),
        ``unknown_handle`` or ``post_not_found``; transport failures as usual.
        """
        try:
            actor, rkey = parse_post_ref(ref)
        except ValueError as exc:
            raise BlueskyError("invalid_post_ref", str(exc)) from None
        did = actor if actor.startswith("did:") else self.resolve_handle(actor)
        if did is None:
            raise BlueskyError("unknown_handle", f"{ref}: no Bluesky account has handle @{actor}")
        try:
            found = self.get_post(rkey, repo=did)
        except BlueskyError as exc:
            if exc.code != "rejected":
                raise
            # A repository this PDS does not host and cannot ask an AppView about
            # ("Could not locate record"), or a DID that does not exist.
            found = None
        cid = found["cid"] if found is not None else None
        if found is None or not cid:
            raise BlueskyError("post_not_found", f"{ref}: there is no such post")
        return found["uri"], cid

    def list_posts(self, limit: int = 100) -> list[dict[str, Any]]:
        """Up to ``limit`` post records of this account, newest first."""
        return self.list_records(POST_COLLECTION, limit)

    def list_records(self, collection: str, limit: int = 100) -> list[dict[str, Any]]:
        """Up to ``limit`` records of ``collection`` in this account's repository."""
        from publisher.clients import atproto_answers as answers

        posts: list[dict[str, Any]] = []
        cursor: str | None = None
        while len(posts) < limit:
            params: dict[str, str | int] = {
                "repo": self.did,
                "collection": collection,
                "limit": min(100, limit - len(posts)),
            }
            if cursor:
                params["cursor"] = cursor
            out = self._query("com.atproto.repo.listRecords", params, "list posts")
            page = answers.read(answers.ListAnswer, out, "list records", self._pds_url)
            posts.extend(r.as_dict() for r in page.records)
            cursor = page.cursor
            if not cursor or not page.records:
                break
        return posts

    def delete_record(self, collection: str, rkey: str) -> None:
        """Delete ``collection/rkey`` from this account's repository (no error when it
        is already gone). A post's gates are records of their own: delete them too."""
        body = {"repo": self.did, "collection": collection, "rkey": rkey}
        self._procedure("com.atproto.repo.deleteRecord", f"delete {collection}/{rkey}", body=body)

    def delete_post(self, rkey: str) -> None:
        """Delete the post at ``rkey`` (no error when it is already gone)."""
        self.delete_record(POST_COLLECTION, rkey)
