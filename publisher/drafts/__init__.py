"""Drafts that come to you: feed entries and releases become draft post files.

- ``fetch.py``: one bounded, conditional, address-checked request per feed;
- ``feeds.py``: RSS and Atom (feedparser) and JSON Feed entries;
- ``release.py``: a release from a GitHub event, or a tag and its release notes;
- ``seen.py``: the sources drafted before (post files, git history, ``.publisher/``);
- ``compose.py``: a draft's text from a template, fitted to the tightest target, and
  its file, written atomically and never over another;
- ``runner.py``: ``draft_feeds`` and ``draft_release``, what ``publisher draft`` and
  the Action call.
"""

__all__ = []
