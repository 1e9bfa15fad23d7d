"""The platforms and their rules: `platforms` (the one registry: names, text and media
limits, what each can do; no imports) and `limits` (every check of letmepost-api.md
section 6, with the API's rule ids; shared with the sandbox)."""

__all__ = []
