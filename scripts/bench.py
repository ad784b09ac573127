"""Benchmark: speed and memory against the encode floor and a naive pydub pipeline.

Run ``scripts/bench`` (``python scripts/bench.py``). Every figure is measured in the
same run on the same machine, and the headline numbers are ratios, so they mean the same
on a fast or a slow machine. ``--tiny`` runs every measurement on very short tracks, for
the test suite. Results go to ``output/bench.json`` and a table on stdout.

Each build runs in its own process (as a user runs it), so wall time includes Python
start-up and imports, and peak RSS is that process's high-water mark.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

import numpy as np

from voiceguide import __version__

ROOT: Final = Path(__file__).resolve().parent.parent
SR: Final = 22050
FULL: Final = {"short": ("five-somatic-hip-exercises", 15.0), "long": ("@long", 60.0)}
TINY: Final = {"short": ("@tiny", 1.0), "long": ("@tiny", 2.0)}
PACK_ROUTINES: Final = ("morning-hips", "bedtime-hips", "unlock-tight-hips",
                        "five-somatic-hip-exercises")
TINY_ROUTINE: Final = """\
title: Bench tiny
length: {min: 0.5, max: 5}
steps:
  - say: Welcome{% if name %}, {{ name }}{% endif %}. Settle in and let the breath slow.
  - pause: {seconds: 2, min: 1, max: 10}
  - section: Sway
    steps:
      - sides:
          steps:
            - say: Let the knees sway to the {{ side }}.
            - hold: {seconds: 10, min: 5, max: 60, say: Stay here., release: And back.}
          switch: Now the {{ side }} side.
  - breathe: {in: 4, out: 6, cycles: 2, min_cycles: 1, max_cycles: 8}
  - say: Slowly come back. That is all.
"""


def _long_routine(folder: Path, rounds: int = 4) -> Path:
    """A long session: the default routine's steps, several rounds (each a chapter)."""
    import yaml

    src = yaml.safe_load((ROOT / "routines" / "five-somatic-hip-exercises.yaml").read_text())
    doc = {**src, "title": "Long session", "length": {"min": 5, "max": 120},
           "steps": [{"section": f"Round {k + 1}", "steps": src["steps"]}
                     for k in range(rounds)]}
    path = folder / "long-session.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _routine_ref(ref: str, folder: Path) -> str:
    if ref == "@long":
        return str(_long_routine(folder))
    if ref == "@tiny":
        path = folder / "bench-tiny.yaml"
        path.write_text(TINY_ROUTINE)
        return str(path)
    return ref


# ------------------------------------------------------------------ child process


