"""The connections ``voiceguide serve`` holds: at most :data:`MAX_CONNECTIONS` at once and
:data:`MAX_PER_CLIENT` from one address. When it is full, a new client takes the place
of the connection that has done nothing for longest: one kept alive waiting for its next
request, one still sending its request's headers, or one whose answer has not moved for
:data:`STALLED` seconds (a reader that takes a few bytes now and then). Only when every
connection is answering a request, and moving, does the address holding the most
places give up its longest-quiet one, if it holds two more than the newcomer's address;
else the newcomer is refused with 503. So clients that keep connections open, trickle
their headers or read slowly cannot shut others out, and no few addresses can take every
place.
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
STALLED: Final = 10.0
"""Seconds an answer may not move before its connection may make room for a newcomer."""


@dataclass
class _Live:
    client: str
    """The client's address."""
    busy: bool
    """Whether it is answering a request (its headers are in)."""
    since: float
    """When it last did something: came, asked, or had part of an answer sent."""

    def quiet(self, now: float) -> bool:
        """Whether it may make room: waiting, sending headers, or stalled."""
        return not self.busy or now - self.since > STALLED


class Server(ThreadingHTTPServer):
    """A threading server that holds a bounded number of connections (see the module)
    and never prints a traceback for a client that went away. Its handler reports
    :meth:`waiting` before it waits for a request and :meth:`working` once one came."""

    daemon_threads = True
    verbose = False
    names: frozenset[str] = frozenset()
    """The names a request from the network may give this machine by (see
    :func:`voiceguide.pack.absolute.foreign_host`)."""
    start: str = ""
    """The path of the page to open (a listener's folder, ``zoe/``, with ``--listener``)."""
    elsewhere: str = ""
    """Where the served feeds' episodes play from when the pack was built with
    ``--base-url`` (see :func:`~voiceguide.pack.absolute.feeds_elsewhere`; empty: here)."""

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
            now = time.monotonic()
            idle = [r for r in crowd if self._live[r].quiet(now)]
            if crowd and not idle and crowd is not mine:  # full of busy answers: the
                idle = self._fair(len(mine))  # address holding most makes room
            if crowd and not idle:
                refused = True
            else:
                refused = False
                if idle:  # the one quiet for longest makes room
                    oldest = min(idle, key=lambda r: self._live[r].since)
                    del self._live[oldest]
                    with contextlib.suppress(OSError):
                        oldest.shutdown(socket.SHUT_RDWR)
                self._live[request] = _Live(client, False, now)
        if refused:
            with contextlib.suppress(OSError):
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                b"Connection: close\r\n\r\n")
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def _fair(self, held: int) -> list[Any]:
        """The connections of the address holding the most, where that is at least two
        more than a newcomer's address ``held``: one of them makes room (slow readers from
        four addresses, eight each, kept everyone else out: an attack)."""
        counts: dict[str, list[Any]] = {}
        for r, c in self._live.items():
            counts.setdefault(c.client, []).append(r)
        most = max(counts.values(), key=len, default=[])
        return most if len(most) >= held + 2 else []

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._lock:
                self._live.pop(request, None)

    def _mark(self, request: Any, busy: bool | None) -> bool:
        with self._lock:
            live = self._live.get(request)
            if live is not None:
                live.since = time.monotonic()
                live.busy = live.busy if busy is None else busy
            return live is not None

    def waiting(self, request: Any) -> None:
        """``request``'s connection waits for its next request (it may make room)."""
        self._mark(request, False)

    def working(self, request: Any) -> bool:
        """A request's headers came on ``request``'s connection: it is busy until
        answered. False when it made room for a newcomer just before (it is closed)."""
        return self._mark(request, True)

    def moved(self, request: Any) -> None:
        """Part of the answer on ``request``'s connection went out."""
        self._mark(request, None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A broken connection is the client's business: nothing to print."""
