"""``voiceguide serve``: a small HTTP server (``http.server``) for a folder of tracks (a
pack, or single builds: a folder without ``index.html`` gets a player page made from the
cue sheets). Safe by default: 127.0.0.1 unless asked for the network; only regular files
inside the folder (no symlinks out, dotfiles, FIFOs, devices or listings); HTTP/1.1,
idle connections closed, a bounded number of them, malformed requests answered 400."""

from __future__ import annotations

import contextlib
import email.utils
import errno
import hashlib
import io
import os
import re
import socket
import stat
import threading
import time
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO, Final
from urllib.parse import quote, unquote, urlsplit

from voiceguide.errors import OutputError, UsageError, option
from voiceguide.io.bounded import open_beneath
from voiceguide.io.paths import folder_slug, path_arg
from voiceguide.pack.absolute import feeds_elsewhere, foreign_host, machine_names, served_feed
from voiceguide.pack.connections import Server
from voiceguide.pack.folder_page import folder_page, listener_folders, page_bytes
from voiceguide.pack.web import DOCUMENT_TYPES, SERVED, byte_range, content_type, unchanged
from voiceguide.version import __version__

IDLE_TIMEOUT: Final = 30.0
"""Seconds a connection may stay silent before it is closed."""
HEADER_SECONDS: Final = 10.0
"""Seconds a request's headers may take to arrive once its first line has: a client
that sends a header line every few seconds is never silent, and 32 of them held every
connection."""
_BAD_PATH: Final = re.compile(r"[\x00-\x1f\x7f\\]")
LOCAL: Final = "127.0.0.1"
ANY: Final = "0.0.0.0"
LISTED: Final = 20
"""Listeners' folders an unknown ``listener`` error names (a pack may have thousands)."""


class BadRequest(Exception):
    """A request this server will not try to understand (answered with 400)."""


