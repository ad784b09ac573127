"""Reaching a Dask cluster for the ``dask`` runner: the scheduler's address checked
and connected to within a deadline, and every worker asked the voiceguide version it
runs before a pack (see :mod:`~voiceguide.pack.dask_runner`)."""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any, Final

from voiceguide.errors import UsageError, option
from voiceguide.version import __version__

CONNECT_TIMEOUT: Final = 30.0
"""Seconds to wait for the scheduler to answer."""
FIX: Final = "start one with 'dask scheduler' and give the address it prints (tcp://HOST:PORT)"
"""What to do where a scheduler's address does not answer as one."""


def _asked(address: str) -> str:
    """The scheduler's address as the caller gave it (``--scheduler ADDRESS``, or
    ``scheduler='ADDRESS'`` in the runner's options)."""
    return option("scheduler", address, bare=True)


def worker_version() -> str:
    """Run on each worker before a pack: the voiceguide version it builds with."""
    return __version__


def worker_name() -> str:
    """The address of the Dask worker this runs on (for messages)."""
    with contextlib.suppress(ImportError, ValueError):
        from distributed import get_worker

        return str(get_worker().address)
    return "a worker"


def other_version(worker: str, has: str, wanted: str) -> str:
    """The refusal of a ``worker`` that ``has`` another voiceguide than ``wanted``."""
    return (f"the Dask worker {worker} runs {has}, this client voiceguide {wanted}: a "
            "track built there would not be the track asked for (and the pack's record "
            f"would vouch for it); install voiceguide {wanted} on every worker")


def connect(client_class: Any, address: str) -> Any:
    """A client of the Dask scheduler at ``address``, or a :class:`UsageError` saying why
    not within :data:`CONNECT_TIMEOUT` (a helper's attack: a refused port or unknown host
    waited 30 s to say "Timed out", an HTTP server's answer was read as a 3 EiB frame and
    said "not enough memory", ``python -m http.server`` hung the run)."""
    check_reachable(address)  # again: the run may have waited for its folder's lock since
    got: list[Any] = []

    def attempt() -> None:
        try:
            got.append(client_class(address, timeout=CONNECT_TIMEOUT))
        except BaseException as exc:
            got.append(exc)

    thread = threading.Thread(target=attempt, daemon=True, name="dask-connect")
    thread.start()
    thread.join(CONNECT_TIMEOUT + 5)
    if not got or not isinstance(got[0], client_class):
        why = f" ({type(got[0]).__name__})" if got else ""
        raise UsageError(f"{_asked(address)}: something answers there, but not a Dask "
                         f"scheduler{why}; {FIX}")
    return got[0]


def check_reachable(address: str) -> None:
    """A :class:`UsageError` at once where ``address`` is not a scheduler's address, or a
    TCP address is refused, unknown, has no port or answers as no scheduler does: the
    runner asks before the pack's folder is made (a typo left an empty ``--out`` folder
    holding the pack's lock)."""
    if not re.match(r"(wss?|ucx|inproc)://", address):  # Dask's other transports: as given
        m = re.fullmatch(r"(?:(tcp|tls)://)?(\[[^\]]+\]|[^:/\[\]]+):(\d+)/?", address)
        if m is None:
            raise UsageError(f"{_asked(address)}: not a Dask scheduler's "
                             f"address; {FIX}")
        _probe(address, m[2].strip("[]"), int(m[3]), greets=m[1] != "tls")


GREETING_WAIT: Final = 3.0
"""Seconds a scheduler is given to send its greeting (it sends it the moment it takes a
connection) before the address is asked what a web browser would ask."""
SILENCE_WAIT: Final = 10.0
"""Seconds more, after that question, before an address that says nothing is refused."""
DASHBOARD: Final = ("a web server answers there, not a Dask scheduler (Dask's dashboard is a "
                    "web page, usually on port 8787; the scheduler, usually on 8786)")
"""What an address that answers as a web server is."""


def _probe(address: str, host: str, port: int, greets: bool = True) -> None:
    """Say at once where a TCP scheduler address is refused, unknown or no port; and
    where ``greets`` (plain TCP), where what answers does not greet as a Dask scheduler
    does: ``python -m http.server`` or Dask's own dashboard (port 8787, given for the
    scheduler's 8786) held the run 36 s and then said "not a Dask scheduler"."""
    if not 0 < port < 65536:
        raise UsageError(f"{_asked(address)}: {port} is no port (1 to 65535); {FIX}")
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT) as sock:
            why = _not_greeted(sock) if greets else None
    except (OSError, ValueError, OverflowError) as exc:
        cause = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise UsageError(f"{_asked(address)}: cannot reach it ({cause}); "
                         f"{FIX}") from None
    if why is not None:
        raise UsageError(f"{_asked(address)}: {why}; {FIX}")


