"""Commands for one track: ``build`` and ``init``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

import voiceguide as vg
from voiceguide.cli.app import (
    EngineOption,
    LevelOption,
    MinutesOption,
    NameOption,
    ProfileOption,
    RateOption,
    app,
    mmss,
    out,
    size,
    track_progress,
    warn,
)


@app.command()
def build(
    routine: Annotated[str, typer.Argument(help="Routine name (see 'list') or YAML file.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("output"),
    name: NameOption = None,
    voice: Annotated[Optional[str], typer.Option(help="Voice id (see 'voices').")] = None,
    rate: RateOption = None,
    minutes: MinutesOption = None,
    level: LevelOption = None,
    optional: Annotated[
        Optional[bool], typer.Option("--optional/--no-optional", help="Include optional steps.")
    ] = None,
    bed: Annotated[
        Optional[str],
        typer.Option(help="Background: none, rain, ocean, drone, or an audio file."),
    ] = None,
    bed_volume: Annotated[
        Optional[float],
        typer.Option(help="Bed level in dB relative to the loudness target (default -14)."),
    ] = None,
    loudness: Annotated[
        Optional[str], typer.Option(help="Loudness target in LUFS (default -16), or 'off'.")
    ] = None,
    fmt: Annotated[Optional[str], typer.Option(
        "--format", help="mp3, m4a, m4b (audiobook), opus or wav.")] = None,
    split: Annotated[bool, typer.Option(
        "--split", help="One file per chapter plus an .m3u8 (players without chapters).")
    ] = False,
    track_name: Annotated[
        Optional[str], typer.Option(help="Output file name (without extension).")
    ] = None,
    plot: Annotated[bool, typer.Option(help="Also write a PNG picture of the timeline.")] = False,
    profile: ProfileOption = None,
    engine: EngineOption = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not use the phrase cache.")
    ] = False,
) -> None:
    """Build one voice-guided track (and its cue sheets) from a routine.

    Example: voiceguide build five-somatic-hip-exercises --name Ana --minutes 12 --bed rain
    """
    options = vg.TrackSettings.from_options({
        "name": name, "voice": voice, "rate": rate, "minutes": minutes, "level": level,
        "optional": optional, "bed": bed, "bed_volume": bed_volume, "loudness": loudness,
        "format": fmt, "engine": engine,
    })
    settings = vg.TrackSettings.layered(vg.load_profile(profile), options)
    routine_ = vg.load_routine(routine)
    with track_progress() as update:
        result = vg.build_track(routine_, settings, out_dir, stem=track_name, plot=plot,
                                split=split, cache=not no_cache, progress=update)
    s = result.stats
    tl = result.timeline
    fast = tl.sped_up()
    out.print(
        f"Wrote {result.path} ({mmss(result.duration)}, {size(result.size)}); "
        f"{tl.heard_rate():.0f} words per minute as heard"
        + (f", {len(fast)} phrases sped up (at most {max(c.speed for c in fast):.2f}x)"
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
    name: Annotated[str, typer.Option(help="Your name, for the narration.")] = "",
    force: Annotated[bool, typer.Option(help="Replace an existing profile.")] = False,
) -> None:
    """Write a commented personal profile (name, voice, rate, bed...) used by build and pack.

    Example: voiceguide init --name Ana
    """
    written = vg.write_profile_template(path or vg.default_profile_path(), name, force)
    out.print(f"Wrote {written}; edit it, then 'voiceguide build <routine>' uses it")
