"""Packs on a real Dask cluster (issue 19): a scheduler and two workers started as
separate processes on loopback, each with its own phrase cache (no shared phrase
storage), build the 12-track test pack with the real engine. Every track is
byte-identical to the local runner's; the workers synthesise each distinct phrase of
the pack once; killing a worker mid-pack still completes the pack; a failing track is
reported and the others are built."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ASSETS
from voiceguide.errors import ExitCode
from voiceguide.version import __version__

pytest.importorskip("distributed")

PACK = ASSETS / "pack" / "pack.yaml"
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_workers(address: str, n: int, timeout: float = 120) -> dict[str, int]:
    """Worker address -> pid, once ``n`` workers are up."""
    from distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(n, timeout=timeout)
        pids: dict[str, int] = client.run(os.getpid)
        return pids


def dask(args: list[str], cwd: Path, env: dict[str, str] | None = None,
         log: Path | None = None) -> subprocess.Popen[bytes]:
    """A ``dask`` command (a scheduler or a worker), away from any cluster the
    environment names; its output to ``log``, else nowhere."""
    env = {k: v for k, v in (env or os.environ).items() if k != "DASK_SCHEDULER_ADDRESS"}
    out = log.open("wb") if log is not None else subprocess.DEVNULL
    return subprocess.Popen([str(BIN / "dask"), *args], env=env, stdout=out,
                            stderr=subprocess.STDOUT, cwd=cwd)


def scheduler_args(port: int) -> list[str]:
    return ["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]


def stop(procs: list[subprocess.Popen[bytes]], timeout: float = 5) -> None:
    """Stop ``procs`` (the last started first), killing what does not stop in time."""
    for p in reversed(procs):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("dask")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = root / "logs"
    logs.mkdir()
    procs = [dask(scheduler_args(port), root, log=logs / "scheduler.log")]
    workers = [dask(["worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                     "--name", f"w{i}"], root,
                    {**os.environ, "VOICEGUIDE_CACHE_DIR": str(root / f"cache-w{i}")},
                    logs / f"worker{i}.log") for i in (1, 2)]
    procs += workers
    try:
        pids = wait_for_workers(address, 2)
        assert sorted(pids.values()) == sorted(p.pid for p in workers)  # separate processes
        yield {"address": address, "workers": workers, "root": root}
    finally:
        stop(procs)


def pack_cli(args: list[str], cache: Path, pack: Path = PACK) -> subprocess.Popen[str]:
    env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(cache)}
    env.pop("DASK_SCHEDULER_ADDRESS", None)
    return subprocess.Popen([sys.executable, "-m", "voiceguide", "pack", str(pack), *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def synthesised(stdout: str) -> int:
    import re

    m = re.search(r"12 built, 0 unchanged; phrases: (\d+) synthesised", stdout)
    assert m, stdout
    return int(m.group(1))


def tracks(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if p.suffix in (".mp3", ".vtt", ".lrc") or p.name.endswith(".cues.json")}


@pytest.fixture(scope="module")
def local_build(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("local")
    proc = pack_cli(["--out", str(root / "out"), "--jobs", "2"], root / "cache")
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err
    return {"out": root / "out", "synthesised": synthesised(out)}


def test_a_real_cluster_builds_the_same_bytes_each_phrase_once(
        cluster: dict[str, Any], local_build: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = pack_cli(["--out", str(out), "--runner", "dask", "--scheduler",
                     cluster["address"]], tmp_path / "client-cache")
    stdout, stderr = proc.communicate(timeout=900)
    assert proc.returncode == 0, stderr
    assert f"Dask: {cluster['address']}, 2 workers" in stderr
    # the workers (each with its own empty cache) spoke each distinct phrase of the pack
    # once: as many as the local runner synthesised into its empty cache
    assert synthesised(stdout) == local_build["synthesised"] > 10
    # the client synthesised nothing (its cache holds at most the pack's up-to-date stamp)
    assert not list((tmp_path / "client-cache").rglob("*.wav"))
    spoken = sum(1 for i in (1, 2) for _ in (cluster["root"] / f"cache-w{i}").rglob("*.wav"))
    assert spoken == local_build["synthesised"]
    expected = tracks(local_build["out"])
    assert len([n for n in expected if n.endswith(".mp3")]) == 12
    assert tracks(out) == expected  # byte-identical, cue sheets included
    manifest = json.loads((out / "pack.json").read_text())
    assert len(manifest["tracks"]) == 12


def test_killing_a_worker_mid_pack_still_completes_it(
        cluster: dict[str, Any], local_build: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = pack_cli(["--out", str(out), "--runner", "dask", "--scheduler",
                     cluster["address"]], tmp_path / "client-cache")
    journal = out / ".voiceguide-journal.jsonl"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.is_file() and journal.read_text().count("\n") >= 1:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the pack finished before a worker could be killed"
    done_before = journal.read_text().count("\n")
    victim = cluster["workers"][0]
    victim.kill()  # SIGKILL: no goodbye to the scheduler
    victim.wait()
    stdout, stderr = proc.communicate(timeout=900)
    assert proc.returncode == 0, stderr
    assert done_before < 12
    assert "12 built, 0 unchanged" in stdout
    assert tracks(out) == tracks(local_build["out"])


def test_on_a_cluster_a_failing_track_is_reported_and_the_others_built(
        cluster: dict[str, Any], tmp_path: Path) -> None:
    """Keep-going by default on a cluster; the scheduler comes from
    $DASK_SCHEDULER_ADDRESS when --scheduler is not given."""
    import shutil

    for name in ("reach.yaml", "sway.yaml"):
        shutil.copy(PACK.parent / name, tmp_path / name)
    pack = tmp_path / "pack.yaml"
    pack.write_text("title: Runs\ntracks:\n  - {routine: reach, name: Ana, minutes: 1}\n"
                    "  - {routine: reach, name: Zed, minutes: 60}\n"
                    "  - {routine: sway, name: Ana, minutes: 1}\n"
                    "  - {routine: sway, name: Bo, voice: bo.onnx}\n")
    out = tmp_path / "out"
    env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(tmp_path / "cache"),
           "DASK_SCHEDULER_ADDRESS": cluster["address"]}
    proc = subprocess.run([sys.executable, "-m", "voiceguide", "pack", str(pack), "--out",
                           str(out), "--runner", "dask", "--engine", "test"],
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode in (ExitCode.SCHEDULE, ExitCode.VOICE), proc.stderr  # a failure's
    assert f"Dask: {cluster['address']}" in proc.stderr
    assert "Error: 2 of 4 tracks failed" in proc.stderr
    assert "track 2 (02-reach-Zed-60min): 60:00 is not possible" in proc.stderr
    # a worker's error names the option as the command line does (the workers of a Dask
    # run said "engine='piper'" where a local run said "--engine piper": a review)
    assert "(a .onnx voice file is for --engine piper)" in proc.stderr, proc.stderr
    assert sorted(p.name for p in out.glob("*.mp3")) == ["01-reach-Ana-1min.mp3",
                                                          "03-sway-Ana-1min.mp3"]
    assert [t["n"] for t in json.loads((out / "pack.json").read_text())["tracks"]] == [1, 3]


def test_on_a_cluster_a_phrase_that_cannot_be_spoken_fails_only_its_track(
        cluster: dict[str, Any], tmp_path: Path) -> None:
    """One phrase the engine could not say (espeak says nothing for some letters) ended the whole
    pack, naming no track and publishing none, though a cluster keeps going (a code
    review): counting the phrases spoken asked for the failed one's result."""
    import shutil

    shutil.copy(PACK.parent / "reach.yaml", tmp_path / "reach.yaml")
    # a letter (the saltillo) that espeak says nothing for ('...' is left out before)
    (tmp_path / "silent.yaml").write_text("title: Silent\nsteps:\n  - say: '\ua78c'\n",
                                          encoding="utf-8")
    pack = tmp_path / "pack.yaml"
    pack.write_text("title: Runs\ntracks:\n  - {routine: reach, name: Ana, minutes: 1}\n"
                    "  - {routine: silent}\n")
    out = tmp_path / "out"
    env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("DASK_SCHEDULER_ADDRESS", None)
    proc = subprocess.run([sys.executable, "-m", "voiceguide", "pack", str(pack), "--out",
                           str(out), "--runner", "dask", "--scheduler", cluster["address"]],
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == ExitCode.ENGINE, proc.stderr
    assert "Error: 1 of 2 tracks failed" in proc.stderr
    assert "track 2 (02-silent): the espeak engine gave only silence for '\ua78c'" \
        in proc.stderr
    assert [p.name for p in out.glob("*.mp3")] == ["01-reach-Ana-1min.mp3"]
    assert [t["n"] for t in json.loads((out / "pack.json").read_text())["tracks"]] == [1]
    assert (out / "index.html").is_file()


def _sigint_held_here() -> bool:
    """Whether this process has Ctrl-C blocked or ignored (``/proc``)."""
    fields = dict(line.split(":\t") for line in
                  Path("/proc/self/status").read_text().splitlines() if ":\t" in line)
    bit = 1 << (signal.SIGINT - 1)
    return bool((int(fields["SigBlk"], 16) | int(fields["SigIgn"], 16)) & bit)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_a_local_cluster_leaves_ctrl_c_to_the_run() -> None:
    """Ctrl-C reaches every process of the terminal's group: the local cluster's workers
    each printed a traceback, and the cluster logged lost connections and cancelled
    tasks, in 7 of 12 Ctrl-Cs during a pack (found by an interrupt test). Its workers
    now never see Ctrl-C, the run alone still does."""
    from voiceguide.pack.dask_runner import DaskRunner
    from voiceguide.pack.runners import RunEvents

    runner = DaskRunner(2, {})
    events = RunEvents(finished=lambda job, outcome: None, failed=lambda job, exc: None)
    # as the command line has it (a suite run in the background inherits it ignored)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with runner.client(events) as client:
            held = client.run(_sigint_held_here)
            assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, set())
    finally:
        signal.signal(signal.SIGINT, before)
    assert list(held.values()) == [True, True], held


