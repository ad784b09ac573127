"""Names of the built-in sounds, importable without the audio stack (packs and
validation check bed names before any sound is made)."""

from __future__ import annotations

from voiceguide.vocabulary import BEDS

__all__ = ["BEDS"]
