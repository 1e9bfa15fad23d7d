"""`publisher accounts`: list connected accounts and print a ready-to-paste alias block."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.commands.common import config_from, run_from

if TYPE_CHECKING:
    from publisher.config import Config

__all__ = [
    "SHORT_NAMES",
    "Account",
    "Options",
    "alias_block",
    "append_block",
    "main",
    "short_aliases",
]

#: A connected account as `GET /v1/accounts` lists it (`id`, `platform`,
#: `displayName`, `platformAccountId`, ...): read, never trusted to be complete.
Account = Mapping[str, object]


@dataclass(frozen=True)
class Options:
    config: Path | None = None
    as_json: bool = False
    sandbox: bool = False


#: The short name an alias starts with: what people call the platform.
SHORT_NAMES = {"twitter": "x"}


def _platform_names_allowed() -> bool:
    """Whether the configuration accepts an alias spelled like a platform name
    (`bluesky = { id = ..., platform = "bluesky" }`). Today's `publisher.config` refuses
    it, so such an alias gets `-main` appended; asked once, through the public loader."""
    import tempfile
    from pathlib import Path

    from publisher.config import ConfigError, load_config

    probe = '[accounts]\nbluesky = { id = "00000000-0000-4000-8000-000000000000", platform = "bluesky" }\n'
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "publisher.toml"
        path.write_text(probe, encoding="utf-8")
        try:
            load_config(path=path)
        except ConfigError:
            return False
    return True


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]


def short_aliases(accounts: Sequence[Account]) -> list[tuple[str, Account]]:
    """A short, readable, unique alias per account: `x` or `bluesky` for the one account
    on a platform, `linkedin-company` / `linkedin-personal` for several (the words of
    their display names that tell them apart), `linkedin-2` when nothing does."""
    from publisher.config import PLATFORM_NAMES

    by_platform: dict[str, list[Account]] = {}
    for acct in accounts:
        by_platform.setdefault(str(acct.get("platform") or "account"), []).append(acct)
    platform_ok: bool | None = None
    used: set[str] = set()
    named: dict[int, str] = {}
    for platform, group in by_platform.items():
        short = SHORT_NAMES.get(platform, platform)
        noise = {platform, short, "twitter", "x"}
        word_lists = [
            [w for w in _words(str(a.get("displayName") or "")) if w not in noise] for a in group
        ]
        common = set.intersection(*(set(ws) for ws in word_lists)) if len(group) > 1 else set()
        for n, (acct, words) in enumerate(zip(group, word_lists, strict=True), 1):
            if len(group) == 1:
                alias = short
            else:
                rest = [w for w in words if w not in common]
                alias = f"{short}-{'-'.join(rest)[:24].strip('-')}" if rest else f"{short}-{n}"
            if alias in PLATFORM_NAMES:
                if platform_ok is None:
                    platform_ok = _platform_names_allowed()
                if not platform_ok:
                    alias = f"{alias}-main"
            base, k = alias, 2
            while alias in used:
                alias, k = f"{base}-{k}", k + 1
            used.add(alias)
            named[id(acct)] = alias
    return [(named[id(a)], a) for a in accounts]


def alias_block(accounts: Sequence[Account]) -> str:
    """`[accounts]` lines for publisher.toml, one per account, with short unique aliases."""
    lines = ["[accounts]"]
    for alias, acct in short_aliases(accounts):
        platform = str(acct.get("platform", "account"))
        name = str(acct.get("displayName") or acct.get("platformAccountId") or "")
        comment = f"  # {name}" if name else ""
        lines.append(f'{alias} = {{ id = "{acct["id"]}", platform = "{platform}" }}{comment}')
    return "\n".join(lines)


def append_block(accounts: Sequence[Account], config: Config) -> tuple[str, list[str]]:
    """What `publisher accounts >> publisher.toml` appends: one `[accounts.<alias>]` table
    per account the configuration does not name yet, valid TOML after any publisher.toml
    (a sub-table may follow an `[accounts]` table, and it closes whatever table came
    before). Aliases already taken get a suffix. Also the lines saying what was left out."""
    taken_ids = {a.account_id for a in config.accounts.values() if a.account_id}
    by_platform: dict[str, int] = {}
    for acct in accounts:
        by_platform[str(acct.get("platform"))] = by_platform.get(str(acct.get("platform")), 0) + 1
    bare = {
        a.platform: alias
        for alias, a in config.accounts.items()
        if a.platform and not a.account_id and not a.direct
    }
    skipped: list[str] = []
    lines: list[str] = []
    used = set(config.accounts)
    for alias, acct in short_aliases(accounts):
        platform = str(acct.get("platform", "account"))
        name = str(acct.get("displayName") or acct.get("platformAccountId") or "")
        if str(acct["id"]).lower() in taken_ids:
            skipped.append(f"{platform} {name} ({acct['id']}): already in the configuration")
            continue
        if platform in bare and by_platform.get(platform) == 1:
            skipped.append(f"{platform} {name}: already the alias {bare[platform]!r}")
            continue
        base, k = alias, 2
        while alias in used:
            alias, k = f"{base}-{k}", k + 1
        used.add(alias)
        key = alias if re.fullmatch(r"[A-Za-z0-9_-]+", alias) else f'"{alias}"'
        comment = f"  # {name}" if name else ""
        lines += [f"[accounts.{key}]", f'id = "{acct["id"]}"', f'platform = "{platform}"{comment}']
    text = ""
    if lines:
        text = "\n# Connected letmepost accounts (`publisher accounts`)\n" + "\n".join(lines) + "\n"
    return text, skipped


def main(options: Options) -> int:
    """The accounts as a table on stderr (for you to read) and, on stdout, only valid
    TOML to append to publisher.toml: `publisher accounts >> publisher.toml` works."""
    import sys

    from publisher.clients.letmepost import ApiError, NetworkError
    from publisher.report import dump_json, table

    config = config_from(options.config)
    with run_from(config, sandbox=options.sandbox).connect() as api:
        assert api.client is not None  # connect() refuses a run without a key
        try:
            accounts = api.client.accounts()
        except (ApiError, NetworkError) as exc:
            print(f"publisher: error: cannot list accounts: {exc}", file=sys.stderr)
            return 1
    if options.as_json:
        dump_json({"data": accounts, "aliases": alias_block(accounts)})
        return 0
    rows = [
        [
            str(a.get("platform", "")),
            str(a.get("displayName") or ""),
            str(a.get("platformAccountId") or ""),
            str(a["id"]),
        ]
        for a in accounts
    ]
    print(table(rows, ["PLATFORM", "NAME", "PLATFORM ID", "ACCOUNT ID"]), file=sys.stderr)
    block, skipped = append_block(accounts, config)
    for line in skipped:
        print(f"  skipped {line}", file=sys.stderr)
    if block:
        sys.stdout.write(block)
        if sys.stdout.isatty():
            print(
                "\n(the [accounts.*] tables above are for publisher.toml: "
                "`publisher accounts >> publisher.toml` appends them)",
                file=sys.stderr,
            )
    else:
        print("every connected account already has an alias in the configuration", file=sys.stderr)
    return 0