_STOPPED_AT_START = """
import multiprocessing, signal, threading, time
import distributed
from voiceguide.pack.dask_runner import DaskRunner
from voiceguide.pack.runners import RunEvents

start = distributed.LocalCluster.__init__

def starting(self, *args, **kwargs):
    start(self, *args, **kwargs)
    # a Ctrl-C to this thread while the cluster started: held back until it has
    signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    distributed.LocalCluster.__init__ = starting
    events = RunEvents(finished=lambda job, outcome: None, failed=lambda job, exc: None)
    try:
        with DaskRunner(2, {}).client(events):
            print("not stopped")
    except KeyboardInterrupt:
        print("stopped")
    deadline = time.monotonic() + 30
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.1)
    print(len(multiprocessing.active_children()), "left")
"""


def test_a_ctrl_c_while_the_local_cluster_starts_still_closes_it(tmp_path: Path) -> None:
    """A Ctrl-C held back while the cluster started (its workers must not inherit it)
    came once it had, before the cluster was entered: a program that goes on after it
    kept the cluster and its workers running (found by a review)."""
    script = tmp_path / "stop.py"
    script.write_text(_STOPPED_AT_START)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=180, check=False)
    assert proc.stdout.split() == ["stopped", "0", "left"], (proc.stdout, proc.stderr[-2000:])


