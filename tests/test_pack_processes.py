"""Pack processes (issue 12): a `pack` killed with SIGKILL leaves no worker or speech
helper running; a worker killed as the out-of-memory killer would is reported with the
track it was building."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ASSETS

PACK = ASSETS / "pack" / "pack.yaml"
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def processes() -> dict[int, tuple[int, int, str, str]]:
    """pid -> (parent pid, session id, state, command line) of every process."""
    out: dict[int, tuple[int, int, str, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        out[int(entry)] = (int(fields[1]), int(fields[3]), fields[0], cmd)
    return out


def alive_in_session(sid: int) -> list[str]:
    return [cmd for _, s, state, cmd in processes().values() if s == sid and state != "Z"]


def start_pack(tmp_path: Path, *args: str, pack: Path = PACK) -> subprocess.Popen[bytes]:
    env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(tmp_path / "cache")}
    return subprocess.Popen([sys.executable, "-m", "voiceguide", "pack", str(pack), "--out",
                             str(tmp_path / "out"), "--jobs", "2", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def wait_for(predicate: object, timeout: float, proc: subprocess.Popen[bytes]) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert proc.poll() is None, proc.communicate()[1].decode()
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    pytest.fail("timed out")


@pytest.mark.slow
def test_sigkill_of_the_pack_leaves_no_process_behind(tmp_path: Path) -> None:
    # long tracks with the real engine: each worker runs an espeak helper and would go on
    # for a minute on its own
    pack = tmp_path / "long.yaml"
    pack.write_text("title: Long\nmatrix:\n  routines: [five-somatic-hip-exercises]\n"
                    "  names: [Ana, Ben, Kim]\n")
    proc = start_pack(tmp_path, pack=pack)
    try:
        def busy() -> bool:
            cmds = alive_in_session(proc.pid)
            return sum("voiceguide.speech.espeak_worker" in c for c in cmds) >= 2 \
                and sum("spawn_main" in c for c in cmds) >= 2
        wait_for(busy, 120, proc)
        assert len(alive_in_session(proc.pid)) >= 5  # parent, 2 workers, 2 helpers
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        end = time.monotonic() + 10
        while alive_in_session(proc.pid) and time.monotonic() < end:
            time.sleep(0.1)
        assert alive_in_session(proc.pid) == []
    finally:
        for pid, (_, sid, _, _) in processes().items():
            if sid == proc.pid:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)


def test_a_worker_killed_for_memory_is_reported_with_its_track(tmp_path: Path) -> None:
    proc = start_pack(tmp_path, "--engine", "test")
    try:
        def workers() -> list[int]:
            return [pid for pid, (ppid, _, state, cmd) in processes().items()
                    if ppid == proc.pid and "spawn_main" in cmd and state != "Z"]
        wait_for(lambda: len(workers()) == 2, 120, proc)
        time.sleep(0.5)
        os.kill(workers()[0], signal.SIGKILL)  # what the kernel's OOM killer does
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = err.decode()
    assert proc.returncode == 1, text
    lines = text.strip().splitlines()
    assert len(lines) == 1 and re.match(r"Error: \S+pack\.yaml:\d+:\d+: track ", lines[0])
    assert "the worker process building it was killed by SIGKILL: probably out of memory" \
        in lines[0]
    assert "internal error" not in text and "Traceback" not in text


def test_a_phrase_the_engine_says_nothing_for_in_a_worker_is_said_at_its_place(
        tmp_path: Path) -> None:
    """An attack: `pack --jobs 2` with a phrase espeak says nothing for (U+A78C) was an
    internal error (TypeError): the worker's SilentPhrase could not be unpickled."""
    (tmp_path / "silent.yaml").write_text(
        "title: Silent\nsteps:\n  - say: Hello there.\n  - say: \"\\uA78C\"\n")
    (tmp_path / "calm.yaml").write_text("title: Calm\nsteps:\n  - say: Breathe in slowly.\n")
    pack = tmp_path / "p.yaml"
    pack.write_text("title: P\ntracks:\n  - {routine: silent}\n  - {routine: calm}\n")
    proc = start_pack(tmp_path, pack=pack)
    _, err = proc.communicate(timeout=120)
    said = err.decode()
    assert proc.returncode == 6, said
    assert "internal error" not in said and "Traceback" not in said
    assert "silent.yaml:4:10: steps[1].say: the espeak engine gave only silence" in said, said
