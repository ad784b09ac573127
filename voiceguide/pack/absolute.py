"""A feed's relative links made absolute for the address it was asked at (``serve``).

A pack built without ``--base-url`` writes its feed with links relative to the feed,
which podcast apps do not follow. ``serve`` knows the address a phone used (the
request's ``Host`` and path), so it hands the feed out with every relative link
resolved against the feed's own URL: what the relative link means, written out.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import BinaryIO, Final
from urllib.parse import quote, unquote, urljoin

MAX_FEED_BYTES: Final = 8 << 20
"""Largest feed rewritten (a pack's feed is a few kB per track); a larger one is served
as it is."""
MAX_FEED_LINKS: Final = 60_000
"""Most links a rewritten feed may hold (a pack's feed has six a track; a feed of a
million links cost 7 s of CPU a request): one with more is served as it is."""
KEPT_BYTES: Final = 16 << 20
"""Bytes of rewritten feeds kept, by file and address (a podcast app asks every few
minutes)."""
_MARKERS: Final = (b' url="', b' href="', b"<link>", b"<url>")
_kept: OrderedDict[tuple[object, str], bytes | None] = OrderedDict()
_kept_lock = threading.Lock()
_HOST: Final = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?\.?"
                          r"|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?")
"""A ``Host`` header that is a name (fully qualified too: ``coachpc.local.``), an IPv4 or a
bracketed IPv6 address, and a port."""
_LINKS: Final = re.compile(
    rb'(?P<a><[\w:.-]+(?:\s+[\w:.-]+="[^"]*")*?\s(?:url|href)=")(?P<v>[^"]*)(?P<b>")'
    rb"|(?P<c><(?:link|url)>)(?P<w>[^<]*)(?P<d></(?:link|url)>)")
"""The links of a feed as voiceguide writes it: ``url``/``href`` attributes of a tag (not
the words ` href="x"` in a description) and the text of ``<link>`` and ``<url>``."""
_ABSOLUTE: Final = re.compile(rb"[A-Za-z][A-Za-z0-9+.-]*:")


def foreign_host(host: str | None, version: str, local: str,
                 names: frozenset[str] = frozenset()) -> str | None:
    """Why a request with the ``Host`` header ``host`` (HTTP ``version``) that came in
    at this machine's address ``local`` is refused, or None. A web page that points a
    name of its own at this machine (DNS rebinding) would otherwise read every file
    served: one that came in at a loopback address (from this machine) must name a
    loopback host; one from the network an address, or this machine by one of its
    ``names`` (its host name, as ``coachpc``, or with a home network's suffix, as
    ``coachpc.local``: :data:`LOCAL_SUFFIXES`), never another name (an attack read a served
    folder through ``attacker.example``, and then through ``coachpc.attacker.example``).
    A HTTP/1.1 request must name its host, and a host is a name or an address and a port
    (an attack's ``localhost:1@attacker.example`` passed as ``localhost``)."""
    if host is None:
        return "A Host header is required" if version == "HTTP/1.1" else None
    if not _HOST.fullmatch(host.strip()):
        return "A Host header names a host: a name or an address, and a port"
    name = host.strip().lower()
    name = name[1:].split("]")[0] if name.startswith("[") else name.rsplit(":", 1)[0]
    name = name.rstrip(".")  # fully qualified: the same name
    if name in ("localhost", "::1") or name.endswith(".localhost") or (
            name.startswith("127.") and name.replace(".", "").isdigit()):
        return None
    if local.startswith(("127.", "::ffff:127.")) or local == "::1":
        return "This server answers only requests for this machine (localhost)"
    if _address(name) or name in names or any(
            name == n + suffix for n in names for suffix in LOCAL_SUFFIXES):
        return None
    return ("This server answers only requests that name this machine by its address or "
            "its host name")


LOCAL_SUFFIXES: Final = (".local", ".lan", ".home", ".home.arpa", ".internal", ".fritz.box")
"""The suffixes a home network's names for a machine take (mDNS, routers): ``coachpc.local``
names this machine; ``coachpc.attacker.example`` does not (an attack rebound such a name)."""


def _address(name: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def machine_names(host: str) -> frozenset[str]:
    """The names a request from the network may give this machine by: its host name
    (and that name's first label), and ``host`` if it listens on a name."""
    import socket

    found = {socket.gethostname().lower().rstrip(".")}
    found.add(next(iter(found)).split(".")[0])  # coachpc of coachpc.example.org
    if host and not _address(host.strip("[]")):
        found.add(host.lower().rstrip("."))
    return frozenset(n for n in found if n)


def feed_base(host: str | None, path: str) -> str | None:
    """``http://host/folder/``: the URL of the folder that holds the feed asked for at
    ``path`` with the ``Host`` header ``host`` (None: no usable host)."""
    if host is None or not _HOST.fullmatch(host.strip()):
        return None
    folder = quote(unquote(path.rsplit("/", 1)[0]), safe="/")
    return f"http://{host.strip()}{folder}/"


def served_feed(name: str, f: BinaryIO, size: int, host: str | None, path: str,
                stamp: object = None) -> bytes | None:
    """The feed ``f`` (a file ``name`` of ``size`` bytes, asked for at ``path`` with the
    ``Host`` header ``host``) with its relative links made absolute; None when it is not
    a feed, too large, has more than :data:`MAX_FEED_LINKS` links or no relative one, or
    the host is not usable: it is served as it is. ``stamp`` names this version of the
    file (its answer is kept for the next request; None: not kept)."""
    base = feed_base(host, path) if name == "feed.xml" and size <= MAX_FEED_BYTES else None
    if base is None:
        return None
    key = (stamp, base)
    with _kept_lock:
        if stamp is not None and key in _kept:
            _kept.move_to_end(key)
            return _kept[key]
    data = f.read(MAX_FEED_BYTES + 1)
    f.seek(0)
    links = sum(data.count(marker) for marker in _MARKERS)
    changed = absolute_feed(data, base) if links <= MAX_FEED_LINKS else data
    answer = changed if changed != data else None
    if stamp is not None:
        with _kept_lock:
            _kept[key] = answer
            while sum(len(v or b"") for v in _kept.values()) > KEPT_BYTES or len(_kept) > 256:
                _kept.popitem(last=False)
    return answer


def absolute_feed(data: bytes, base: str) -> bytes:
    """``data`` (a feed) with every relative link resolved against ``base``."""
    root = base.encode("ascii")

    def resolve(m: re.Match[bytes]) -> bytes:
        attribute = m.group("v") is not None
        value = bytes(m.group("v") if attribute else m.group("w"))
        if not value or not value.isascii() or _ABSOLUTE.match(value) or value[:1] == b"#":
            return bytes(m.group(0))
        joined = urljoin(root.decode(), value.decode()).encode()
        before, after = m.group("a", "b") if attribute else m.group("c", "d")
        return bytes(before) + joined + bytes(after)

    return _LINKS.sub(resolve, data)


_ENCLOSURE: Final = re.compile(rb'<enclosure url="(https?://[^"]{1,2000})"')
MAX_FEEDS_LOOKED_AT: Final = 64
"""Listeners' feeds :func:`feeds_elsewhere` reads at most (a pack is built in one go)."""


def feeds_elsewhere(folder: Path) -> str:
    """Where the episodes of the feeds in ``folder`` (and its listeners' folders) are
    played from, when a pack was built with ``--base-url`` (``https://x.example/hips/``);
    empty when they are served from the folder itself (a coach's review: serve --lan
    handed out a feed whose episodes pointed at a site not yet uploaded, without a word)."""
    feeds = [folder / "feed.xml", *sorted(folder.glob("*/feed.xml"))[:MAX_FEEDS_LOOKED_AT]]
    for feed in feeds:
        try:
            with feed.open("rb") as f:
                found = _ENCLOSURE.search(f.read(MAX_FEED_BYTES))
        except OSError:  # none there, or not a file
            continue
        if found is not None:
            url = found[1].decode("ascii", "replace")
            return url[: url.rfind("/") + 1]
    return ""

