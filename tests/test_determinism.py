"""Same inputs, same bytes: whatever the engine spoke before and whatever the phrase cache
held (real engine)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import ASSETS, build

TEXT = "Breathe in slowly through the nose."


def test_a_phrase_sounds_the_same_whatever_was_spoken_before(espeak: Any) -> None:
    first = espeak.synthesize(TEXT, "gmw/en-us", 140)
    espeak.synthesize("Let the knees sway to the left.", "gmw/en-us", 120)
    espeak.synthesize(TEXT, "gmw/en-us", 170)
    again = espeak.synthesize(TEXT, "gmw/en-us", 140)
    assert np.array_equal(first, again)


@pytest.mark.slow
def test_cold_and_warm_caches_give_byte_identical_tracks(tmp_path: Path) -> None:
    cold = build(ASSETS / "timing.yaml", tmp_path / "cold", cache=_cache(tmp_path / "c1"),
                 bed="rain")
    filler = tmp_path / "filler.yaml"  # shares some sentences, in another order
    filler.write_text("title: Filler\nsteps:\n  - say: Done.\n  - say: Halfway.\n"
                      "  - say: Hold for thirty seconds.\n  - say: Breathe out.\n"
                      "  - say: Get ready.\n")
    warm_cache = _cache(tmp_path / "c2")
    build(filler, tmp_path / "fill", cache=warm_cache)
    warm = build(ASSETS / "timing.yaml", tmp_path / "warm", cache=warm_cache, bed="rain")
    assert warm.stats.cache_hits >= 4  # the shared sentences came from the cache
    assert warm.path.read_bytes() == cold.path.read_bytes()


def _cache(root: Path) -> Any:
    from voiceguide import PhraseCache

    return PhraseCache(root)
