"""The released versions of publisher and the commit each one's tag points to.

`publisher init` pins the workflow it writes to the commit of the installed version's
release, offline: a tag can be moved, a commit SHA cannot (docs/action.md, "Pinning").
The release procedure (docs/releasing.md, `scripts/release.py`) tags the release commit
``vX.Y.Z``, moves ``vX``, then records the tag's commit here in the next commit, the one
the package is built from (a commit cannot hold its own SHA).
``tests/e2e/test_releases.py`` checks every entry against the repository's history.
"""

from __future__ import annotations

__all__ = ["RELEASES"]

#: version -> the full commit SHA that tag ``v<version>`` points to
RELEASES: dict[str, str] = {}
