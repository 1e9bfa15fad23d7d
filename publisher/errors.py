"""The errors a user can act on, under one base class.

Each carries what the user needs to fix it: a file and line (`document.DocumentError`,
`writeback.WritebackError`), the server and what it said (`clients.letmepost.ApiError`,
`clients.atproto.BlueskyError`), git's or GitHub's words (`GitError`, `GitHubError`), or a
sentence about arguments and configuration (`UsageError`, `config.ConfigError`).
Every one derives from `PublisherError` and carries its exit code; `cli.main` is the
one place that turns them into a line on stderr and that code.
"""

from __future__ import annotations

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "PublisherError", "UsageError"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class PublisherError(Exception):
    """Base class of publisher's own errors: their text is meant for the user.
    `exit_code` is what the process exits with when one reaches the command line."""

    exit_code = EXIT_FAILED


class UsageError(PublisherError):
    """Bad arguments or configuration: exit code 2."""

    exit_code = EXIT_USAGE
