"""A QR code of a served page's address, for a phone's camera (``serve --lan``)."""

from __future__ import annotations

from typing import Final

from voiceguide.errors import UsageError

MAX_QR_TEXT: Final = 2000
"""Longest address a QR code is made of (a URL; a longer one is no address of ours)."""


def qr_text(url: str) -> str:
    """A terminal QR code of ``url`` (half-block characters)."""
    if not isinstance(url, str) or len(url) > MAX_QR_TEXT:
        raise UsageError(f"a QR code is made of an address of at most {MAX_QR_TEXT} "
                         "characters")
    import io

    import qrcode

    qr = qrcode.QRCode(border=1)
    qr.add_data(url)
    qr.make(fit=True)
    buf = io.StringIO()
    qr.print_ascii(out=buf, invert=True)
    return buf.getvalue()
