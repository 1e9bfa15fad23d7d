"""`publisher verify`: are the recorded Bluesky posts still there, and do they still say
what the files say?

For every post file's recorded Bluesky target (and its first comment) the record is
read back with ``com.atproto.repo.getRecord``, which needs no login and no letmepost
key:

* direct targets are read from the PDS their alias names in the config;
* at:// URIs recorded through letmepost are read through ``$PUBLISHER_APPVIEW_URL``
  when it is set (an AppView such as https://public.api.bsky.app, or a PDS: anything
  that answers ``getRecord`` publicly), else from the PDS their DID document names
  (``did:plc`` through ``$PUBLISHER_PLC_URL``, default https://plc.directory);
  when that cannot be found out, the target is reported as not checked.

Per target: ``ok``, ``deleted`` (gone upstream), ``edited upstream`` (the file is as it
was published, the record's text is not), ``file edited`` (the file's text changed
since publishing), ``plain text`` (the text is right, but links, mentions or hashtags
did not become facets, so Bluesky shows them as plain text: what posts made through
letmepost get; a direct account makes them), or ``error`` (the PDS could not be
asked). Exit code 1 when anything drifted or could not be checked (``plain text`` is
a hint, not drift); sandbox records are not checked.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.commands.common import config_from, load_posts

if TYPE_CHECKING:
    from publisher.config import Config
    from publisher.post import Post

__all__ = ["DRIFT", "Check", "Options", "check", "collect", "main"]

DRIFT = frozenset({"deleted", "edited upstream", "file edited"})
_CHECKED_STATUSES = frozenset({"published", "publishing", "pending"})


@dataclass(frozen=True)
class Options:
    paths: tuple[Path, ...] = ()
    config: Path | None = None
    as_json: bool = False


@dataclass
class Check:
    """One recorded record (a post or its first comment) to read back."""

    path: str
    target: str
    what: str  # "post" | "firstComment"
    uri: str
    expected: str | None  # the file's current text; None when the target is gone
    same_content: bool  # the file's target is unchanged since it was published
    pds: str | None  # None: to be found from the DID
    direct: bool = False  # published through a direct account (not letmepost)
    state: str = "unchecked"
    detail: str = ""

    @property
    def drift(self) -> bool:
        return self.state in DRIFT

    def as_dict(self) -> dict[str, str]:
        return {
            "path": self.path,
            "target": self.target,
            "what": self.what,
            "uri": self.uri,
            "state": self.state,
            "detail": self.detail,
        }


def collect(posts: Sequence[Post], config: Config) -> list[Check]:
    """Every recorded Bluesky record of ``posts`` that can be read back."""
    checks = []
    for post in posts:
        record = post.record
        if record is None or record.env != "live":
            continue
        current = {t.label: t for t in post.targets}
        for label, rec in record.targets.items():
            if rec.status not in _CHECKED_STATUSES or not (rec.uri or "").startswith("at://"):
                continue
            t = current.get(label)
            alias = config.accounts.get(label)
            pds = alias.pds if alias is not None and alias.direct else None
            same = t is not None and t.hash == rec.hash
            direct = pds is not None
            text = t.text if t else None
            checks.append(Check(post.rel, label, "post", rec.uri, text, same, pds, direct))
            if rec.firstCommentUri:
                expected = t.first_comment if t else None
                checks.append(
                    Check(
                        post.rel,
                        label,
                        "firstComment",
                        rec.firstCommentUri,
                        expected,
                        same,
                        pds,
                        direct,
                    )
                )
    return checks


def check(
    c: Check, plc_url: str, pds_of: dict[str, str | None], appview: str | None = None
) -> Check:
    """Read the record of ``c`` back and set its state."""
    from publisher.clients.atproto import BlueskyError, parse_post_uri, read_post, resolve_pds

    try:
        did, _ = parse_post_uri(c.uri)
    except ValueError:
        c.state, c.detail = "not checked", "not a Bluesky post URI"
        return c
    pds = c.pds or appview
    if pds is None:
        if did not in pds_of:
            try:
                pds_of[did] = resolve_pds(did, plc_url=plc_url, timeout=10)
            except BlueskyError as exc:
                pds_of[did] = None
                c.detail = f"cannot find its PDS: {exc}"
        pds = pds_of[did]
        if pds is None:
            c.state = "not checked"
            c.detail = c.detail or f"cannot find the PDS of {did}"
            return c
    try:
        found = read_post(c.uri, pds)
    except BlueskyError as exc:
        c.state, c.detail = "error", str(exc)
        return c
    if found is None:
        c.state, c.detail = "deleted", f"no record at {c.uri}"
        return c
    text = (found.get("value") or {}).get("text")
    if c.expected is None:
        c.state, c.detail = "ok", "exists (no longer a target of the file: text not compared)"
    elif text == c.expected:
        c.state = "ok"
        missing = _missing_facets(found.get("value") or {}, pds)
        if missing:
            c.state = "plain text"
            how = (
                "they were not recognised when it was published"
                if c.direct
                else "letmepost posts them as plain text; publish through a direct account "
                '(`[accounts.<name>] bluesky = "<handle>"` in publisher.toml) to make them '
                "links, mentions and tags"
            )
            c.detail = f"not facets (shown as plain text): {', '.join(missing)}; {how}"
    elif c.same_content:
        c.state, c.detail = "edited upstream", f"the record now says {_short(text)}"
    else:
        c.state = "file edited"
        c.detail = f"the file's text changed since publishing; the record says {_short(text)}"
    return c


def _missing_facets(value: Mapping[str, object], host: str) -> list[str]:
    """The links, mentions and hashtags of a record's text that are not facets of it
    (what Bluesky's own client would have made; a mention only when its handle
    resolves through ``host``)."""
    from publisher.clients.atproto import build_facets, read_handle

    text = value.get("text")
    if not isinstance(text, str):
        return []
    expected = build_facets(text, lambda handle: read_handle(handle, host))
    have = _facets_of(value.get("facets"))
    raw = text.encode("utf-8")
    missing = []
    for facet in expected:
        start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
        if (facet["features"][0]["$type"], start, end) not in have:
            missing.append(raw[start:end].decode("utf-8", "replace"))
    return missing


def main(options: Options) -> int:
    from publisher.report import dump_json, table

    config = config_from(options.config, options.paths)
    posts = load_posts(options.paths, config)
    checks = collect(posts, config)
    plc_url = os.environ.get("PUBLISHER_PLC_URL") or "https://plc.directory"
    appview = (os.environ.get("PUBLISHER_APPVIEW_URL") or "").strip().rstrip("/") or None
    pds_of: dict[str, str | None] = {}
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="verify") as pool:
        # DIDs are resolved on first use; the cache is a plain dict (a race only
        # resolves a DID twice).
        list(pool.map(lambda c: check(c, plc_url, pds_of, appview), checks))
    drift = [c for c in checks if c.drift]
    errors = [c for c in checks if c.state == "error"]
    if options.as_json:
        dump_json(
            {
                "checks": [c.as_dict() for c in checks],
                "drift": len(drift),
                "errors": len(errors),
            }
        )
    elif checks:
        rows = [[c.path, c.target, c.what, c.state, c.detail] for c in checks]
        print(table(rows, ["FILE", "TARGET", "RECORD", "STATE", "DETAIL"]))
    if not options.as_json:
        ok = sum(1 for c in checks if c.state == "ok")
        plain = sum(1 for c in checks if c.state == "plain text")
        print(
            f"\n{len(checks)} records checked: {ok} ok, {len(drift)} drifted, "
            f"{len(errors)} could not be read"
            + (f", {plain} with links, mentions or tags as plain text" if plain else ""),
            file=sys.stderr,
        )
    return 1 if drift or errors else 0


def _facets_of(facets: object) -> set[tuple[object, object, object]]:
    """(feature type, byteStart, byteEnd) of each feature of a record's facets, as the
    record has them (anything malformed is skipped)."""
    have: set[tuple[object, object, object]] = set()
    for facet in facets if isinstance(facets, list) else []:
        if not isinstance(facet, dict):
            continue
        index = facet.get("index")
        index = index if isinstance(index, dict) else {}
        for feature in facet.get("features") or []:
            if isinstance(feature, dict):
                have.add((feature.get("$type"), index.get("byteStart"), index.get("byteEnd")))
    return have


def _short(text: object, limit: int = 60) -> str:
    s = str(text)
    return repr(s if len(s) <= limit else s[: limit - 1] + "…")
