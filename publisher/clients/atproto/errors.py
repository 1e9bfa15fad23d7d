"""`BlueskyError`: every failure of the atproto client, with a stable code; and the
reading of an XRPC error (status, error name, message) out of the SDK's exceptions."""

from __future__ import annotations

from publisher.errors import PublisherError

__all__ = ["BlueskyError", "xrpc_error"]


class BlueskyError(PublisherError):
    """Every failure of the Bluesky client.

    ``code`` is stable and machine-readable (``login_failed``, ``network``,
    ``server_error``, ``rate_limited``, ``record_exists``, ``rejected``,
    ``unauthorized``, ``text_too_long``, ``too_many_images``, ``image_type``,
    ``image_too_large``, ``alt_too_long``, ``invalid_rkey``, ``invalid_langs``,
    ``invalid_label``, ``invalid_embed``, ``invalid_post_ref``, ``unknown_handle``,
    ``post_not_found``, ``invalid_gate``);
    ``retryable`` is true for transport failures, 5xx and 429 (the request may be sent
    again), false for everything the server or this module refused. ``status`` is the HTTP status when
    a response arrived.
    """

    def __init__(
        self, code: str, message: str, *, retryable: bool = False, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.status = status


def xrpc_error(exc: BaseException) -> tuple[int | None, str, str]:
    """(status, error name, message) of an atproto request exception."""
    response: object = getattr(exc, "response", None)
    if response is None:
        return None, "", ""
    status: object = getattr(response, "status_code", None)
    content: object = getattr(response, "content", None)
    name: object = getattr(content, "error", None) or ""
    message: object = getattr(content, "message", None) or ""
    if isinstance(content, dict):
        name, message = content.get("error", ""), content.get("message", "")
    return (status if isinstance(status, int) else None), str(name), str(message)
