"""voiceguide: turn exercise routines into calm, exactly timed voice-guided audio tracks.

The public API (everything the command line uses, and what an app needs)::

    import voiceguide as vg

    routine = vg.load_routine({"title": "Short", "steps": [{"say": "Hello."}]})
    plan = vg.plan_track(routine, vg.TrackSettings(name="Ana", rate=140))
    mp3 = vg.render_track(plan)                 # bytes; or render_track(plan, path/stream)

Names are imported on first use, so ``import voiceguide`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voiceguide.lazy import lazy_names
from voiceguide.version import __version__

if TYPE_CHECKING:
    from voiceguide.build import (
        build_track,
        plan_track,
        render_track,
        track_tags,
    )
    from voiceguide.errors import (
        AudioInputError,
        EngineError,
        ExitCode,
        Interrupted,
        InvalidInputError,
        LevelNotWritten,
        OtherKindError,
        OutputError,
        ScheduleError,
        TemplateError,
        UsageError,
        VoiceguideError,
        VoiceNotFoundError,
        cli_messages,
        one_line,
    )
    from voiceguide.export.formats import formats
    from voiceguide.fresh import TrackRequest, track_request, up_to_date
    from voiceguide.lengths import LengthOutOfReach
    from voiceguide.pack.build import build_pack
    from voiceguide.pack.folder_page import listener_folders
    from voiceguide.pack.fresh import PackInputs, default_pack_folder, pack_up_to_date
    from voiceguide.pack.plan import PackPlan, load_pack
    from voiceguide.pack.publish import check_base_url
    from voiceguide.pack.qr import qr_text
    from voiceguide.pack.results import PackFailed, PackResult
    from voiceguide.pack.runners import runners
    from voiceguide.pack.serve import make_server, urls
    from voiceguide.pack.shards import parse_shard, shard_of
    from voiceguide.preview import estimate_minutes, outline, script_text
    from voiceguide.profile import default_profile_path, load_profile, write_profile_template
    from voiceguide.results import BuildResult, Rendered, TrackPlan
    from voiceguide.routine.catalogue import list_routines, load_routine
    from voiceguide.routine.load import Routine
    from voiceguide.routine.starter import new_pack, new_routine
    from voiceguide.settings import TrackSettings
    from voiceguide.speech.cache import PhraseCache
    from voiceguide.speech.engine import VoiceInfo, engines, get_engine, list_voices
    from voiceguide.speech.voices import find_voices, voice_samples
    from voiceguide.validate import Checked, check_file, file_kind, json_schema, validate_file
    from voiceguide.vocabulary import minutes_of, seconds_as_decimal

_WHERE = {
    # routines
    "Routine": "voiceguide.routine.load",
    "load_routine": "voiceguide.routine.catalogue",
    "list_routines": "voiceguide.routine.catalogue",
    "new_pack": "voiceguide.routine.starter",
    "new_routine": "voiceguide.routine.starter",
    # settings and profiles
    "TrackSettings": "voiceguide.settings",
    "load_profile": "voiceguide.profile",
    "default_profile_path": "voiceguide.profile",
    "write_profile_template": "voiceguide.profile",
    # building a track
    "plan_track": "voiceguide.build",
    "render_track": "voiceguide.build",
    "build_track": "voiceguide.build",
    "track_tags": "voiceguide.build",
    "TrackPlan": "voiceguide.results",
    # skipping a build whose output is up to date
    "track_request": "voiceguide.fresh",
    "up_to_date": "voiceguide.fresh",
    "TrackRequest": "voiceguide.fresh",
    "PackInputs": "voiceguide.pack.fresh",
    "pack_up_to_date": "voiceguide.pack.fresh",
    "default_pack_folder": "voiceguide.pack.fresh",
    "Rendered": "voiceguide.results",
    "BuildResult": "voiceguide.results",
    # packs
    "load_pack": "voiceguide.pack.plan",
    "PackPlan": "voiceguide.pack.plan",
    "build_pack": "voiceguide.pack.build",
    "PackResult": "voiceguide.pack.results",
    "PackFailed": "voiceguide.pack.results",
    "parse_shard": "voiceguide.pack.shards",
    "minutes_of": "voiceguide.vocabulary",
    "seconds_as_decimal": "voiceguide.vocabulary",
    "shard_of": "voiceguide.pack.shards",
    "check_base_url": "voiceguide.pack.publish",
    "make_server": "voiceguide.pack.serve",
    "urls": "voiceguide.pack.serve",
    "listener_folders": "voiceguide.pack.folder_page",
    "qr_text": "voiceguide.pack.qr",
    # looking without building
    "outline": "voiceguide.preview",
    "script_text": "voiceguide.preview",
    "estimate_minutes": "voiceguide.preview",
    "validate_file": "voiceguide.validate",
    "json_schema": "voiceguide.validate",
    "check_file": "voiceguide.validate",
    "file_kind": "voiceguide.validate",
    "Checked": "voiceguide.validate",
    # backends and the phrase cache
    "engines": "voiceguide.speech.engine",
    "get_engine": "voiceguide.speech.engine",
    "list_voices": "voiceguide.speech.engine",
    "find_voices": "voiceguide.speech.voices",
    "voice_samples": "voiceguide.speech.voices",
    "VoiceInfo": "voiceguide.speech.engine",
    "formats": "voiceguide.export.formats",
    "runners": "voiceguide.pack.runners",
    "PhraseCache": "voiceguide.speech.cache",
    # errors
    "VoiceguideError": "voiceguide.errors",
    "InvalidInputError": "voiceguide.errors",
    "OtherKindError": "voiceguide.errors",
    "UsageError": "voiceguide.errors",
    "ExitCode": "voiceguide.errors",
    "AudioInputError": "voiceguide.errors",
    "EngineError": "voiceguide.errors",
    "OutputError": "voiceguide.errors",
    "ScheduleError": "voiceguide.errors",
    "TemplateError": "voiceguide.errors",
    "VoiceNotFoundError": "voiceguide.errors",
    "Interrupted": "voiceguide.errors",
    "LevelNotWritten": "voiceguide.errors",
    "cli_messages": "voiceguide.errors",
    "one_line": "voiceguide.errors",
    "LengthOutOfReach": "voiceguide.lengths",
}

__all__ = [
    "AudioInputError",
    "BuildResult",
    "Checked",
    "EngineError",
    "ExitCode",
    "Interrupted",
    "InvalidInputError",
    "LengthOutOfReach",
    "LevelNotWritten",
    "OtherKindError",
    "OutputError",
    "PackFailed",
    "PackInputs",
    "PackPlan",
    "PackResult",
    "PhraseCache",
    "Rendered",
    "Routine",
    "ScheduleError",
    "TemplateError",
    "TrackPlan",
    "TrackRequest",
    "TrackSettings",
    "UsageError",
    "VoiceInfo",
    "VoiceNotFoundError",
    "VoiceguideError",
    "__version__",
    "build_pack",
    "build_track",
    "check_base_url",
    "check_file",
    "cli_messages",
    "default_pack_folder",
    "default_profile_path",
    "engines",
    "estimate_minutes",
    "file_kind",
    "find_voices",
    "formats",
    "get_engine",
    "json_schema",
    "list_routines",
    "list_voices",
    "listener_folders",
    "load_pack",
    "load_profile",
    "load_routine",
    "make_server",
    "minutes_of",
    "new_pack",
    "new_routine",
    "one_line",
    "outline",
    "pack_up_to_date",
    "parse_shard",
    "plan_track",
    "qr_text",
    "render_track",
    "runners",
    "script_text",
    "seconds_as_decimal",
    "shard_of",
    "track_request",
    "track_tags",
    "up_to_date",
    "urls",
    "validate_file",
    "voice_samples",
    "write_profile_template",
]


__getattr__ = lazy_names(__name__, _WHERE, globals())  # a public name on first use


def __dir__() -> list[str]:
    return sorted(__all__)
