"""``voiceguide serve`` (issues 16 and 12): any folder of single builds gets a player
page; only regular files inside the folder are served; HTTP/1.1 keep-alive, idle
timeout, bounded connections; malformed requests get 400; local by default."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import voiceguide as vg
from tests.conftest import ASSETS, build, run_cli
from voiceguide.pack import serve as serve_module

pytestmark = pytest.mark.shared_phrases


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Two single builds (MP3 and Opus) and things that must not be served."""
    out = tmp_path / "tracks"
    build(ASSETS / "pack" / "reach.yaml", out, engine="test")
    build(ASSETS / "pack" / "sway.yaml", out, engine="test", format="opus")
    (out / ".secret").write_text("hidden")
    (tmp_path / "outside.txt").write_text("outside")
    (out / "link.txt").symlink_to(tmp_path / "outside.txt")
    os.mkfifo(out / "pipe.mp3")
    return out


@pytest.fixture
def server(folder: Path) -> Iterator[Any]:
    srv = vg.make_server(folder, port=0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def get(srv: Any, path: str, headers: dict[str, str] | None = None
        ) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=10)
    conn.putrequest("GET", path, skip_accept_encoding=True)
    for k, v in (headers or {}).items():
        conn.putheader(k, v)
    conn.endheaders()
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, dict(r.getheaders()), body


