"""Cover art made at build time (no files to ship or download)."""

from __future__ import annotations

import io


def make_cover(title: str, subtitle: str, size: int = 600) -> bytes:
    """A calm cover: a soft two-colour gradient with the title and routine name (PNG)."""
    import textwrap

    from PIL import Image, ImageDraw, ImageFont

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
    big = ImageFont.load_default(size=size // 12)
    small = ImageFont.load_default(size=size // 26)
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