class Handler(BaseHTTPRequestHandler):
    """GET and HEAD of regular files inside ``root``, with single byte ranges."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT

    def version_string(self) -> str:
        """The ``Server`` header: ``voiceguide/0.2.8`` (the base class's ended in a space)."""
        return f"voiceguide/{__version__}"

    def __init__(self, *args: Any, root: Path, home: Path | None = None, **kwargs: Any) -> None:
        self.root = root
        self.home = home or root  # a listener's folder alone: at its path from the root
        self._cutter: threading.Timer | None = None
        super().__init__(*args, **kwargs)

    def handle_one_request(self) -> None:
        """Wait (kept alive, up to the idle timeout) for a request's first byte; from it,
        the request line and headers have :data:`HEADER_SECONDS` in all, however they
        trickle in (a timer shuts the connection at the deadline: a timeout per read
        would let a byte every few seconds through)."""
        self.connection.settimeout(self.timeout)
        self.server.waiting(self.request)  # type: ignore[attr-defined]
        try:
            if not self.rfile.peek(1):  # type: ignore[attr-defined]
                self.close_connection = True  # the client closed it
                return
        except (TimeoutError, OSError):
            self.close_connection = True
            return
        self._cutter = threading.Timer(HEADER_SECONDS, self._cut)
        self._cutter.daemon = True
        self._cutter.start()
        try:
            super().handle_one_request()
        finally:
            self._cutter.cancel()

    def parse_request(self) -> bool:
        line = str(self.raw_requestline, "iso-8859-1").split()  # type: ignore[attr-defined]
        if len(line) == 2:  # HTTP/0.9: no headers follow (the parser would wait for them)
            if self._cutter is not None:
                self._cutter.cancel()
            (self.command, self.path), self.request_version = line, "HTTP/0.9"
            self.requestline = " ".join(line)
            self.send_error(HTTPStatus.BAD_REQUEST, "HTTP/0.9 is not served")
            self._linger()
            return False
        try:
            ok = super().parse_request()
        finally:  # the headers are in: the answer goes at the client's pace
            if self._cutter is not None:
                self._cutter.cancel()
        if ok and self.request_version == "HTTP/0.9":  # a body with no status line
            self.send_error(HTTPStatus.BAD_REQUEST, "HTTP/0.9 is not served")
            return False
        if ok and _ambiguous(self.headers):
            self.send_error(HTTPStatus.BAD_REQUEST, "Ambiguous request headers")
            return False
        if ok and not self.path.startswith("/"):  # absolute form: its authority is the
            # host asked for (RFC 9112 3.2.2; an attack was answered by the Host header
            # alone), its path the file; only of http(s)
            parts = urlsplit(self.path)
            if parts.scheme.lower() not in ("http", "https"):
                self.send_error(HTTPStatus.BAD_REQUEST, "Bad request target")
                return False
            del self.headers["Host"]
            self.headers["Host"] = parts.netloc
            self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        refused = ok and foreign_host(self.headers.get("Host"), self.request_version,
                                      str(self.connection.getsockname()[0]),
                                      self.server.names)  # type: ignore[attr-defined]
        if refused:
            self.send_error(HTTPStatus.BAD_REQUEST, refused)
            return False
        if ok and not self.server.working(self.request):  # type: ignore[attr-defined]
            self.close_connection = True  # it made room for another client meanwhile
            return False
        return ok

    def _linger(self) -> None:
        """Read on for up to a second, then close: a close over unread bytes resets."""
        with contextlib.suppress(OSError):  # the connection, and the answer may go with it
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(0.2)
            until, left = time.monotonic() + 1.0, 1 << 16  # nor a flood: 64 kB at most
            while time.monotonic() < until and left > 0:
                left -= len(self.connection.recv(4096)) or left  # the end: no more

    def _cut(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, format: str, *args: Any) -> None:
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """Errors always carry a status line (no HTTP/0.9 bare bodies)."""
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.0"
            self.close_connection = True
        super().send_error(code, message, explain)

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _answer(self, body: bool) -> None:
        if self.headers.get("Content-Length", "0").strip() not in ("", "0") \
                or "Transfer-Encoding" in self.headers:
            # a request body is not read: the connection ends with this answer, so the
            # body is never taken for the next request
            self.close_connection = True
        try:
            if self.home != self.root and urlsplit(self.path).path == "/":  # the listener's
                # page, not cached: the whole pack may be served here tomorrow
                self._moved(f"/{quote(self.home.name)}/", HTTPStatus.FOUND)
                return
            try:
                target = self._target()
                folder = target.is_dir()
            except OSError as exc:  # a name too long for the file system
                if exc.errno == errno.ENAMETOOLONG:
                    raise BadRequest("Bad path") from None
                raise
            if folder:
                self._folder(target, body)
            else:
                self._file(target, body)
        except BadRequest as exc:
            self.send_error(HTTPStatus.BAD_REQUEST, str(exc))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            self.send_error(HTTPStatus.NOT_FOUND, "Not found")
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True

    def _target(self) -> Path:
        """The file or folder asked for: inside the root, no dotfile, no symlink out."""
        raw = urlsplit(self.path).path
        if not raw.isascii():  # bytes a client should have %-encoded
            raise BadRequest("Bad path")
        try:
            path = unquote(raw, errors="strict")
        except UnicodeDecodeError:
            raise BadRequest("Bad path") from None
        if not path.startswith("/") or _BAD_PATH.search(path):
            raise BadRequest("Bad path")
        parts = [p for p in path.split("/") if p]
        if any(p.startswith(".") for p in parts):
            raise FileNotFoundError(path)  # dotfiles and .. are not served
        target = self.root.joinpath(*parts)
        self._inside(target)
        if path.endswith("/") and parts and not target.is_dir():  # /feed.xml/: no folder
            raise FileNotFoundError(path)
        return target

    def _inside(self, path: Path) -> Path:
        """``path`` resolved, if it lies inside the root (every symlink on the way
        followed), else FileNotFoundError."""
        real = Path(os.path.realpath(path))  # still a link: a loop (l1 -> l2 -> l1)
        if real.is_symlink() or (real != self.home and self.home not in real.parents):
            raise FileNotFoundError(path)
        if any(p.startswith(".") for p in real.relative_to(self.root).parts):
            raise FileNotFoundError(path)  # a link inside to a dotfile (notes.txt -> .env)
        return real

    def _folder(self, folder: Path, body: bool) -> None:
        if not urlsplit(self.path).path.endswith("/"):
            self._moved(urlsplit(self.path).path + "/")
            return
        if (folder / "index.html").is_file():
            self._file(folder / "index.html", body)
            return
        data = page_bytes(folder)
        if data is None:
            raise FileNotFoundError(folder)
        self.send_response(HTTPStatus.OK)
        self._headers(DOCUMENT_TYPES[".html"], len(data))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _moved(self, location: str, status: HTTPStatus = HTTPStatus.MOVED_PERMANENTLY
               ) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        if status != HTTPStatus.MOVED_PERMANENTLY:
            self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _headers(self, kind: str, length: int) -> None:
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Cache-Control", "no-cache")

    def end_headers(self) -> None:
        # on every answer, errors too: no sniffing, no framing, no referrer sent on
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", SERVED)
        self.send_header("Referrer-Policy", "no-referrer")
        super().end_headers()

    def _file(self, path: Path, body: bool) -> None:
        # checked here too: a folder's index.html may be a link out of the root
        real = self._inside(path)
        if not stat.S_ISREG(os.stat(real).st_mode):
            raise FileNotFoundError(path)  # no FIFOs, devices or sockets
        # opened a name at a time from the root, following no link: a folder on the way
        # swapped for a link since ``real`` was resolved is not followed out of the root
        with os.fdopen(open_beneath(self.root, real.relative_to(self.root)), "rb") as opened:
            info = os.fstat(opened.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise FileNotFoundError(path)
            size = info.st_size
            f: BinaryIO = opened
            tag = f'"{size:x}-{info.st_mtime_ns:x}"'  # changes when the file is rebuilt
            modified = email.utils.formatdate(info.st_mtime, usegmt=True)
            feed = served_feed(path.name, opened, size, self.headers.get("Host"),
                               urlsplit(self.path).path,  # its links for this address
                               (real, info.st_dev, info.st_ino, size, info.st_mtime_ns))
            if feed is not None:  # a copy per address: its tag names the copy, not a date
                f, size, modified = io.BytesIO(feed), len(feed), ""
                tag = f'"{hashlib.sha256(feed).hexdigest()[:24]}"'
            if unchanged(self.headers, tag, info.st_mtime if feed is None else None):
                self.send_response(HTTPStatus.NOT_MODIFIED)
                self.send_header("ETag", tag)
                if modified:
                    self.send_header("Last-Modified", modified)
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                return
            start, end, part = self._range(size, tag, modified)
            if part and start > end:  # (an empty file asked whole is 0 to -1: a 200)
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(HTTPStatus.PARTIAL_CONTENT if part else HTTPStatus.OK)
            self._headers(content_type(path), end - start + 1)
            self.send_header("ETag", tag)
            self.send_header(*(("Last-Modified", modified) if modified else ("Vary", "Host")))
            if part:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.end_headers()
            if body:
                self._copy(f, start, end - start + 1)

    def _range(self, size: int, tag: str = "", modified: str = ""
               ) -> tuple[int, int, bool]:
        """The bytes asked for (see :func:`~voiceguide.pack.web.byte_range`); under an
        If-Range naming another version of the file, the whole file (RFC 9110 13.1.5)."""
        condition = self.headers.get("If-Range")
        try:
            return byte_range(self.headers.get("Range"), size, condition is None
                              or condition.strip() in (tag, modified))
        except ValueError:
            raise BadRequest("Bad Range header") from None

    def _copy(self, f: BinaryIO, start: int, n: int) -> None:
        f.seek(start)
        while n > 0:
            block = f.read(min(1 << 16, n))
            if not block:
                break
            self.wfile.write(block)
            self.server.moved(self.request)  # type: ignore[attr-defined]
            n -= len(block)


def _ambiguous(headers: Any) -> bool:
    """Headers a proxy in front could read otherwise (request smuggling): a length twice or
    beside a transfer coding, two hosts or ranges, a name with a space, a folded line."""
    lengths = headers.get_all("Content-Length") or []
    codings = headers.get_all("Transfer-Encoding") or []
    twice = any(len(headers.get_all(name) or []) > 1 for name in ("Host", "Range"))
    if len(lengths) + len(codings) > 1 or twice or headers.defects:  # not headers
        return True
    return any(not name or name != name.strip() or " " in name or "\t" in name
               or "\n" in str(value) or "\r" in str(value)
               for name, value in headers.items())


def make_server(folder: Path | str, host: str | None = LOCAL, port: int = 8000, *,
                lan: bool = False, listener: str | None = None) -> Server:
    """A server for ``folder`` (not started) on ``host`` (None: this machine only, or with
    ``lan`` every address, the network's too); with ``listener``, that listener's folder
    of a grouped pack alone, at its own path (``/zoe/``: where the whole pack serves it)."""
    host, folder = host or (ANY if lan else LOCAL), path_arg(folder, "folder")
    if not isinstance(host, str):
        raise UsageError(f"host is an address (a str), not {type(host).__name__}")
    if not folder.is_dir():
        raise UsageError(f"{folder}: " + ("not a folder; give the folder a pack was written to"
                                          if folder.exists() else "no such folder to serve"))
    if type(port) is not int or not 0 <= port <= 65535:  # (0 in the API: any free port)
        raise UsageError(f"{option('port')} must be 1 to 65535 (got {port!r})")
    root = Path(os.path.realpath(folder))
    mine = listener is None or (isinstance(listener, str) and "\x00" not in listener)
    known = listener_folders(root) if listener is not None and mine else []
    if listener not in known and folder_slug(str(listener)) in known:
        listener = folder_slug(str(listener))  # the name a coach types: Zoë's is zoe/
    home = Path(os.path.realpath(root / listener)) if listener is not None and mine else root
    if listener is not None and (not mine or home.parent != root or not home.is_dir()
                                 or listener[:1] == "."):  # (a name with NUL: not open)
        raise UsageError(f"{option('listener', listener)}: no listener's folder of that name in "
                         f"{folder}" + (f"; use one of: {', '.join(known[:LISTED])}"
                                        + (" ..." if len(known) > LISTED else "")
                                        if known else " (a pack with group_by makes them)"))
    if not (home / "index.html").is_file() and folder_page(home) is None:
        raise UsageError(f"{folder}: nothing to play here (no index.html and no tracks "
                         "with cue sheets); build a track or a pack into it first")
    elsewhere = f"{option('host', host, bare=True)}: not an address of this machine"
    try:
        server = Server((host, port), partial(Handler, root=root, home=home))
    except (UnicodeError, OSError) as exc:  # an unknown host's gaierror is an OSError too
        if not isinstance(exc, OSError) or isinstance(exc, socket.gaierror) or \
                exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
            raise UsageError(elsewhere) from None
        raise OutputError(f"cannot listen on {host}:{port} ({exc.strerror}); "
                          f"try another {option('port')}") from None
    server.names, server.start = machine_names(host), "" if listener is None else \
        f"{quote(home.name)}/"
    server.elsewhere = feeds_elsewhere(home)
    return server


def lan_address() -> str:
    """This machine's address on the local network (no packet is sent)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("10.255.255.255", 1))
        addr: str = s.getsockname()[0]
        return addr
    return LOCAL


def urls(server: ThreadingHTTPServer) -> list[str]:
    """The URLs to open: on a phone first when listening on the network, then here."""
    if not isinstance(server, ThreadingHTTPServer):
        raise UsageError(f"urls takes make_server's server (got {type(server).__name__})")
    (host, port), start = server.server_address[:2], getattr(server, "start", "")
    hosts = [lan_address(), LOCAL] if host in (ANY, "", "::") else [str(host)]
    return [f"http://{f'[{h}]' if ':' in h else h}:{port}/{start}" for h in hosts]
