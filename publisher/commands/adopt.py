"""`publisher adopt PATH URL... [--target LABEL]`: record posts published before
publisher (by hand, or by another tool), so `publish` never sends them again.

Each URL is matched to one of the post's targets: `--target`, else the one target on
the URL's platform. Several URLs for one target are its thread's parts, in order. The
record says `status: published` with the file's current hashes, so the next plan
finds the target up to date; only the file's `published` block changes, atomically,
under the run lock. Bluesky URLs are read back (no login) for their DID, record key
and CID: through the direct account's PDS for a direct target, else through
`$PUBLISHER_APPVIEW_URL` or the DID's own PDS (`$PUBLISHER_PLC_URL`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from publisher.commands.common import UsageError, config_from

if TYPE_CHECKING:
    from publisher.config import Config
    from publisher.post import Post, ResolvedTarget
    from publisher.record import Record

__all__ = ["ADOPTABLE", "HOSTS", "Found", "Options", "main", "platform_of"]

#: The platform of a post URL, by its host (without `www.` / `mobile.` / `m.`).
HOSTS = {
    "bsky.app": "bluesky",
    "staging.bsky.app": "bluesky",
    "x.com": "twitter",
    "twitter.com": "twitter",
    "threads.net": "threads",
    "threads.com": "threads",
    "linkedin.com": "linkedin",
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "instagram.com": "instagram",
    "pinterest.com": "pinterest",
    "pin.it": "pinterest",
    "tiktok.com": "tiktok",
}

#: A record that may be replaced by an adopted post: nothing of it went out.
ADOPTABLE = frozenset({None, "failed", "rejected", "canceled"})


@dataclass(frozen=True)
class Options:
    path: Path  # the post file
    urls: tuple[str, ...]  # the published posts' web URLs (or at:// URIs)
    target: str | None = None  # default: the one target of that URL's platform
    config: Path | None = None


@dataclass
class Found:
    """One adopted post: what goes in the record."""

    uri: str
    cid: str | None = None
    did: str | None = None
    rkey: str | None = None
    text: str | None = None  # what the platform says it says (Bluesky), to compare


def platform_of(url: str) -> str | None:
    if url.startswith("at://"):
        return "bluesky"
    host = (urlsplit(url).hostname or "").lower()
    for prefix in ("www.", "mobile.", "m."):
        host = host.removeprefix(prefix)
    return HOSTS.get(host)


def main(options: Options) -> int:
    from publisher.commands.common import inside
    from publisher.lock import run_lock

    path = options.path
    if not path.is_file():
        raise UsageError(f"{path}: no such post file")
    config = config_from(options.config, [path])
    if not inside(path, config.root):
        raise UsageError(f"{path}: outside the repository {config.root}")
    with run_lock(config.root, notify=lambda line: print(f"publisher: {line}", file=sys.stderr)):
        return _adopt(options, config)


def _adopt(options: Options, config: Config) -> int:
    from publisher.record import Record
    from publisher.run import Env, Run

    post = _load(options.path, config)
    groups = _match(post, options.urls, options.target)
    # Adopted posts are live posts, sent to the API publisher.toml names.
    record = Record(post, Run(Env.LIVE, config.resolved_api_url()))
    found = _to_adopt(post, record, groups, config)
    if not found:
        return 0
    _write(post, record, found)
    _tell(post, found)
    return 0


def _load(path: Path, config: Config) -> Post:
    """The post, which must have a target to adopt posts for."""
    from publisher.report import print_problems
    from publisher.validate import load_post

    post = load_post(path, config)
    if not post.targets:
        print_problems([post], out=sys.stderr)
        raise UsageError(f"{post.rel}: the post has no usable targets to adopt posts for")
    return post


def _to_adopt(
    post: Post, record: Record, groups: dict[ResolvedTarget, list[str]], config: Config
) -> dict[str, list[Found]]:
    """The posts each target adopts, by label, read back: only for targets that sent
    nothing yet; a target that already records the same post is said and skipped, one
    that records anything else is refused."""
    from publisher.record import Status, web_url

    found: dict[str, list[Found]] = {}
    for t, urls in groups.items():
        if len(urls) > 1 + len(t.parts):
            raise UsageError(
                f"{post.rel}: {len(urls)} URLs for {t.label!r}, but the post has "
                f"{1 + len(t.parts)} part(s)"
            )
        rec = record.targets().get(t.label) or {}
        status = rec.get("status")
        if status in ADOPTABLE:
            found[t.label] = [_read(url, t, config) for url in urls]
            continue
        shown = web_url(rec.get("uri"), t.platform) or rec.get("uri") or ""
        if status == Status.PUBLISHED and _read(urls[0], t, config).uri == rec.get("uri"):
            print(f"{post.rel}: {t.label}: already recorded ({shown})", file=sys.stderr)
            continue
        raise UsageError(
            f"{post.rel}: target {t.label!r} already has a record (status: {status}"
            + (f", {shown}" if shown else "")
            + "): publisher adopts only posts it has not sent"
        )
    return found


def _write(post: Post, record: Record, found: dict[str, list[Found]]) -> None:
    """Record the adopted posts: one write of the `published` block (the caller holds
    the run lock)."""
    from publisher.record import Answer, Status

    with record.batch():
        for t in post.targets:
            posts = found.get(t.label)
            if not posts:
                continue
            hashes = (t.hash, *t.part_hashes)
            answers = [
                Answer(
                    Status.PUBLISHED,
                    uri=item.uri,
                    cid=item.cid,
                    hash=hashes[i] if i < len(hashes) else None,
                    did=item.did if t.direct and i == 0 else None,
                    rkey=item.rkey if t.direct else None,
                )
                for i, item in enumerate(posts)
            ]
            record.adopted(t.label, answers, platform=t.platform)


def _tell(post: Post, found: dict[str, list[Found]]) -> None:
    """Each adopted post on stdout; on stderr, a text that differs from the file's and
    the later parts of a thread that `publish` will send."""
    from publisher.record import web_url

    for t in post.targets:
        adopted = found.get(t.label) or []
        for n, item in enumerate(adopted, start=1):
            which = f" part {n}" if len(adopted) > 1 or t.parts else ""
            print(
                f"{post.rel}: {t.label}{which}: adopted {web_url(item.uri, t.platform) or item.uri}"
            )
            expected = t.text if n == 1 else t.parts[n - 2]
            if item.text is not None and item.text != expected:
                print(
                    f"publisher: note: {t.label}{which}: the post says {item.text[:60]!r}, "
                    "the file something else (kept as adopted: nothing is sent)",
                    file=sys.stderr,
                )
        waiting = len(t.parts) + 1 - len(adopted)
        if adopted and waiting > 0:
            print(
                f"publisher: note: {t.label}: {waiting} later part(s) of the thread have no "
                "URL: `publish` sends them as replies",
                file=sys.stderr,
            )


def _match(post: Post, urls: Sequence[str], target: str | None) -> dict[ResolvedTarget, list[str]]:
    """Which target each URL is a post of: `--target` (every URL: a thread's parts in
    order), else the one target on the URL's platform."""
    by_label = {t.label: t for t in post.targets}
    if target is not None:
        if target not in by_label:
            from publisher.hints import did_you_mean

            listed = ", ".join(by_label)
            raise UsageError(
                f"{post.rel}: no target {target!r}{did_you_mean(target, by_label)} "
                f"(its targets: {listed})"
            )
        t = by_label[target]
        for url in urls:
            platform = platform_of(url)
            if platform is not None and platform != t.platform:
                raise UsageError(
                    f"{url} is a {platform} post, and {target!r} a {t.platform} target"
                )
        return {t: list(urls)}
    groups: dict[ResolvedTarget, list[str]] = {}
    for url in urls:
        platform = platform_of(url)
        if platform is None:
            raise UsageError(
                f"{url}: not a post URL publisher knows: name its target with --target"
            )
        on = [t for t in post.targets if t.platform == platform]
        if len(on) != 1:
            labels = ", ".join(t.label for t in on)
            raise UsageError(
                f"{url}: "
                + (
                    f"the post has no {platform} target"
                    if not on
                    else f"several {platform} targets ({labels}): choose one with --target"
                )
            )
        groups.setdefault(on[0], []).append(url)
    return groups


