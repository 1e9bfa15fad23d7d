"""A header timeout for uvicorn's HTTP/1.1 protocols (slowloris).

uvicorn has no timeout for a request that is still arriving: ``timeout_keep_alive``
covers only the idle time *between* requests and is cancelled by the first byte of the
next one (the first line of ``data_received`` in both the httptools and the h11
protocol), and ASGI middleware runs only once the headers are parsed. The request-start
timeout was proposed upstream and never built (encode/uvicorn#157). So the protocol
class uvicorn would pick (httptools if installed, else h11) is subclassed here: a timer
is armed when a connection opens and when the first byte of a later request on a kept-
alive connection arrives, and disarmed once the request's headers are parsed (both
protocols then create a new ``RequestResponseCycle``). A connection whose headers are
not complete in time gets a 408 and is closed.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

__all__ = ["header_timeout_protocol"]

_RESPONSE_408 = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 28\r\n"
    b"connection: close\r\n"
    b"\r\n"
    b"Request headers not received"
)


class _Cycle(Protocol):
    """What the timer reads of uvicorn's request-response cycle (both protocols')."""

    response_complete: bool


class _HeaderTimeout(asyncio.Protocol):
    """The timer, mixed in before the uvicorn protocol class it extends (``super()`` is
    that class at run time; the annotations say what the timer reads of it)."""

    header_timeout: float
    cycle: _Cycle | None
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport | None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._header_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        cycle = self.cycle
        if self._header_timer is None and (cycle is None or cycle.response_complete):
            self._arm_header_timer()  # the first bytes of the next request
        super().data_received(data)
        if self.cycle is not cycle:  # the headers of a request are complete
            self._disarm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._on_header_timeout)

    def _disarm_header_timer(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
            self._header_timer = None

    def _on_header_timeout(self) -> None:
        self._header_timer = None
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            return  # a request is being answered: not ours to cut
        transport.write(_RESPONSE_408)
        transport.close()


def _base_protocol() -> type[asyncio.Protocol]:
    """The class uvicorn's ``http="auto"`` resolves to."""
    try:
        import httptools  # noqa: F401
    except ImportError:  # pragma: no cover - httptools is installed with uvicorn[standard]
        from uvicorn.protocols.http.h11_impl import H11Protocol

        return H11Protocol
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    return HttpToolsProtocol


def header_timeout_protocol(
    seconds: float, base: type[asyncio.Protocol] | None = None
) -> type[asyncio.Protocol]:
    """A subclass of uvicorn's HTTP protocol that closes connections whose request
    headers take longer than ``seconds`` to arrive."""
    parent = base or _base_protocol()
    return type("HeaderTimeoutProtocol", (_HeaderTimeout, parent), {"header_timeout": seconds})
