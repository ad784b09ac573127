"""Names of the built-in sounds, importable without the audio stack (packs and
validation check bed names before any sound is made)."""

from __future__ import annotations

from typing import Final

BEDS: Final = ("rain", "ocean", "drone")
"""Built-in beds."""
