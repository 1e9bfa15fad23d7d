"""Command implementations behind `publisher.cli` (each imported only when used)."""

__all__ = []
