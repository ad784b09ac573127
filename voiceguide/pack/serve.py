"""``voiceguide serve``: a small HTTP server for a pack folder, with byte-range requests
(phones seek in audio with them), correct media types, and no directory listings."""

from __future__ import annotations

import contextlib
import os
import re
import socket
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO, Final

from voiceguide.errors import OutputError, UsageError
from voiceguide.export.formats import formats

DOCUMENT_TYPES: Final = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".vtt": "text/vtt; charset=utf-8",
    ".lrc": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".xml": "application/rss+xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".png": "image/png",
    ".zip": "application/zip",
}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeHandler(SimpleHTTPRequestHandler):
    """Static files with single byte ranges (206/416); folders serve their index.html."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **DOCUMENT_TYPES}  # noqa: RUF012
    server_version = "voiceguide"
    sys_version = ""

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(HTTPStatus.NOT_FOUND, "No index.html here")
        return None

    def log_message(self, format: str, *args: Any) -> None:
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)

    def end_headers(self) -> None:
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def send_head(self) -> BinaryIO | None:
        header = self.headers.get("Range")
        path = self.translate_path(self.path)
        if header is None or os.path.isdir(path):
            return super().send_head()
        try:
            f = open(path, "rb")  # noqa: SIM115 - handed to the base class, which closes it
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        size = os.fstat(f.fileno()).st_size
        m = _RANGE.match(header.strip())
        if not m or (not m.group(1) and not m.group(2)):
            f.close()
            return super().send_head()  # odd ranges: the whole file
        if m.group(1):
            start = int(m.group(1))
            end = int(m.group(2)) if m.group(2) else size - 1
        else:  # suffix range: the last N bytes
            start = max(0, size - int(m.group(2)))
            end = size - 1
        end = min(end, size - 1)
        if start >= size or start > end:
            f.close()
            self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        self.send_response(HTTPStatus.PARTIAL_CONTENT)
        self.send_header("Content-Type", str(self.guess_type(path)))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        f.seek(start)
        self._remaining: int | None = end - start + 1
        return f

    def copyfile(self, source: Any, outputfile: Any) -> None:
        remaining = getattr(self, "_remaining", None)
        if remaining is None:
            super().copyfile(source, outputfile)
            return
        self._remaining = None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            while remaining > 0:
                block = source.read(min(1 << 16, remaining))
                if not block:
                    break
                outputfile.write(block)
                remaining -= len(block)


def make_server(folder: Path, host: str = "0.0.0.0", port: int = 8000) -> ThreadingHTTPServer:
    """A server for ``folder`` (not started)."""
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder to serve")
    RangeHandler.extensions_map.update({f.suffix: f.mime for f in formats().values()})
    handler = partial(RangeHandler, directory=str(folder))
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise OutputError(f"cannot listen on {host}:{port} ({exc.strerror}); "
                          "try another --port") from None
    server.daemon_threads = True
    return server


def lan_address() -> str:
    """This machine's address on the local network (no packet is sent)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("10.255.255.255", 1))
        addr: str = s.getsockname()[0]
        return addr
    return "127.0.0.1"


def urls(server: ThreadingHTTPServer) -> list[str]:
    """The URLs to open: on this machine and, when listening on all interfaces, on a phone."""
    host, port = server.server_address[:2]
    if host in ("0.0.0.0", ""):
        return [f"http://{lan_address()}:{port}/", f"http://127.0.0.1:{port}/"]
    return [f"http://{host!s}:{port}/"]


def qr_text(url: str) -> str:
    """A terminal QR code of ``url`` (half-block characters)."""
    import io

    import qrcode

    qr = qrcode.QRCode(border=1)
    qr.add_data(url)
    qr.make(fit=True)
    buf = io.StringIO()
    qr.print_ascii(out=buf, invert=True)
    return buf.getvalue()