def _child_build(args: dict[str, Any]) -> None:
    """Build one track in this process and print what happened as JSON."""
    t0 = time.perf_counter()
    import voiceguide as vg

    routine = vg.load_routine(args["routine"])
    imported = time.perf_counter() - t0
    if args.get("tee"):
        _tee_encoder_input(Path(args["tee"]))
    settings = vg.TrackSettings(name="Ana", minutes=args["minutes"], bed=args.get("bed"))
    t1 = time.perf_counter()
    result = vg.build_track(routine, settings, Path(args["out"]), stem=args.get("track_name"))
    build = time.perf_counter() - t1
    print(json.dumps({
        "imports": imported,
        "build": build,
        "timings": result.timings,
        "duration": result.duration,
        "synthesized": result.stats.synthesized,
        "cache_hits": result.stats.cache_hits,
        "path": str(result.path),
        "rss_mb": _peak_rss_mb(),
        "engine_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }))


def _tee_encoder_input(path: Path) -> None:
    """Write the int16 samples the build's MP3 encoder is given for the whole track to
    ``path`` (the longest stream it encodes: the codec trial encodes an excerpt first).
    The encode floor is taken on them: the mix itself, not a decoded copy of the file,
    which the codec has already smoothed and which LAME encodes faster."""
    from voiceguide.export import mp3
    from voiceguide.export.lame import encode_runs

    def teed(chunks: Any, *rest: Any, **kw: Any) -> Any:
        part = path.with_suffix(".part")

        def copy() -> Any:
            with part.open("wb") as f:
                for chunk in chunks:
                    f.write(np.ascontiguousarray(chunk, dtype="<i2").tobytes())
                    yield chunk
            if not path.exists() or part.stat().st_size > path.stat().st_size:
                part.replace(path)

        return encode_runs(copy(), *rest, **kw)

    setattr(mp3, "encode_runs", teed)  # noqa: B010 - the module's own name, replaced


def _peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM is reset by exec; ru_maxrss is not (a child forked
    from a big parent would report the parent's size)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _children_cpu() -> float:
    """CPU seconds (user + system) of the child processes waited for so far, their own
    waited-for children included (a build's ffmpeg and speech engine)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_child(args: dict[str, Any], cache: Path) -> dict[str, Any]:
    env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(cache)}
    cpu = _children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(args)],
                          capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    cpu = _children_cpu() - cpu
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark build failed: {proc.stderr.strip()[-2000:]}")
    data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    data["wall"] = wall
    data["cpu"] = cpu
    data["startup"] = wall - data["build"]
    return data


# ------------------------------------------------------------------ floors


def _decode(path: Path) -> np.ndarray:
    import imageio_ffmpeg

    out = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path),
                          "-f", "s16le", "-ac", "1", "-ar", str(SR), "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype="<i2").copy()


def _bed_file(path: Path, minutes: float) -> Path:
    """A user's bed file: ``minutes`` of stereo pink noise, a 44.1 kHz 192 kbit/s MP3."""
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"anoisesrc=d={minutes * 60:g}:c=pink:r=44100:seed=3", "-ac", "2",
                    "-b:a", "192k", str(path)], check=True)
    return path


def encode_floor(pcm: np.ndarray) -> float:
    """Seconds to MP3-encode ``pcm`` with the build's encoder settings, nothing else."""
    import lameenc

    from voiceguide.export.mp3 import MP3_BITRATE, MP3_QUALITY

    t0 = time.perf_counter()
    enc = lameenc.Encoder()
    enc.set_bit_rate(MP3_BITRATE)
    enc.set_in_sample_rate(SR)
    enc.set_channels(1)
    enc.set_quality(MP3_QUALITY)
    step = 10 * SR
    for i in range(0, pcm.size, step):
        enc.encode(pcm[i : i + step].tobytes())
    enc.flush()
    return time.perf_counter() - t0


def synth_floor(sheet: dict[str, Any]) -> tuple[float, int]:
    """Seconds to only synthesise the track's distinct phrases (fresh engine, no cache)."""
    from voiceguide.speech.engine import get_engine

    rate = int(sheet["rate"])
    phrases = sorted({(c["text"], int(round(rate * c.get("speed", 1.0))))
                      for c in sheet["cues"] if c["kind"] == "speech"})
    t0 = time.perf_counter()
    engine = get_engine("espeak")
    try:
        for text, r in phrases:
            engine.synthesize(text, sheet["voice"], r)
    finally:
        engine.close()
    return time.perf_counter() - t0, len(phrases)


# ------------------------------------------------------------------ naive baseline


def naive_build(sheet: dict[str, Any], clips: dict[tuple[str, float], np.ndarray],
                bed: np.ndarray, out: Path) -> float:
    """The tutorial pipeline: pydub ``+`` of silences and clips, per-clip overlay ducking
    of the bed, pydub export. Same timeline and clips as the real build."""
    import warnings

    import imageio_ffmpeg

    with warnings.catch_warnings():  # pydub looks for a system ffmpeg on import
        warnings.simplefilter("ignore", RuntimeWarning)
        from pydub import AudioSegment

    AudioSegment.converter = imageio_ffmpeg.get_ffmpeg_exe()

    def seg(x: np.ndarray) -> AudioSegment:
        return AudioSegment(x.astype("<i2").tobytes(), frame_rate=SR, sample_width=2,
                            channels=1)

    t0 = time.perf_counter()
    voice = AudioSegment.silent(duration=0, frame_rate=SR)
    cursor = 0.0
    speech = [c for c in sheet["cues"] if c["kind"] == "speech"]
    for c in speech:
        voice += AudioSegment.silent(duration=(c["start"] - cursor) * 1000, frame_rate=SR)
        clip = seg(clips[(c["text"], c.get("speed", 1.0))])
        voice += clip
        cursor = c["start"] + len(clip) / 1000
    voice += AudioSegment.silent(duration=max(0.0, sheet["duration"] - cursor) * 1000,
                                 frame_rate=SR)
    loop = seg((bed * 0.05 * 32767).astype(np.int16))
    mix = (loop * (int(len(voice) / len(loop)) + 1))[: len(voice)]
    for c in speech:  # per-clip overlay, ducking the bed while each clip plays
        a, b = int(c["start"] * 1000), int(c["end"] * 1000)
        mix = mix.overlay(voice[a:b], position=a, gain_during_overlay=-14)
    mix = mix.apply_gain(-16 - mix.dBFS)
    mix.export(str(out), format="mp3", bitrate="64k")
    return time.perf_counter() - t0


# ------------------------------------------------------------------ pack


def _pack_run(folder: Path, routines: list[str], names: list[str], jobs: int, cache: Path,
              tag: str, extra: tuple[str, ...] = (), rerun: bool = True) -> dict[str, Any]:
    pack = folder / f"pack-{tag}.yaml"
    pack.write_text(json.dumps({"title": "Bench pack", "defaults": {"bed": "rain"},
                                "matrix": {"routines": routines, "names": names}}))
    out = folder / f"pack-{tag}"
    env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(cache)}
    cmd = [sys.executable, "-m", "voiceguide", "pack", str(pack), "--out", str(out),
           "--jobs", str(jobs), *extra]
    cpu = _children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    cpu = _children_cpu() - cpu
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark pack failed: {proc.stderr.strip()[-2000:]}")
    import re

    m = re.search(r"(\d+) built.*phrases: (\d+) synthesised", proc.stdout)
    assert m, proc.stdout
    from voiceguide import PhraseCache

    manifest = json.loads((out / "pack.json").read_text())
    result = {
        "jobs": jobs, "tracks": len(manifest["tracks"]), "wall": wall, "cpu": cpu,
        "cores_busy": cpu / wall,
        "audio_seconds": sum(t["duration"] for t in manifest["tracks"]),
        "synthesized": int(m.group(2)), "distinct_phrases": PhraseCache(cache).info().entries,
    }
    if rerun:
        t0 = time.perf_counter()
        again = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        result["rerun_wall"] = time.perf_counter() - t0
        result["rerun_built"] = _built(again.stdout) if again.returncode == 0 else -1
    return result


def projection(cold: dict[str, Any], warm: dict[str, Any], tracks: int = 10_000,
               minutes: float = 10.0) -> dict[str, Any]:
    """Hours for ``tracks`` tracks of ``minutes`` minutes on this machine, from the rate
    (wall seconds per minute of audio) of the same pack built with the same workers: with
    its phrases already cached (rendering only; a large pack shares almost all of its
    phrases, which are synthesised once) and cold (every track as costly as in a small
    cold pack, which shares few phrases). Both include the pack's start-up (a fixed cost
    a large pack spreads thinly), so they are on the high side."""
    audio = tracks * minutes
    warm_rate = warm["wall"] / (warm["audio_seconds"] / 60)
    cold_rate = cold["wall"] / (cold["audio_seconds"] / 60)
    return {"tracks": tracks, "minutes": minutes, "jobs": warm["jobs"],
            "warm_rate": warm_rate, "cold_rate": cold_rate,
            "hours_cached": audio * warm_rate / 3600, "hours_cold": audio * cold_rate / 3600}


def _cluster(work: Path, refs: list[str], names: list[str], local: dict[str, Any],
             tiny: bool) -> dict[str, Any]:
    """The same pack on a 2-worker LocalCluster (its overhead against the local runner
    with 2 workers), and synthesis tasks against distinct phrases for a 100-track
    matrix pack built with the test engine (4 tracks in tiny mode)."""
    import importlib.util

    if importlib.util.find_spec("distributed") is None:
        return {"skipped": "distributed is not installed (pip install 'voiceguide[dask]')"}
    dask = _pack_run(work, refs, names, 2, work / "pack-cache-dask", "dask",
                     ("--runner", "dask"))
    routines = [Path(_routine_ref("@tiny", work)).name] if tiny else \
        ["morning-hips", "bedtime-hips", "unlock-tight-hips", "five-somatic-hip-exercises",
         "somatic-awareness"]
    listeners = [f"L{i:03d}" for i in range((4 if tiny else 100) // len(routines))]
    pack = work / "matrix-100.yaml"
    pack.write_text(json.dumps({"title": "Matrix", "output": "{n:03d}-{routine}-{name}",
                                "matrix": {"routines": routines, "names": listeners}}))
    env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(work / "matrix-cache")}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "voiceguide", "pack", str(pack), "--out",
                           str(work / "matrix-out"), "--engine", "test", "--runner", "dask",
                           "--jobs", "2"], capture_output=True, text=True, env=env,
                          check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"matrix pack failed: {proc.stderr.strip()[-2000:]}")
    import re

    m = re.search(r"(\d+) synthesis tasks", proc.stdout)
    assert m, proc.stdout
    return {"dask": dask, "overhead": dask["wall"] / local["wall"],
            "matrix": {"tracks": len(routines) * len(listeners), "wall": wall,
                       "synthesis_tasks": int(m.group(1)),
                       "distinct_phrases": _distinct_phrases(pack, work / "matrix-distinct")}}


