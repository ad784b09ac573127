"""Names files may use that every layer checks: the built-in beds (a routine, a profile
and a pack name a bed before any sound is made). Light: no audio stack, no models."""

from __future__ import annotations

from typing import Final

BEDS: Final = ("rain", "ocean", "drone")
"""Built-in beds."""
