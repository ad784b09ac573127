"""The connections ``voiceguide serve`` holds: at most :data:`MAX_CONNECTIONS` at once and
:data:`MAX_PER_CLIENT` from one address. When it is full, a new client takes the place
of the connection that has waited longest for its next request (kept alive, doing
nothing); only when every connection is busy is it refused with 503. So clients that
keep connections open, even by asking for something every few seconds, cannot shut
others out, and one address cannot take every place.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from typing import Any, Final

MAX_CONNECTIONS: Final = 32
"""Connections served at once."""
MAX_PER_CLIENT: Final = 8
"""Connections from one address at once (a browser opens up to six to a host)."""


@dataclass
class _Live:
    client: str
    """The client's address."""
    idle_since: float | None
    """When the connection began to wait for its next request (None: it is busy)."""


class Server(ThreadingHTTPServer):
    """A threading server that holds a bounded number of connections (see the module)
    and never prints a traceback for a client that went away. Its handler reports
    :meth:`waiting` before it waits for a request and :meth:`working` once one came."""

    daemon_threads = True
    verbose = False

    def __init__(self, address: tuple[str, int], handler: Any) -> None:
        if ":" in address[0]:  # an IPv6 address such as ::1
            self.address_family = socket.AF_INET6
        self._lock = threading.Lock()
        self._live: dict[Any, _Live] = {}
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        client = str(client_address[0])
        with self._lock:
            mine = [r for r, c in self._live.items() if c.client == client]
            crowd = mine if len(mine) >= MAX_PER_CLIENT else \
                list(self._live) if len(self._live) >= MAX_CONNECTIONS else []
            idle = [r for r in crowd if self._live[r].idle_since is not None]
            if crowd and not idle:
                refused = True
            else:
                refused = False
                if idle:  # the one kept alive longest without a request makes room
                    oldest = min(idle, key=lambda r: self._live[r].idle_since or 0.0)
                    del self._live[oldest]
                    with contextlib.suppress(OSError):
                        oldest.shutdown(socket.SHUT_RDWR)
                self._live[request] = _Live(client, time.monotonic())
        if refused:
            with contextlib.suppress(OSError):
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                b"Connection: close\r\n\r\n")
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._lock:
                self._live.pop(request, None)

    def waiting(self, request: Any) -> None:
        """``request``'s connection waits for its next request (it may make room)."""
        with self._lock:
            if request in self._live:
                self._live[request].idle_since = time.monotonic()

    def working(self, request: Any) -> bool:
        """A request came on ``request``'s connection: it is busy until answered. False
        when the connection made room for a newcomer just before (it is closed)."""
        with self._lock:
            live = self._live.get(request)
            if live is not None:
                live.idle_since = None
            return live is not None

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A broken connection is the client's business: nothing to print."""
