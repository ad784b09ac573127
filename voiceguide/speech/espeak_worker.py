"""Worker process for the pyttsx3/espeak-ng engine (``python -m voiceguide.speech.espeak_worker``).

Runs in its own process so that espeak's ``exit()`` on bad data, a crash in the C
library or a hang cannot take the caller down; the caller restarts it. Requests arrive
as JSON lines on stdin; answers go out as JSON lines on a duplicate of stdout, while the
real stdout (where pyttsx3 prints "Audio saved to ...") goes to /dev/null.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import time
import wave
from typing import Any, Final

WAIT_FILE_SECONDS: Final = 2.0


def _complete(path: str) -> bool:
    try:
        with wave.open(path, "rb") as w:
            expected = 44 + w.getnframes() * w.getsampwidth() * w.getnchannels()
        return os.path.getsize(path) >= expected and w.getnframes() > 0
    except (OSError, EOFError, wave.Error):
        return False


def main() -> None:
    """Serve synthesis requests until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process

    def send(obj: dict[str, Any]) -> None:
        out.write(json.dumps(obj) + "\n")
        out.flush()

    try:
        import espeakng_loader

        os.environ["ESPEAK_DATA_PATH"] = espeakng_loader.get_data_path()
        # Default (RTLD_LOCAL) mode: pyttsx3's later dlopen of libespeak-ng reuses it.
        ctypes.CDLL(espeakng_loader.get_library_path())
        import pyttsx3

        engine = pyttsx3.init("espeak")
        voices = [
            {
                "id": v.id,
                "name": v.name,
                "languages": [str(x) for x in (v.languages or [])],
                "gender": v.gender,
            }
            for v in engine.getProperty("voices")
        ]
    except Exception as exc:  # the caller turns this into a message naming the fix
        send({"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return
    finished: list[bool] = []
    engine.connect("finished-utterance", lambda name, completed: finished.append(completed))
    send({"ready": True, "voices": voices})
    current: dict[str, Any] = {}
    for line in sys.stdin:
        try:
            req = json.loads(line)
            if req.get("voice") != current.get("voice"):
                engine.setProperty("voice", req["voice"])
                current["voice"] = req["voice"]
            if req.get("rate") != current.get("rate"):
                engine.setProperty("rate", int(req["rate"]))
                current["rate"] = req["rate"]
            finished.clear()
            # one save_to_file per runAndWait: queued saves overwrite each other
            engine.save_to_file(req["text"], req["path"])
            engine.runAndWait()
            deadline = time.monotonic() + WAIT_FILE_SECONDS
            while not (finished and _complete(req["path"])):
                if time.monotonic() > deadline:
                    raise RuntimeError("the engine did not finish writing the audio")
                time.sleep(0.005)
            send({"ok": True})
        except Exception as exc:
            send({"ok": False, "error": f"{type(exc).__name__}: {exc}"})


if __name__ == "__main__":
    main()
