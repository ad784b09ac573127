"""What a plugin imports: the types it implements or is handed, the hook marker, the
typed ``register`` of each hook, and the errors it raises.

Everything named here is kept for a :data:`PLUGIN_API` version (it goes up only when a
change would break a plugin written for the version before). A plugin imports from
here, never from voiceguide's own modules, which may move. Names are imported on first
use, so a plugin that imports this module costs a command nothing until it is used::

    from voiceguide.extend import RegisterEngine, hookimpl

    @hookimpl
    def register_engines(register: RegisterEngine) -> None:
        register(MyEngine)

A hook a plugin implements is called once per registry lookup; what it registers is
checked (a class with the members :class:`SpeechEngine` or :class:`Runner` needs, or a
:class:`Format`), and a name already taken is left out with a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from voiceguide.lazy import lazy_names
from voiceguide.plugins import PLUGIN_API, hookimpl

if TYPE_CHECKING:
    from voiceguide.audio import PCM
    from voiceguide.errors import EngineError, OutputError, VoiceguideError
    from voiceguide.export.formats import Format, TrackTags, Writer
    from voiceguide.pack.jobs import Outcome, TrackJob, build_job
    from voiceguide.pack.runners import RunEvents, Runner, RunnerClass, RunStats, in_track
    from voiceguide.speech.engine import (
        MAX_CLIP_SECONDS,
        SAMPLE_RATES,
        EngineClass,
        SpeechEngine,
        VoiceInfo,
    )
    from voiceguide.timeline import Chapter, Timeline

RegisterEngine = Callable[["EngineClass"], None]
"""``register`` of ``register_engines``: takes an engine class (constructed without
arguments; cheaply: the work of starting belongs in the first :meth:`synthesize`)."""
RegisterFormat = Callable[["Format"], None]
"""``register`` of ``register_formats``: takes a :class:`Format`."""
RegisterRunner = Callable[["RunnerClass"], None]
"""``register`` of ``register_runners``: takes a runner class (``cls(workers, options)``)."""

_WHERE = {
    "PCM": "voiceguide.audio",
    "EngineError": "voiceguide.errors", "OutputError": "voiceguide.errors",
    "VoiceguideError": "voiceguide.errors",
    "Format": "voiceguide.export.formats", "TrackTags": "voiceguide.export.formats",
    "Writer": "voiceguide.export.formats",
    "Outcome": "voiceguide.pack.jobs", "TrackJob": "voiceguide.pack.jobs",
    "build_job": "voiceguide.pack.jobs",
    "Runner": "voiceguide.pack.runners", "RunnerClass": "voiceguide.pack.runners",
    "RunEvents": "voiceguide.pack.runners", "RunStats": "voiceguide.pack.runners",
    "in_track": "voiceguide.pack.runners",
    "MAX_CLIP_SECONDS": "voiceguide.speech.engine", "SAMPLE_RATES": "voiceguide.speech.engine",
    "EngineClass": "voiceguide.speech.engine", "SpeechEngine": "voiceguide.speech.engine",
    "VoiceInfo": "voiceguide.speech.engine",
    "Chapter": "voiceguide.timeline", "Timeline": "voiceguide.timeline",
}


__getattr__ = lazy_names(__name__, _WHERE, globals())


__all__ = [
    "MAX_CLIP_SECONDS", "PCM", "PLUGIN_API", "SAMPLE_RATES", "Chapter", "EngineClass",
    "EngineError", "Format", "Outcome", "OutputError", "RegisterEngine", "RegisterFormat",
    "RegisterRunner", "RunEvents", "RunStats", "Runner", "RunnerClass", "SpeechEngine",
    "Timeline", "TrackJob", "TrackTags", "VoiceInfo", "VoiceguideError", "Writer",
    "build_job", "hookimpl", "in_track",
]
