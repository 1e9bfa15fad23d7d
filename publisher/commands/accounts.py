"""`publisher accounts`: list connected accounts and print a ready-to-paste alias block."""

from __future__ import annotations

import argparse
import re
from typing import Any

from publisher.commands.common import config_from, run_from


def alias_block(accounts: list[dict[str, Any]]) -> str:
    """`[accounts]` lines for publisher.toml, one per account, with unique alias names."""
    lines = ["[accounts]"]
    used: set[str] = set()
    for acct in accounts:
        platform = str(acct.get("platform", "account"))
        name = str(acct.get("displayName") or acct.get("platformAccountId") or "")
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:24] or "main"
        alias = f"{platform}-{slug}"
        n = 2
        while alias in used:
            alias, n = f"{platform}-{slug}-{n}", n + 1
        used.add(alias)
        comment = f"  # {name}" if name else ""
        lines.append(f'{alias} = {{ id = "{acct["id"]}", platform = "{platform}" }}{comment}')
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from publisher.client import ApiError, NetworkError
    from publisher.report import dump_json, table

    config = config_from(args)
    with run_from(args, config).connect() as api:
        try:
            accounts = api.client.accounts()
        except (ApiError, NetworkError) as exc:
            print(f"publisher: error: cannot list accounts: {exc}")
            return 1
    if args.json:
        dump_json({"data": accounts, "aliases": alias_block(accounts)})
        return 0
    rows = [
        [
            a.get("platform", ""),
            a.get("displayName") or "",
            a.get("platformAccountId") or "",
            a["id"],
        ]
        for a in accounts
    ]
    print(table(rows, ["PLATFORM", "NAME", "PLATFORM ID", "ACCOUNT ID"]))
    print("\n# paste into publisher.toml:")
    print(alias_block(accounts))
    return 0
