"""Commands for one track: ``build`` and ``init``."""

from pathlib import Path
from typing import Annotated, Optional

import typer

import voiceguide as vg
from voiceguide.cli.app import (
    BedOption,
    EngineOption,
    JsonOption,
    LevelOption,
    MinutesOption,
    NameOption,
    OptionalOption,
    ProfileOption,
    QuietOption,
    RateOption,
    RoutineArgument,
    VoiceOption,
    app,
    emit_json,
    profile_named,
    say,
    state,
    track_progress,
    track_settings,
)
from voiceguide.cli.quick import given_settings, mmss, report, sheet_warnings, size
from voiceguide.cli.terminal import warn


@app.command()
def build(
    routine: RoutineArgument,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("output"),
    name: NameOption = None,
    voice: VoiceOption = None,
    rate: RateOption = None,
    minutes: MinutesOption = None,
    level: LevelOption = None,
    optional: OptionalOption = None,
    bed: BedOption = None,
    bed_volume: Annotated[
        Optional[float],
        typer.Option(help="Bed level in dB relative to the loudness target (default -14)."),
    ] = None,
    loudness: Annotated[
        Optional[str], typer.Option(help="Loudness target in LUFS (default -16), or 'off'.")
    ] = None,
    fmt: Annotated[Optional[str], typer.Option(
        "--format", help="mp3 (default), m4a, m4b (audiobook), opus or wav.")] = None,
    split: Annotated[bool, typer.Option(
        "--split", help="One file per chapter plus an .m3u8 (players without chapters).")
    ] = False,
    track_name: Annotated[Optional[str], typer.Option(
        help="Output file name (without extension), or a template with the pack fields "
             "{n} {routine} {name} {length} {minutes} {level} {bed} {voice} {title} ({n} is "
             "1 here; default: routine, then name and length when given).")] = None,
    plot: Annotated[bool, typer.Option(help="Also write a PNG picture of the timeline.")] = False,
    profile: ProfileOption = None,
    engine: EngineOption = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not use the phrase cache.")
    ] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Build even when the track is up to date.")] = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Build one voice-guided track (and its cue sheets) from a routine; a track already
    built from the same inputs is not built again.

    Example: voiceguide build five-somatic-hip-exercises --name Ana --minutes 12 --bed rain
    """
    state["quiet"] = quiet or as_json
    given = given_settings(locals())  # the same settings the up-to-date answer hashes
    # checked below, as options (the answer from files needs no models)
    request = vg.track_request(routine, given, profile, out_dir, track_name, check=False,
                               default_profile=True, split=split)
    sheet = None if force else vg.up_to_date(request, plot)
    if sheet is not None:  # answered from files alone: no models, engine or audio stack
        text = report(request, sheet, plot, as_json, state["warnings"])
        if as_json:
            print(text)
        else:
            say(text)
        warn(sheet_warnings(sheet))  # on stderr with --json too, as a pack says them
        return
    settings = track_settings(profile, given)
    routine_ = vg.load_routine(request.routine_path or routine)
    with profile_named(profile, given, settings), track_progress() as update:
        result = vg.build_track(routine_, settings, out_dir, stem=request.stem,
                                plot=plot, split=split, cache=not no_cache,
                                progress=update, input_hash=request.input_hash)
    s = result.stats
    tl = result.timeline
    fast = tl.sped_up()
    if as_json:
        emit_json({"path": str(result.path), "up_to_date": False,
                   "duration": round(result.duration, 4),  # as the cue sheet says it
                   "bytes": result.size, "sidecars": [str(f) for f in result.sidecars],
                   "parts": [str(f) for f in result.parts],  # with --split
                   "input_hash": request.input_hash, "heard_wpm": round(tl.heard_rate(), 1),
                   "synthesised": s.synthesized, "cached": s.cache_hits,
                   "warnings": result.plan.warnings})
        warn(result.plan.warnings)  # on stderr with --json too, as a pack says them
        return
    say(
        f"Wrote {result.path} ({mmss(result.duration)}, {size(result.size)}); "
        f"{tl.heard_rate():.0f} words per minute as heard"
        + (f", {len(fast)} phrase{'s' * (len(fast) != 1)} sped up "
           f"(at most {max(c.speed for c in fast):.2f}x)"
           if fast else "")
        + f"; phrases: {s.synthesized} synthesised, {s.cache_hits} from cache"
        + (f"; plot: {result.plot}" if result.plot else "")
        + (f"; {len(result.parts)} parts" if result.parts else "")
    )
    warn(result.plan.warnings)


@app.command()
def init(
    path: Annotated[
        Optional[Path], typer.Argument(help="Where to write it (default: your config folder).")
    ] = None,
    name: Annotated[str, typer.Option(metavar="NAME", help="Your name, for the narration.")
                    ] = "",
    force: Annotated[bool, typer.Option("--force", help="Replace an existing profile.")
                     ] = False,
    quiet: QuietOption = False,
) -> None:
    """Write a commented personal profile (name, voice, rate, bed...) used by build and pack.

    Example: voiceguide init --name Ana
    """
    state["quiet"] = quiet
    default = vg.default_profile_path()
    written = vg.write_profile_template(path or default, name, force, sorted(vg.formats()))
    # only the default profile is read without being named
    use = "" if Path(written).resolve() == default.resolve() else f" --profile {written}"
    say(f"Wrote {written}; edit it, then 'voiceguide build <routine>{use}' uses it")
