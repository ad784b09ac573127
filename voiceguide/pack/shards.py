"""A slice of a pack (``--shard I/N``): every N-th track from track I, so that N machines
share one pack's tracks, each its own."""

from __future__ import annotations

from voiceguide.errors import UsageError, option
from voiceguide.pack.jobs import TrackJob


def parse_shard(text: str) -> tuple[int, int]:
    """``'2/4'`` -> (2, 4), checked."""
    if not isinstance(text, str):  # parse_shard(5): said, not an AttributeError
        raise UsageError(f"{option('shard')} is text such as '1/4', not {type(text).__name__}")
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise UsageError(f"{option('shard')} takes I/N such as 1/4 (got {text})") from None
    if not shard_ok((i, n)):
        raise UsageError(f"{option('shard', text)}: I must be between 1 and N")
    return i, n


def shard_ok(shard: object) -> bool:
    """Whether ``shard`` is (i, n) of whole numbers with 1 <= i <= n <= 10,000."""
    return isinstance(shard, tuple) and len(shard) == 2 and all(
        isinstance(x, int) and not isinstance(x, bool) for x in shard) \
        and 1 <= shard[0] <= shard[1] <= 10_000


def shard_of(jobs: list[TrackJob], shard: tuple[int, int] | None) -> list[TrackJob]:
    """The deterministic slice ``I/N`` of a pack: every N-th track from track I."""
    if shard is None:
        return jobs
    i, n = shard
    return [j for j in jobs if (j.n - 1) % n == i - 1]