def test_a_local_cluster_takes_a_free_port_for_its_web_server() -> None:
    """Without bokeh the scheduler still serves HTTP, on Dask's 8787 unless told: a
    second cluster on the machine printed "Port 8787 is already in use" (seen when two
    packs ran at once)."""
    import warnings

    from voiceguide.pack.dask_runner import DaskRunner
    from voiceguide.pack.runners import RunEvents

    events = RunEvents(finished=lambda job, outcome: None, failed=lambda job, exc: None)
    with socket.socket() as taken:
        with contextlib.suppress(OSError):  # taken already: the same test
            taken.bind(("", 8787))  # as another cluster would have it
            taken.listen()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with DaskRunner(1, {}).client(events) as client:
                assert len(client.scheduler_info()["workers"]) == 1
                # this machine only: an attack read its logs and call stacks from the
                # network while a pack ran (it listened on every address)
                from voiceguide.pack.serve import lan_address

                port = int(client.dashboard_link.split(":")[2].split("/")[0])
                lan = lan_address()
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
                if lan != "127.0.0.1":  # a machine with a network address to try
                    with pytest.raises(OSError):
                        socket.create_connection((lan, port), timeout=5).close()
    assert not [w for w in caught if "8787" in str(w.message)], caught


def test_a_worker_of_another_voiceguide_is_refused_before_any_track(tmp_path: Path) -> None:
    """A helper's attack: workers running 0.2.6 built every track of a 0.2.7 pack, exit 0,
    and the pack's record vouched for them (a later run said "10 unchanged"). A worker
    that runs another voiceguide (here a stand-in that says 0.0.1) is refused with one
    line naming it, exit 2, and nothing is written."""
    stub = tmp_path / "stub" / "voiceguide"
    (stub / "pack").mkdir(parents=True)
    (stub / "__init__.py").write_text("")
    (stub / "pack" / "__init__.py").write_text("")
    (stub / "pack" / "dask_connect.py").write_text("def worker_version():\n    return '0.0.1'\n")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [dask(scheduler_args(port), tmp_path),
             dask(["worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard"],
                  tmp_path, {**os.environ, "PYTHONPATH": str(stub.parent)})]
    try:
        worker = next(iter(wait_for_workers(address, 1)))
        out = tmp_path / "out"
        proc = pack_cli(["--runner", "dask", "--scheduler", address, "--out", str(out)],
                        tmp_path / "cache")
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == ExitCode.USAGE, err
        assert err.strip() == (
            f"Error: --scheduler {address}: the Dask worker {worker} runs voiceguide 0.0.1, "
            f"this client voiceguide {__version__}: a track built there would not be the track "
            "asked for (and the pack's record would vouch for it); install voiceguide "
            f"{__version__} on every worker"), err
        assert not [p for p in out.rglob("*") if p.name != ".voiceguide-pack.lock"]
    finally:
        stop(procs)


