"""The errors a user can act on, under one base class.

Each carries what the user needs to fix it: a file and line (`DocumentError`, a
post's `Problem`), the API's code and rule (`client.ApiError`), or a sentence about
arguments and configuration (`UsageError`, `ConfigError`: exit code 2).
"""

from __future__ import annotations

__all__ = ["PublisherError", "UsageError"]


class PublisherError(Exception):
    """Base class of publisher's own errors: their text is meant for the user."""


class UsageError(PublisherError):
    """Bad arguments or configuration: exit code 2."""
