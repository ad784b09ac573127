"""Export (stage: export): formats decode to exactly what was mixed, chapters and tags,
cue sheets whose VTT and LRC agree with the JSON."""

from __future__ import annotations

import re
import subprocess
import wave
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import numpy as np
import pytest
import webvtt

from tests.conftest import ASSETS, ROOT, SR, build, decode, sheet_of
from voiceguide.languages import chime_label

pytestmark = pytest.mark.shared_phrases


def test_vtt_and_lrc_match_the_json(tmp_path: Path) -> None:
    result = build(ASSETS / "timing.yaml", tmp_path, engine="test")
    sheet = sheet_of(result.path)
    assert sheet["version"] == 1
    captions = webvtt.read(str(result.path.with_suffix(".vtt")))
    assert len(captions) == len(sheet["cues"])
    for cap, cue in zip(captions, sheet["cues"], strict=True):
        assert abs(_secs(cap.start) - cue["start"]) <= 0.001
        assert abs(_secs(cap.end) - cue["end"]) <= 0.001
    lines = re.findall(r"^\[(\d\d):(\d\d\.\d\d)\](.*)$",
                       result.path.with_suffix(".lrc").read_text(), re.M)
    assert len(lines) == len(sheet["cues"])
    for (m, s, text), cue in zip(lines, sheet["cues"], strict=True):
        assert abs(int(m) * 60 + float(s) - cue["start"]) <= 0.005
        assert text.strip() in (cue["text"], chime_label(cue["text"]))
    # the length as the CLI says it, to the nearest second (15:08.6 was [length:15:08])
    from voiceguide.export.sidecars import lrc

    assert "[length:15:09]" in lrc({**sheet, "duration": 908.6})
    total = int(round(sheet["duration"]))
    assert f"[length:{total // 60:02d}:{total % 60:02d}]" in \
        result.path.with_suffix(".lrc").read_text()


