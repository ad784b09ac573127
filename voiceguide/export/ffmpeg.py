"""The ffmpeg that imageio-ffmpeg ships, as an encoder and a decoder.

Formats that need a codec outside lameenc (AAC, Opus, Vorbis) pipe their int16 chunks
into one ffmpeg process; tags and chapters go in as an FFMETADATA file (chapters at
exact sample positions: ``TIMEBASE=1/<rate>``). Output is bit-exact (no encoder
version strings, fixed Ogg serial numbers), so the same mix gives the same bytes.
:func:`decode` turns any file back into float samples at the decoder's own rate (to
measure what a listener hears), and :func:`roundtrip` does both on a piece of audio.
"""

from __future__ import annotations

import contextlib
import errno
import io
import queue
import shutil
import struct
import subprocess
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Final

from voiceguide.errors import OutputError
from voiceguide.export.formats import TrackTags, clean_text
from voiceguide.io.atomic import temp_full
from voiceguide.languages import iso639_2

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from voiceguide.audio import PCM
    from voiceguide.export.formats import Format
    from voiceguide.timeline import Timeline

_ESCAPE: Final = str.maketrans({c: "\\" + c for c in "=;#\\\n"})


def ffmpeg_exe() -> str:
    """Path of the bundled ffmpeg binary."""
    import imageio_ffmpeg

    exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    return exe


def tag_values(tags: TrackTags) -> dict[str, str]:
    """Tags as ffmpeg metadata keys (each muxer maps them to its own atoms/comments)."""
    values = {
        "title": clean_text(tags.title),
        "artist": clean_text(tags.artist),
        "album_artist": clean_text(tags.artist),
        "album": clean_text(tags.album),
        "genre": clean_text(tags.genre),
        "comment": " ".join(tags.comment.split()),
        "language": iso639_2(tags.language),
    }
    if tags.track is not None:
        values["track"] = str(tags.track) + (f"/{tags.total}" if tags.total else "")
    if tags.year:
        values["date"] = clean_text(tags.year)
    return {k: v for k, v in values.items() if v}


CHAPTER_TITLE_BYTES: Final = 255
"""The most UTF-8 bytes of a chapter title in an MP4's Nero ``chpl`` atom (ffmpeg cuts
there, even inside a character, which no reader can then parse)."""


def chapter_title(title: str, most: int = CHAPTER_TITLE_BYTES) -> str:
    """``title`` in at most ``most`` UTF-8 bytes, whole characters only: a longer one keeps
    its end (", left side", ", continued"), which tells a side's chapters apart, and
    loses what is before it, marked with "…"."""
    if len(title.encode()) <= most:
        return title
    tail = _whole(title[-24:], at_end=False)
    room = most - len(tail.encode()) - len("…".encode())
    head = title.encode()[:room].decode("utf-8", "ignore")
    while head and unicodedata.category(title[len(head)]) in _JOINED:
        head = head[:-1]  # its accent or modifier is past the cut: the character goes too
    return _whole(head, at_end=True).rstrip() + "…" + tail


_JOINED: Final = ("Mn", "Mc", "Me", "Sk", "Cf")
"""What belongs to the character before it: accents, emoji modifiers and joiners."""


def _whole(text: str, at_end: bool) -> str:
    """``text`` cut from a longer one (at its end, or its start), without a mark, modifier
    or joiner left from a character that went, nor half of a flag's letter pair (a
    review: a flag at the cut read as another country's)."""
    def flag(ch: str) -> bool:
        return "\U0001f1e6" <= ch <= "\U0001f1ff"

    while text and at_end and unicodedata.category(text[-1]) == "Cf":  # a joiner to
        text = text[:-1]  # what went (an accent at the end is its letter's, kept)
    while text and not at_end and unicodedata.category(text[0]) in _JOINED:
        text = text[1:]  # what was joined to a character that went
    run = 0  # flag letters at the cut: pairs, unless one lost its other half there
    while run < len(text) and flag(text[-1 - run if at_end else run]):
        run += 1
    if run % 2:
        text = text[:-1] if at_end else text[1:]
    return text


def ffmetadata(tags: TrackTags, timeline: Timeline) -> str:
    """An FFMETADATA document: global tags, then one chapter per timeline chapter (its
    title as an MP4 holds it: :func:`chapter_title`)."""
    lines = [";FFMETADATA1"]
    lines += [f"{k}={v.translate(_ESCAPE)}" for k, v in tag_values(tags).items()]
    for ch in timeline.chapters:
        title = chapter_title(clean_text(ch.title)).translate(_ESCAPE)
        lines += ["", "[CHAPTER]", f"TIMEBASE=1/{timeline.sample_rate}", f"START={ch.start}",
                  f"END={ch.end}", f"title={title}"]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class StreamEncoder:
    """One ffmpeg encoding int16 mono at ``sample_rate`` with ``codec`` options into the
    ``muxer`` (``-f`` and its options), bit-exact (no version strings, a fixed serial
    number): a segment encoder for :mod:`voiceguide.export.segmented`."""

    sample_rate: int
    codec: tuple[str, ...]
    muxer: tuple[str, ...]

    def encode(self, pcm: PCM) -> bytes:
        """The stream ffmpeg writes for ``pcm``."""
        from voiceguide.export.segmented import le16

        argv = [ffmpeg_exe(), "-nostdin", "-v", "error", "-f", "s16le", "-ar",
                str(self.sample_rate), "-ac", "1", "-i", "pipe:0", "-map_metadata", "-1",
                *self.codec, "-fflags", "+bitexact", "-flags:a", "+bitexact", *self.muxer,
                "pipe:1"]
        proc = subprocess.run(argv, input=le16(pcm).tobytes(),
                              capture_output=True, check=False)
        if proc.returncode != 0:
            raise _failed(proc.stderr, proc.returncode)
        return proc.stdout