def test_a_wrong_scheduler_address_is_one_line_at_once(tmp_path: Path) -> None:
    """A helper's attack: a refused port and an unknown host waited 30 s to say "Timed
    out"; 'http://...' or no port was an internal error (exit 1); a port where a web
    server answered was "not enough memory" (exit 10, an HTTP reply read as a 3 EiB
    frame), and one that waits for a request line (``python -m http.server``, Dask's
    own dashboard on 8787) held the run 36 s and left an empty ``--out`` folder with the
    pack's lock. Each is one line naming the address, exit 2, in a few seconds, before
    the pack's folder is made."""
    import socketserver
    import threading

    class Http400(socketserver.StreamRequestHandler):  # answers only a whole request line
        def handle(self) -> None:
            self.rfile.readline()
            self.wfile.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")

    class Banner(socketserver.BaseRequestHandler):  # speaks first, as SSH does
        def handle(self) -> None:
            self.request.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
            self.request.recv(1024)

    class Hangup(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            pass

    servers = [socketserver.ThreadingTCPServer(("127.0.0.1", 0), h)
               for h in (Http400, Banner, Hangup)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    web, banner, hangup = (f"tcp://127.0.0.1:{s.server_address[1]}" for s in servers)
    refused = free_port()
    cases = {f"tcp://127.0.0.1:{refused}": "cannot reach it (Connection refused)",
             "tcp://no-such-host.invalid:8786": "cannot reach it",
             "http://127.0.0.1:8786": "not a Dask scheduler's address",
             "tcp://127.0.0.1": "not a Dask scheduler's address",
             web: "a web server answers there, not a Dask scheduler (Dask's dashboard is a "
                  "web page, usually on port 8787; the scheduler, usually on 8786)",
             banner: "something answers there ('SSH-2.0-OpenSSH_9.2'), but not a Dask "
                     "scheduler",
             hangup: "something takes the connection there and closes it"}
    try:
        for address, said in cases.items():
            t0 = time.monotonic()
            proc = pack_cli(["--runner", "dask", "--scheduler", address,
                             "--out", str(tmp_path / "out")], tmp_path / "cache")
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == ExitCode.USAGE, (address, err)
            assert err.startswith(f"Error: --scheduler {address}: {said}"), err
            assert err.count("\n") == 1, err
            assert time.monotonic() - t0 < 20, address
            assert not (tmp_path / "out").exists(), address  # no folder, no lock in it
        # a pack with nothing to build asks nothing of a scheduler, which may be down (the
        # attack on the check above: asked at once, it failed a finished pack's re-run)
        one = tmp_path / "one.yaml"
        (tmp_path / "reach.yaml").write_text((ASSETS / "pack" / "reach.yaml").read_text())
        one.write_text("title: One\nmatrix: {routines: [reach], minutes: [1]}\n")
        done = tmp_path / "done"
        for runner in (["--runner", "local"], ["--runner", "dask", "--scheduler",
                                               f"tcp://127.0.0.1:{refused}"]):
            proc = pack_cli([*runner, "--out", str(done)], tmp_path / "cache", one)
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
        assert "0 built, 1 unchanged" in out, out
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def six_tracks(folder: Path) -> Path:
    """A pack of six short tracks (two routines, three lengths) written in ``folder``."""
    for name in ("reach", "sway"):
        (folder / f"{name}.yaml").write_text((ASSETS / "pack" / f"{name}.yaml").read_text())
    pack = folder / "pack.yaml"
    pack.write_text("title: Six\nmatrix: {routines: [reach, sway], names: [Ana], "
                    "minutes: [1, 1.5, 2]}\n")
    return pack


def first_track_recorded(out: Path, proc: subprocess.Popen[str]) -> None:
    """Wait until a pack run into ``out`` has recorded its first track (its line in the
    journal): midway however fast the machine is (a fixed 3 s was the whole pack on a
    fast one)."""
    journal = out / ".voiceguide-journal.jsonl"
    deadline = time.monotonic() + 120
    while not (journal.exists() and journal.read_bytes().count(b"\n")) \
            and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)


def test_a_scheduler_lost_midway_is_one_line_and_a_rerun_resumes(tmp_path: Path) -> None:
    """A helper's attack: the scheduler killed mid-pack gave Dask's log line and "internal
    error (RuntimeError: ConnectionPool is closed) ... report it", exit 1. It is one line
    saying what happened and what to do, exit 9; the pack run again on a new scheduler
    builds the rest."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    worker_args = ["worker", address, "--nthreads", "1", "--no-dashboard"]
    scheduler = dask(scheduler_args(port), tmp_path)
    procs = [scheduler, dask(worker_args, tmp_path)]
    pack = six_tracks(tmp_path)
    try:
        wait_for_workers(address, 1)
        out, cache = tmp_path / "out", tmp_path / "cache"
        proc = pack_cli(["--runner", "dask", "--scheduler", address, "--out", str(out)], cache,
                        pack)
        first_track_recorded(out, proc)
        scheduler.kill()
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == ExitCode.OUTPUT, err
        said = err.strip().splitlines()  # after the notice of the cluster it used
        assert len(said) == 2 and said[0].startswith("Dask: "), err
        assert re.fullmatch(
            rf"Error: lost the Dask scheduler \({re.escape(address)}\) in the middle of the "
            r"pack \(\w+\); the tracks finished before are kept: start the scheduler again "
            r"and run the pack again to build the rest", said[1]), err
        # a worker leaves with its scheduler: both anew
        procs += [dask(scheduler_args(port), tmp_path), dask(worker_args, tmp_path)]
        wait_for_workers(address, 1)
        proc = pack_cli(["--runner", "dask", "--scheduler", address, "--out", str(out)], cache,
                        pack)
        stdout, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        done = re.search(r"(\d+) built.*?, (\d+) unchanged", stdout)
        assert done and int(done[1]) + int(done[2]) == 6, stdout
        assert int(done[1]) > 0 and int(done[2]) > 0, stdout  # the rest, and only the rest
        assert len(list(out.glob("*.mp3"))) == 6
    finally:
        stop(procs, timeout=10)


def test_a_pack_whose_workers_all_died_says_it_waits_and_new_ones_finish_it(
        tmp_path: Path) -> None:
    """A pack on a scheduler whose workers all died (or that had none) waited without a
    word, as if hung: Dask keeps the tasks for the next worker. After a few seconds
    without one the run says so and how to go on; a worker started then finishes it."""
    import threading

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    worker_args = ["worker", address, "--nthreads", "1", "--no-dashboard", "--no-nanny"]
    procs = [dask(scheduler_args(port), tmp_path), dask(worker_args, tmp_path)]
    pack = six_tracks(tmp_path)
    try:
        wait_for_workers(address, 1)
        out = tmp_path / "out"
        proc = pack_cli(["--runner", "dask", "--scheduler", address, "--out", str(out),
                         "--engine", "test"], tmp_path / "cache", pack)
        said: list[str] = []

        def read() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                said.append(line)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        first_track_recorded(out, proc)
        procs[1].kill()  # the only worker
        waits = f"Warning: Dask: no worker at {address} for 5 s; the pack waits for one " \
                f"(start one with 'dask worker {address}'), or press Ctrl-C to stop it: the " \
                "tracks finished are kept\n"
        deadline = time.monotonic() + 60
        while waits not in said and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert waits in said and proc.poll() is None, said  # said, and still waiting
        procs.append(dask(worker_args, tmp_path))
        assert proc.wait(timeout=300) == 0, said
        reader.join(timeout=10)
        assert f"Warning: Dask: 1 worker at {address} now; the pack goes on\n" in said, said
        assert len(list(out.glob("*.mp3"))) == 6
    finally:
        stop(procs, timeout=10)
        with contextlib.suppress(NameError):
            proc.kill()  # a run still waiting (the test failed)
            proc.wait()


def test_a_scheduler_without_the_dask_runner_says_to_give_it(tmp_path: Path) -> None:
    """A helper's attack: --scheduler with the default runner said "the local runner
    takes no options (got scheduler)"."""
    proc = pack_cli(["--scheduler", "tcp://127.0.0.1:8786", "--out", str(tmp_path / "out")],
                    tmp_path / "cache")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == ExitCode.USAGE
    assert err.strip() == ("Error: --scheduler: the local runner takes no scheduler; give "
                           "--runner dask with it")


def test_a_cluster_writes_the_cue_sheets_the_local_runner_writes(
        cluster: dict[str, Any], tmp_path: Path) -> None:
    """A review: a track whose voice speaks another language than its routine's was
    warned of in its cue sheet by the local runner and not on Dask (the workers plan
    from clips, and only the engine's own voice choice said so): the same track, another
    cue sheet and another pack record. Same inputs, the same bytes on every runner."""
    import shutil

    shutil.copy(PACK.parent / "reach.yaml", tmp_path / "reach.yaml")
    pack = tmp_path / "pack.yaml"
    pack.write_text("title: Voices\ntracks:\n  - {routine: reach, name: Ana, minutes: 1, "
                    "voice: gmw/de}\n  - {routine: reach, name: Ben, minutes: 1}\n")
    built = {}
    for runner in (["--jobs", "1"], ["--runner", "dask", "--scheduler", cluster["address"]]):
        out = tmp_path / runner[1]
        proc = pack_cli(["--out", str(out), "--engine", "espeak", *runner],
                        tmp_path / "cache", pack)
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        built[runner[1]] = tracks(out)
    local, dask = built.values()
    sheet = json.loads(local["01-reach-Ana-1min.cues.json"])
    assert any("the voice 'gmw/de' speaks" in w for w in sheet["warnings"]), sheet["warnings"]
    assert dask == local
