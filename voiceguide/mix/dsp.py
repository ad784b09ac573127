"""The few signal-processing pieces the mixer needs, on numpy alone.

scipy.signal would give them too, but importing it pulls in scipy.stats, linalg and
more: about 75 MB of memory and a second of start-up for three filters. Here:

- the BS.1770 K-weighting filter (two biquads, the standard's formulas for any sample
  rate) applied by FFT convolution with its impulse response, whose energy beyond
  :func:`impulse_length` samples is below 1e-18 of the whole (float64 rounding is
  1e-16), so the result equals recursive filtering to rounding;
  a streaming form carries the tail from one chunk to the next;
- a running minimum and a running mean (the limiter's hold and smoothing);
- the 4x oversampled peaks of true-peak metering (a Kaiser-window FIR, applied as a
  matrix product of sliding windows with its phases).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]

IMPULSE: Final = 1 << 12
"""Samples of the K-weighting impulse response kept at 22.05 kHz (0.19 s), scaled with
the rate (see :func:`impulse_length`)."""
FFT_STEPS: Final = (5, 6, 8)
"""FFT sizes used: these eighths of a power of two (sizes pocketfft transforms about as
fast per sample as powers of two, wasting at most 25% rather than up to 100%)."""


def _biquad(kind: str, gain_db: float, q: float, fc: float, rate: int) -> tuple[
        list[float], list[float]]:
    """RBJ cookbook biquad coefficients (b, a), normalised so a0 = 1."""
    a = 10 ** (gain_db / 40.0)
    w0 = 2.0 * np.pi * (fc / rate)
    alpha = np.sin(w0) / (2.0 * q)
    cw = np.cos(w0)
    if kind == "high_shelf":
        sa = 2 * np.sqrt(a) * alpha
        b = [a * ((a + 1) + (a - 1) * cw + sa), -2 * a * ((a - 1) + (a + 1) * cw),
             a * ((a + 1) + (a - 1) * cw - sa)]
        den = [(a + 1) - (a - 1) * cw + sa, 2 * ((a - 1) - (a + 1) * cw),
               (a + 1) - (a - 1) * cw - sa]
    else:  # high pass
        b = [(1 + cw) / 2, -(1 + cw), (1 + cw) / 2]
        den = [1 + alpha, -2 * cw, 1 - alpha]
    return [float(v / den[0]) for v in b], [float(v / den[0]) for v in den]


@lru_cache(maxsize=4)
def k_weighting(rate: int) -> npt.NDArray[np.float64]:
    """BS.1770 K-weighting as second-order sections ``[b0 b1 b2 a0 a1 a2]`` (a high
    shelf of +4 dB at 1500 Hz, then a high pass at 38 Hz)."""
    sections = [_biquad("high_shelf", 4.0, 1 / np.sqrt(2), 1500.0, rate),
                _biquad("high_pass", 0.0, 0.5, 38.0, rate)]
    return np.array([b + a for b, a in sections], dtype=np.float64)


def impulse_length(rate: int) -> int:
    """Samples of the K-weighting impulse response kept at ``rate``: the same duration
    as :data:`IMPULSE` at 22.05 kHz (the filter's poles are fixed in Hz)."""
    return -(-IMPULSE * rate // 22050)


@lru_cache(maxsize=4)
def _impulse(rate: int) -> Floats:
    """The K-weighting filter's impulse response, :func:`impulse_length` samples."""
    size = impulse_length(rate)
    h = np.zeros(size)
    h[0] = 1.0
    for b0, b1, b2, _, a1, a2 in k_weighting(rate).tolist():
        out = [0.0] * size
        x1 = x2 = y1 = y2 = 0.0
        for i, x in enumerate(h.tolist()):
            y = b0 * x + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
            out[i] = y
            x2, x1, y2, y1 = x1, x, y1, y
        h = np.array(out)
    h.setflags(write=False)
    return h


def _fft_size(n: int) -> int:
    """The smallest size of :data:`FFT_STEPS` at least ``n``."""
    size = 1 << max(0, (n - 1).bit_length())
    if size < 8:
        return size
    return min(step * (size >> 3) for step in FFT_STEPS if step * (size >> 3) >= n)


def k_filter(x: npt.NDArray[np.floating], rate: int) -> Floats:
    """``x`` K-weighted, followed by the filter's ringing: ``len(x) +
    impulse_length(rate) - 1`` samples (starting from rest). A signal longer than one
    :func:`_block_size` FFT is filtered by overlap-add in FFTs of that size, so memory
    stays a few times the signal's and only one filter spectrum per rate is kept."""
    h = _impulse(rate)
    n = x.size + h.size - 1
    size = _block_size(rate)
    if n <= size:
        fit = _fft_size(n)
        spectrum = np.fft.rfft(x.astype(np.float64), fit)
        spectrum *= _spectrum(rate, fit)
        short: Floats = np.fft.irfft(spectrum, fit)[:n]
        return short
    step = size - h.size + 1  # new samples per block; each block rings on into the next
    blocks = -(-x.size // step)
    grid = np.zeros((blocks, step))
    grid.ravel()[: x.size] = x
    spectra = np.fft.rfft(grid, size, axis=1)
    del grid
    spectra *= _spectrum(rate, size)
    parts = np.fft.irfft(spectra, size, axis=1)
    del spectra
    out = np.zeros((blocks + 1, step))
    out[:blocks] = parts[:, :step]
    out[1:, : size - step] += parts[:, step:]
    y: Floats = out.ravel()[:n]
    return y


def _block_size(rate: int) -> int:
    """FFT size of the overlap-add K-weighting: a power of two at least four times the
    impulse response (16384 at 22.05 kHz)."""
    return max(1 << 14, 1 << (4 * impulse_length(rate) - 1).bit_length())


@lru_cache(maxsize=16)
def _spectrum(rate: int, size: int) -> npt.NDArray[np.complex128]:
    return np.fft.rfft(_impulse(rate), size)


class KFilter:
    """K-weighting of a signal that arrives in chunks (the ringing of one chunk is
    added to the next)."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.tail = np.zeros(0)

    def __call__(self, chunk: npt.NDArray[np.floating]) -> Floats:
        """The filtered samples of ``chunk`` (as many as it has)."""
        y = k_filter(chunk, self.rate)
        m = min(self.tail.size, y.size)
        y[:m] += self.tail[:m]
        rest = self.tail[m:]
        out = y[: chunk.size]
        tail = y[chunk.size :]
        if rest.size:
            tail[: rest.size] += rest
        self.tail = tail.copy()  # not a view that keeps the whole filtered chunk alive
        return out


def running_mean(x: npt.NDArray[np.floating], size: int) -> Floats:
    """Mean over a window of ``size`` samples around each sample (for an even size the
    window reaches one sample further back than forward), edges repeated."""
    if size <= 1 or x.size == 0:
        return x.astype(np.float64)
    back = size // 2
    n = x.size
    padded = np.empty(n + size - 1)  # filled in place: no copies to concatenate
    padded[:back] = x[0]
    padded[back : back + n] = x
    padded[back + n :] = x[-1]
    cs = np.empty(n + size)
    cs[0] = 0.0
    np.cumsum(padded, out=cs[1:])
    result: Floats = np.subtract(cs[size:], cs[:-size])
    result /= size
    return result


def firwin_kaiser(numtaps: int, cutoff: float, beta: float) -> Floats:
    """Low-pass FIR filter by the window method (a Kaiser window), ``cutoff`` relative to
    the Nyquist frequency, scaled to unit gain at DC (scipy.signal.firwin's design)."""
    m = np.arange(numtaps) - (numtaps - 1) / 2
    h = cutoff * np.sinc(cutoff * m) * np.kaiser(numtaps, beta)
    result: Floats = h / h.sum()
    return result


TAP_FLOOR: Final = 1e-9
"""Taps of :func:`oversampled_peaks` smaller than this fraction of the largest are
skipped: the whole-sample phase of the windowed sinc has them at 1e-17, rounding errors
of zero. Next to a sample of any size a float32 sum cannot hold them; only where every
sample near is silent do they add about 1e-18, which no threshold sees."""


def oversampled_peaks(x: npt.NDArray[np.float32], taps: npt.NDArray[np.float32], factor: int,
                      block: int = 1 << 15) -> npt.NDArray[np.float32]:
    """For each sample of ``x``, the largest magnitude among the ``factor`` values that
    upsampling with ``taps`` gives from it up to the next (scipy.signal.upfirdn, the
    filter's delay, half its odd length, removed). Computed phase by phase: output
    ``factor*m + p`` is ``x`` convolved with every ``factor``-th tap (a polyphase filter,
    ``factor`` short convolutions instead of one long one), each as a sum of shifted
    copies of ``x`` times one tap (a dozen vector multiply-adds: about three times
    faster than ``np.convolve``, which makes a short dot product per sample), block by
    block in buffers that stay in cache."""
    n = x.size
    delay = (taps.size - 1) // 2
    phases = []
    tiny = TAP_FLOOR * float(np.abs(taps).max())
    for p in range(factor):
        first = (p + delay) % factor  # phase p reads taps first, first + factor, ...
        # a tap that is zero but for rounding (the whole-sample phase of a windowed
        # sinc has one tap) adds nothing a float32 sum could hold: it is skipped
        phases.append(([(t, float(v)) for t, v in enumerate(taps[first::factor].astype(
            np.float32)) if abs(v) > tiny], (p + delay - first) // factor))
    reach = max(len(taps[p::factor]) for p in range(factor)) + 1
    padded = np.zeros(n + 2 * reach, dtype=np.float32)
    padded[reach : reach + n] = x
    out = np.empty(n, dtype=np.float32)
    acc = np.empty(min(n, block), dtype=np.float32)
    term = np.empty_like(acc)
    for a in range(0, n, block):
        m = min(n, a + block) - a
        y, tmp, dest = acc[:m], term[:m], out[a : a + m]
        for i, (h, shift) in enumerate(phases):
            # y[m] = sum_t h[t] x[m + shift - t], zero outside x
            y.fill(0.0)
            for t, tap in h:
                o = a + reach + shift - t
                np.multiply(padded[o : o + m], np.float32(tap), out=tmp)
                y += tmp
            np.abs(y, out=y)
            if i == 0:
                dest[:] = y
            else:
                np.maximum(dest, y, out=dest)
    return out
