"""A post's targets: each one resolved (an alias, an account UUID or a platform name),
given its text, media, first comment, options and Bluesky extras (its own or the
post's), hashed, and checked against its platform's rules at its line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from publisher import identity
from publisher.config import PLATFORM_NAMES
from publisher.document import Loc
from publisher.hints import did_you_mean
from publisher.post import ResolvedTarget, part_hash
from publisher.validate import canonical
from publisher.validate.bluesky import bluesky_extras
from publisher.validate.content import (
    bluesky_reply,
    check_direct,
    check_limits,
    check_refs,
    check_thread,
)
from publisher.validate.media import check_media
from publisher.validate.media_cache import Who

if TYPE_CHECKING:
    from publisher.validate.base import Checker

__all__ = ["check_targets", "resolve"]

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_UUIDISH = re.compile(r"^[0-9a-fA-F-]{20,}$")


@dataclass(frozen=True, slots=True)
class _Shared:
    """What every target of one post starts from."""

    body: str  # the body, or the thread's first part
    thread: list[str]  # the thread's parts (empty: not a thread)
    scheduled_iso: str | None
    publish_now: bool

    @property
    def scheduled(self) -> bool:
        return self.scheduled_iso is not None


def check_targets(c: Checker, fm: Any) -> None:
    """Resolve and check every target (the post's, else the configuration's default)."""
    if c.targets_checked:
        return
    specs: list[Any] = list(fm.targets) if fm.targets is not None else list(c.config.targets)
    from_config = fm.targets is None
    index = c.target_index or list(range(len(specs)))
    if not specs:
        if c.post.draft:  # a draft in progress: a reminder, never a failed run
            c.problem(
                ("draft",),
                "targets.required",
                "a draft without targets: add `targets: [...]` (or default `targets` in "
                "publisher.toml) before removing `draft: true`",
                severity="warning",
            )
            return
        c.problem(
            (),
            "targets.required",
            "no targets: add `targets: [...]` or set default `targets` in publisher.toml",
        )
        return
    thread = [identity.normalize_text(text) for text, _ in c.doc.parts]
    shared = _Shared(
        body=thread[0] if thread else identity.normalize_text(c.doc.body),
        thread=thread,
        scheduled_iso=c.post.scheduled_iso,
        publish_now=bool(c.post.publish_now),
    )
    labels: dict[str, int] = {}
    for i, spec in zip(index, specs, strict=True):
        loc: Loc = ("targets", i) if not from_config else ()
        who = resolve(c, spec, loc)
        if who is None:
            continue
        label = who[0]
        if label in labels:
            c.problem(
                loc,
                "targets.duplicate",
                f"target {label!r} is listed twice (also item {labels[label] + 1})",
            )
            continue
        labels[label] = i
        over = spec if not isinstance(spec, str) else None
        target, media_loc = _target(c, fm, shared, i, over, loc, who)
        c.post.targets.append(target)
        _check_target(c, fm, target, loc, over, media_loc, shared.scheduled)
    if shared.scheduled and any(t.media for t in c.post.targets):
        c.problem(
            ("scheduledAt",),
            "scheduledAt.media",
            "media on a scheduled post: the API reference says scheduled posts take text "
            "only (the server has accepted media since 2026-06)",
            "warning",
        )


def _target(
    c: Checker, fm: Any, shared: _Shared, i: int, over: Any, loc: Loc, who: Who
) -> tuple[ResolvedTarget, Loc]:
    """One target as it will be sent (its own text, media, ... else the post's), with its
    hash; and where its media are written."""
    label, platform, account_id, account = who
    own_text = bool(over and over.text)
    text = identity.normalize_text(over.text) if over and over.text else shared.body
    media_loc: Loc = (*loc, "media") if over and over.media is not None else ("media",)
    media = c.media_read.get(media_loc)
    if media is None:
        specs = over.media if over and over.media is not None else (fm.media or [])
        media = c.media_read[media_loc] = check_media(c, specs, media_loc)
    first_comment = _first_comment(fm, over)
    direct = account is not None and account.direct
    options, refs = _refs(c, fm, over, platform, direct, loc, own_text)
    extras = bluesky_extras(c, fm, over, loc, label, direct, bool(media))
    # A thread's later parts go to every target without a `text` of its own;
    # they are not in the target's hash (parts added later post as replies).
    parts = tuple(shared.thread[1:]) if shared.thread and not own_text else ()
    if fm.thread == "auto" and not shared.thread and not own_text and platform:
        from publisher.rules.split import split_text

        pieces = split_text(text, platform)  # where this platform's limit cuts
        text, parts = pieces[0], tuple(pieces[1:])
    direct_as = f"{account.handle}@{account.pds}" if account and direct else None
    hashed_refs = {k: v for k, v in refs.items() if v}
    content_hash = canonical.target_hash(
        account=account_id,
        platform=platform,
        direct=direct_as,
        text=text,
        media=[m.canonical() for m in media],
        first_comment=first_comment,
        options=dict(options) if options else None,
        scheduled_at=shared.scheduled_iso,
        publish_now=shared.publish_now,
        profile_id=c.post.profile_id,
        # -- Bluesky extras (the card is not content)
        bluesky=extras.hashed() if direct else None,
        # what it answers, quotes or reposts is content too
        refs=hashed_refs or None,
    )
    where = direct_as or account_id or platform
    target = ResolvedTarget(
        label=label,
        index=i,
        platform=platform,
        account_id=account_id,
        account=account,
        text=text,
        media=tuple(media),
        first_comment=first_comment,
        options=options,
        hash=content_hash,
        parts=parts,
        part_hashes=tuple(part_hash(where, n, part) for n, part in enumerate(parts, start=2)),
        part_scope=where,
        extras=extras,
        **refs,
    )
    return target, media_loc


def _first_comment(fm: Any, over: Any) -> str | None:
    spec = over.firstComment if over and over.firstComment is not None else fm.firstComment
    if spec is None:
        return None
    return identity.normalize_text(spec if isinstance(spec, str) else spec.text)


def _refs(
    c: Checker, fm: Any, over: Any, platform: str | None, direct: bool, loc: Loc, own_text: bool
) -> tuple[Any, dict[str, str | None]]:
    """The target's options with what it answers or quotes (letmepost), and what a direct
    account resolves when it posts (`reply_to`, `quote`, `repost`)."""
    options = over.options if over else None
    refs: dict[str, str | None] = {}
    if not own_text:  # a target with its own text is a post of its own
        options = check_refs(c, fm, platform, direct, loc, options)
        if direct:
            refs = {"reply_to": fm.replyTo, "quote": fm.quote}
        elif bluesky_reply(fm.replyTo, platform):
            # Through letmepost: the parent's and root's uri + cid are read at publish
            # time (backends.letmepost.resolve_bluesky_reply).
            refs = {"reply_to": fm.replyTo}
            if fm.scheduledAt is not None:
                c.problem(
                    loc,
                    "scheduledAt.no_bluesky_reply",
                    "a scheduled post cannot be a Bluesky reply through letmepost; "
                    "publish it now or drop `replyTo`",
                )
    if fm.repost is not None:
        refs["repost"] = fm.repost
        if not direct:
            c.problem(
                loc,
                "repost.direct_only",
                "a repost goes through a direct Bluesky account "
                '(`[accounts.me] bluesky = "you.bsky.social"`): letmepost cannot repost',
            )
    return options, refs


def _check_target(
    c: Checker,
    fm: Any,
    target: ResolvedTarget,
    loc: Loc,
    over: Any,
    media_loc: Loc,
    scheduled: bool,
) -> None:
    """A resolved target against its platform's rules (and a direct account's)."""
    enabled = c.enabled_platforms
    if enabled is not None and not target.direct and target.platform not in (None, *enabled):
        c.problem(
            loc,
            "platform_not_enabled",
            f"{target.platform} is not enabled on "
            + (
                "the hosted letmepost service: this target will be refused "
                "(platform_not_enabled). A self-hosted server that has it: list it in "
                "`platforms` in publisher.toml"
                if c.config.platforms is None
                else "your letmepost server (`platforms` in publisher.toml): this target "
                "will be refused"
            ),
            "warning",
        )
    if target.parts:
        check_thread(c, target, loc, over)
    if fm.repost is not None:
        pass  # a repost has no text or media of its own: nothing to measure
    elif target.platform:
        check_limits(c, target, loc, over, media_loc, scheduled)
    elif not target.direct:
        c.problem(
            loc,
            "targets.platform.unknown",
            f"the platform of {target.label!r} is not known locally, so its limits are "
            'not checked: write the alias as { id = "...", platform = "..." } '
            "(`publisher accounts` prints it)",
            "warning",
        )
    if target.direct:
        check_direct(c, target, media_loc, scheduled)
    if scheduled and target.first_comment and target.platform in (None, "bluesky"):
        fc_loc = (*loc, "firstComment") if over and over.firstComment else ("firstComment",)
        c.problem(
            fc_loc,
            "scheduledAt.no_first_comment",
            "a scheduled post cannot carry a first comment (the API refuses it): "
            "remove firstComment or scheduledAt",
        )


def resolve(c: Checker, spec: Any, loc: Loc) -> Who | None:
    """Who a target names: (label, platform, account id, alias account); None (and
    a problem reported) when it names no one."""
    known = c.snapshot.targets.get(spec) if isinstance(spec, str) else None
    if known is not None:  # the same string resolved for an earlier post of this run
        return known
    aliases = c.config.accounts
    if isinstance(spec, str):
        name, platform, account_id = spec.strip(), None, None
    else:
        name = spec.account or spec.accountId or spec.platform
        platform, account_id = spec.platform, spec.accountId
        if spec.account and _UUID.match(spec.account):
            account_id = spec.account
        elif spec.account:
            name = spec.account
    account = None
    if account_id or _UUID.match(name):
        account_id = (account_id or name).lower()
        for alias in aliases.values():  # the platform, when an alias names this UUID
            if alias.account_id == account_id and alias.platform:
                platform = platform or alias.platform
    elif name in aliases:
        account = aliases[name]
        account_id = account.account_id
        if platform and account.platform and platform != account.platform:
            c.problem(
                loc,
                "targets.account.platform_mismatch",
                f"{name!r} is a {account.platform} account, not {platform}",
            )
            return None
        platform = platform or account.platform
    elif name in PLATFORM_NAMES:
        platform = name
    elif _UUIDISH.match(name):
        c.problem(loc, "targets.account.uuid", f"{name!r} is not a valid account UUID")
        return None
    else:
        hint = did_you_mean(name, [*aliases, *PLATFORM_NAMES])
        listed = ", ".join(sorted(aliases)) or "none yet (add them to publisher.toml)"
        c.problem(
            loc,
            "targets.alias.unknown",
            f"unknown target {name!r}{hint}; aliases: {listed}; or use a platform name "
            "or an account UUID",
        )
        return None
    who = (name, platform, account_id, account)
    if isinstance(spec, str):
        c.snapshot.targets[spec] = who
    return who
