"""A worker for testing the worker client (``python -m tests.flaky_worker MODE MARKER``):
it crashes or hangs on its first request when MARKER does not exist yet (creating it),
or on every request with MODE ``always-crash``; otherwise it writes a short tone."""

from __future__ import annotations

import os
import sys
import time
import wave
from pathlib import Path
from typing import Any

from voiceguide.speech.worker import serve


def main() -> None:
    mode, marker = sys.argv[1], Path(sys.argv[2])

    def speak(req: dict[str, Any]) -> None:
        first = not marker.exists()
        marker.touch()
        if mode == "always-crash" or (first and mode == "crash-once"):
            os.kill(os.getppid(), 9)  # the worker itself dies, not only the fork
        if first and mode == "hang-once":
            time.sleep(3600)
        with wave.open(req["path"], "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16000)
            w.writeframes(b"\x10\x00" * 1600)

    serve(dict, speak)


if __name__ == "__main__":
    main()