def _read(url: str, t: ResolvedTarget, config: Config) -> Found:
    """The record of one adopted post. A Bluesky post is read back (no login), so a
    URL that names nothing is refused rather than recorded."""
    if t.platform == "twitter":
        from publisher.post import post_ref

        ref = post_ref(url)
        if ref is None or ref[0] != "twitter":
            raise UsageError(f"{url}: not an X post URL (https://x.com/<user>/status/<id>)")
        return Found(uri=f"https://x.com/i/status/{ref[1]}")
    if t.platform != "bluesky":
        if not url.startswith("https://"):
            raise UsageError(f"{url}: give the post's https:// URL")
        return Found(uri=url)
    return _read_bluesky(url, t, config)


def _read_bluesky(url: str, t: ResolvedTarget, config: Config) -> Found:
    from publisher.clients.atproto import (
        POST_COLLECTION,
        BlueskyError,
        parse_post_ref,
        read_handle,
        read_post,
    )

    try:
        actor, rkey = parse_post_ref(url)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    account = t.account if t.direct else None
    appview = (os.environ.get("PUBLISHER_APPVIEW_URL") or "").strip().rstrip("/") or None
    host = account.pds if account is not None else appview
    try:
        did = _did_of(url, actor, host)
        host = host or _pds_of(url, did)
        uri = f"at://{did}/{POST_COLLECTION}/{rkey}"
        record = read_post(uri, host)
    except BlueskyError as exc:
        raise UsageError(f"{url}: cannot read it: {exc}") from None
    if record is None or not record.get("cid"):
        raise UsageError(f"{url}: there is no such post (asked {host})")
    if account is not None and account.handle:
        own = did if account.handle == actor else read_handle(account.handle, host)
        if own is not None and own != did:
            raise UsageError(f"{url}: not a post of @{account.handle}, the account of {t.label!r}")
    value = record.get("value")
    text = value.get("text") if isinstance(value, dict) else None
    return Found(
        uri=str(record.get("uri") or uri),
        cid=str(record["cid"]),
        did=did,
        rkey=rkey,
        text=text if isinstance(text, str) else None,
    )


def _did_of(url: str, actor: str, host: str | None) -> str:
    """The DID of the post's author: `actor` itself, or its handle resolved through
    `host` (the direct account's PDS, or the AppView)."""
    from publisher.clients.atproto import read_handle

    if actor.startswith("did:"):
        return actor
    looked_up = read_handle(actor, host) if host else None
    if looked_up is None:
        raise UsageError(
            f"{url}: cannot resolve @{actor}"
            + (
                f" through {host}"
                if host
                else ": set PUBLISHER_APPVIEW_URL (e.g. https://public.api.bsky.app), "
                "or give the at:// URI"
            )
        )
    return looked_up


def _pds_of(url: str, did: str) -> str:
    """The PDS hosting `did`, from its DID document (`$PUBLISHER_PLC_URL`)."""
    from publisher.clients.atproto import resolve_pds

    plc = os.environ.get("PUBLISHER_PLC_URL") or "https://plc.directory"
    host = resolve_pds(did, plc_url=plc, timeout=10)
    if host is None:
        raise UsageError(f"{url}: cannot find the PDS of {did}")
    return host