def _not_greeted(sock: socket.socket) -> str | None:
    """None when what ``sock`` reaches greets as a Dask scheduler: at once, a frame of
    its TCP protocol (an 8-byte length, then the number of parts: both small); else
    what it is, as far as it tells."""
    head, closed = _heard(sock, GREETING_WAIT)
    if not head and not closed:  # silent, as a web server is until asked
        with contextlib.suppress(OSError):
            sock.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
        head, closed = _heard(sock, SILENCE_WAIT)
        if head.startswith(b"HTTP/"):
            return DASHBOARD
        if not head and not closed:
            return "something takes the connection there but says nothing, as no Dask " \
               "scheduler does"
    if not head:
        return "something takes the connection there and closes it, as no Dask " \
               "scheduler does"
    if len(head) == 16:
        size, parts = struct.unpack("<QQ", head)
        if 8 < size < 1 << 20 and 0 < parts < 64:
            return None
    if not closed and b"\n" not in head:  # the rest of its first line, to show
        head += _heard(sock, 0.5, 64, line=True)[0]
    shown = head.decode("ascii", "replace").splitlines()[0].strip() if head.strip() else ""
    said = f" ('{shown[:60]}')" if shown.isprintable() and shown else ""
    return f"something answers there{said}, but not a Dask scheduler"


def _heard(sock: socket.socket, wait: float, size: int = 16, line: bool = False
           ) -> tuple[bytes, bool]:
    """Up to ``size`` bytes ``sock`` receives within ``wait`` seconds (with ``line``:
    up to the end of a line), and whether the other end closed the connection."""
    got = b""
    deadline = time.monotonic() + wait
    while len(got) < size and (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            part = sock.recv(size - len(got))
        except TimeoutError:
            break
        except OSError:  # reset
            return got, True
        if not part:
            return got, True
        got += part
        if line and b"\n" in part:
            break
    return got, False


def check_workers(client: Any, address: str) -> None:
    """Refuse a cluster whose workers run another voiceguide version than this client, or
    none they can import (a helper's attack: workers of 0.2.6 built every track of a
    0.2.7 pack, and its record vouched for them; workers without it hung the run)."""
    try:
        found = client.run(worker_version, on_error="return")
    except Exception as exc:
        raise UsageError(f"{_asked(address)}: its workers could not say which "
                         f"voiceguide they run ({type(exc).__name__}: {exc}); install "
                         f"voiceguide {__version__} on every worker") from None
    wrong = {w: v for w, v in found.items() if v != __version__}
    if wrong:
        worker, has = min(wrong.items())
        said = f"voiceguide {has}" if isinstance(has, str) else \
            f"a voiceguide older than 0.2.8, or none it can import ({str(has)[:160]})"
        more = f" ({len(wrong)} of {len(found)} workers)" if len(wrong) > 1 else ""
        raise UsageError(f"{_asked(address)}: " + other_version(worker, said,
                                                                      __version__) + more)


WATCH_EVERY: Final = 1.0
"""Seconds between two looks at the scheduler's workers during a pack."""
NO_WORKERS: Final = 5.0
"""Seconds without a worker before a pack run says it waits for one."""
log = logging.getLogger("voiceguide")


@contextlib.contextmanager
def workers_watched(client: Any, address: str) -> Iterator[None]:
    """While inside, say (a warning on the library's log, which the CLI shows with
    ``--quiet`` and ``--json`` too) when the scheduler at ``address`` has had no worker
    for :data:`NO_WORKERS` seconds, and when workers come back. Dask keeps the tasks for
    the next worker without a word: a scheduler whose workers all died, or that had none,
    looked like a hung pack (a helper's attack)."""
    stop = threading.Event()

    def watch() -> None:
        alone_since: float | None = None
        said = False
        while not stop.wait(WATCH_EVERY):
            try:
                workers = len(client.nthreads())
            except Exception:  # the scheduler is gone: the run says so
                return
            if stop.is_set():  # the run ended while it asked: nothing to say
                return
            if workers:
                if said:
                    log.warning("Dask: %d worker%s at %s now; the pack goes on", workers,
                                "" if workers == 1 else "s", address)
                alone_since, said = None, False
                continue
            alone_since = alone_since or time.monotonic()
            if not said and time.monotonic() - alone_since >= NO_WORKERS:
                log.warning("Dask: no worker at %s for %g s; the pack waits for one (start "
                            "one with 'dask worker %s'), or press Ctrl-C to stop it: the "
                            "tracks finished are kept", address, NO_WORKERS, address)
                said = True

    thread = threading.Thread(target=watch, daemon=True, name="voiceguide-dask-workers")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        # not for long: a scheduler that stopped answering holds the question (Ctrl-C
        # took 7 s); the thread asks nothing more and ends with the process
        thread.join(timeout=0.5)
