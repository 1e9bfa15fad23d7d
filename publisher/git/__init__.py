"""Every git command publisher runs goes through this package.

- `action.py`, for the Action: the posts changed between two revisions
  (`changed_posts`), a file at a revision (`file_at`), the commit-back as
  github-actions[bot] (`commit_files`) and the push with rebase and retry
  (`push_with_retry`), through gitpython (imported inside the functions, so the CLI
  starts fast).
- `worktree.py`, for the user's own work tree (`watch --commit`, `sync`): whether a
  folder is in a work tree (`in_work_tree`), a commit under the user's identity and
  hooks (`commit_local`), and the post files deleted in the work tree or the history
  (`deleted_posts`), as plain ``git -C <root>`` with the user's environment.
- `versions.py`, the history reader of reconcile and drafts (`committed_versions`,
  `versions_mentioning`): one ``git log`` and one ``git cat-file --batch`` per call.
- `common.py`: the environment every call shares, the bot's identity, the errors.

Every git command is run as an argument list (never through a shell), with ``--``
before paths and ``GIT_LITERAL_PATHSPECS=1``, because file names in a repository are
untrusted data; git never prompts (``GIT_TERMINAL_PROMPT=0``).
"""

from __future__ import annotations

from publisher.git.action import (
    ChangeSet,
    MergeFile,
    PushResult,
    changed_posts,
    commit_files,
    file_at,
    push_with_retry,
    work_tree_root,
)
from publisher.git.common import (
    BOT_EMAIL,
    BOT_NAME,
    ZERO_SHA,
    CommitError,
    GitError,
    user_git_output,
)
from publisher.git.versions import committed_versions, versions_mentioning
from publisher.git.worktree import commit_local, deleted_posts, in_work_tree

__all__ = [
    "BOT_EMAIL",
    "BOT_NAME",
    "ZERO_SHA",
    "ChangeSet",
    "CommitError",
    "GitError",
    "MergeFile",
    "PushResult",
    "changed_posts",
    "commit_files",
    "commit_local",
    "committed_versions",
    "deleted_posts",
    "file_at",
    "in_work_tree",
    "push_with_retry",
    "user_git_output",
    "versions_mentioning",
    "work_tree_root",
]
