"""Direct Bluesky record keys: the key each record of a post derives
(`identity.record_key`), the free one a new record goes under, and what is found at
a key: this very post, made by a run that recorded it nowhere (adopted), or another.

A record key lives in the file, not in a server's memory: what makes a direct post
exactly once for any length of time (see `backends/bluesky.py`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from publisher import identity

if TYPE_CHECKING:
    from publisher.clients.atproto import BlueskyAccount
    from publisher.post import Post, ResolvedTarget
    from publisher.record import Record, _Post

__all__ = [
    "MAX_GENERATIONS",
    "Found",
    "adopted_hash",
    "field_of",
    "former_identities",
    "free_key",
    "own_record",
    "parent_of",
    "said",
    "same_post",
    "slot",
    "taken",
]

#: A record as a PDS answers `getRecord`: ``{"uri", "cid", "value"}``.
Found = Mapping[str, object]

#: How many generations of a record key are tried before giving up (each a getRecord):
#: one per deliberate new post of the target, and one per post of another file that
#: once had this path.
MAX_GENERATIONS = 200


def field_of(value: object, *path: str) -> object:
    """`value[path[0]][path[1]]...`, None where a step is not a mapping."""
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def said(found: Found) -> str:
    """The words of a found post."""
    return str(field_of(found, "value", "text") or "")


def parent_of(found: Found) -> str | None:
    """The URI of the post a found post replies to (None: not a reply)."""
    uri = field_of(found, "value", "reply", "parent", "uri")
    return str(uri) if uri else None


def slot(post: Post | _Post, t: ResolvedTarget) -> int:
    """Which of the post's targets on `t`'s account `t` is (1 unless a post names one
    account twice): alias renames do not change it."""
    acct = t.account
    assert acct is not None

    def same(o: ResolvedTarget) -> bool:
        a = o.account
        return (
            bool(o.direct)
            and a is not None
            and (a.pds, (a.handle or "").lower()) == (acct.pds, (acct.handle or "").lower())
        )

    return 1 + sum(1 for o in post.targets if o.index < t.index and same(o))


def _known_keys(record: Record, t: ResolvedTarget) -> set[str]:
    """The record keys of the posts the target's record holds (its `uri`, `earlier`,
    its parts'), and those of the posts its path held before (`foreign`)."""
    from publisher.clients.atproto import parse_post_uri

    rec = record.target(t.label)
    uris = [rec.get("uri"), *(rec.get("earlier") or [])]
    uris += [p.get("uri") for p in rec.get("parts") or [] if isinstance(p, dict)]
    known: set[str] = set()
    for uri in uris:
        if not uri:
            continue
        try:
            known.add(parse_post_uri(str(uri))[1])
        except ValueError:
            continue
    return known | record.post.foreign


def free_key(
    record: Record,
    t: ResolvedTarget,
    account: BlueskyAccount,
    part: int,
    mine: Callable[[Found], bool],
    collection: str = "app.bsky.feed.post",
) -> tuple[str, Found | None]:
    """The derived record key a new record of `t` (thread part `part`) goes under, and
    the record already there when it is this very one (`mine`: made by a run that
    recorded it nowhere), to adopt. Generations the target made before (its `uri`,
    its `earlier` URIs, its parts') are passed over without a request; a record of
    something else (a file deleted, its path used again) moves on to the next."""
    from publisher.clients.atproto import BlueskyError

    known = _known_keys(record, t)
    place = slot(record.post, t)
    free = None
    for generation in range(1, MAX_GENERATIONS + 1):
        rkey = identity.record_key(record.post.identity, place, part, generation)
        if rkey in known:
            continue
        found = account.get_record(collection, rkey)
        if found is None:
            free = rkey
            break
        if mine(found):
            return rkey, found
    if free is None:
        raise BlueskyError(
            "record_exists",
            f"{MAX_GENERATIONS} record keys of this post are taken by other records: give the "
            "file an `id:` of its own",
        )
    for former in former_identities(record.post):  # made before a rename or a new `id:`?
        for generation in range(1, MAX_GENERATIONS + 1):
            rkey = identity.record_key(former, place, part, generation)
            if rkey in known:
                continue
            found = account.get_record(collection, rkey)
            if found is None:
                break
            if mine(found):
                return rkey, found
    return free, None


def former_identities(post: Post | _Post) -> list[str]:
    """The identities `post` had before, whose derived record keys may hold it: the
    paths git says it was renamed from, and its path when it now has an `id:`."""
    out = list(post.former)
    if post.identity.startswith("id:"):
        out.append(identity.post_identity(post.rel))
    return [i for i in dict.fromkeys(out) if i != post.identity]


def same_post(found: Found, text: str, parent: str | None) -> bool:
    """Whether a post found at a derived key is this one: its words (or a small edit
    of them), and for a thread's reply, the same parent."""
    if parent is not None and parent_of(found) != parent:
        return False
    return identity.similar(said(found), text)


def adopted_hash(found: Found, text: str, digest: str) -> str:
    """The hash to record for an adopted record: `digest` when it says `text`, else
    one of its own words (the edit policy decides about the difference)."""
    words = said(found)
    if identity.normalize_text(words) == identity.normalize_text(text):
        return digest
    return identity.digest({"adopted": words})


def taken(
    exc: Exception,
    account: BlueskyAccount,
    rkey: str,
    mine: Callable[[Found], bool],
    collection: str = "app.bsky.feed.post",
) -> Found | None:
    """After a create refused as `record_exists`: the record another run made there,
    when it is this one (else None: the error stands)."""
    if getattr(exc, "code", None) != "record_exists":
        return None
    found = account.get_record(collection, rkey)
    return found if found is not None and mine(found) else None


def own_record(uri: str, did: str | None) -> tuple[str, str] | None:
    """(collection, record key) of an at:// URI in the repository `did`; None for a
    URI elsewhere (or not at://)."""
    if not uri.startswith("at://"):
        return None
    parts = uri[5:].split("/")
    if len(parts) != 3 or (did and parts[0] != did):
        return None
    return parts[1], parts[2]