def _secs(stamp: str) -> float:
    h, m, s = stamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def _tone_timeline(seconds: float) -> tuple[Any, list[np.ndarray]]:
    from voiceguide.timeline import Chapter, Timeline

    n = int(seconds * SR)
    tl = Timeline(SR, n, chapters=[Chapter(0, n // 3, "One"), Chapter(n // 3, n, "Two, then")])
    t = np.arange(n) / SR
    pcm = (6000 * np.sin(2 * np.pi * 330 * t)).astype(np.int16)
    return tl, [pcm[i : i + SR] for i in range(0, n, SR)]


def test_mp3_decodes_to_exactly_the_samples_written(tmp_path: Path) -> None:
    from voiceguide.export.formats import TrackTags, get_format

    tl, chunks = _tone_timeline(7.3)
    path = tmp_path / "t.mp3"
    with path.open("wb") as f:
        get_format("mp3").write(f, iter(chunks), SR, TrackTags("T", "A", "B", ""), tl)
    y = decode(path)
    assert y.size == tl.total  # the Info frame's delay and padding make it gapless
    info = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-i", str(path)],
                          capture_output=True, text=True).stderr
    assert re.findall(r"title\s+: (One|Two, then)", info) == ["One", "Two, then"]
    # the LAME tag: music length (this frame on) and its own CRC-16, which decoders
    # that check it require before they trust the delay and padding
    data = path.read_bytes()
    at = data.index(b"Info")
    frame = at - 4 - 9  # header, then MPEG-2 mono side info
    lame = at + 20  # "Info", flags, frames, bytes, quality
    size = int.from_bytes(data[at + 12 : at + 16], "big")  # the Xing byte count
    assert int.from_bytes(data[lame + 28 : lame + 32], "big") == size == len(data) - frame
    assert int.from_bytes(data[lame + 34 : lame + 36], "big") == _crc16_arc(
        data[frame : lame + 34])


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> dict[str, list[int]]:
    """The MP4 boxes from ``start`` to ``end`` (the whole file): type -> offsets."""
    import struct

    found: dict[str, list[int]] = {}
    at, end = start, len(data) if end is None else end
    while at + 8 <= end:
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        size = struct.unpack(">Q", data[at + 8 : at + 16])[0] if size == 1 else size
        assert size >= 8, (kind, at)
        found.setdefault(kind.decode("latin-1"), []).append(at)
        at += size
    assert at == end
    return found


def _inside(data: bytes, at: int, *path: str) -> int:
    """Where the box at ``path`` (each the first of its type) inside the box at ``at``
    starts."""
    for kind in path:
        size = int.from_bytes(data[at : at + 4], "big")
        at = _boxes(data, at + 8, at + size)[kind][0]
    return at


def _chunk_offsets(data: bytes, trak: int) -> list[int]:
    stbl = _inside(data, trak, "mdia", "minf", "stbl")
    size = int.from_bytes(data[stbl : stbl + 4], "big")
    kids = _boxes(data, stbl + 8, stbl + size)
    kind, width = ("stco", 4) if "stco" in kids else ("co64", 8)
    at = kids[kind][0]
    n = int.from_bytes(data[at + 12 : at + 16], "big")
    return [int.from_bytes(data[at + 16 + i * width : at + 16 + (i + 1) * width], "big")
            for i in range(n)]


def test_m4a_tells_every_player_its_priming(tmp_path: Path) -> None:
    """The M4A recorded the AAC encoder's priming only in its edit list, without the
    iTunSMPB tag Apple's encoder writes, which players that trim by the tag read instead
    (ExoPlayer goes by the tag where both are there): such a player plays the 1024
    priming samples, and every cue and chapter 46 ms late. Now the tag says what the
    edit list says, as ffmpeg reads both: the priming, the padding of the last frame and
    the samples a decode gives, the cue sheet's; trimming by the tag gives the samples
    the edit list gives. The chapters stay where they were, the index before the audio,
    and every track's chunk offsets (the chapter track's too) point at its samples after
    the tag moved them."""
    result = build(ASSETS / "pack" / "reach.yaml", tmp_path, engine="test", format="m4a")
    path, sheet = result.path, result.sheet
    trace = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-v", "trace",
                            "-i", str(path)], capture_output=True, text=True).stderr
    tag = re.search(r"^\s+iTunSMPB\s+: ( 00000000 ([0-9A-F]{8}) ([0-9A-F]{8}) "
                    r"([0-9A-F]{16})(?: 00000000){8})$", trace, re.M)
    assert tag, "no iTunSMPB tag"
    delay, padding, samples = (int(tag.group(i), 16) for i in (2, 3, 4))
    edit = re.search(r"Processing st: 0, edit list 0 - media time: (\d+), duration: (\d+)",
                     trace)
    assert edit and (delay, samples) == (int(edit[1]), int(edit[2])) and delay == 1024
    frames = re.search(r"sample_size = \d+ sample_count = (\d+)", trace)  # the audio's
    assert frames and padding == int(frames[1]) * 1024 - delay - samples
    assert 0 <= padding < 1024
    played = decode(path)
    assert played.size == samples == sheet["samples"]
    # a player that goes by the tag: every frame decoded, the tag's priming and padding
    # dropped, gives the very samples the edit list gives (46 ms late without the tag)
    raw = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-ignore_editlist",
                          "1", "-i", str(path), "-map", "0:a", "-f", "s16le", "-"],
                         capture_output=True, check=True).stdout
    by_tag = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    assert np.array_equal(by_tag[delay : delay + samples], played)
    info = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                          capture_output=True, text=True).stderr
    listed = re.findall(r"Chapter #0:\d+: start (\d+\.\d+), end \S+\n\s+Metadata:\n"
                        r"\s+title\s+: (.*)\n", info)
    assert [t for _, t in listed] == [c["title"] for c in sheet["chapters"]]
    assert [float(s) for s, _ in listed] == pytest.approx(
        [c["start"] for c in sheet["chapters"]], abs=1e-3)
    data = path.read_bytes()
    top = _boxes(data)
    assert top["moov"][0] < top["mdat"][0]  # faststart
    mdat = top["mdat"][0]
    traks = _boxes(data, top["moov"][0] + 8, mdat)["trak"]
    assert len(traks) == 2
    mdat_end = mdat + int.from_bytes(data[mdat : mdat + 4], "big")
    for trak in traks:
        assert all(mdat + 8 <= o < mdat_end for o in _chunk_offsets(data, trak))
    # the chapter track's first sample: the first title, after its 16-bit length
    text = _chunk_offsets(data, traks[1])[0]
    title = sheet["chapters"][0]["title"].encode()
    assert data[text : text + 2 + len(title)] == len(title).to_bytes(2, "big") + title
    # the audio's offsets: every frame decodes without a complaint
    errors = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path),
                             "-map", "0:a", "-f", "null", "-"], capture_output=True, text=True)
    assert errors.returncode == 0 and not errors.stderr


