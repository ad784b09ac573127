"""Commands for packs: ``pack`` and ``serve``."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Optional
from urllib.parse import quote

import typer

import voiceguide as vg
from voiceguide.cli.app import (
    EngineOption,
    JsonOption,
    ProfileOption,
    QuietOption,
    app,
    bars,
    emit_json,
    err,
    out,
    say,
    state,
)
from voiceguide.cli.quick import pack_summary
from voiceguide.cli.terminal import warn

if TYPE_CHECKING:
    from rich.progress import TaskID

LISTED: Final = 20
"""Most listeners' pages ``serve`` lists (a grouped pack's folders)."""


@app.command()
def pack(
    pack_file: Annotated[Path, typer.Argument(help="Pack file (YAML).")],
    out_dir: Annotated[
        Optional[str], typer.Option("--out", "-o", help="Pack folder or fsspec URL such as "
                                    "s3://bucket/prefix (default output/<pack>).")
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Tracks built at once.")] = 1,
    profile: ProfileOption = None,
    base_url: Annotated[
        Optional[str], typer.Option(help="URL the folder will be hosted at (for feed.xml).")
    ] = None,
    make_zip: Annotated[bool, typer.Option("--zip", help="Also zip the pack folder.")] = False,
    engine: EngineOption = None,
    runner: Annotated[str, typer.Option(
        help="Where tracks are built: local, dask or a plugin's runner.")] = "local",
    scheduler: Annotated[Optional[str], typer.Option(
        help="Dask scheduler address (tcp://host:8786; default $DASK_SCHEDULER_ADDRESS, "
             "else a local cluster).")] = None,
    runner_option: Annotated[Optional[list[str]], typer.Option(
        "--runner-option", metavar="KEY=VALUE",
        help="A setting for the runner (a plugin's; repeat for more).")] = None,
    keep_going: Annotated[Optional[bool], typer.Option(
        "--keep-going/--fail-fast",
        help="Build every track that can be built and report the failures at the end "
             "(default: fail fast on the local runner, keep going on a cluster).")] = None,
    shard: Annotated[Optional[str], typer.Option(
        help="Build only slice I/N of the pack (every N-th track from track I).")] = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Build a pack of tracks in parallel, with playlist, podcast feed and web player.

    Example: voiceguide pack routines/packs/week-of-hips.yaml --jobs 2 --zip
    """
    state["quiet"] = quiet or as_json
    if base_url is not None:  # before the pack is read and its warnings said
        base_url = vg.check_base_url(base_url)
    options = vg.TrackSettings.from_options({"engine": engine}, as_settings=False)
    slice_ = vg.parse_shard(shard) if shard is not None else None
    plan = vg.load_pack(pack_file, out_dir, profile, options)
    warnings = plan.warnings + plan.feed_warnings(base_url)
    warn(warnings)  # on stderr: with --quiet and --json too
    runner_options = {"scheduler": scheduler} if scheduler else {}
    for given in runner_option or []:
        key, eq, value = given.partition("=")
        if not eq or not key.strip():
            raise vg.UsageError(f"--runner-option {given!r}: write KEY=VALUE, such as "
                                "queue=fast")
        runner_options[key.strip()] = value

    def notice(text: str) -> None:
        if not state.get("quiet"):
            err.print(text, markup=False)

    failed: vg.PackFailed | None = None
    with _pack_progress(len(vg.shard_of(plan.jobs, slice_))) as sink:
        try:
            result = vg.build_pack(plan, jobs, sink, base_url, make_zip, runner,
                                   runner_options, keep_going, slice_, notice)
        except vg.PackFailed as exc:  # kept going: what was built, and its warnings, said
            if exc.result is None:  # too (they were lost, and --json printed nothing)
                raise
            failed, result = exc, exc.result
    # said after the build, of a feed it wrote (or left intact): its links
    late = plan.link_warnings(base_url) if slice_ is None and result.files else []
    doc = {"folder": str(result.out_dir), "built": [str(p) for p in result.built],
           "unchanged": [str(p) for p in result.skipped],
           "removed": [str(p) for p in result.removed],
           "synthesised": result.synthesized, "cached": result.cache_hits,
           "zip": str(result.zip) if result.zip else None,
           "zips": [str(z) for z in result.zips],
           "index": (str(result.out_dir / "index.html")
                     if isinstance(result.out_dir, Path) else None),
           "warnings": warnings + result.manifest_warnings + result.cache_warnings
           + result.track_warnings + late,
           "failed": [{"track": f.stem, "error": str(f.error)} for f in result.failed]}
    if as_json:
        emit_json(doc)
    else:
        say(pack_summary(doc, result.runner))
        if slice_ is not None:
            if failed is None:
                say(f"Shard {shard} done; run 'voiceguide pack' without --shard to publish")
        elif isinstance(result.out_dir, Path) and result.files:
            say(f"Open {result.out_dir / 'index.html'} or run 'voiceguide serve "
                f"{result.out_dir}'")
    warn(result.track_warnings + late)  # on stderr, with --json too
    if failed is not None:
        raise failed  # its Error: lines and exit code


