"""MPEG audio layer III frames as they lie in a file: header fields, frame sizes, side
information, the bit-reservoir pointer, and where each audio frame of an MP3 lies and
which samples it decodes to (the encoder joins segments with these; delivery decodes
only the frames an encode changed)."""

from __future__ import annotations

import struct
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Final

DECODER_DELAY: Final = 529
"""Samples a layer III decoder's filter banks delay its output by (the LAME tag's
encoder delay is counted without it)."""

BITRATES_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_BITRATES_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def frame_info(header: int) -> tuple[int, int]:
    """(frame size in bytes, samples per frame) for an MPEG audio layer III header."""
    version = (header >> 19) & 3
    br_index = (header >> 12) & 15
    sr_index = (header >> 10) & 3
    padding = (header >> 9) & 1
    rate = _RATES[version][sr_index]
    if version == 3:
        return 144 * _BITRATES_V1[br_index] * 1000 // rate + padding, 1152
    return 72 * BITRATES_V2[br_index] * 1000 // rate + padding, 576


def side_info_size(header: int) -> int:
    """Bytes of header, CRC and side information before a frame's main data."""
    version = (header >> 19) & 3
    mono = (header >> 6) & 3 == 3
    side = (32 if not mono else 17) if version == 3 else (17 if not mono else 9)
    crc = 0 if (header >> 16) & 1 else 2
    return 4 + crc + side


def main_data_begin(frame: bytes | bytearray) -> int:
    """How many bytes of earlier frames' main data this frame's audio starts before it."""
    header = struct.unpack(">I", frame[:4])[0]
    pos = 4 if (header >> 16) & 1 else 6
    if (header >> 19) & 3 == 3:  # MPEG-1: 9 bits
        return (frame[pos] << 1) | (frame[pos + 1] >> 7)
    return frame[pos]  # MPEG-2/2.5: 8 bits


def split_frames(data: bytes) -> list[bytearray]:
    """The MPEG frames of an encoder's output, one bytearray each."""
    out: list[bytearray] = []
    sizes: dict[int, int] = {}  # an encoder writes few distinct headers
    unpack = struct.Struct(">I").unpack_from
    view = memoryview(data)
    i, n = 0, len(data)
    while i + 4 <= n:
        header = unpack(data, i)[0]
        size = sizes.get(header)
        if size is None:
            if header >> 21 != 0x7FF:
                raise ValueError("lost MPEG frame sync")
            size = sizes[header] = frame_info(header)[0]
        out.append(bytearray(view[i : i + size]))
        i += size
    return out


@dataclass(frozen=True)
class FrameMap:
    """Where the audio frames of an MP3 file lie, and which samples each decodes to."""

    offsets: Sequence[int]
    """Byte offset of each audio frame (after the ID3 tag and the Info frame), then the
    offset where the last one ends."""
    samples_per_frame: int
    delay: int
    """Samples a decoder drops at the start (encoder delay from the LAME tag plus
    :data:`DECODER_DELAY`): audio frame ``k`` decodes to the samples from
    ``k * samples_per_frame - delay`` on."""

    def position(self, sample: int) -> int:
        """Offset of the frame that decodes to ``sample`` (the file's end past it)."""
        k = (sample + self.delay) // self.samples_per_frame
        return self.offsets[min(max(0, k), len(self.offsets) - 1)]


def frame_map(f: IO[bytes], start: int, block: int = 1 << 20) -> FrameMap | None:
    """The audio frames of the MP3 file that begins at ``start`` in ``f`` (None when it
    is not an ID3-tagged stream of layer III frames behind a LAME Info frame). Reads
    ``block`` bytes at a time."""
    f.seek(start)
    head = f.read(10)
    pos = start
    if head[:3] == b"ID3" and len(head) == 10:
        pos += 10 + ((head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9])
    f.seek(pos)
    first = f.read(4096)  # the Info frame
    data, base, at = b"", pos, pos  # data: bytes from file offset base; at: next frame
    offsets = array("q")  # 8 bytes a frame (a list of ints takes 36)
    known: dict[int, tuple[int, int]] = {}  # a file has few distinct headers
    spf = 0
    unpack = struct.Struct(">I").unpack_from
    try:
        while True:
            k = at - base
            if k + 4 > len(data):
                f.seek(at)
                data, base, k = f.read(block), at, 0
                if len(data) < 4:
                    break
            header = unpack(data, k)[0]
            info = known.get(header)
            if info is None:
                if header >> 21 != 0x7FF or (header >> 17) & 3 != 1:
                    return None
                info = known[header] = frame_info(header)
            size, spf = info
            offsets.append(at)
            at += size
    except (KeyError, IndexError, ZeroDivisionError):
        return None
    end = at
    f.seek(0, 2)
    if f.tell() != end or len(offsets) < 2 or offsets[1] - pos > len(first):
        return None
    tag = side_info_size(struct.unpack(">I", first[:4])[0])
    if first[tag : tag + 4] not in (b"Info", b"Xing"):
        return None
    flags = struct.unpack(">I", first[tag + 4 : tag + 8])[0]
    lame = tag + 8 + 4 * bool(flags & 1) + 4 * bool(flags & 2) + 100 * bool(flags & 4) \
        + 4 * bool(flags & 8)
    if lame + 24 > offsets[1] - pos:
        return None
    delay = int.from_bytes(first[lame + 21 : lame + 24], "big") >> 12
    offsets.append(end)
    return FrameMap(offsets[1:], spf, delay + DECODER_DELAY)


