"""Safe file names made from user text (routine ids, listener names, titles)."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]+")


def safe_stem(text: str) -> str:
    """A safe file name stem: ASCII letters, digits, '.', '-', '_' (accents dropped, other
    characters become '-'); no leading dot, no empty parts, so no path can come out."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    parts = (part.strip("._") for part in _UNSAFE.sub("-", ascii_text).split("-"))
    stem = "-".join(part for part in parts if part)
    return re.sub(r"\.{2,}", ".", stem)[:100].strip("-._") or "track"
