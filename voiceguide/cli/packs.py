"""Commands for packs: ``pack`` and ``serve``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

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
    out,
    say,
    state,
)

if TYPE_CHECKING:
    from rich.progress import TaskID


@app.command()
def pack(
    pack_file: Annotated[Path, typer.Argument(help="Pack file (YAML).")],
    out_dir: Annotated[
        Optional[Path], typer.Option("--out", "-o", help="Pack folder (default output/<pack>).")
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Tracks built at once.")] = 1,
    profile: ProfileOption = None,
    base_url: Annotated[
        Optional[str], typer.Option(help="URL the folder will be hosted at (for feed.xml).")
    ] = None,
    make_zip: Annotated[bool, typer.Option("--zip", help="Also zip the pack folder.")] = False,
    engine: EngineOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Build a pack of tracks in parallel, with playlist, podcast feed and web player.

    Example: voiceguide pack routines/packs/week-of-hips.yaml --jobs 2 --zip
    """
    if base_url is not None and not base_url.startswith(("http://", "https://")):
        raise vg.UsageError(f"--base-url must start with http:// or https:// (got {base_url})")
    state["quiet"] = quiet or as_json
    options = vg.TrackSettings.from_options({"engine": engine})
    plan = vg.load_pack(pack_file, out_dir, profile, options)
    with _pack_progress(len(plan.jobs)) as sink:
        result = vg.build_pack(plan, jobs, sink, base_url, make_zip)
    if as_json:
        emit_json({"folder": str(result.out_dir), "built": [str(p) for p in result.built],
                   "unchanged": [str(p) for p in result.skipped],
                   "removed": [str(p) for p in result.removed],
                   "synthesised": result.synthesized, "cached": result.cache_hits,
                   "zip": str(result.zip) if result.zip else None,
                   "index": str(result.out_dir / "index.html")})
        return
    say(
        f"Pack {result.out_dir}: {len(result.built)} built, {len(result.skipped)} unchanged"
        + (f", {len(result.removed)} removed" if result.removed else "")
        + f"; phrases: {result.synthesized} synthesised, {result.cache_hits} from cache"
        + (f"; zip: {result.zip}" if result.zip else "")
    )
    say(f"Open {result.out_dir / 'index.html'} or run 'voiceguide serve {result.out_dir}'")


@contextmanager
def _pack_progress(total: int) -> Iterator[Any]:
    labels = {"speech": "speaking", "loudness": "loudness", "encode": "encoding"}
    with bars(44) as bar:
        overall = bar.add_task("Pack", total=total)
        rows: dict[str, TaskID] = {}

        def sink(stem: str, stage: str, done: int, count: int) -> None:
            if stage == "pack":
                bar.update(overall, completed=done, total=count)
                return
            if stage == "done":
                if stem in rows:
                    bar.remove_task(rows.pop(stem))
                return
            label = f"  {stem[:30]:<30} {labels.get(stage, stage)}"
            if stem not in rows:
                rows[stem] = bar.add_task(label, total=count)
            bar.update(rows[stem], description=label, completed=done, total=count)

        yield sink


@app.command()
def serve(
    folder: Annotated[Path, typer.Argument(help="Pack folder to serve.")],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "0.0.0.0",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8000,
    qr: Annotated[bool, typer.Option("--qr/--no-qr", help="Print a QR code of the URL.")] = True,
) -> None:
    """Serve a pack folder over HTTP (with range requests) to open on a phone.

    Example: voiceguide serve output/week-of-hips --port 8000
    """
    server = vg.make_server(folder, host, port)
    found = vg.urls(server)
    out.print(f"Serving {folder} at {found[0]}  (Ctrl-C stops)", markup=False)
    for extra in found[1:]:
        out.print(f"  also {extra}", markup=False)
    if qr:
        out.print(vg.qr_text(found[0]), markup=False)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        out.print("Stopped.")
    finally:
        server.server_close()
