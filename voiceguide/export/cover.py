"""Cover art made at build time (no files to ship or download).

The lettering is DejaVu Sans, which matplotlib (a dependency) ships: it has the accented
and other letters of Latin, Greek and Cyrillic scripts, where Pillow's own font drew a
box for every ë or ü. Letters it lacks (Chinese, say) are left out, not drawn as boxes.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import re
from pathlib import Path
from typing import Any


def make_cover(title: str, subtitle: str, size: int = 600) -> bytes:
    """A calm cover: a soft two-colour gradient with the title and routine name (PNG)."""
    import textwrap

    from PIL import Image, ImageDraw

    top, bottom = (38, 70, 83), (122, 104, 150)
    img = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(img)
    for y in range(size):
        k = y / (size - 1)
        draw.line(
            [(0, y), (size, y)],
            fill=tuple(int(top[i] + (bottom[i] - top[i]) * k) for i in range(3)),
        )
    for r, alpha in ((size * 0.36, 22), (size * 0.26, 30), (size * 0.16, 40)):
        cx, cy = size * 0.5, size * 0.36
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=(255, 255, 255, alpha), width=2)
    big, small = _font(size // 12), _font(size // 26)
    title, subtitle = _drawable(title), _drawable(subtitle)
    lines = textwrap.wrap(title, width=18)[:4]
    y = int(size * 0.62)
    for line in lines:
        w = draw.textlength(line, font=big)
        draw.text(((size - w) / 2, y), line, font=big, fill=(250, 248, 240))
        y += size // 11
    w = draw.textlength(subtitle, font=small)
    draw.text(((size - w) / 2, size * 0.92), subtitle, font=small, fill=(225, 225, 235))
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False)
    return out.getvalue()


@functools.cache
def _font_file() -> Path | None:
    """DejaVu Sans as matplotlib ships it (found without importing matplotlib)."""
    spec = importlib.util.find_spec("matplotlib")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
        if path.is_file():
            return path
    return None


def _font(size: int) -> Any:
    from PIL import ImageFont

    path = _font_file()
    return ImageFont.truetype(str(path), size) if path else ImageFont.load_default(size=size)


@functools.cache
def _covered() -> frozenset[int] | None:
    """The characters the font draws (None: unknown, every one is tried)."""
    path = _font_file()
    if path is None:
        return None
    from fontTools.ttLib import TTFont

    return frozenset(TTFont(path, lazy=True).getBestCmap())


def _drawable(text: str) -> str:
    """``text`` without the letters the font would draw as boxes (and without a
    separator those leave dangling: "Evenings · 李雷" is "Evenings")."""
    covered = None if text.isascii() else _covered()
    if covered is None:
        return text
    kept = "".join(c for c in text if ord(c) in covered or c.isspace())
    kept = re.sub(r"\s*·\s*$|^\s*·\s*", "", " ".join(kept.split()))
    return kept.strip()
