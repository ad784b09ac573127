"""Speech recognition as an intelligibility check (pocketsphinx, dev extra).

A language model is built from the texts the track speaks (its cue texts), as a small
bigram ARPA model with absolute discounting, over the words the CMU dictionary knows;
audio is resampled to 16 kHz with soxr and gets a faint noise floor (pocketsphinx
misreads words next to digital silence).
"""

from __future__ import annotations

import itertools
import math
import re
import tempfile
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np

ASR_RATE = 16000
NOISE_DBFS = -66.0
DISCOUNT = 0.5
_WORD = re.compile(r"[a-z']+")


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` (hyphens split words; digits dropped)."""
    return _WORD.findall(text.lower().replace("-", " "))


@lru_cache(maxsize=1)
def _cmudict() -> dict[str, list[str]]:
    import pocketsphinx

    path = Path(pocketsphinx.get_model_path()) / "en-us" / "cmudict-en-us.dict"
    pron: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        word, _, phones = line.partition(" ")
        pron.setdefault(word.split("(")[0], []).append(phones.strip())
    return pron


def _arpa(sentences: list[list[str]]) -> str:
    uni: Counter[str] = Counter()
    bi: Counter[tuple[str, str]] = Counter()
    for s in sentences:
        seq = ["<s>", *s, "</s>"]
        uni.update(seq)
        bi.update(itertools.pairwise(seq))
    total = sum(c for w, c in uni.items() if w != "<s>")
    p1 = {w: (c / total if w != "<s>" else 1e-99) for w, c in uni.items()}
    followers: dict[str, list[tuple[str, int]]] = {}
    for (a, b), c in bi.items():
        followers.setdefault(a, []).append((b, c))
    p2: dict[tuple[str, str], float] = {}
    backoff: dict[str, float] = {}
    for a, nexts in followers.items():
        n = sum(c for _, c in nexts)
        for b, c in nexts:
            p2[(a, b)] = (c - DISCOUNT) / n
        left = DISCOUNT * len(nexts) / n
        unseen = 1.0 - sum(p1[b] for b, _ in nexts if b != "<s>")
        backoff[a] = left / max(unseen, 1e-9)
    lines = ["\\data\\", f"ngram 1={len(p1)}", f"ngram 2={len(p2)}", "", "\\1-grams:"]
    for w, p in sorted(p1.items()):
        bo = backoff.get(w, 1.0)
        lines.append(f"{math.log10(p):.6f} {w} {math.log10(bo):.6f}")
    lines += ["", "\\2-grams:"]
    lines += [f"{math.log10(p):.6f} {a} {b}" for (a, b), p in sorted(p2.items())]
    lines += ["", "\\end\\", ""]
    return "\n".join(lines)


@lru_cache(maxsize=4)
def _decoder(texts: tuple[str, ...]) -> object:
    import pocketsphinx

    pron = _cmudict()
    sentences = [[w for w in words(t) if w in pron] for t in texts]
    vocab = sorted({w for s in sentences for w in s})
    folder = Path(tempfile.mkdtemp(prefix="voiceguide-asr-"))
    (folder / "lm.arpa").write_text(_arpa([s for s in sentences if s]), encoding="utf-8")
    (folder / "words.dict").write_text(
        "".join(f"{w}{'' if i == 0 else f'({i + 1})'} {p}\n"
                for w in vocab for i, p in enumerate(pron[w])), encoding="utf-8")
    return pocketsphinx.Decoder(lm=str(folder / "lm.arpa"), dict=str(folder / "words.dict"),
                                loglevel="ERROR")


def transcribe(samples: np.ndarray, sample_rate: int, texts: Iterable[str]) -> str:
    """What pocketsphinx hears in ``samples`` (float in [-1, 1] or int16, mono) with a
    language model built from ``texts``."""
    import soxr

    x = samples.astype(np.float64)
    if samples.dtype == np.int16:
        x /= 32768.0
    if sample_rate != ASR_RATE:
        x = soxr.resample(x, sample_rate, ASR_RATE)
    noise = np.random.default_rng(0).standard_normal(x.size) * 10 ** (NOISE_DBFS / 20)
    pcm = np.clip(np.round((x + noise) * 32767), -32768, 32767).astype("<i2")
    decoder = _decoder(tuple(dict.fromkeys(texts)))
    decoder.start_utt()  # type: ignore[attr-defined]
    decoder.process_raw(pcm.tobytes(), full_utt=True)  # type: ignore[attr-defined]
    decoder.end_utt()  # type: ignore[attr-defined]
    hyp = decoder.hyp()  # type: ignore[attr-defined]
    return "" if hyp is None else str(hyp.hypstr)


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference`` (edit distance over words)."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[len(hyp)] / max(1, len(ref))
