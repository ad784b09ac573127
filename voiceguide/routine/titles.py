"""The type of a title a listener sees: a routine's, an exercise's, a section's."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from voiceguide.settings import printable_text


def _title(value: str) -> str:
    text = str(printable_text(value))
    if not text.strip():  # nothing but the invisible leftovers of a paste (U+200B)
        raise ValueError("is empty; write the title")
    return text


Title = Annotated[str, Field(min_length=1, max_length=120), AfterValidator(_title)]
"""A title a listener sees (chapters, tags, feed, player): one line of at most 120
characters, no control, direction or line-separator characters (a title with U+202E
read reversed in every list, and the pack's own manifest was refused on its next run)."""
