"""A QR code of a served page's address, for a phone's camera (``serve --lan``)."""

from __future__ import annotations

from typing import Final

from voiceguide.errors import UsageError

MAX_QR_TEXT: Final = 2000
"""Longest address a QR code is made of (a URL; a longer one is no address of ours)."""


def qr_text(url: str, plain: bool = False) -> str:
    """A terminal QR code of ``url`` (half-block characters; ``plain``: ``#`` and spaces,
    two a module, for a terminal whose encoding has no blocks: an attack's Latin-1
    terminal was shown rows of ``\\u2588``, which no camera reads)."""
    if not isinstance(url, str) or len(url) > MAX_QR_TEXT:
        raise UsageError(f"a QR code is made of an address of at most {MAX_QR_TEXT} "
                         "characters")
    import io

    import qrcode

    qr = qrcode.QRCode(border=1)
    qr.add_data(url)
    qr.make(fit=True)
    if plain:  # light modules drawn, as the blocks are (for a dark terminal)
        return "".join("".join("  " if dark else "##" for dark in row) + "\n"
                       for row in qr.get_matrix())
    buf = io.StringIO()
    qr.print_ascii(out=buf, invert=True)
    return buf.getvalue()