def test_m4b_carries_the_same_gapless_tag(tmp_path: Path) -> None:
    """M4B is M4A under another brand: the same tag, from the samples written."""
    from mutagen.mp4 import MP4

    from voiceguide.export.formats import TrackTags, get_format
    from voiceguide.export.mp4 import SMPB_KEY

    tl, chunks = _tone_timeline(2.0)
    path = tmp_path / "t.m4b"
    with path.open("wb") as f:
        get_format("m4b").write(f, iter(chunks), SR, TrackTags("T", "A", "B", ""), tl)
    n = tl.total
    padding = (-(-n // 1024) + 1) * 1024 - 1024 - n
    want = f" 00000000 00000400 {padding:08X} {n:016X}" + " 00000000" * 8
    assert bytes(MP4(path)[SMPB_KEY][0]).decode() == want
    assert decode(path).size == n


def test_an_m4a_holds_long_chapter_titles_each_told_apart(tmp_path: Path) -> None:
    """A player review: an exercise titled with 64 emoji (under the 120 characters a
    routine allows) validated, and its M4A build failed: ffmpeg cut the chapter title at
    255 bytes, inside a character, and the tag could not be read. Cut between two
    characters, a side's chapters were one title three times. Each title now ends as
    it did (the side) and is read back whole."""
    from mutagen.mp4 import MP4

    from voiceguide.export.formats import TrackTags, get_format
    from voiceguide.timeline import Chapter, Timeline

    n = 3 * SR
    base = "a" + "\U0001f9d8" * 64
    titles = [base, f"{base}, links", f"{base}, rechts"]
    tl = Timeline(SR, n, chapters=[Chapter(i * SR, (i + 1) * SR, t) for i, t in enumerate(titles)])
    path = tmp_path / "t.m4a"
    with path.open("wb") as f:
        get_format("m4a").write(f, iter([np.zeros(n, np.int16)]), SR,
                                TrackTags("T", "A", "B", ""), tl)
    assert MP4(path).info.length > 0  # the tags read back
    info = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                          capture_output=True, text=True).stderr
    read = re.findall(r"Chapter #0:\d+: .*\n\s+Metadata:\n\s+title\s+: (.*)\n", info)
    assert len(read) == 3 and len(set(read)) == 3, read
    assert all(len(t.encode()) <= 255 and t.startswith("a\U0001f9d8") for t in read)
    assert read[1].endswith(", links") and read[2].endswith(", rechts")
    # a review: cut between code points, a flag became half of another country's, and an
    # accent was left without its letter
    from voiceguide.export.ffmpeg import chapter_title

    flags = chapter_title("x" * 240 + "\U0001f1eb\U0001f1f7" * 10)  # France
    assert flags.count("\U0001f1eb") == flags.count("\U0001f1f7") > 0
    assert flags.endswith("\U0001f1eb\U0001f1f7") and "x\U0001f1f7" not in flags
    accents = chapter_title("e\u0301" * 200 + ", rechts")
    assert "…\u0301" not in accents and "e…" not in accents and len(accents.encode()) <= 255


def test_a_temporary_disk_that_fills_as_the_gapless_tag_goes_in_is_named(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tag makes ffmpeg's file in the temporary folder grow: a full disk there is
    the error ffmpeg's own full disk gives, not mutagen's (an Opus file's comments gave
    mutagen's own error)."""
    import errno
    import tempfile

    import mutagen.mp4
    import mutagen.ogg

    from voiceguide.errors import OutputError
    from voiceguide.export.formats import TrackTags, get_format

    def full(*args: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(mutagen.mp4, "resize_bytes", full)
    monkeypatch.setattr(mutagen.ogg, "resize_bytes", full)  # Opus's comments likewise
    tl, chunks = _tone_timeline(1.0)
    for fmt in ("m4a", "opus"):
        with (tmp_path / f"t.{fmt}").open("wb") as f, pytest.raises(OutputError) as got:
            get_format(fmt).write(f, iter(chunks), SR, TrackTags("T", "A", "B", ""), tl)
        assert str(got.value).startswith(f"{tempfile.gettempdir()}: the disk of the "
                                         "temporary folder is full"), fmt


def test_opus_chapters_start_at_the_millisecond_the_mp3_and_cue_sheet_give(
        tmp_path: Path) -> None:
    """A chapter at 2.2227 s (sample 49011) was CHAPTER002=00:00:02.222 in an Opus
    file, truncated, where the cue sheet says 2.2227 and the MP3's CHAP 2223 ms (the
    audit's 434.628 against 434.629); now 00:00:02.223, rounded as they are."""
    import mutagen
    from mutagen.oggopus import OggOpus

    from voiceguide.export.formats import TrackTags, get_format
    from voiceguide.export.sidecars import cue_sheet
    from voiceguide.timeline import Chapter, Timeline

    _, chunks = _tone_timeline(7.3)
    n = sum(c.size for c in chunks)
    tl = Timeline(SR, n, chapters=[Chapter(0, 49011, "One"), Chapter(49011, n, "Two")])
    for fmt in ("opus", "mp3"):
        with (tmp_path / f"t.{fmt}").open("wb") as f:
            get_format(fmt).write(f, iter(chunks), SR, TrackTags("T", "A", "B", ""), tl)
    assert OggOpus(tmp_path / "t.opus")["CHAPTER002"] == ["00:00:02.223"]
    mp3 = mutagen.File(tmp_path / "t.mp3")
    assert [c.start_time for c in mp3.tags.getall("CHAP")] == [0, 2223]
    assert round(cue_sheet(tl, {})["chapters"][1]["start"], 3) == 2.223


def _crc16_arc(data: bytes) -> int:
    """CRC-16/ARC by long division (bits reflected, polynomial 0x18005): another way
    to the same value than the encoder's shift register."""
    def reflect(v: int, bits: int) -> int:
        return int(f"{v:0{bits}b}"[::-1], 2)

    value = int.from_bytes(bytes(reflect(b, 8) for b in data), "big") << 16
    for shift in range(value.bit_length() - 17, -1, -1):
        if value >> (shift + 16) & 1:
            value ^= 0x18005 << shift
    return reflect(value, 16)


def test_crc16_arc_check_value() -> None:
    from voiceguide.export.mp3 import crc16

    assert crc16(b"123456789") == _crc16_arc(b"123456789") == 0xBB3D


def test_wav_keeps_every_sample(tmp_path: Path) -> None:
    from voiceguide.export.formats import TrackTags, get_format

    tl, chunks = _tone_timeline(2.0)
    path = tmp_path / "t.wav"
    with path.open("wb") as f:
        get_format("wav").write(f, iter(chunks), SR, TrackTags("T", "A", "B", ""), tl)
    with wave.open(str(path)) as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    assert np.array_equal(data, np.concatenate(chunks))


def test_wav_carries_its_tags_and_chapters(tmp_path: Path) -> None:
    """A WAV held only `fmt ` and `data`: ffmpeg and mutagen showed no title, artist or
    anything. Now a RIFF LIST/INFO chunk before the samples (UTF-8, even lengths) and an
    ID3 chunk after them: both read the tags (ffmpeg the chapters too), and the samples
    decode as before."""
    import struct

    import mutagen

    from voiceguide.export.formats import TrackTags, get_format

    tl, chunks = _tone_timeline(2.0)
    path = tmp_path / "t.wav"
    tags = TrackTags("Sanft für die Hüften – Zoë", "Coach Ana", "Hüften", "Ein Satz.",
                     track=3, total=12)
    with path.open("wb") as f:
        f.write(b"x" * 7)  # a writer starts where the stream is
        get_format("wav").write(f, iter(chunks), SR, tags, tl)
    data = path.read_bytes()[7:]
    path.write_bytes(data)
    assert data[:4] == b"RIFF" and struct.unpack("<I", data[4:8])[0] == len(data) - 8
    order, at, info = [], 12, b""
    while at < len(data):
        cid, size = data[at : at + 4], struct.unpack("<I", data[at + 4 : at + 8])[0]
        order.append(cid)
        info = data[at + 12 : at + 8 + size] if cid == b"LIST" else info
        at += 8 + size + size % 2
    assert order == [b"fmt ", b"LIST", b"data", b"id3 "] and at == len(data)
    fields, i = {}, 0
    while i < len(info):
        size = struct.unpack("<I", info[i + 4 : i + 8])[0]
        fields[info[i : i + 4].decode()] = info[i + 8 : i + 8 + size].rstrip(b"\0").decode()
        i += 8 + size + size % 2
    assert fields["INAM"] == tags.title and fields["IART"] == "Coach Ana"
    assert fields["IPRD"] == "Hüften" and fields["ICMT"] == "Ein Satz."
    assert fields["ITRK"] == "3/12" and fields["IGNR"] == "Guided movement"
    assert fields["ISFT"].startswith("voiceguide ")
    info_out = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i",
                               str(path)], capture_output=True, text=True).stderr
    for key, value in (("title", tags.title), ("artist", "Coach Ana"), ("album", "Hüften"),
                       ("comment", "Ein Satz."), ("track", "3/12"),
                       ("genre", "Guided movement")):
        assert re.search(rf"^\s+{key}\s+: {re.escape(value)}$", info_out, re.M), key
    assert re.findall(r"title\s+: (One|Two, then)", info_out) == ["One", "Two, then"]
    read = mutagen.File(path)
    assert read.tags["TIT2"].text == [tags.title] and read.tags["TRCK"].text == ["3/12"]
    with wave.open(str(path)) as w:
        assert w.getnframes() == tl.total
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    assert np.array_equal(samples, np.concatenate(chunks))
    assert np.array_equal(decode(path), decode_plain(chunks, tmp_path))


def decode_plain(chunks: list[np.ndarray], tmp_path: Path) -> np.ndarray:
    """What the same samples decode to from a WAV of only `fmt ` and `data`."""
    plain = tmp_path / "plain.wav"
    with wave.open(str(plain), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(np.concatenate(chunks).astype("<i2").tobytes())
    return decode(plain)


def test_formats_own_their_suffix_and_mime_type() -> None:
    from voiceguide.export.formats import formats, mime_type

    assert {(f.suffix, f.mime) for f in formats().values()} >= {
        (".mp3", "audio/mpeg"), (".wav", "audio/wav")}
    assert mime_type("x.MP3") == "audio/mpeg" and mime_type("x.txt") == "application/octet-stream"


@pytest.fixture(scope="module")
def real_mix(tmp_path_factory: pytest.TempPathFactory, espeak: Any) -> np.ndarray:
    """A real mix to encode: morning-hips, espeak voice over the rain bed, as int16
    (built once for the module; read-only)."""
    wav = build(ROOT / "routines" / "morning-hips.yaml", tmp_path_factory.mktemp("mix"),
                engine_obj=espeak, format="wav", bed="rain").path
    with wave.open(str(wav)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


@pytest.mark.slow
def test_parallel_mp3_encode_is_seamless(tmp_path: Path, real_mix: np.ndarray) -> None:
    """A real track (espeak voice over the rain bed) encoded in segments on two threads
    decodes to as many samples as a serial encode, with no click at any join: within
    50 ms of every join the two decodes differ by less than -50 dB RMS. The bytes do not
    depend on the thread count or on how the mix arrives in chunks."""
    from voiceguide.export.lame import Encoder, encode_frames

    pcm = real_mix
    enc = Encoder(SR, 64, 5)
    joins: list[int] = []
    parallel = b"".join(encode_frames((pcm[i : i + 5 * SR] for i in range(0, pcm.size, 5 * SR)),
                                      enc, threads=2, joins=joins))
    assert parallel == b"".join(encode_frames((pcm[i : i + 777] for i in range(0, pcm.size, 777)),
                                              enc, threads=1))
    serial = b"".join(bytes(f) for f in enc.encode(pcm))
    (tmp_path / "p.mp3").write_bytes(parallel)
    (tmp_path / "s.mp3").write_bytes(serial)
    a, b = decode(tmp_path / "s.mp3"), decode(tmp_path / "p.mp3")
    assert a.size == b.size
    assert len(joins) >= pcm.size // (SR * 30)  # a join about every 27 s
    win = int(0.05 * SR)
    for g in joins:
        at = g * 576 + 1105  # where frame g decodes (encoder + decoder delay)
        diff = a[at - win : at + win] - b[at - win : at + win]
        assert 20 * np.log10(np.sqrt(np.mean(diff**2)) + 1e-12) < -50, g / SR * 576


def test_a_second_mp3_encode_reuses_the_segments_that_did_not_change() -> None:
    """Encoding again a mix changed in one place takes the other segments from the
    first encode: the bytes are those of a fresh encode of the changed mix, and only
    the segments holding the change were encoded again."""
    from voiceguide.export.lame import Encoder, encode_frames
    from voiceguide.export.segmented import SegmentCache, reusing_segments

    rng = np.random.default_rng(7)
    n = int(150 * SR)
    t = np.arange(n) / SR
    level = 0.2 + 0.2 * (np.sin(2 * np.pi * t / 9.0) > 0)  # loud and quiet stretches
    x = level * np.sin(2 * np.pi * 330 * t) + 0.02 * rng.standard_normal(n)
    pcm = np.round(x * 32767).astype(np.int16)
    dipped = pcm.copy()
    at = int(70 * SR)
    dipped[at : at + SR // 10] //= 2
    enc = Encoder(SR, 64, 5)

    def chunks(p: np.ndarray) -> list[np.ndarray]:
        return [p[i : i + 10 * SR] for i in range(0, p.size, 10 * SR)]

    with SegmentCache() as cache, reusing_segments(cache):
        first = b"".join(encode_frames(chunks(pcm), enc, threads=2))
        encoded = cache.misses
        again = b"".join(encode_frames(chunks(dipped), enc, threads=2))
    assert first == b"".join(encode_frames(chunks(pcm), enc, threads=1))
    assert again == b"".join(encode_frames(chunks(dipped), enc, threads=2))
    assert again != first
    assert encoded >= 5 and cache.hits == encoded - (cache.misses - encoded)
    assert 1 <= cache.misses - encoded <= 2  # the dip lies in one segment, or two


def test_mp3_segments_that_cannot_be_joined_are_encoded_as_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Where a segment's encoder needs more bit reservoir than the previous one left free
    at every frame of the join window (LAME's padding pattern runs from each encoder's
    start; morning-hips for "Dana" at 4 minutes met it, and the build failed with "no
    MP3 join"), the segment is encoded again from where the previous one starts. Refused
    at every join here, the segments are merged all the way back, so the result must be
    the very bytes one serial encoder writes, whatever the threads and chunks."""
    from voiceguide.export import lamejoin
    from voiceguide.export.lame import Encoder, encode_frames

    rng = np.random.default_rng(11)
    n = int(100 * SR)
    t = np.arange(n) / SR
    x = (0.2 + 0.2 * (np.sin(2 * np.pi * t / 7.0) > 0)) * np.sin(2 * np.pi * 220 * t)
    pcm = np.round((x + 0.02 * rng.standard_normal(n)) * 32767).astype(np.int16)
    enc = Encoder(SR, 64, 5)
    real = lamejoin.choose_join
    refused: set[tuple[int, int]] = set()

    def refusing(a: list[bytearray], a_first: int, b: list[bytearray], b_first: int,
                 quiet: int, energy: list[float]) -> int | None:
        if (a_first, b_first) not in refused and a_first != b_first:
            refused.add((a_first, b_first))
            return None
        return real(a, a_first, b, b_first, quiet, energy)

    monkeypatch.setattr(lamejoin, "choose_join", refusing)
    serial = b"".join(bytes(f) for f in enc.encode(pcm))
    for threads, size in ((2, 10 * SR), (1, 777)):
        refused.clear()
        joins: list[int] = []
        joined = b"".join(encode_frames((pcm[i : i + size] for i in range(0, pcm.size, size)),
                                        enc, threads=threads, joins=joins))
        assert len(joins) >= 2 and len(refused) == len(joins)
        assert joined == serial


def test_mp3_from_many_segments_is_gapless(tmp_path: Path) -> None:
    """A 3-minute mix written in parallel segments still decodes to exactly its samples
    (Info frame counts and padding agree with the joined stream)."""
    from voiceguide.export.formats import TrackTags, get_format

    tl, chunks = _tone_timeline(181.7)
    path = tmp_path / "t.mp3"
    with path.open("wb") as f:
        get_format("mp3").write(f, iter(chunks), SR, TrackTags("T", "A", "B", ""), tl)
    y = decode(path)
    assert y.size == tl.total
    x = np.concatenate(chunks) / 32768.0
    assert float(np.corrcoef(x, y)[0, 1]) > 0.99


def _decode48(data: bytes, tmp_path: Path, name: str) -> np.ndarray:
    """An Ogg Opus stream decoded at its own 48 kHz (float, nothing clipped)."""
    path = tmp_path / name
    path.write_bytes(data)
    out = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path),
                          "-f", "f32le", "-ac", "1", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype="<f4").astype(np.float64)


@pytest.mark.slow
def test_parallel_opus_encode_is_seamless(tmp_path: Path, real_mix: np.ndarray) -> None:
    """A real track (espeak voice over the rain bed) encoded as Opus in segments by two
    ffmpeg processes and joined into one Ogg stream decodes to as many samples as one
    ffmpeg's encode, with no click at any join: within 50 ms of every join the two
    decodes differ by less than -50 dB RMS (the joins fall in pauses; elsewhere the two
    differ as two encodings do, libopus's VBR state being history-dependent). The bytes
    do not depend on the thread count or on how the mix arrives in chunks."""
    import io

    from voiceguide.export.oggjoin import OPUS_RATE, encode_joined, opus_encoder
    from voiceguide.export.opus import CODEC

    pcm = real_mix
    enc = opus_encoder(SR, CODEC)
    joins: list[int] = []
    parallel, again = io.BytesIO(), io.BytesIO()
    encode_joined(parallel, (pcm[i : i + 5 * SR] for i in range(0, pcm.size, 5 * SR)), enc,
                  threads=2, joins=joins)
    encode_joined(again, (pcm[i : i + 777] for i in range(0, pcm.size, 777)), enc, threads=1)
    assert parallel.getvalue() == again.getvalue()
    assert len(joins) >= pcm.size // (SR * 75)  # a join about every minute
    a = _decode48(enc.encode(pcm), tmp_path, "s.opus")
    b = _decode48(parallel.getvalue(), tmp_path, "p.opus")
    # as long as the mix, to the sample (the resampler ends on the sample that covers
    # the mix's last: 13,334,955.1 samples at 48 kHz decode as 13,334,956)
    assert a.size == b.size and abs(a.size - pcm.size * OPUS_RATE / SR) < 1
    win = int(0.05 * OPUS_RATE)
    for g in joins:
        at = g * OPUS_RATE // 50 - 312  # where packet g decodes (after the pre-skip)
        diff = a[at - win : at + win] - b[at - win : at + win]
        assert 20 * np.log10(np.sqrt(np.mean(diff**2)) + 1e-12) < -50, g / 50


def test_a_second_opus_encode_reuses_the_segments_that_did_not_change() -> None:
    """As for MP3: encoding again a mix dipped in one place encodes only the segment
    holding the dip, and gives the bytes a fresh encode of the dipped mix gives."""
    import io

    from voiceguide.export.oggjoin import encode_joined, opus_encoder
    from voiceguide.export.opus import CODEC
    from voiceguide.export.segmented import SegmentCache, reusing_segments

    rng = np.random.default_rng(7)
    n = int(150 * SR)
    t = np.arange(n) / SR
    level = 0.2 * (np.sin(2 * np.pi * t / 9.0) > 0)  # speech-like stretches and pauses
    x = level * np.sin(2 * np.pi * 330 * t) + 0.002 * rng.standard_normal(n)
    pcm = np.round(x * 32767).astype(np.int16)
    dipped = pcm.copy()
    at = int(20 * SR)
    dipped[at : at + SR // 10] //= 2
    enc = opus_encoder(SR, CODEC)

    def encoded(p: np.ndarray) -> bytes:
        out = io.BytesIO()
        encode_joined(out, (p[i : i + 10 * SR] for i in range(0, p.size, 10 * SR)), enc,
                      threads=2)
        return out.getvalue()

    with SegmentCache() as cache, reusing_segments(cache):
        first = encoded(pcm)
        segments = cache.misses
        second = encoded(dipped)
    assert segments >= 2 and second != first
    assert cache.misses - segments == 1 and cache.hits == segments - 1
    assert second == encoded(dipped)


@pytest.mark.slow
def test_parallel_aac_encode_is_seamless(tmp_path: Path, espeak: Any,
                                         real_mix: np.ndarray) -> None:
    """The same for AAC: segments encoded to ADTS by two ffmpeg processes and joined
    decode to as many samples as one ffmpeg's encode, and within 50 ms of every join
    the two decodes differ by less than -50 dB RMS; a real track's M4A made of joined
    frames decodes to exactly the samples mixed, with the chapters at their places."""
    import io

    from voiceguide.export.aacjoin import FRAME, aac_encoder, join_frames
    from voiceguide.export.mp4 import CODEC

    pcm = real_mix
    enc = aac_encoder(SR, CODEC)
    joins: list[int] = []
    parallel, again = io.BytesIO(), io.BytesIO()
    assert join_frames(parallel, (pcm[i : i + 5 * SR] for i in range(0, pcm.size, 5 * SR)),
                       enc, threads=2, joins=joins) == pcm.size
    join_frames(again, (pcm[i : i + 777] for i in range(0, pcm.size, 777)), enc, threads=1)
    assert parallel.getvalue() == again.getvalue()
    assert len(joins) >= pcm.size // (SR * 75)
    (tmp_path / "s.aac").write_bytes(enc.encode(pcm))
    (tmp_path / "p.aac").write_bytes(parallel.getvalue())
    a, b = decode(tmp_path / "s.aac"), decode(tmp_path / "p.aac")
    assert a.size == b.size
    win = int(0.05 * SR)
    for g in joins:
        at = (g + 1) * FRAME  # where frame g decodes (after the priming frame)
        diff = a[at - win : at + win] - b[at - win : at + win]
        assert 20 * np.log10(np.sqrt(np.mean(diff**2)) + 1e-12) < -50, g * FRAME / SR
    # a real track's M4A (chapters up to 97 s long): exactly the samples mixed, and the
    # chapters where the cue sheet has them (ADTS time stamps handed on unconverted
    # dropped every chapter to 0 s)
    track = build(ROOT / "routines" / "five-somatic-hip-exercises.yaml", tmp_path / "m4a",
                  engine_obj=espeak, format="m4a", bed="rain").path
    sheet = sheet_of(track)
    assert decode(track).size == sheet["samples"]
    info = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-i", str(track)],
                          capture_output=True, text=True).stderr
    starts = [float(s) for s in re.findall(r"Chapter #0:\d+: start (\d+\.\d+)", info)]
    assert starts == pytest.approx([c["start"] for c in sheet["chapters"]], abs=1e-3)
    assert max(c["end"] - c["start"] for c in sheet["chapters"]) > 76


def test_each_format_tags_the_language_the_track_speaks(tmp_path: Path, espeak: Any) -> None:
    """A German track said 'eng' in its MP3 comment, 'Chapters' as its chapter list's
    title and no language anywhere (a French-speaking coach's review): every format now
    names the routine's language as its tag kind asks (ISO 639-2)."""
    import mutagen
    from mutagen.id3 import ID3

    from voiceguide.export.formats import TrackTags, get_format

    routine = tmp_path / "de.yaml"
    routine.write_text("title: Kurz\nlanguage: de-AT\nauthor: Ana\ndescription: Ein Satz.\n"
                       "steps:\n  - section: Anfang\n    steps: [{say: Hallo.}]\n"
                       "  - section: Ende\n    steps: [{say: Tschüss.}]\n")
    mp3 = build(routine, tmp_path / "built", engine_obj=espeak).path
    tag = ID3(mp3)
    assert tag.getall("TLAN")[0].text == ["deu"]
    assert [c.lang for c in tag.getall("COMM")] == ["deu"]
    assert str(tag.getall("CTOC")[0].sub_frames["TIT2"]) == "Kapitel"
    tl, chunks = _tone_timeline(2.0)
    probe: dict[str, str] = {}
    for fmt, language in (("m4a", "fr"), ("m4b", "es"), ("opus", "de"), ("wav", "de"),
                          ("mp3", "en")):
        path = tmp_path / f"t.{fmt}"
        with path.open("wb") as f:
            get_format(fmt).write(f, iter(chunks), SR, TrackTags("T", "A", "B", "C",
                                                                 language=language), tl)
        probe[fmt] = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i",
                                     str(path)], capture_output=True, text=True).stderr
    # an MP4's audio track carries it (its mdhd), as players and ffmpeg read it, and so
    # does its chapter track (ffmpeg left it at 0: English)
    for fmt, code in (("m4a", "fra"), ("m4b", "spa")):
        tracks = re.findall(r"Stream #0:\d\S*\((\w+)\): (Audio|Data)", probe[fmt])
        assert tracks == [(code, "Audio"), (code, "Data")], (fmt, tracks)
    opus = mutagen.File(tmp_path / "t.opus")
    assert opus is not None and opus.tags["LANGUAGE"] == ["deu"]
    wav = (tmp_path / "t.wav").read_bytes()
    assert b"ILNG\x04\x00\x00\x00deu\x00" in wav[: wav.index(b"data")]
    english = ID3(tmp_path / "t.mp3")
    assert english.getall("TLAN")[0].text == ["eng"]
    assert str(english.getall("CTOC")[0].sub_frames["TIT2"]) == "Chapters"


def test_captions_start_a_countdowns_words_with_a_capital(tmp_path: Path) -> None:
    """A French listening audit: the countdown read "trois", "deux", "un" in the
    subtitles and the player's transcript, every other line a sentence. Shown with a
    capital; the cue sheet keeps the words as said."""
    import json

    from voiceguide.export.sidecars import cue_label

    routine = tmp_path / "r.yaml"
    routine.write_text("title: R\nsteps:\n  - say: Lie down.\n"
                       "  - hold: {seconds: 12, say: Stay here., countdown: 3, "
                       "release: And let go.}\n")
    built = build(routine, tmp_path / "out", engine="test")
    cues = json.loads(built.path.with_suffix(".cues.json").read_text())["cues"]
    said = [c["text"] for c in cues if c["kind"] == "speech"]
    assert {"three", "two", "one"} <= set(said), said
    vtt = built.path.with_suffix(".vtt").read_text().splitlines()
    lrc = built.path.with_suffix(".lrc").read_text()
    for word in ("Three", "Two", "One"):
        assert word in vtt and f"]{word}\n" in lrc, word
    assert not any(line[:1].islower() for line in vtt[1:] if line and "-->" not in line)
    assert cue_label({"kind": "speech", "text": "¿Lista?"}, {}) == "¿Lista?"
