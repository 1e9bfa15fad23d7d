"""Posts + their recorded state -> a `Plan`: what publishing would do, per file and
target. Pure: no network, no writes. `plan` prints it, `publish` carries it out.

The reconcile table (SPEC section 5), per target:

| recorded                              | action    |
|---------------------------------------|-----------|
| nothing (or only a sandbox record, on a live run) | publish |
| published, same content               | none      |
| published, content edited             | keep (onEdit: keep, the default: a notice) or repost (onEdit: repost, --repost) |
| failed with a retryable error         | retry     |
| failed/rejected, content since fixed  | publish   |
| failed/rejected otherwise             | blocked (or retry with --retry-failed) |
| queued, same content, time passed     | sync      |
| queued, same content                  | none (waiting) |
| queued, content or time edited        | update    |
| queued, target removed / file drafted | cancel    |
| pending (direct Bluesky, crash between choosing the key and recording the result) | resume |
| `unpublish: true`: direct Bluesky post (or `unpublishing`) | unpublish (delete it, its comment, its gates) |
| `unpublish: true`: queued letmepost post | cancel |
| `unpublish: true`: published letmepost post | unpublish (a notice: delete it on the platform) |
| `unpublished`                          | none    |

Each file's target actions become its `steps`: the requests `apply` runs, in order,
each with its backend, key, attempt, body bytes and uploads, built by the backends
themselves (`Backend.steps`; `steps.Stepper` orders them). `publish --dry-run` and
the previews print these very steps; a deleted file with queued targets becomes a
`DeletedFile` with cancel steps, so cancel-on-delete is planned in one place for
`sync`, `publish` and the Action.

The modules: `values` (the plan as a value), `make` (`make_plan`: the whole plan),
`file` (one file), `target` (one target: the table above), `threads` (a thread's later
parts), `restore` (lost records from history), `steps` (target actions -> steps).
"""

from __future__ import annotations

from publisher.plan.file import recorded_targets
from publisher.plan.make import make_plan
from publisher.plan.target import KEY_WINDOW, SENT_TO_PDS, UNSTORED_CODES
from publisher.plan.values import (
    CREATES,
    SENDS,
    WORK,
    Action,
    DeletedFile,
    FileContext,
    FilePlan,
    Plan,
    Step,
    StepKind,
    TargetPlan,
)

__all__ = [
    "CREATES",
    "KEY_WINDOW",
    "SENDS",
    "SENT_TO_PDS",
    "UNSTORED_CODES",
    "WORK",
    "Action",
    "DeletedFile",
    "FileContext",
    "FilePlan",
    "Plan",
    "Step",
    "StepKind",
    "TargetPlan",
    "make_plan",
    "recorded_targets",
]