def test_folder_of_single_builds_gets_a_player(server: Any, folder: Path) -> None:
    assert server.server_address[0] == "127.0.0.1"  # local unless asked
    status, headers, page = get(server, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"Reach" in page and b"Sway" in page and b"reach.mp3" in page and b"sway.opus" in page
    assert b"<p>2 tracks</p>" in page
    assert b"<title>Your tracks</title>" in page  # it was the folder's name ('output')
    (folder / "sway.cues.json").unlink()  # one track left: "1 track", not "1 tracks"
    single = serve_module.folder_page(folder) or ""
    assert "<p>1 track</p>" in single and "<title>Reach</title>" in single
    # a folder of German builds gets a German page (it was English whatever they spoke)
    sheet = json.loads((folder / "reach.cues.json").read_text())
    (folder / "reach.cues.json").write_text(json.dumps({**sheet, "language": "de"}))
    german = serve_module.folder_page(folder) or ""
    assert '<html lang="de"' in german and "<p>1 Folge</p>" in german
    assert ">Kapitel<" in german
    data = (folder / "sway.opus").read_bytes()
    status, headers, body = get(server, "/sway.opus", {"Range": "bytes=100-199"})
    assert status == 206 and body == data[100:200] and headers["Content-Type"] == "audio/ogg"
    assert headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    # a player review: the chapters a feed names were served as plain JSON
    (folder / "reach.chapters.json").write_text('{"version": "1.2.0", "chapters": []}')
    for name, kind in (("reach.chapters.json", "application/json+chapters"),
                       ("reach.cues.json", "application/json")):
        status, headers, _ = get(server, f"/{name}")
        assert status == 200 and headers["Content-Type"] == kind, (name, headers)
    assert 'rel="icon" href="data:,"' in page.decode()  # no cover: no request for one


def test_every_answer_says_not_to_sniff_frame_or_send_the_referrer(server: Any) -> None:
    """An attack: no Content-Security-Policy, framing rule or Referrer-Policy, and error
    pages without nosniff. Every answer carries them; the folder page also its own
    policy, which lets only its own script run."""
    import base64
    import hashlib

    for path, status in (("/", 200), ("/reach.mp3", 200), ("/nothing.mp3", 404),
                         ("/%00", 400)):
        got, headers, _ = get(server, path)
        assert got == status, path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
        assert headers["Referrer-Policy"] == "no-referrer", path
    page = get(server, "/")[2].decode()
    script = page.split("<script>", 1)[1].split("</script>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert (f'<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; '
            f"script-src &#39;sha256-{digest}&#39;;") in page


def test_every_answer_names_the_server_and_its_version(server: Any) -> None:
    """A new-user review: `curl -I` showed "Server: voiceguide " (the base class's
    name, a space, and an empty Python version). Read raw: a client strips the space."""
    for method, path in (("HEAD", "/"), ("GET", "/nothing.mp3")):
        with socket.create_connection(("127.0.0.1", server.server_address[1]),
                                      timeout=5) as s:
            s.sendall(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Connection: close\r\n\r\n".encode())
            head = b""
            while b"\r\n\r\n" not in head and (chunk := s.recv(4096)):
                head += chunk
        lines = head.decode("latin-1").split("\r\n")
        assert f"Server: voiceguide/{vg.__version__}" in lines, (method, lines[:3])


def test_only_regular_files_inside_the_folder(server: Any, folder: Path) -> None:
    for path in ("/.secret", "/link.txt", "/pipe.mp3", "/../outside.txt", "/%2e%2e/outside.txt",
                 "/nothing.mp3"):
        assert get(server, path)[0] == 404, path
    # a folder's index.html that links out (an unzipped pack keeps its links) is not
    # served either: it handed out the file it pointed at
    (folder / "sub").mkdir()
    (folder / "sub" / "index.html").symlink_to(folder.parent / "outside.txt")
    status, _, body = get(server, "/sub/")
    assert status == 404 and b"outside" not in body
    (folder / "index.html").symlink_to(folder.parent / "outside.txt")
    status, _, body = get(server, "/")
    assert status == 404 and b"outside" not in body
    (folder / "index.html").unlink()
    (folder / "index.html").symlink_to(folder / "reach.cues.json")  # a link inside: fine
    assert get(server, "/")[0] == 200
    # a link inside to a dotfile, or through a dot folder, is not served either
    (folder / "notes.txt").symlink_to(folder / ".secret")
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_text("[remote]")
    (folder / "repo").symlink_to(folder / ".git")
    for path in ("/notes.txt", "/repo/config"):
        assert get(server, path)[0] == 404, path


def test_a_folder_swapped_for_a_link_after_the_check_is_not_followed_out(
        server: Any, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An attack: a loop swapping a served folder for a link to a folder outside, while
    asking for a file in it, was given the outside file 250 times in 20 s (the path was
    resolved and checked, then opened by name: O_NOFOLLOW guards only the last name).
    The swap is made here at the worst moment, just after the check."""
    (folder / "d").mkdir()
    (folder / "d" / "x.mp3").write_bytes(b"PUBLIC")
    secret = folder.parent / "secret"
    secret.mkdir()
    (secret / "x.mp3").write_bytes(b"SECRET")
    checked, calls = serve_module.Handler._inside, []

    def then_swapped(self: Any, path: Path) -> Path:
        real = checked(self, path)
        calls.append(path)
        if len(calls) == 2:  # the last check, just before the file is opened
            (folder / "d").rename(folder / "d-was")
            (folder / "d").symlink_to(secret)
        return real

    assert get(server, "/d/x.mp3")[2] == b"PUBLIC"
    monkeypatch.setattr(serve_module.Handler, "_inside", then_swapped)
    status, _, body = get(server, "/d/x.mp3")
    assert (folder / "d").is_symlink()  # the swap was made between the check and the open
    assert status == 404 and b"SECRET" not in body


def test_a_cue_sheet_naming_a_file_a_browser_reads_as_a_path_is_not_played(
        folder: Path) -> None:
    """An attack: a sheet whose "file" was '\\\\127.0.0.1:9911\\evil.mp3' (a file of that
    name beside it) put that name in the folder's page, and Chromium, reading '\\' as
    '/', fetched the audio from another host. Only names a build writes are played."""
    import json

    sheet = json.loads((folder / "reach.cues.json").read_text())
    for name in ("\\\\127.0.0.1:9911\\evil.mp3", "sub\\evil.mp3", "evil .mp3"):
        (folder / name).write_bytes(b"ID3")
        (folder / "evil.cues.json").write_text(json.dumps({**sheet, "file": name}))
        page = serve_module.folder_page(folder) or ""
        assert "evil" not in page and "reach.mp3" in page, name
    long = "a" * 108 + ".mp3"  # a split part of a long --track-name: played (the attack
    (folder / long).write_bytes(b"ID3")  # on the first version: safe_stem cut it at 100)
    (folder / "evil.cues.json").write_text(json.dumps({**sheet, "file": long}))
    assert f'"{long}"' in (serve_module.folder_page(folder) or "")
    (folder / "evil.mp3").write_bytes(b"ID3")  # a name a build writes: played
    (folder / "evil.cues.json").write_text(json.dumps({**sheet, "file": "evil.mp3"}))
    assert '"evil.mp3"' in (serve_module.folder_page(folder) or "")


def test_a_cue_sheet_nested_deep_or_a_link_loop_gets_answers_not_a_dropped_line(
        server: Any, folder: Path) -> None:
    """An attack: a cue sheet whose duration was 975 lists deep parsed, and writing it
    into the page ran out of stack, so every GET / was a closed connection (and
    ``serve`` of such a folder an internal error); a link loop (l1 -> l2 -> l1) got no
    answer either. The sheet is damaged (its track is listed without it or not at
    all); the loop is a 404."""
    deep = "[" * 975 + "]" * 975
    (folder / "x.mp3").write_bytes((folder / "reach.mp3").read_bytes())
    (folder / "x.cues.json").write_text(
        '{"title": "t", "file": "x.mp3", "chapters": [], "cues": [], "duration": '
        + deep + "}")
    status, _, body = get(server, "/")
    assert status == 200 and b"reach.mp3" in body
    (folder / "l1").symlink_to(folder / "l2")
    (folder / "l2").symlink_to(folder / "l1")
    assert get(server, "/l1")[0] == 404
    assert get(server, "/")[0] == 200  # still serving


def test_malformed_requests_get_400(server: Any) -> None:
    assert get(server, "/reach%00.mp3")[0] == 400
    assert get(server, "/%ff%fe.mp3")[0] == 400
    assert get(server, "/reach.mp3", {"Range": "bytes=" + "9" * 5000 + "-"})[0] == 400
    assert get(server, "/reach.mp3", {"Range": "bytes=5-2"})[0] == 416  # RFC 9110: none of it
    # an attack: these were taken for several ranges (the whole file, 200); the README
    # says a malformed Range gets 400
    for malformed in ("bytes=1", "bytes=--1", "bytes=1-2,", "bytes=,"):
        assert get(server, "/reach.mp3", {"Range": malformed})[0] == 400, malformed
    assert get(server, "/reach.mp3", {"Range": "bytes=0-1, 5-9,-3"})[0] == 200
    with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=5) as s:
        s.sendall(b"GARBAGE\r\n\r\n")
        assert b" 400 " in s.recv(100).split(b"\r\n")[0]
    for raw in (b"GET /reach.vtt\r\n\r\n",  # HTTP/0.9: it got the file, no status line
                b"GET /reach.vtt\r\n",  # and as HTTP/0.9 is sent, with no blank line
                # after it: no answer, the connection cut after 10 s (a new user's review)
                b"GET /\xff.mp3 HTTP/1.1\r\n\r\n"):  # bytes not %-encoded
        with socket.create_connection(("127.0.0.1", server.server_address[1]),
                                      timeout=5) as s:
            s.sendall(raw)
            assert b" 400 " in s.recv(100).split(b"\r\n")[0], raw
    assert get(server, "/reach.mp3")[0] == 200  # and the server still answers
    # these closed the connection without a word
    assert get(server, "/" + "a" * 300 + ".mp3")[0] == 400  # a name too long for a file
    assert get(server, "/" + "a/" * 3000 + "x")[0] == 400  # a path too long
    assert get(server, "/reach.mp3", {"If-Modified-Since":
                                      "Mon, 01 Jan 99999999999 00:00:00 GMT"})[0] == 200


def test_a_body_sent_with_a_get_is_never_taken_for_a_request(server: Any) -> None:
    """A GET carrying a body that reads as another request: one answer, then the
    connection closes (the body was parsed as a second request, for a file the client
    never asked for by its request line)."""
    smuggled = b"GET /reach.vtt HTTP/1.1\r\nHost: localhost\r\n\r\n"
    n = str(len(smuggled)).encode()
    # and headers a proxy in front could read another way: refused (found by an attack)
    for headers, status in ((b"Content-Length: " + n, b"200"),
                            (b"Content-Length: 0\r\nContent-Length: " + n, b"400"),
                            (b"Content-Length:\r\nContent-Length: " + n, b"400"),
                            (b"Content-Length : " + n, b"400"),
                            (b"X-A: 1\r\n Transfer-Encoding: chunked", b"400")):
        with socket.create_connection(("127.0.0.1", server.server_address[1]),
                                      timeout=5) as s:
            s.sendall(b"GET /reach.cues.json HTTP/1.1\r\nHost: localhost\r\n" + headers
                      + b"\r\n\r\n" + smuggled)
            got = b""
            while chunk := s.recv(65536):
                got += chunk
        answers = [line for line in got.split(b"\r\n") if line.startswith(b"HTTP/1.1 ")]
        assert len(answers) == 1 and answers[0].startswith(b"HTTP/1.1 " + status), \
            (headers, got[:300])
        assert b"WEBVTT" not in got, headers


def test_keep_alive_and_idle_timeout(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serve_module.Handler, "timeout", 0.5)
    srv = vg.make_server(folder, port=0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=5)
        conn.request("GET", "/reach.cues.json")
        r = conn.getresponse()
        assert r.version == 11 and r.status == 200
        r.read()
        sock = conn.sock
        conn.request("GET", "/reach.vtt")  # the same connection
        r = conn.getresponse()
        assert r.status == 200 and r.read().startswith(b"WEBVTT") and conn.sock is sock
        conn.close()
        with socket.create_connection(("127.0.0.1", srv.server_address[1]), timeout=5) as s:
            t0 = time.monotonic()
            assert s.recv(10) == b""  # the server closed the silent connection
            assert time.monotonic() - t0 < 4
    finally:
        srv.shutdown()
        srv.server_close()


def _busy(port: int, source: str = "127.0.0.1") -> socket.socket:
    """A connection being answered (a large file it does not read yet)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
    return s


def _trickling(port: int, source: str) -> socket.socket:
    """A connection sending its request's headers a byte at a time (slowloris)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    s.sendall(b"G")
    return s


def _answered(port: int, source: str = "127.0.0.1") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5,
                                  source_address=(source, 0)) as s:
        s.sendall(b"GET /reach.vtt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        return s.recv(100)


def _settled(srv: Any, live: int, busy: int) -> None:
    """Wait until the server holds ``live`` connections, ``busy`` of them busy."""
    for _ in range(100):
        states = [c.busy for c in list(srv._live.values())]
        if len(states) == live and sum(states) == busy:
            return
        time.sleep(0.05)
    raise AssertionError(f"the server holds {states}")


def test_idle_connections_make_room_and_one_client_cannot_take_every_place(
        folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """32 connections kept alive with a request every 25 s, headers sent a byte at a
    time, or a large file read a few bytes at a time, shut everyone else out with 503
    for as long as the attacker liked (found by two attacks)."""
    from voiceguide.pack import connections

    monkeypatch.setattr(connections, "MAX_CONNECTIONS", 3)
    monkeypatch.setattr(connections, "MAX_PER_CLIENT", 2)
    (folder / "big.bin").write_bytes(bytes(64 << 20))  # answered at a reader's pace
    srv = vg.make_server(folder, port=0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]
    try:
        # kept alive and waiting: a newcomer takes the place of the one idle longest
        idle = []
        for i in range(3):  # one after the other, each asks once and waits: oldest first
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5,
                                              source_address=(f"127.0.0.{i + 2}", 0))
            conn.request("GET", "/reach.vtt")
            conn.getresponse().read()
            idle.append(conn.sock)
            _settled(srv, i + 1, 0)
        assert _answered(port, "127.0.0.9").startswith(b"HTTP/1.1 200")
        assert idle[0].recv(10) == b""  # the oldest was closed
        for s in idle:
            s.close()
        _settled(srv, 0, 0)
        # busy: one address has at most two places, the others still get served
        mine = [_busy(port) for _ in range(2)]
        _settled(srv, 2, 2)
        assert _answered(port).startswith(b"HTTP/1.1 503")
        assert _answered(port, "127.0.0.5").startswith(b"HTTP/1.1 200")
        _settled(srv, 2, 2)
        theirs = _busy(port, "127.0.0.6")
        _settled(srv, 3, 3)
        # full of busy answers: the address holding two gives one up to a newcomer that
        # holds none (slow readers from four addresses, eight each, kept everyone else
        # out: an attack); once every address holds one, a newcomer waits
        assert _answered(port, "127.0.0.7").startswith(b"HTTP/1.1 200")
        _settled(srv, 2, 2)
        assert sorted(c.client for c in srv._live.values()) == ["127.0.0.1", "127.0.0.6"]
        third = _busy(port, "127.0.0.8")
        _settled(srv, 3, 3)
        assert _answered(port, "127.0.0.7").startswith(b"HTTP/1.1 503")  # all busy
        # an answer that has not moved for STALLED seconds makes room too
        monkeypatch.setattr(connections, "STALLED", 0.5)
        time.sleep(1.0)
        assert _answered(port, "127.0.0.7").startswith(b"HTTP/1.1 200")
        for s in [*mine, theirs, third]:
            s.close()
        _settled(srv, 0, 0)
        # headers trickled a byte at a time hold no place (they were busy from one byte)
        slow = [_trickling(port, f"127.0.0.{10 + i}") for i in range(3)]
        _settled(srv, 3, 0)
        assert _answered(port, "127.0.0.20").startswith(b"HTTP/1.1 200")
        for s in slow:
            s.close()
        assert get(srv, "/reach.vtt")[0] == 200
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_range_in_a_unit_we_do_not_know_gets_the_whole_file(server: Any) -> None:
    status, _, body = get(server, "/reach.vtt", {"Range": "items=0-5"})
    assert status == 200 and body.startswith(b"WEBVTT")


def test_ranges_are_read_as_rfc_9110_says(server: Any, folder: Path) -> None:
    """An attack: 'BYTES=0-9' was refused (units are case-insensitive), a range of 19
    digits was the whole file with 200 (its end is the file's end; its start past the
    end is 416), 'bytes=10-5' was 400, not 416; /feed.xml/ was served as the feed."""
    data = (folder / "reach.vtt").read_bytes()
    status, headers, body = get(server, "/reach.vtt", {"Range": "BYTES=0-9"})
    assert status == 206 and body == data[:10]
    status, headers, body = get(server, "/reach.vtt", {"Range": "bytes=5-" + "9" * 30})
    assert status == 206 and body == data[5:]
    assert headers["Content-Range"] == f"bytes 5-{len(data) - 1}/{len(data)}"
    for past in ("bytes=" + "9" * 30 + "-", "bytes=10-5"):
        status, headers, body = get(server, "/reach.vtt", {"Range": past})
        assert status == 416 and headers["Content-Range"] == f"bytes */{len(data)}", past
    assert get(server, "/reach.vtt/")[0] == 404
    with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=10) as s:
        s.sendall(b"GET /reach.vtt HTTP/1.1\r\nHost: localhost\r\nRange: bytes=0-1\r\n"
                  b"Range: bytes=5-9\r\nConnection: close\r\n\r\n")
        assert s.recv(64).split()[1] == b"400"  # two ranges: the first was taken silently


def test_an_empty_file_is_served_empty_not_refused(server: Any, folder: Path) -> None:
    """A plain GET of an empty file was a 416 'range not satisfiable' (a code review)."""
    (folder / "empty.lrc").write_bytes(b"")
    status, headers, body = get(server, "/empty.lrc")
    assert status == 200 and body == b"" and headers["Content-Length"] == "0"
    status, _, body = get(server, "/reach.vtt", {"Range": "bytes=999999-"})
    assert status == 416 and body == b""  # past the end of a file with bytes: still 416


def test_a_bad_host_is_a_usage_error(folder: Path) -> None:
    for host in ("999.1.1.1", "192.0.2.1"):
        with pytest.raises(vg.UsageError, match=f"^host='{host}': not an address"):
            vg.make_server(folder, host=host, port=0)
        with vg.cli_messages(), pytest.raises(vg.UsageError, match=f"^--host {host}: not an"):
            vg.make_server(folder, host=host, port=0)  # as `voiceguide serve` says it
    try:
        srv = vg.make_server(folder, host="::1", port=0)  # IPv6 too
    except vg.UsageError:
        if socket.has_ipv6:
            with socket.socket(socket.AF_INET6) as probe, contextlib.suppress(OSError):
                probe.bind(("::1", 0))
                raise  # this machine listens on ::1, so the server should have
        pytest.skip("no IPv6 loopback here")
    assert vg.urls(srv) == [f"http://[::1]:{srv.server_address[1]}/"]  # a URL that opens
    srv.server_close()


def test_cli_port_range_and_lan(folder: Path, serve_port: Callable[[], int],
                                capsys: pytest.CaptureFixture[str]) -> None:
    for given in ("0", "70000"):  # "Input should be greater than or equal to 1" (pydantic's)
        assert run_cli(["serve", str(folder), "--port", given]) == 2
        assert capsys.readouterr().err.splitlines() == [
            f"Error: --port must be between 1 and 65535 (got {given})"]
    assert run_cli(["serve", str(folder.parent / "none")]) == 2

    port = serve_port()
    capsys.readouterr()
    assert run_cli(["serve", str(folder), "--port", str(port)]) == 0
    local = capsys.readouterr().out
    assert f"http://127.0.0.1:{port}/" in local and "--lan" in local and "█" not in local
    assert run_cli(["serve", str(folder), "--lan", "--port", str(port)]) == 0
    lan = capsys.readouterr().out
    address = serve_module.lan_address()
    assert f"http://{address}:{port}/" in lan.splitlines()[0]
    assert "█" in lan or "▀" in lan  # the QR code


def test_a_client_revalidates_its_copy_and_never_resumes_into_a_rebuilt_file(
        server: Any, folder: Path) -> None:
    """Every file carries an ETag and Last-Modified: a player's reload or a podcast
    app's check gets 304 with no body when the copy it has is current; a download
    resumed (Range + If-Range) after the track was rebuilt gets the whole new file, not
    the new file's bytes spliced onto the old one's (RFC 9110 13.1)."""
    status, head, body = get(server, "/reach.mp3")
    assert status == 200 and head["ETag"] and head["Last-Modified"]
    tag, modified = head["ETag"], head["Last-Modified"]
    for cond in ({"If-None-Match": tag}, {"If-Modified-Since": modified}):
        status, _, again = get(server, "/reach.mp3", cond)
        assert (status, again) == (304, b""), cond
    status, _, part = get(server, "/reach.mp3", {"Range": "bytes=0-99", "If-Range": tag})
    assert (status, part) == (206, body[:100])
    track = folder / "reach.mp3"
    track.write_bytes(body[::-1])  # rebuilt: other bytes, same size
    os.utime(track, ns=(time.time_ns(), time.time_ns() + 10**9))
    status, _, _ = get(server, "/reach.mp3", {"If-None-Match": tag})
    assert status == 200
    status, head, whole = get(server, "/reach.mp3", {"Range": "bytes=100-", "If-Range": tag})
    assert (status, whole) == (200, body[::-1]) and "Content-Range" not in head


def test_a_split_sheet_whose_parts_overlap_is_not_read(folder: Path) -> None:
    """A cue sheet whose parts each cover the whole track copied every cue into every
    part: 3,000 of each (330 kB) made a 315 MB page, 26 s and 2.7 GB for each request of
    the folder. Parts follow one another, or the sheet is not one this version reads."""
    cues = [{"kind": "speech", "start": float(i), "end": i + 0.5, "text": f"Cue {i}."}
            for i in range(400)]
    parts = [{"start": 0, "end": 1e9, "title": f"P{i}", "file": "reach.mp3"}
             for i in range(400)]
    (folder / "evil.cues.json").write_text(json.dumps({"title": "Evil", "cues": cues,
                                                       "parts": parts}))
    page = serve_module.folder_page(folder) or ""
    assert "Evil" not in page and len(page) < 1_000_000 and "Reach" in page
    # parts of no length are not parts either (they all began at 0 and passed)
    empty = [{"start": 0, "end": 0, "title": f"P{i}", "file": "reach.mp3"} for i in range(400)]
    (folder / "evil.cues.json").write_text(json.dumps({"title": "Evil", "cues": cues,
                                                       "parts": empty}))
    assert "Evil" not in (serve_module.folder_page(folder) or "")
    # parts that follow one another: each cue is copied once (every part looked at every
    # cue, and a 2 MB sheet of 15,000 of each took 16 s)
    many = [{"kind": "speech", "start": i / 10, "end": i / 10 + 0.05, "text": "Cue."}
            for i in range(4000)]
    parts = [{"start": i, "end": i + 1, "title": f"P{i}", "file": "reach.mp3"}
             for i in range(400)]
    (folder / "evil.cues.json").write_text(json.dumps({"title": "Evil", "cues": many,
                                                       "parts": parts, "language": "de"}))
    page = serve_module.folder_page(folder) or ""
    assert page.count('"Cue."') == 4000 and page.count("Evil: P") == 400
    assert page.count('"lang":"de"') == 400  # each part in its track's words ("" before)
    # a duration of 1e999 (infinity) made the page's JSON one the browser refuses:
    # the player failed for every track; the sheet is left out
    (folder / "evil.cues.json").write_text('{"title": "Evil", "file": "reach.mp3", '
                                           '"duration": 1e999, "cues": [], "chapters": []}')
    page = serve_module.folder_page(folder) or ""
    assert "Evil" not in page and "Infinity" not in page and "NaN" not in page
    assert "Reach" in page
    # parts named by a path (an attack: the page listed /etc/passwd and ../x, telling
    # whoever loads it which files exist on the server)
    outside = [{"start": 0, "end": 1, "title": "P", "file": str(folder / "reach.mp3")},
               {"start": 1, "end": 2, "title": "Q", "file": f"../{folder.name}/reach.mp3"}]
    (folder / "evil.cues.json").write_text(json.dumps({"title": "Evil", "cues": [],
                                                       "parts": outside}))
    assert "Evil" not in (serve_module.folder_page(folder) or "")


@pytest.mark.parametrize("drip", [b"GET /reach.mp3 HTTP/1.1\r\n" + b"X-Slow: 1\r\n" * 40,
                                  b"GET /reach.mp3 HTTP/1.1\r\nX-Slow: " + b"1" * 40,
                                  b"GET /" + b"a" * 40])
def test_a_client_that_sends_its_request_slowly_is_dropped(
        drip: bytes, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A header line every few seconds is never silent: 32 such clients held every
    connection, and a listener's phone got 503 until they left; a timeout on each read
    let a byte every few seconds through, in a header or the request line. From a
    request's first byte, its line and headers have HEADER_SECONDS in all."""
    monkeypatch.setattr(serve_module, "HEADER_SECONDS", 1.0)
    srv = vg.make_server(folder, port=0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        with socket.create_connection(("127.0.0.1", srv.server_address[1]), timeout=10) as s:
            t0 = time.monotonic()
            closed = False
            for k in range(0, len(drip), 4):
                try:
                    s.sendall(drip[k : k + 4])
                    if s.recv(100, socket.MSG_DONTWAIT) == b"":
                        closed = True
                        break
                except BlockingIOError:
                    pass
                except OSError:
                    closed = True
                    break
                time.sleep(0.2)
            assert closed and time.monotonic() - t0 < 4
        assert get(srv, "/reach.cues.json")[0] == 200  # others are served all along
        # a kept-alive connection waits for its next request past the deadline
        conn = http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=10)
        conn.request("GET", "/reach.vtt")
        conn.getresponse().read()
        time.sleep(1.5)
        conn.request("GET", "/reach.vtt")
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        srv.shutdown()
        srv.server_close()


def as_if_from_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Take requests that come in through loopback (a test's) as a phone's come in, at
    the network address (where any Host header is a phone's name for this machine)."""
    from voiceguide.pack import absolute

    monkeypatch.setattr(serve_module, "foreign_host",
                        lambda host, version, local, names=frozenset():
                        absolute.foreign_host(host, version, "192.0.2.2", names))


def test_a_feed_too_full_of_links_is_served_as_written_and_two_hosts_are_refused(
        server: Any, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An attack: a feed.xml of a million links cost 7 s of CPU a request (HEAD too) to
    rewrite for the asking address; a request with two Host headers was answered with
    the first."""
    as_if_from_the_network(monkeypatch)
    def asked(*hosts: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        conn.putrequest("GET", "/feed.xml", skip_host=True)
        for host in hosts:
            conn.putheader("Host", host)
        conn.endheaders()
        r = conn.getresponse()
        answer = r.status, r.read()
        conn.close()
        return answer

    hostile = b"<rss>" + b' url="a"' * 100_000 + b"</rss>"
    (folder / "feed.xml").write_bytes(hostile)
    assert asked("10.0.0.1:8000") == (200, hostile)  # not rewritten: too many links
    (folder / "feed.xml").write_bytes(b'<rss><item><enclosure url="a.mp3"/></item></rss>')
    assert asked("10.0.0.1:8000") == (200, b'<rss><item><enclosure url="http://10.0.0.1:8000/'
                                            b'a.mp3"/></item></rss>')
    assert asked("10.0.0.1:8000", "10.0.0.2:8000")[0] == 400


def test_a_request_from_this_machine_must_name_this_machine(server: Any) -> None:
    """An attack: a served folder answered any Host header at 127.0.0.1, so a web page
    whose name the attacker points at 127.0.0.1 (DNS rebinding) could read every track
    and cue sheet; an HTTP/1.1 request with no Host was answered too."""
    port = server.server_address[1]

    def status(host: str | None, version: str = "HTTP/1.1") -> int:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(f"GET /reach.cues.json {version}\r\n".encode()
                      + (f"Host: {host}\r\n".encode() if host is not None else b"")
                      + b"Connection: close\r\n\r\n")
            return int(s.recv(64).split()[1])

    for name in (f"127.0.0.1:{port}", f"localhost:{port}", "LOCALHOST", f"[::1]:{port}",
                 "app.localhost"):
        assert status(name) == 200, name
    assert status(None, "HTTP/1.0") == 200  # HTTP/1.0 need not name a host
    for name in (f"attacker.example:{port}", "192.0.2.7", "127.0.0.1.evil.example", "",
                 f"[::2]:{port}",
                 # a third attack: a host that is no host, passed as the name before ':'
                 "localhost:1@attacker.example", "localhost:x", "localhost/evil:80"):
        assert status(name) == 400, name
    assert status(None) == 400

    def absolute(target: str, host: str) -> int:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\n"
                      "Connection: close\r\n\r\n".encode())
            return int(s.recv(64).split()[1])

    # the absolute form names the host asked for: its authority, not the Host header
    assert absolute("http://attacker.example/reach.cues.json", "localhost") == 400
    assert absolute(f"http://localhost:{port}/reach.cues.json", "attacker.example") == 200
    assert absolute(f"HTTP://127.0.0.1:{port}/missing.mp3", "localhost") == 404
    # the attack on that change: another scheme's authority was ignored, and an empty
    # path was a bad path
    assert absolute("ftp://attacker.example/", "localhost") == 400
    assert absolute("ws://attacker.example/reach.cues.json", "localhost") == 400
    assert absolute(f"http://localhost:{port}?x", "localhost") == 200
    # a fully qualified name (a trailing dot) is a host
    assert status(f"localhost.:{port}") == 200


def test_a_request_from_the_network_must_name_this_machine(
        server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """An attack: with --lan, a request that came in at the network address was answered
    whatever its Host, so a web page on any computer of the network that points a name
    of its own at this machine (DNS rebinding) read the served folder, and got the feed
    with its links rewritten to the attacker's name. It must name this machine by an
    address or by its host name."""
    import socket as sockets

    as_if_from_the_network(monkeypatch)
    port = server.server_address[1]
    me = sockets.gethostname().lower().split(".")[0]

    def status(host: str) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.putrequest("GET", "/reach.cues.json", skip_host=True)
        conn.putheader("Host", host)
        conn.endheaders()
        answer = conn.getresponse().status
        conn.close()
        return answer

    for name in (f"192.168.1.20:{port}", f"[fe80::1]:{port}", "10.0.0.5", f"{me}:{port}",
                 f"{me}.local", f"{me}.fritz.box:{port}", f"localhost:{port}",
                 f"{me}.local.", f"{me}.:{port}", "192.168.1.20."):
        assert status(name) == 200, name
    for name in (f"attacker.example:{port}", "rebind.attacker.example",
                 f"x{me}.local", "192.168.1.20.evil.example",
                 # the attack on that change: the host name as a first label of theirs
                 f"{me}.attacker.example", f"{me.upper()}.EVIL:{port}"):
        assert status(name) == 400, name


def test_a_folder_page_is_made_once_for_each_state_of_the_folder(
        server: Any, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An attack: the player page of a folder without index.html was made from its cue
    sheets for every request, and 32 requests at once took 2.9 GB. It is made once, by
    one request while the others wait for it, and again when a cue sheet changes."""
    from concurrent.futures import ThreadPoolExecutor

    from voiceguide.pack import folder_page as page_module

    made: list[Path] = []
    real = page_module.folder_page

    def counted(where: Path) -> str | None:
        made.append(where)
        time.sleep(0.2)  # slow enough that the requests overlap
        return real(where)

    monkeypatch.setattr(page_module, "folder_page", counted)
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: get(server, "/"), range(6)))
    assert {status for status, _, _ in answers} == {200}
    assert len({body for _, _, body in answers}) == 1 and len(made) == 1
    sheet = folder / "reach.cues.json"
    data = json.loads(sheet.read_text())
    data["title"] = "Reach, renamed"
    sheet.write_text(json.dumps(data))
    status, _, body = get(server, "/")
    assert status == 200 and b"Reach, renamed" in body and len(made) == 2
    # the same size, its time set back (cp -p, touch -r): the attack on the first version
    before = sheet.stat()
    sheet.write_text(json.dumps(data).replace("Reach, renamed", "Reach, RENAMED"))
    os.utime(sheet, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert sheet.stat().st_size == before.st_size
    status, _, body = get(server, "/")
    assert status == 200 and b"Reach, RENAMED" in body and len(made) == 3


def test_folder_pages_are_made_one_at_a_time_and_kept(
        server: Any, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The next attack: made one at a time for each folder, 32 requests for 32 folders
    of large cue sheets took 3.15 GB, and with four pages kept, asking for six folders
    in turn made every page again. One page is made at a time, whichever folder, and
    pages are kept by their size."""
    import shutil
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from voiceguide.pack import folder_page as page_module

    names = [f"s{i}" for i in range(6)]
    for name in names:
        (folder / name).mkdir()
        for f in ("reach.cues.json", "reach.mp3"):
            shutil.copy(folder / f, folder / name / f)
    made: list[Path] = []
    busy: list[int] = [0, 0]  # now, most at once
    lock = threading.Lock()
    real = page_module.folder_page

    def counted(where: Path) -> str | None:
        with lock:
            made.append(where)
            busy[0] += 1
            busy[1] = max(busy)
        time.sleep(0.1)
        with lock:
            busy[0] -= 1
        return real(where)

    monkeypatch.setattr(page_module, "folder_page", counted)
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda n: get(server, f"/{n}/"), names))
    assert {status for status, _, _ in answers} == {200} and len(made) == 6
    assert busy[1] == 1
    for name in names:  # each again, in turn: all six were kept
        assert get(server, f"/{name}/")[0] == 200
    assert len(made) == 6


def test_a_feed_served_rewrites_its_links_not_its_words() -> None:
    """An attack: a description holding ` href="evil/../../x"` was served as
    `href="http://localhost:8000/x"`: only the links of tags are resolved."""
    from voiceguide.pack.absolute import absolute_feed

    feed = (b'<rss><channel><description>see href="evil/../../x" and url="y"</description>'
            b'<enclosure url="01-a.mp3" length="3" type="audio/mpeg"/>'
            b'<atom:link href="feed.xml" rel="self"/><link>index.html</link>'
            b'<itunes:image href="cover.png"/></channel></rss>')
    out = absolute_feed(feed, "http://h:1/zoe/")
    assert b'<description>see href="evil/../../x" and url="y"</description>' in out
    for link in (b'url="http://h:1/zoe/01-a.mp3"', b'href="http://h:1/zoe/feed.xml"',
                 b"<link>http://h:1/zoe/index.html</link>", b'href="http://h:1/zoe/cover.png"'):
        assert link in out, link
