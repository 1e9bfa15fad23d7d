"""The `published` block of a post file: read, written, counted, merged.

Backends build no record dicts (they pass `Sending`, `Answer`, `Failure`). The block
is written only by publisher, after every response, as a textual splice
(`writeback.update_file`: every other byte of the file is kept). Its shape::

    published:
      env: live                  # live | sandbox (Run.counts decides what counts)
      api: https://api.letmepost.dev
      hash: sha256:...           # content hash of the whole post when last sent
      status: published          # the batch status, from the targets' (batch_status)
      updatedAt: '2026-11-29T12:00:00Z'
      media: {<sha256>: med_...} # uploaded local files
      targets:
        <label>: {platform, account, status, hash, key, attempt, postId, uri, cid, url,
                  firstCommentUri, ..., at, warnings, error}

Reading is lenient where it must be (unknown keys are kept, so older and newer
versions agree) and strict where a hand edit would do harm: an unknown status, a
wrong type, or a `pending` target without a usable key is an error at its line
(`validate/` reports it as `published.invalid`), never an internal error or an endless
retry.

One module per concern; every name is imported from here (`from publisher.record
import Record`):

- `view.py`: `TargetRecord`, `PublishedRecord`, the typed, read-only view a `Post`
  carries, and the hand-edit checks.
- `working.py`: `Record`, one file's block as a run changes it, through its
  transitions (`pending`, `answered`, `failed`, `queued`, `kept`, `superseded`, ...),
  each on disk when it returns; `Sending`, `Answer`, `Failure` are their typed
  arguments.
- `block.py`: the raw block: `Status`, key order, the compact shape written to disk,
  `counts(block, run)`, `queued_targets(block, run)` (what a raw block means for a run).
- `merge.py`: `merge_records`, `merge_published`: the union the Action needs after a
  rebase.
"""

from typing import TYPE_CHECKING

from publisher.record.block import (
    DERIVED_KEYS,
    LIVE_STATUSES,
    TARGET_ORDER,
    ErrorDict,
    PartDict,
    Status,
    TargetDict,
    TargetStatus,
    batch_status,
    block_of,
    compact_target,
    counts,
    direct_record,
    iso_z,
    moment,
    now_iso,
    queued_targets,
    targets_of,
    web_url,
)
from publisher.record.merge import committed_blocks, merge_published, merge_records, unite_target
from publisher.record.view import (
    MAX_ATTEMPT,
    PartRecord,
    PublishedRecord,
    TargetError,
    TargetRecord,
    release_problem,
)
from publisher.record.working import (
    Announced,
    Answer,
    Failure,
    Record,
    RecordError,
    Sending,
)

if TYPE_CHECKING:
    from publisher.post import Post as _Post  # noqa: F401  (reconcile's name for it)

__all__ = [
    "DERIVED_KEYS",
    "LIVE_STATUSES",
    "MAX_ATTEMPT",
    "TARGET_ORDER",
    "Announced",
    "Answer",
    "ErrorDict",
    "Failure",
    "PartDict",
    "PartRecord",
    "PublishedRecord",
    "Record",
    "RecordError",
    "Sending",
    "Status",
    "TargetDict",
    "TargetError",
    "TargetRecord",
    "TargetStatus",
    "batch_status",
    "block_of",
    "committed_blocks",
    "compact_target",
    "counts",
    "direct_record",
    "iso_z",
    "merge_published",
    "merge_records",
    "moment",
    "now_iso",
    "queued_targets",
    "release_problem",
    "targets_of",
    "unite_target",
    "web_url",
]
