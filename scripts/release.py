#!/usr/bin/env python3
"""Cut a release of publisher: tag vX.Y.Z, move vX, record the tag's commit.

    python3 scripts/release.py X.Y.Z

Run it in a clean checkout of the default branch whose HEAD is the release commit:
`publisher/__init__.py` says X.Y.Z and CHANGELOG.md has a `## [X.Y.Z] - YYYY-MM-DD`
section. It then

1. tags HEAD `vX.Y.Z` (annotated) and moves the tag `vX` to it;
2. records `"X.Y.Z": "<sha of vX.Y.Z>"` in `publisher/releases.py` and commits that as
   the next commit: build the package from it, so that `publisher init` pins the
   workflow to this release's commit with no network (a commit cannot hold its own SHA);
3. prints what to push. Nothing is pushed by the script.

Exit 1 with a message when a check fails; nothing is changed then.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
RELEASES = Path("publisher/releases.py")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout.strip()


def fail(message: str) -> None:
    print(f"release: {message}", file=sys.stderr)
    raise SystemExit(1)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not VERSION.match(argv[0]):
        fail("usage: scripts/release.py X.Y.Z")
    version = argv[0]
    major = f"v{VERSION.match(version).group(1)}"  # type: ignore[union-attr]
    tag = f"v{version}"
    if git("status", "--porcelain"):
        fail("the work tree has changes: commit or stash them first")
    init = Path("publisher/__init__.py").read_text(encoding="utf-8")
    if f'__version__ = "{version}"' not in init:
        fail(f"publisher/__init__.py does not say __version__ = {version!r}")
    changelog = Path("CHANGELOG.md").read_text(encoding="utf-8")
    if not re.search(rf"^## \[{re.escape(version)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M):
        fail(f"CHANGELOG.md has no section '## [{version}] - YYYY-MM-DD'")
    if git("tag", "--list", tag):
        fail(f"the tag {tag} exists already")
    text = RELEASES.read_text(encoding="utf-8")
    if f'"{version}"' in text:
        fail(f"{RELEASES} records {version} already")

    git("tag", "-a", tag, "-m", f"publisher {version}")
    git("tag", "-f", "-a", major, "-m", f"publisher {version} (moving tag)", f"{tag}^{{commit}}")
    sha = git("rev-parse", f"{tag}^{{commit}}")
    head = "RELEASES: dict[str, str] = {"
    if head not in text:
        fail(f"{RELEASES} has no line starting {head!r}")
    empty = head + "}"
    entry = f'    "{version}": "{sha}",\n'
    text = (
        text.replace(empty, head + "\n" + entry + "}")
        if empty in text
        else text.replace(head + "\n", head + "\n" + entry)
    )
    RELEASES.write_text(text, encoding="utf-8")
    git("add", str(RELEASES))
    git("commit", "-q", "-m", f"Record the commit of release {tag}")
    print(f"Tagged {tag} and moved {major} to {sha}; recorded it in {RELEASES}.")
    print("Push them, then build the package from the new HEAD:")
    print(f"  git push origin HEAD {tag} && git push --force origin {major}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
