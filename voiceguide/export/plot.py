"""A picture of a track: waveform, speech cues, timed intervals and chapter marks."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Final

import numpy as np

from voiceguide.audio import Audio
from voiceguide.io.atomic import write_bytes
from voiceguide.timeline import Timeline

COLOURS: Final = {
    "hold": "#e07a5f",
    "breath": "#81b29a",
    "phase": "#f2cc8f",
    "pause": "#d9d9d9",
    "rest": "#b8c5d6",
    "chime": "#9d8ec7",
}


def plot_timeline(tl: Timeline, track: Path, chunks: Iterable[Audio], title: str) -> Path:
    """Write ``<track>.png`` next to the track (``chunks``: the mix, in order) and return
    its path."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    sr = tl.sample_rate
    step = max(1, tl.total // 4000)
    env_max = np.zeros(-(-tl.total // step))
    env_min = np.zeros_like(env_max)
    pos = 0
    for chunk in chunks:
        n = chunk.size // step * step
        if n:
            blocks = chunk[:n].reshape(-1, step)
            k = blocks.shape[0]
            env_max[pos // step : pos // step + k] = blocks.max(axis=1)
            env_min[pos // step : pos // step + k] = blocks.min(axis=1)
        pos += chunk.size
    minutes = np.arange(env_max.size) * step / sr / 60
    fig, (ax_wave, ax_spans) = plt.subplots(
        2, 1, figsize=(16, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    ax_wave.fill_between(minutes, env_min, env_max, color="#3d5a80", linewidth=0)
    for cue in tl.cues:
        if cue.kind == "speech":
            ax_spans.axvspan(cue.start / sr / 60, cue.end / sr / 60, ymin=0.55, ymax=0.95,
                             color="#3d5a80")
    for iv in tl.intervals:
        colour = COLOURS.get(iv.kind)
        if colour:
            ax_spans.axvspan(iv.start / sr / 60, iv.end / sr / 60, ymin=0.05, ymax=0.45,
                             color=colour)
    for ch in tl.chapters:
        for ax in (ax_wave, ax_spans):
            ax.axvline(ch.start / sr / 60, color="#293241", linewidth=0.8, linestyle="--")
        ax_wave.text(ch.start / sr / 60, 1.02, ch.title, rotation=30, fontsize=7,
                     va="bottom", ha="left", transform=ax_wave.get_xaxis_transform())
    ax_wave.set_ylim(-1, 1)
    ax_wave.set_ylabel("level")
    ax_spans.set_yticks([0.25, 0.75], ["intervals", "speech"])
    ax_spans.set_xlabel("minutes")
    ax_spans.legend(
        handles=[Patch(color=c, label=k) for k, c in COLOURS.items()],
        loc="upper center", bbox_to_anchor=(0.5, -0.45), ncol=len(COLOURS), fontsize=8,
    )
    fig.suptitle(title, y=0.995)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    plt.close(fig)
    out = track.with_suffix(".png")
    write_bytes(out, buf.getvalue())
    return out