def _distinct_phrases(pack: Path, cache: Path) -> int:
    """Distinct phrases a pack's tracks measure: every track planned (not rendered) with
    one bank cache, as the local runner would synthesise them into an empty cache."""
    import voiceguide as vg
    from voiceguide.routine.catalogue import library_dirs
    from voiceguide.speech.engine import get_engine

    plan = vg.load_pack(pack, cache / "out", None, vg.TrackSettings.from_options(
        {"engine": "test"}))
    engine = get_engine("test")
    phrases = vg.PhraseCache(cache)
    spoken = 0
    for job in plan.jobs:
        routine = vg.Routine.from_file(job.routine_path, library_dirs())
        spoken += vg.plan_track(routine, job.settings, engine=engine,
                                cache=phrases).bank.stats.synthesized
    return spoken


def _built(stdout: str) -> int:
    import re

    m = re.search(r"(\d+) built", stdout)
    return int(m.group(1)) if m else -1


# ------------------------------------------------------------------ main


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}",
            "voiceguide": __version__}


def _voiceguide(args: list[str], env: dict[str, str]) -> float:
    """Wall time of one ``voiceguide`` command (it must succeed)."""
    exe = Path(sys.executable).with_name("voiceguide")
    t0 = time.perf_counter()
    subprocess.run([str(exe), *args], env=env, check=True, capture_output=True)
    return time.perf_counter() - t0


