"""Expanding a routine into a script: sides, levels, optional steps, variety, sandbox
(stage: script)."""

from __future__ import annotations

import pytest

from voiceguide import TrackSettings, load_routine
from voiceguide.errors import TemplateError
from voiceguide.script.expand import expand
from voiceguide.script.items import SidePair, Slot, Speech, walk_speech

ROUTINE = {
    "title": "Script test",
    "steps": [
        {"say": "Welcome{% if name %}, {{ name }}{% endif %}."},
        {"say": "Only for the advanced.", "level": "advanced"},
        {"say": "An extra.", "optional": True},
        {"sides": {"steps": [{"say": "The {{ side }} leg, then the {{ other_side }}."},
                             {"hold": {"seconds": 10, "say": "Hold."}}]}},
        {"repeat": {"count": 3, "phases": [{"say": ["Lift.", "Up.", "Rise."], "seconds": 3}]}},
    ],
}


def texts(settings: TrackSettings) -> list[str]:
    return walk_speech(expand(load_routine(ROUTINE), settings).root)


def test_sides_render_each_side_with_the_same_steps() -> None:
    script = expand(load_routine(ROUTINE), TrackSettings())
    pair = next(i for i in script.root.items if isinstance(i, SidePair))
    first = next(i for i in pair.first.items if isinstance(i, Speech)).text
    second = next(i for i in pair.second.items if isinstance(i, Speech)).text
    assert first == "The left leg, then the right."
    assert second == "The right leg, then the left."
    assert [type(i) for i in pair.first.items] == [type(i) for i in pair.second.items]


def test_level_and_optional_steps_are_filtered() -> None:
    assert "Only for the advanced." not in texts(TrackSettings())
    assert "Only for the advanced." in texts(TrackSettings(level="advanced"))
    assert "An extra." in texts(TrackSettings())
    assert "An extra." not in texts(TrackSettings(optional=False))
    assert texts(TrackSettings(name="Ana"))[0] == "Welcome, Ana."


def test_variety_is_deterministic_and_rotates() -> None:
    def reps() -> list[str]:
        script = expand(load_routine(ROUTINE), TrackSettings())
        return [c.text for i in script.root.items if isinstance(i, Slot) and i.kind == "phase"
                for c in i.cues]

    first = reps()
    assert first == reps()  # same inputs, same wording
    assert len(set(first)) == 3  # three reps, three different wordings


def test_the_sandbox_refuses_a_string_bomb() -> None:
    bomb = {"title": "Bomb", "steps": [{"say": "{{ 'x' * 100000000 }}"}]}
    with pytest.raises(TemplateError, match="refused by the sandbox"):
        expand(load_routine(bomb), TrackSettings())
