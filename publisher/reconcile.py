"""The one planning call: `Reconciler` makes the plan for every entry point (`plan`,
`publish` and its `--dry-run`, `sync`, the Action, `watch`), and asks before creating:
before a target with no usable record is sent as new, the places that may know it
went out already are asked, like Terraform's refresh. A target found there is adopted
(its record written, nothing sent), never posted again.

1. Git history (`history.committed_records`): the file's committed versions on every
   ref the clone has and on the run's `refs` (a push event's ``before``, fetched by
   its id when a force push left it out of the clone), renames followed. One ``git
   log`` and one ``git cat-file --batch`` per run.
2. The servers, once connected: each backend's `Backend.lost` (letmepost: its post
   log, `backends/letmepost_log.py`, what still knows a post once the server has
   forgotten its Idempotency-Key). A direct Bluesky record is asked for by its
   backend at the moment of creating instead: the record at the target's derived
   record key (`backends/bluesky_keys.py`), adopted when it is this post.

`plan` stays offline (git history only) unless asked (``--refresh``); ``publish``
and ``ci`` reconcile; ``sync`` and ``watch`` plan without asking (`ask=False`: sync
sends nothing new but a queued thread's parts; watch plans a file on every save).
`Reconciler` keeps what it learnt for the run: the plan is made again (an open
connection, the accounts list) without asking twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from publisher.plan import Plan, make_plan

if TYPE_CHECKING:
    from publisher.plan.restore import Block
    from publisher.post import Post
    from publisher.run import Connection, Run

__all__ = ["Reconciler"]


class Reconciler:
    """The plan of `posts` for `run`, with what git history and the servers know.

    Args:
        refs: more git refs to read history from (a push event's ``before``).
        repost, retry_failed: `publish`'s flags (`make_plan`).
        queued_only: `sync`: only what concerns queued posts.
        deleted: (path, queued targets) of deleted post files: cancelled.
        ask: ask git history and (connected) the servers before creating; `sync` and
            `watch` do not.
        now: the moment the plan is made for (tests).

    Example::

        reconciler = Reconciler(posts, run, repost=False)
        plan = reconciler.plan()  # offline: git history only
        with run.connect(need_key=plan.needs_api) as api:
            plan = reconciler.plan(api)  # the servers asked once, the accounts list read
    """

    def __init__(
        self,
        posts: Sequence[Post],
        run: Run,
        *,
        refs: Sequence[str] = (),
        repost: bool = False,
        retry_failed: bool = False,
        queued_only: bool = False,
        deleted: Iterable[tuple[str, Iterable[tuple[str, str | None, str]]]] = (),
        ask: bool = True,
        now: dt.datetime | None = None,
    ) -> None:
        self.posts, self.run, self.refs, self.ask = list(posts), run, tuple(refs), ask
        self._options = {"repost": repost, "retry_failed": retry_failed, "queued_only": queued_only}
        self._deleted = [(path, list(queued)) for path, queued in deleted]
        self._now = now
        self._history: dict[str, list[Block]] | None = None
        self._server: dict[str, list[Block]] | None = None
        self._used: dict[str, list[Block]] | None = None  # what the last plan restored from
        self._born: dict[str, int] = {}  # post path -> its file's first commit time
        self.asked: list[str] = []  # what was asked, for the run's story

    def plan(self, api: Connection | None = None, *, accounts: bool = True) -> Plan:
        """The plan; with `api` (an open connection with a client) the servers are
        asked too (once), and platform-only targets are checked against the
        accounts list."""
        plan = self._make()
        if not self.ask or not _asks(plan):
            return self._with_accounts(plan, api, accounts)
        if self._history is None:
            from publisher.history import committed_records

            self._history = committed_records(plan, self.refs, self._born)
            self.asked.append("git history")
        history: dict[str, list[Block]] = self._history
        if history:
            plan = self._make(history)
        if api is not None and api.client is not None and self._server is None:
            self._server = self._lost(plan, api)
        server = self._server
        if server:
            paths = {*history, *server}
            history = {p: [*server.get(p, []), *history.get(p, [])] for p in paths}
            plan = self._make(history)
        self._used = history
        return self._with_accounts(plan, api, accounts)

    def _make(
        self,
        history: dict[str, list[Block]] | None = None,
        accounts: Sequence[Mapping[str, object]] | None = None,
    ) -> Plan:
        return make_plan(
            self.posts,
            self.run,
            now=self._now,
            deleted=self._deleted,
            history=history,
            accounts=accounts,
            **self._options,
        )

    def _with_accounts(self, plan: Plan, api: Connection | None, accounts: bool) -> Plan:
        if not accounts or api is None or not plan.needs_accounts:
            return plan
        found = api.accounts()
        if found is None:
            return plan
        return self._make(self._used or None, found)

    def _lost(self, plan: Plan, api: Connection) -> dict[str, list[Block]]:
        """What each backend's server knows went out for targets about to be sent as
        new (`Backend.lost`), per post path."""
        from publisher.backends import open_backends

        out: dict[str, list[Block]] = {}
        for backend in open_backends(self.run, client=api.client).values():
            found = backend.lost(plan, self._born)
            if found.asked:
                self.asked.append(found.asked)
            for path, blocks in found.blocks.items():
                out.setdefault(path, []).extend(blocks)
        return out


def _asks(plan: Plan) -> bool:
    from publisher.history import ASKS_HISTORY

    return any(tp.action in ASKS_HISTORY for f in plan.files for tp in f.targets)