def cli_figures(work: Path, routine: str) -> dict[str, float]:
    """Start-up as a person meets it: ``voiceguide --help`` and a ``build`` with nothing
    changed (best of fifteen each, taken first, before the heavy runs leave the disk
    writing back and the page cache churned)."""
    env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(work / "cli-cache")}
    out = str(work / "cli")
    _voiceguide(["build", routine, "--out", out], env)
    return {"help": min(_voiceguide(["--help"], env) for _ in range(15)),
            "up_to_date": min(_voiceguide(["build", routine, "--out", out], env)
                              for _ in range(15))}


def run(tiny: bool, out_json: Path) -> dict[str, Any]:
    """Run every measurement; write ``out_json``; return the results."""
    cases = TINY if tiny else FULL
    results: dict[str, Any] = {"machine": machine(), "tiny": tiny, "builds": {}}
    with tempfile.TemporaryDirectory(prefix="voiceguide-bench-") as tmp:
        work = Path(tmp)
        results["cli"] = cli_figures(work, _routine_ref(cases["short"][0], work))
        bed_file = _bed_file(work / "bed.mp3", 0.5 if tiny else 15.0)
        for label, (ref, minutes) in cases.items():
            routine = _routine_ref(ref, work)
            cache = work / f"cache-{label}"
            args = {"routine": routine, "out": str(work / label), "minutes": minutes,
                    "bed": "rain"}
            cold = _run_child(args, cache)
            warm = _run_child(args, cache)
            with_file = _run_child({**args, "out": str(work / f"{label}-bed"),
                                    "bed": str(bed_file)}, cache)
            track = Path(warm["path"])
            sheet = json.loads(track.with_name(track.stem + ".cues.json").read_text())
            mix = work / f"{label}-mix.s16"  # an untimed build hands over its mix
            _run_child({**args, "out": str(work / f"{label}-tee"), "tee": str(mix)}, cache)
            pcm = np.fromfile(mix, dtype="<i2")
            mix.unlink()
            enc = min(encode_floor(pcm) for _ in range(2))
            decoded = min(encode_floor(_decode(track)) for _ in range(2))
            # the same track without a bed (the room tone under it, as the default
            # routine ships): its warm build and its own mix's encode floor
            quiet = _run_child({**args, "bed": "none", "out": str(work / f"{label}-quiet")},
                               cache)
            _run_child({**args, "bed": "none", "out": str(work / f"{label}-quiet-tee"),
                        "tee": str(mix)}, cache)
            quiet_enc = min(encode_floor(np.fromfile(mix, dtype="<i2")) for _ in range(2))
            mix.unlink()
            synth, distinct = synth_floor(sheet)
            results["builds"][label] = {
                "minutes": minutes, "audio_seconds": warm["duration"],
                "cold": cold, "warm": warm, "warm_bed_file": with_file,
                "encode_floor": enc, "encode_floor_decoded": decoded, "mix_samples": pcm.size,
                "synth_floor": synth, "distinct_phrases": distinct,
                "warm_vs_encode_floor": warm["wall"] / enc,
                "warm_room_tone": quiet, "encode_floor_room_tone": quiet_enc,
                "room_tone_vs_encode_floor": quiet["wall"] / quiet_enc,
                # the least the ratio can be on this machine's cores, were every stage
                # spread evenly over all of them
                "warm_cpu_bound": warm["cpu"] / (os.cpu_count() or 1) / enc,
                "cold_vs_synth_plus_encode": cold["wall"] / (synth + enc),
                "rt_cold": warm["duration"] / cold["wall"],
                "rt_warm": warm["duration"] / warm["wall"],
            }
            if label == "short":
                from voiceguide import PhraseCache
                from voiceguide.mix.sounds import builtin_bed

                pc = PhraseCache(cache)
                clips = _clips_of(sheet, pc, routine)
                naive = naive_build(sheet, clips, builtin_bed("rain", SR), work / "naive.mp3")
                results["naive"] = {"routine": ref, "minutes": minutes, "wall": naive,
                                    "warm_wall": warm["wall"],
                                    "speedup": naive / warm["wall"]}
        routines = ["@tiny"] * 2 if tiny else list(PACK_ROUTINES)  # 4 tracks, or 8
        names = ["Ana", "Ben"]
        refs = []
        for i, r in enumerate(routines):
            if r == "@tiny":
                p = work / f"tiny-{i}.yaml"
                p.write_text(TINY_ROUTINE.replace("Bench tiny", f"Bench tiny {i}"))
                refs.append(p.name)  # beside the pack
            else:
                refs.append(r)
        one = _pack_run(work, refs, names, 1, work / "pack-cache-1", "j1")
        two = _pack_run(work, refs, names, 2, work / "pack-cache-2", "j2")
        # the same pack again into a new folder with the phrases cached: rendering only
        warm = _pack_run(work, refs, names, 2, work / "pack-cache-2", "j2warm", rerun=False)
        results["pack"] = {"jobs1": one, "jobs2": two, "speedup": one["wall"] / two["wall"],
                           "jobs2_warm": warm, "projection": projection(two, warm)}
        results["cluster"] = _cluster(work, refs, names, two, tiny)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    from voiceguide.io.atomic import write_text

    write_text(out_json, json.dumps(results, indent=1) + "\n")
    return results