def _failed(stderr: bytes, code: int) -> OutputError:
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    if code == 256 - errno.ENOSPC or b"No space left on device" in stderr:
        return temp_full()  # ffmpeg writes the track in the temporary folder first
    return OutputError("ffmpeg could not encode the track ("
                       + (lines[-1] if lines else f"exit code {code}") + ")")


def encode(f: BinaryIO, chunks: Iterable[PCM], sample_rate: int, codec: Sequence[str],
           muxer: Sequence[str], *, metadata: str | None = None,
           cover_png: bytes | None = None, after: Callable[[Path], None] | None = None,
           audio: Sequence[str] | None = None) -> None:
    """Pipe int16 mono ``chunks`` through ffmpeg with ``codec`` options into the
    ``muxer`` (``-f`` and its options); with ``metadata`` (FFMETADATA) as tags and
    chapters and ``cover_png`` as an attached picture. ``after(path)`` may edit the
    finished file before it is copied into ``f``. ``audio``: ffmpeg's input options for
    audio already encoded in a file, taken instead of ``chunks`` (to mux it)."""
    with tempfile.TemporaryDirectory(prefix="voiceguide-") as tmp:
        folder = Path(tmp)
        out = folder / "out"
        inputs = (list(audio) if audio is not None else
                  ["-f", "s16le", "-ar", str(sample_rate), "-ac", "1", "-i", "pipe:0"])
        maps = ["-map", "0:a"]
        if metadata is not None:
            (folder / "meta.txt").write_text(metadata, encoding="utf-8")
            inputs += ["-f", "ffmetadata", "-i", str(folder / "meta.txt")]
            maps += ["-map_metadata", "1", "-map_chapters", "1"]
        else:
            maps += ["-map_metadata", "-1", "-map_chapters", "-1"]
        if cover_png is not None:
            (folder / "cover.png").write_bytes(cover_png)
            inputs += ["-i", str(folder / "cover.png")]
            maps += ["-map", f"{2 if metadata is not None else 1}:v", "-c:v", "copy",
                     "-disposition:v:0", "attached_pic"]
        argv = [ffmpeg_exe(), "-nostdin", "-v", "error", *inputs, *maps, *codec,
                "-fflags", "+bitexact", "-flags:a", "+bitexact", *muxer, "-y", str(out)]
        with tempfile.TemporaryFile() as errors:
            proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errors,
                                    stdin=subprocess.DEVNULL if audio else subprocess.PIPE)
            try:
                if proc.stdin is not None:
                    for chunk in chunks:
                        proc.stdin.write(chunk.astype("<i2").tobytes())
                    proc.stdin.close()
            except BrokenPipeError:
                pass  # ffmpeg stopped early: its message says why
            finally:
                code = proc.wait()
            if code != 0:
                errors.seek(0)
                raise _failed(errors.read(), code)
        if after is not None:
            after(out)
        with out.open("rb") as src:
            shutil.copyfileobj(src, f)


@contextlib.contextmanager
def tagging() -> Iterator[None]:
    """mutagen's errors, as it tags ffmpeg's file, said as the project's (a tagger runs
    in it): the file lies in the temporary folder and the tags make it grow, so a full
    disk there is :func:`~voiceguide.io.atomic.temp_full`, as ffmpeg's own full disk is."""
    from mutagen import MutagenError

    try:
        yield
    except MutagenError as exc:
        cause = exc.__context__  # mutagen's error stands for the OSError under it
        if isinstance(cause, OSError) and cause.errno == errno.ENOSPC:
            raise temp_full() from exc
        raise OutputError(f"could not tag the track ({exc})") from exc


def decode(data: bytes | Path) -> tuple[npt.NDArray[np.float32], int]:
    """Decode an audio file (its bytes or its path) to mono float32 samples at the
    decoder's own sample rate; returns ``(samples, rate)``. Nothing is clipped, so
    codec overshoot above full scale shows."""
    import numpy as np

    with Decoder(io.BytesIO(data) if isinstance(data, bytes) else data) as dec:
        chunks = list(dec)
        return (np.concatenate(chunks) if chunks else np.zeros(0, np.float32)), dec.rate


