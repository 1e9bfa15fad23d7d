"""Protocol clients, below everything that decides: the letmepost HTTP API, the AT
Protocol (a Bluesky PDS), link cards. They parse answers at their boundary and are the
only code that talks to the network."""

__all__ = []
