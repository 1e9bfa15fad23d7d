"""The Run of this invocation: where requests go and which records count.

Worked out once per command (`resolve_run`), from the flags, the environment and the
configuration, and handed to everything that needs it: the plan, apply, the
previews, sync, verify, watch and the Action. So `plan` and `publish --dry-run` can
never disagree with what `publish` then does.

- `--sandbox`: an embedded letmepost-compatible server on a free loopback port, with
  its state under `.publisher/`; recorded as `env: sandbox`, `api: sandbox`.
- a key from `LETMEPOST_API_KEY` (or the Action's input): `lmp_test_...` means the
  sandbox environment of the API named by the config (`env: sandbox`), anything else
  the live one.
- no key: the live environment of the configured API (planning needs no key; sending
  does).

A record counts for a run only in the same environment, and only if both were made
against the same kind of server: a record made against a server on this machine (a
sandbox answering a live-format key) never counts for a run against a real API.

Example::

    run = resolve_run(config, sandbox=False)
    reconciler = Reconciler(posts, run)
    plan = reconciler.plan()
    with run.connect(need_key=plan.needs_api) as api:
        result = Runner(run, client=api.client).run(reconciler.plan(api))
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.config import DEFAULT_PASSWORD_ENV
from publisher.errors import UsageError

if TYPE_CHECKING:
    from publisher.clients.letmepost import LetmepostClient
    from publisher.config import Config
    from publisher.sandbox.server import SandboxHandle

__all__ = ["SANDBOX_API", "Connection", "Env", "Run", "is_local_api", "resolve_run"]

TEST_KEY_PREFIX = "lmp_test_"
SANDBOX_API = "sandbox"  # `published.api` of records made against the embedded sandbox


class Env(StrEnum):
    """The environment a record was made in (`published.env`)."""

    LIVE = "live"
    SANDBOX = "sandbox"


@functools.lru_cache(maxsize=64)  # a repository's records name a handful of servers
def is_local_api(url: str | None) -> bool:
    """Whether `url` is a server on this machine (a sandbox, whatever key it took)."""
    from urllib.parse import urlsplit

    if not url or "://" not in url:
        return url == SANDBOX_API
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


@dataclass(frozen=True)
class Run:
    """One invocation's environment. `api` is what records made by this run carry in
    `published.api` (the base URL, or ``sandbox`` for the embedded server); `None` only
    in tests and tools that plan without a server (then records of any server count)."""

    env: Env = Env.LIVE
    api: str | None = None
    key: str | None = field(default=None, repr=False)
    embedded: bool = False
    state_dir: Path | None = None  # where the embedded sandbox keeps its state
    #: direct Bluesky accounts' app passwords, by the variable that holds them (read
    #: once, here: nothing deeper reads the environment)
    app_passwords: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def sandbox(self) -> bool:
        return self.env is Env.SANDBOX

    @property
    def local(self) -> bool:
        """Whether requests go to a server on this machine."""
        return self.embedded or is_local_api(self.api)

    @property
    def key_kind(self) -> str:
        if self.embedded:
            return "embedded sandbox"
        if not self.key:
            return "no key"
        return "test key" if self.key.startswith(TEST_KEY_PREFIX) else "live key"

    def counts(self, record_env: str | None, record_api: str | None) -> bool:
        """Whether a record made in (`record_env`, `record_api`) counts for this run."""
        if (record_env or Env.LIVE) != self.env:
            return False
        return self.api is None or is_local_api(record_api) == is_local_api(self.api)

    @contextlib.contextmanager
    def connect(self, *, need_key: bool = True, verbose: bool = False) -> Iterator[Connection]:
        """Open what the run talks to: the embedded sandbox (started here, stopped on
        exit) or a client for the API. Without a key the connection has no client;
        `need_key` makes that a `UsageError` instead."""
        from publisher.clients.letmepost import LetmepostClient

        log = (lambda line: print(f"  {line}", file=sys.stderr)) if verbose else None
        if self.embedded:
            from publisher.sandbox import start_sandbox

            assert self.state_dir is not None  # `resolve_run` gives an embedded run one
            db = self.state_dir / "sandbox.db"
            db.parent.mkdir(parents=True, exist_ok=True)
            handle = start_sandbox(db)
            try:
                with LetmepostClient(handle.url, handle.test_key, log=log) as client:
                    yield Connection(self, client, handle)
            finally:
                handle.stop()
            return
        if not self.key:
            if need_key:
                raise UsageError(
                    "LETMEPOST_API_KEY is not set. Set it to your letmepost API key, or add "
                    "--sandbox to try everything against a local sandbox with no account"
                )
            yield Connection(self, None)
            return
        assert self.api is not None
        with LetmepostClient(self.api, self.key, log=log) as client:
            yield Connection(self, client)


@dataclass
class Connection:
    """An open run: the letmepost client (None without a key) and, for `--sandbox`,
    the embedded server's handle."""

    run: Run
    client: LetmepostClient | None
    sandbox: SandboxHandle | None = None
    _accounts: list[Mapping[str, object]] | None = field(default=None, repr=False)

    def accounts(self) -> list[Mapping[str, object]] | None:
        """The connected accounts (`GET /v1/accounts`), read once per run; None without
        a client or when the API cannot say (the request then resolves them itself)."""
        if self._accounts is None and self.client is not None:
            from publisher.clients.letmepost import ApiError, NetworkError

            try:
                self._accounts = list(self.client.accounts())
            except (ApiError, NetworkError):
                return None
        return self._accounts

    @property
    def env(self) -> Env:
        return self.run.env

    @property
    def api(self) -> str | None:
        return self.run.api


def resolve_run(
    config: Config,
    *,
    sandbox: bool = False,
    environ: Mapping[str, str] = os.environ,
    key: str | None = None,
) -> Run:
    """The run of this invocation. `key` (the Action's input) wins over
    `LETMEPOST_API_KEY`. A malformed key is refused without being echoed; an unusable
    or credential-bearing API URL is a `ConfigError`."""
    passwords = _app_passwords(config, environ)
    if sandbox:
        return Run(
            Env.SANDBOX,
            SANDBOX_API,
            embedded=True,
            state_dir=config.root / ".publisher",
            app_passwords=passwords,
        )
    key = (key if key is not None else environ.get("LETMEPOST_API_KEY", "")).strip()
    if key and not (key.isascii() and key.isprintable() and " " not in key):
        raise UsageError(
            "LETMEPOST_API_KEY contains characters an API key cannot have "
            "(spaces, line breaks or non-ASCII): check how it is set"
        )
    url = config.resolved_api_url(dict(environ))
    env = Env.SANDBOX if key.startswith(TEST_KEY_PREFIX) else Env.LIVE
    return Run(env, url, key or None, app_passwords=passwords)


def _app_passwords(config: Config, environ: Mapping[str, str]) -> dict[str, str]:
    """The app password of every direct Bluesky account the config names, by the name of
    the variable that holds it (those that are set)."""

    names = {a.password_env or DEFAULT_PASSWORD_ENV for a in config.accounts.values() if a.direct}
    return {name: environ[name] for name in sorted(names) if environ.get(name)}