@contextmanager
def _pack_progress(total: int) -> Iterator[Any]:
    labels = {"speech": "speaking", "loudness": "loudness", "encode": "encoding"}
    with bars(44) as bar:
        overall = bar.add_task("Pack", total=total)
        rows: dict[str, TaskID] = {}
        failed = 0

        def sink(stem: str, stage: str, done: int, count: int) -> None:
            nonlocal failed
            if stage == "pack":
                bar.update(overall, completed=done, total=count)
                return
            if stage in ("done", "failed"):
                if stem in rows:
                    bar.remove_task(rows.pop(stem))
                if stage == "failed":
                    failed += 1
                    bar.update(overall, description=f"Pack ({failed} failed)")
                return
            label = f"  {stem[:30]:<30} {labels.get(stage, stage)}"
            if stem not in rows:
                rows[stem] = bar.add_task(label, total=count)
            bar.update(rows[stem], description=label, completed=done, total=count)

        yield sink


@app.command()
def serve(
    folder: Annotated[Path, typer.Argument(help="Folder of tracks (a pack or single builds).")],
    lan: Annotated[bool, typer.Option(
        "--lan", help="Serve on the local network (prints the address and a QR code).")
    ] = False,
    host: Annotated[Optional[str], typer.Option(
        help="Interface to listen on (default 127.0.0.1, this machine only).")] = None,
    port: Annotated[int, typer.Option(help="Port (1-65535).")] = 8000,
    qr: Annotated[bool, typer.Option("--qr/--no-qr", help="With --lan, print a QR code.")
                  ] = True,
    listener: Annotated[Optional[str], typer.Option(
        help="Serve only this listener's page and tracks (a listener's name or folder "
             "in a grouped pack: Zoë or zoe).")
    ] = None,
) -> None:
    """Serve a folder of tracks over HTTP (player page, range requests) to open on a phone.

    Example: voiceguide serve output/week-of-hips --lan
    """
    if not 1 <= port <= 65535:  # in the other options' words, not the parser's
        raise vg.UsageError(f"--port must be between 1 and 65535 (got {port})")
    # with a listener (a folder's name or the listener's own: Zoë for zoe/), that
    # listener's folder alone, at its own path where the whole pack has it: the overview
    # and the others' pages are not served
    pages = vg.listener_folders(folder) if listener is None else []
    server = vg.make_server(folder, host, port, lan=lan, listener=listener)
    found = vg.urls(server)
    out.print(f"Serving {folder} at {found[0]}  (Ctrl-C stops)"
              + (f"\nOnly {listener}'s page and tracks are served." if listener else ""))
    for extra in found[1:]:
        out.print(f"  also {extra}")
    if server.elsewhere:  # a podcast app subscribed here plays them from there
        warn([f"the feed was built with --base-url: its episodes play from "
              f"{server.elsewhere}, not from this machine; pack again without --base-url "
              "to serve them from here"])
    if pages:
        out.print("Each listener's own page (the address above is the overview, with all "
                  "of them):")
        for name in pages[:LISTED]:
            out.print(f"  {name:<20} {found[0]}{quote(name)}/")
        if len(pages) > LISTED:
            out.print(f"  and {len(pages) - LISTED} more")
    if found[0].startswith(("http://127.", "http://[::1]", "http://[::ffff:127.")):
        out.print("Only this machine can open it; add --lan to open it on a phone.")
    else:
        if pages:
            out.print(f"Anyone on this network can open every listener's page; --listener "
                      f"{pages[0]} serves {pages[0]}'s alone.")
        if qr:
            out.print(f"QR code of {found[0]}")
            try:  # a terminal that cannot show the blocks gets one of '#'
                "\u2588\u2580\u2584".encode(sys.stdout.encoding or "utf-8")
                blocks = True
            except (UnicodeEncodeError, LookupError):
                blocks = False
            out.print(vg.qr_text(found[0], plain=not blocks), markup=False)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        out.print("Stopped.")
    finally:
        server.server_close()
