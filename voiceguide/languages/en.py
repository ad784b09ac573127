"""English: the default language, and the words other tables fall back on."""

from __future__ import annotations

from typing import Final

from voiceguide.languages.base import Language

_EN_ONES: Final = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen",
)
_EN_TENS: Final = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy",
                   "eighty", "ninety")


def english_number(n: int) -> str:
    """0-999 in English words (``21`` -> ``twenty-one``)."""
    if n < 20:
        return _EN_ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _EN_TENS[tens] + (f"-{_EN_ONES[ones]}" if ones else "")
    hundreds, rest = divmod(n, 100)
    return f"{_EN_ONES[hundreds]} hundred" + (f" and {english_number(rest)}" if rest else "")


ENGLISH: Final = Language(
    "en", "English", ("left", "right"), "{title}, {side} side", "Exercise",
    {
        "release": ("And release.", "Slowly let it go.", "And gently release."),
        "switch": (
            # no change of position is claimed: most sides are a leg or a knee, lying still
            "Now the {{ side }} side. Take your time.",
            "And now the {{ side }} side, in your own time.",
        ),
        "breathe_in": ("Breathe in.", "In through the nose.", "And breathe in."),
        "breathe_hold": ("Hold.", "Hold softly."),
        "breathe_out": ("Breathe out.", "And out, all the way.", "Let the breath go."),
        "breathe_rest": ("Rest.", "Pause."),
        "breathe_alone": "Breathe in, keep this rhythm.",
        "breathe_alone_any": "Keep this rhythm on your own.",
        "breathe_free": "And let the breath find its own pace again.",
        "halfway": ("Halfway.", "Halfway there."),
        "eyes_open": "Open your eyes now, and keep them open until I say.",
        "eyes_close": "You can close your eyes again, if you like.",
        "move_lying": "Take your time to come down and lie down.",
        "move_seated": "Take your time to come up to sitting.",
        "move_kneeling": "Take your time to come onto your knees.",
        "move_standing": "Take your time to come up to standing.",
        "move_any": "Take your time to settle in.",
        "settle_lying": "If you are not lying down yet, take your time to lie down.",
        "settle_seated": "If you are not sitting yet, take your time to sit down.",
    },
    english_number,
)
