"""publisher: posts as code.

Markdown posts with YAML frontmatter are validated, planned, published through the
letmepost.dev API (or directly to Bluesky) exactly once, and their results written
back into the file's ``published`` block.
"""

__all__ = []

__version__ = "0.1.0"