class Decoder:
    """Decodes a file with ffmpeg, as mono float32 chunks at the decoder's own rate
    (``rate``), in constant memory: a path, or a binary stream read from its current
    position to its end (a piped MP3 may keep its end padding). Use as a context
    manager. ``input_format`` names ffmpeg's demuxer where probing should not guess
    (a run of bare MP3 frames: ``"mp3"``)."""

    CHUNK_BYTES: Final = 1 << 20
    AHEAD: Final = 8
    """Blocks of ``CHUNK_BYTES`` read ahead of the caller."""
    FRAME_SAMPLES: Final = 1 << 16
    """Samples ffmpeg passes on at a time after decoding (not one codec frame of 576 at a
    time: a third less of its CPU goes on handing frames between its threads; the
    samples are the same, the last frame is not padded)."""

    def __init__(self, src: BinaryIO | Path, input_format: str | None = None) -> None:
        import threading

        forced = ["-f", input_format] if input_format else []
        argv = [ffmpeg_exe(), "-nostdin", "-v", "error", *forced, "-i",
                str(src) if isinstance(src, Path) else "pipe:0", "-map", "0:a:0",
                "-ac", "1", "-af", f"asetnsamples=n={self.FRAME_SAMPLES}:p=0",
                "-c:a", "pcm_f32le", "-f", "wav", "-fflags", "+bitexact", "-"]
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__
        self._proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self._errors,
                                      stdin=subprocess.DEVNULL if isinstance(src, Path)
                                      else subprocess.PIPE)
        self._feeder = threading.Thread(target=self._feed, args=(src,), daemon=True)
        if not isinstance(src, Path):
            self._feeder.start()
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None
        self.rate = self._header()
        """Sample rate of the decoded audio."""

    def _feed(self, src: BinaryIO) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            for block in iter(lambda: src.read(self.CHUNK_BYTES), b""):
                stdin.write(block)
        except (BrokenPipeError, ValueError):
            pass  # ffmpeg stopped: its exit code says why
        finally:
            with contextlib.suppress(BrokenPipeError):
                stdin.close()

    def _read(self, n: int) -> bytes:
        assert self._proc.stdout is not None
        data = self._proc.stdout.read(n)
        if len(data) < n:
            self._fail()
        return data

    def _header(self) -> int:
        self._read(12)  # RIFF, size, WAVE
        rate = 0
        while True:
            kind, size = struct.unpack("<4sI", self._read(8))
            if kind == b"data":
                return rate
            body = self._read(size + (size & 1))
            if kind == b"fmt ":
                rate = struct.unpack("<I", body[4:8])[0]

    def _fail(self) -> None:
        code = self._proc.wait()
        self._errors.seek(0)
        lines = self._errors.read().decode("utf-8", "replace").strip().splitlines()
        raise OutputError("ffmpeg could not decode the audio ("
                          + (lines[-1] if lines else f"exit code {code}") + ")")

    def _pump(self, out: queue.Queue[bytes | None]) -> None:
        """Read ffmpeg's output ahead into ``out`` (so it decodes while the caller works
        on what came before), then None."""
        stdout = self._proc.stdout
        assert stdout is not None
        try:
            while not self._stop.is_set():
                block = stdout.read(self.CHUNK_BYTES)
                if not block:
                    break
                while not self._stop.is_set():
                    try:
                        out.put(block, timeout=0.1)
                        break
                    except queue.Full:
                        continue
        except (OSError, ValueError):
            pass  # closed under us: __exit__ is ending the decode
        finally:
            with contextlib.suppress(queue.Full):
                out.put(None, timeout=0.1 if self._stop.is_set() else None)

    def __iter__(self) -> Iterator[npt.NDArray[np.float32]]:
        import threading

        import numpy as np

        blocks: queue.Queue[bytes | None] = queue.Queue(maxsize=self.AHEAD)
        self._reader = threading.Thread(target=self._pump, args=(blocks,), daemon=True)
        self._reader.start()
        carry = b""
        while True:
            block = blocks.get()
            if block is None:
                break
            block = carry + block
            whole = len(block) // 4 * 4
            carry = block[whole:]
            yield np.frombuffer(block[:whole], dtype="<f4").astype(np.float32)
        if self._proc.wait() != 0:
            self._fail()

    def __enter__(self) -> Decoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)
        for stream in (self._proc.stdout, self._proc.stdin):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        if self._feeder.is_alive():
            self._feeder.join(timeout=5)
        self._errors.close()


def roundtrip(fmt: Format, pcm: PCM, sample_rate: int
              ) -> tuple[npt.NDArray[np.float32], int]:
    """Encode ``pcm`` with ``fmt`` (no tags, no chapters) and decode it again."""
    from voiceguide.timeline import Timeline

    buf = io.BytesIO()
    fmt.write_checked(buf, [pcm], sample_rate, TrackTags("", "", "", ""),
                      Timeline(sample_rate, int(pcm.size)))
    try:
        return decode(buf.getvalue())
    except OutputError as exc:  # a plugin's format: named
        said = fmt.blame(f"wrote a file that cannot be played: {exc}")
        if said is None:
            raise
        raise OutputError(said) from exc