def _clips_of(sheet: dict[str, Any], cache: Any, routine: str
              ) -> dict[tuple[str, float], np.ndarray]:
    """The track's clips from the phrase cache, keyed as the build keyed them (by what the
    engine was given: the routine's pronunciation lexicon applied)."""
    import voiceguide as vg
    from voiceguide.routine.lexicon import track_lexicon
    from voiceguide.speech.cache import phrase_key
    from voiceguide.speech.espeak import EspeakEngine

    spec = vg.load_routine(routine).spec
    lexicon = track_lexicon(spec.lexicon, spec.language)
    engine = EspeakEngine()
    out: dict[tuple[str, float], np.ndarray] = {}
    for c in sheet["cues"]:
        if c["kind"] != "speech":
            continue
        speed = c.get("speed", 1.0)
        rate = int(round(sheet["rate"] * speed))
        key = phrase_key(engine.name, engine.version, engine.identity(sheet["voice"]), rate,
                         lexicon.spoken(c["text"], engine.name), SR)
        pcm = cache.get(key, SR)
        if pcm is None:
            raise RuntimeError(f"phrase not cached: {c['text']!r}")
        out[(c["text"], speed)] = pcm
    return out


def table(r: dict[str, Any]) -> list[str]:
    """The results as Markdown table lines (also printed)."""
    m = r["machine"]
    lines = [f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, "
             f"voiceguide {m['voiceguide']}" + (" (tiny mode)" if r["tiny"] else ""), "",
             "| measurement | short track | long track | target |", "|---|---|---|---|"]
    s, lg = r["builds"]["short"], r["builds"]["long"]

    def both(f: Any) -> tuple[str, str]:
        return f(s), f(lg)

    rows = [
        ("track length", lambda b: f"{b['audio_seconds'] / 60:.1f} min", ""),
        ("cold build (wall)", lambda b: f"{b['cold']['wall']:.1f} s", ""),
        ("warm build (wall)", lambda b: f"{b['warm']['wall']:.1f} s", ""),
        ("real-time factor cold / warm",
         lambda b: f"{b['rt_cold']:.0f}x / {b['rt_warm']:.0f}x", ""),
        ("peak RSS warm (build process)", lambda b: f"{b['warm']['rss_mb']:.0f} MB",
         "<= 150 MB (long)"),
        ("warm build over a user's bed file (a 15-minute MP3): wall, peak RSS",
         lambda b: f"{b['warm_bed_file']['wall']:.1f} s, "
                   f"{b['warm_bed_file']['rss_mb']:.0f} MB", ""),
        ("encode floor (the mix, one thread)", lambda b: f"{b['encode_floor']:.1f} s", ""),
        ("encode floor of the decoded file (for comparison)",
         lambda b: f"{b['encode_floor_decoded']:.1f} s", ""),
        ("synthesis floor (distinct phrases)",
         lambda b: f"{b['synth_floor']:.1f} s ({b['distinct_phrases']})", ""),
        ("warm build / single-thread encode floor",
         lambda b: f"{b['warm_vs_encode_floor']:.2f}", "<= 0.9 (short), <= 0.65 (long)"),
        ("the same without a bed (room tone): warm build, CPU, / its encode floor",
         lambda b: f"{b['warm_room_tone']['wall']:.1f} s, {b['warm_room_tone']['cpu']:.1f} s,"
                   f" {b['room_tone_vs_encode_floor']:.2f}", "(reported)"),
        ("warm build's CPU, all processes (and / cores / encode floor: the least the "
         "ratio above can be)",
         lambda b: f"{b['warm']['cpu']:.1f} s ({b['warm_cpu_bound']:.2f})", ""),
        ("cold / (synthesis + encode floors)",
         lambda b: f"{b['cold_vs_synth_plus_encode']:.2f}", "<= 1.0 (long)"),
    ]
    for name, f, target in rows:
        a, b = both(f)
        lines.append(f"| {name} | {a} | {b} | {target} |")
    cli = r["cli"]
    lines.append(f"| `voiceguide --help` (wall) | {cli['help']:.3f} s | | <= 0.15 s |")
    lines.append(f"| up-to-date `build` (nothing changed) | {cli['up_to_date']:.3f} s | | "
                 "<= 0.3 s |")
    n = r["naive"]
    lines.append(f"| naive pydub pipeline (short) | {n['wall']:.1f} s vs {n['warm_wall']:.1f} s:"
                 f" {n['speedup']:.0f}x faster | | (reported) |")
    p = r["pack"]
    lines.append(
        f"| pack of {p['jobs1']['tracks']} ({p['jobs1']['audio_seconds'] / 60:.0f} min audio),"
        f" cold | --jobs 1: {p['jobs1']['wall']:.1f} s | --jobs 2: {p['jobs2']['wall']:.1f} s,"
        f" {p['speedup']:.2f}x | >= 1.85x |")
    lines.append(
        f"| pack: cores busy (CPU / wall) | --jobs 1: {p['jobs1']['cores_busy']:.2f} | "
        f"--jobs 2: {p['jobs2']['cores_busy']:.2f} | |")
    lines.append(
        f"| pack: phrases synthesised / distinct | {p['jobs1']['synthesized']} / "
        f"{p['jobs1']['distinct_phrases']} | {p['jobs2']['synthesized']} / "
        f"{p['jobs2']['distinct_phrases']} | equal |")
    lines.append(f"| pack re-run, nothing to do | {p['jobs1']['rerun_wall']:.2f} s | "
                 f"{p['jobs2']['rerun_wall']:.2f} s | <= 0.5 s |")
    pj = p["projection"]
    lines.append(
        f"| projection: {pj['tracks']:,} tracks of {pj['minutes']:.0f} min, --jobs "
        f"{pj['jobs']} on this machine | phrases cached: {pj['hours_cached']:.1f} h "
        f"({pj['warm_rate']:.2f} s per audio minute) | cold rate: "
        f"{pj['hours_cold']:.1f} h ({pj['cold_rate']:.2f} s per audio minute) | |")
    c = r.get("cluster", {})
    if "dask" in c:
        lines.append(f"| same pack, 2-worker Dask LocalCluster vs local --jobs 2 | "
                     f"{c['dask']['wall']:.1f} s vs {p['jobs2']['wall']:.1f} s | "
                     f"overhead {100 * (c['overhead'] - 1):+.0f}% | |")
        mx = c["matrix"]
        lines.append(f"| {mx['tracks']}-track matrix on Dask (test engine): synthesis tasks / "
                     f"distinct phrases | {mx['synthesis_tasks']} / {mx['distinct_phrases']} |"
                     f" {mx['wall']:.0f} s | equal |")
    lines += ["", "Warm build of the long track, by stage (seconds):", ""]
    w = lg["warm"]
    stages = {"start-up and imports": w["startup"], **w["timings"]}
    total = sum(stages.values())
    lines.append("| stage | seconds | share |")
    lines.append("|---|---|---|")
    for k, v in sorted(stages.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {k} | {v:.2f} | {100 * v / total:.0f}% |")
    return lines


def main(argv: list[str] | None = None) -> int:
    """``python scripts/bench.py [--tiny] [--out output/bench.json]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--tiny", action="store_true", help="very short tracks (for tests)")
    parser.add_argument("--out", type=Path, default=Path("output") / "bench.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child_build(json.loads(args.child))
        return 0
    results = run(args.tiny, args.out)
    print("\n".join(table(results)))
    print(f"\nWrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
