"""What planning, rendering and building a track give back (plain data: the plan's
routine, settings, script, timeline and phrase clips; what was written)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voiceguide.audio import Loop
from voiceguide.export.formats import Format, TrackTags
from voiceguide.fit import Fit
from voiceguide.mix.mixer import Mixer
from voiceguide.routine.load import Routine
from voiceguide.script.items import Script
from voiceguide.settings import TrackSettings
from voiceguide.speech.bank import Phrases, SpeechStats
from voiceguide.timeline import Timeline


@dataclass
class TrackPlan:
    """A routine laid out on its timeline for one listener (no audio mixed yet)."""

    routine: Routine
    settings: TrackSettings
    """The settings the plan was made for."""
    script: Script
    timeline: Timeline
    """Every cue at an exact sample."""
    fit: Fit | None
    """How elastic parts were set to reach a length (None: the routine's own lengths)."""
    bank: Phrases
    """The measured phrase clips, in memory."""
    voice: str
    """The voice id used."""
    bed: Loop | None
    """The bed loop (None: no bed)."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent: load, speech+schedule."""
    warnings: list[str] = field(default_factory=list)
    """What the listener should know: a length missed or outside the design, hurried words."""
    notes: list[str] = field(default_factory=list)
    """What its author should know (validate says it): its lengths fitted into its range."""

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.timeline.duration

    def __repr__(self) -> str:  # the script, timeline and clips printed 3.9 kB and more
        return (f"TrackPlan(routine={self.routine.id!r}, duration={self.duration:.2f}, "
                f"voice={self.voice!r}, warnings={len(self.warnings)})")


@dataclass
class Rendered:
    """What rendering wrote."""

    path: Path | None
    """The track file (None when rendered to a stream)."""
    size: int
    """Bytes written."""
    format: Format
    tags: TrackTags
    sheet: dict[str, Any]
    """The cue sheet (the ``.cues.json`` data)."""
    loudness: float | None
    """Loudness of the file as decoded, predicted from the mix and the codec (None: off)."""
    mixer: Mixer
    """The mixer at the rendered levels (to draw the waveform without mixing again)."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent: loudness, mix, encode+write."""
    parts: list[Path] = field(default_factory=list)
    """In split mode, the files written, in order (``path`` is then the playlist)."""

    def __repr__(self) -> str:  # the mixer and the sheet printed 39 kB (an app's review)
        where = None if self.path is None else str(self.path)
        loud = None if self.loudness is None else round(self.loudness, 1)
        return (f"Rendered(path={where!r}, size={self.size}, format={self.format.name!r}, "
                f"loudness={loud!r})")


@dataclass
class BuildResult:
    """What a build wrote."""

    path: Path
    duration: float
    size: int
    sidecars: list[Path]
    stats: SpeechStats
    timeline: Timeline
    plan: TrackPlan
    sheet: dict[str, Any]
    """The cue sheet written beside the track."""
    loudness: float | None = None
    plot: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per stage: load, speech+schedule, loudness, mix, encode+write, sidecars+plot."""
    parts: list[Path] = field(default_factory=list)
    """In split mode, the parts' files in order (``path`` is the playlist)."""

    @property
    def warnings(self) -> list[str]:
        """What the listener should know, as the cue sheet records it (a length missed
        or outside the design, a name the voice cannot say, hurried words); the CLI
        prints them as ``Warning:`` lines."""
        return list(self.sheet.get("warnings", []))

    def __repr__(self) -> str:  # the plan, timeline and sheet would print 76 kB
        return (f"BuildResult(path={str(self.path)!r}, duration={self.duration:.2f}, "
                f"size={self.size}, warnings={len(self.warnings)})")
