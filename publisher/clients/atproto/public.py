"""Public reads, with no login and no account: a post record from its PDS, a handle's
DID, the PDS a DID lives on (its DID document). `publisher verify` checks what is
live with these."""

from __future__ import annotations

from typing import Any

from publisher.clients.atproto.errors import BlueskyError
from publisher.clients.atproto.ids import POST_COLLECTION, parse_post_uri

__all__ = ["DEFAULT_PLC", "MAX_ANSWER_BYTES", "read_handle", "read_post", "resolve_pds"]

DEFAULT_PLC = "https://plc.directory"
MAX_ANSWER_BYTES = 8 * 1024 * 1024  # of a public read (a record, a DID document)


def _get_json(url: str, params: dict[str, str] | None, what: str, timeout: float) -> object:
    """GET ``url``; the decoded JSON, or None on a 400/404 that means "not found"."""
    import httpx

    try:
        with httpx.stream(
            "GET", url, params=params, timeout=timeout, follow_redirects=True
        ) as streamed:
            data = bytearray()
            for chunk in streamed.iter_bytes():
                data += chunk
                if len(data) > MAX_ANSWER_BYTES:  # sized before it is decoded
                    raise BlueskyError(
                        "bad_answer", f"{what}: {url} answered more than {MAX_ANSWER_BYTES:,} bytes"
                    )
        r = httpx.Response(streamed.status_code, content=bytes(data))
    except httpx.HTTPError as exc:
        raise BlueskyError(
            "network", f"{what}: cannot reach {url} ({type(exc).__name__}: {exc})", retryable=True
        ) from None
    if r.status_code in (400, 404):
        try:
            body = r.json()
        except ValueError:
            body = {}
        name = body.get("error") if isinstance(body, dict) else None
        message = str(body.get("message", "")) if isinstance(body, dict) else ""
        if r.status_code == 404 or name == "RecordNotFound" or "Could not locate" in message:
            return None
    if r.status_code >= 400:
        code = "rate_limited" if r.status_code == 429 else "server_error"
        if r.status_code < 500 and r.status_code != 429:
            code = "rejected"
        raise BlueskyError(
            code,
            f"{what}: {url} answered {r.status_code}",
            retryable=code != "rejected",
            status=r.status_code,
        )
    try:
        return r.json()
    except ValueError:
        raise BlueskyError("server_error", f"{what}: {url} did not answer JSON") from None


def read_post(uri: str, pds_url: str, *, timeout: float = 30.0) -> dict[str, Any] | None:
    """The post record ``{"uri", "cid", "value"}`` at ``uri``, read from ``pds_url`` with no
    login (``getRecord`` is public); None when the PDS says it does not exist.

    ValueError for a URI that is not an ``app.bsky.feed.post`` one; ``BlueskyError``
    when the PDS cannot be asked.
    """
    did, rkey = parse_post_uri(uri)
    params = {"repo": did, "collection": POST_COLLECTION, "rkey": rkey}
    url = f"{pds_url.rstrip('/')}/xrpc/com.atproto.repo.getRecord"
    out = _get_json(url, params, f"read {uri}", timeout)
    if out is None:
        return None
    from publisher.clients import atproto_answers as answers

    answers.read(answers.RecordAnswer, out, f"read {uri}", pds_url)
    return out if isinstance(out, dict) else None  # an object: the model read it


def read_handle(handle: str, host: str, *, timeout: float = 10.0) -> str | None:
    """The DID of ``handle`` through ``host``'s public ``resolveHandle`` (no login), or
    None when it cannot be found out (unknown, or ``host`` cannot be asked)."""
    url = f"{host.rstrip('/')}/xrpc/com.atproto.identity.resolveHandle"
    try:
        out = _get_json(url, {"handle": handle}, f"resolve @{handle}", timeout)
    except BlueskyError:
        return None
    did = out.get("did") if isinstance(out, dict) else None
    return did if isinstance(did, str) else None


def resolve_pds(did: str, *, plc_url: str = DEFAULT_PLC, timeout: float = 30.0) -> str | None:
    """The PDS that hosts ``did`` (its DID document's ``#atproto_pds`` service), or None
    when the DID is unknown. ``did:plc`` is asked of ``plc_url``, ``did:web`` of its host."""
    if did.startswith("did:plc:"):
        url = f"{plc_url.rstrip('/')}/{did}"
    elif did.startswith("did:web:"):
        url = f"https://{did.removeprefix('did:web:')}/.well-known/did.json"
    else:
        return None
    doc = _get_json(url, None, f"resolve {did}", timeout)
    for service in (doc or {}).get("service", []) if isinstance(doc, dict) else []:
        if isinstance(service, dict) and str(service.get("id", "")).endswith("#atproto_pds"):
            endpoint = service.get("serviceEndpoint")
            if isinstance(endpoint, str):
                return endpoint.rstrip("/")
    return None
