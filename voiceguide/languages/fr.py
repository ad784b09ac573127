"""French (Français): the listener is addressed as ``vous``, as French guided practice
mostly is, and no wording of the tool's own takes a gender (``Si ce n'est pas encore
fait``, not ``Si vous n'êtes pas encore allongé·e``)."""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Final

from voiceguide.languages.base import Language

_FR_ONES: Final = (
    "zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix",
    "onze", "douze", "treize", "quatorze", "quinze", "seize", "dix-sept", "dix-huit",
    "dix-neuf",
)
_FR_TENS: Final = ("", "", "vingt", "trente", "quarante", "cinquante", "soixante")


def french_number(n: int) -> str:
    """0-999 in French words, in the traditional spelling (``21`` -> ``vingt et un``,
    ``71`` -> ``soixante et onze``, ``80`` -> ``quatre-vingts``, ``200`` -> ``deux
    cents``)."""
    if n < 20:
        return _FR_ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        if tens == 7:  # sixty and ten to nineteen
            return "soixante et onze" if ones == 1 else f"soixante-{_FR_ONES[10 + ones]}"
        if tens == 9:  # four twenties and ten to nineteen
            return f"quatre-vingt-{_FR_ONES[10 + ones]}"
        if tens == 8:
            return f"quatre-vingt-{_FR_ONES[ones]}" if ones else "quatre-vingts"
        if not ones:
            return _FR_TENS[tens]
        return _FR_TENS[tens] + (" et un" if ones == 1 else f"-{_FR_ONES[ones]}")
    hundreds, rest = divmod(n, 100)
    head = "cent" if hundreds == 1 else f"{_FR_ONES[hundreds]} cent" + ("" if rest else "s")
    return head + (f" {french_number(rest)}" if rest else "")


FRENCH: Final = Language(
    "fr", "Français", ("gauche", "droite"), "{title}, à {side}", "Exercice",
    {
        "release": ("Et relâchez.", "Relâchez lentement.", "Et relâchez en douceur."),
        "switch": (
            # "le côté droite" is wrong: the side is masculine after "côté"
            "Maintenant, le côté {{ side | masculine }}. Prenez votre temps.",
            "Et maintenant, le côté {{ side | masculine }}, à votre rythme.",
        ),
        "breathe_in": ("Inspirez.", "Inspirez par le nez.", "Et inspirez."),
        "breathe_hold": ("Retenez.", "Retenez doucement."),
        "breathe_out": ("Expirez.", "Et expirez, jusqu'au bout.", "Laissez partir le souffle."),
        "breathe_rest": ("Repos.", "Pause."),
        "breathe_alone": "Inspirez, gardez ce rythme.",
        "breathe_alone_any": "Gardez ce rythme, à votre façon.",
        "breathe_free": "Et laissez le souffle retrouver son propre rythme.",
        "halfway": ("À mi-chemin.", "Déjà la moitié."),
        "eyes_open": "Ouvrez les yeux maintenant, et gardez-les ouverts jusqu'à ce que je "
                     "vous le dise.",
        "eyes_close": "Vous pouvez refermer les yeux, si vous le souhaitez.",
        "move_lying": "Prenez votre temps pour descendre et vous allonger.",
        "move_seated": "Prenez votre temps pour vous asseoir.",
        "move_kneeling": "Prenez votre temps pour vous mettre à genoux.",
        "move_standing": "Prenez votre temps pour vous mettre debout.",
        "move_any": "Prenez votre temps pour vous installer.",
        "settle_lying": "Si ce n'est pas encore fait, prenez votre temps pour vous allonger.",
        "settle_seated": "Si ce n'est pas encore fait, prenez votre temps pour vous asseoir.",
    },
    french_number,
    "{title} pour {name}",
    "{title}, suite",
    MappingProxyType({"seconds": "trente secondes", "breaths": "respirations", "either": "ou",
                      "both": "et",
                      "once": "une fois", "twice": "deux fois", "times": "{n} fois",
                      "more": "encore {n}",
                      "range": "{a} à {b}", "minute": "une minute", "minutes": "minutes"}),
    # "fois" is feminine: "une fois", "vingt et une fois"
    lambda n: re.sub(r"\bun$", "une", french_number(n)),
    MappingProxyType({"bowl": "bol chantant", "bell": "cloche", "soft": "carillon doux"}),
    MappingProxyType({
        "chapters": "Chapitres", "tracks": "Pistes", "transcript": "Transcription",
        "feed": "Flux du podcast", "playlist": "Liste de lecture",
        "zip": "Toutes les pistes (zip)",
        "resume": "Reprendre à", "playing": "Lecture en cours", "paused": "En pause",
        "skipped": "Piste sautée (elle ne s'est pas chargée) : {title}.",
        "footer": "Fait avec voiceguide. Fermez les yeux et suivez la voix ; arrêtez si "
                  "quelque chose fait mal.",
        "download": "téléchargez la piste",
        "not_loaded": "Cette piste ne s'est pas chargée : rechargez la page, ou {link}.",
        "cannot": "Ce navigateur ne peut pas lire le format de cette piste ({kind}) : "
                  "{link} et écoutez-la dans VLC, ou demandez un MP3.",
        "your_tracks": "Vos pistes", "one_track": "1 piste", "tracks_count": "{n} pistes",
        "player": "Lecteur", "folder": "dossier", "one_listener": "1 personne",
        "listeners_count": "{n} personnes", "one_routine": "1 routine",
        "routines_count": "{n} routines",
        "overview_footer": "Fait avec voiceguide. Chaque dossier ne contient que ses propres "
                           "pistes : partagez le flux, le lecteur ou le zip de chaque "
                           "dossier séparément."}),
    "Séances voiceguide",
    "Mouvement guidé",
    # "vingt et un minutes": a number ending in "un" before a feminine noun is "une"
    ((r"\bun(?= (?:minutes|secondes|heures|fois|respirations|inspirations|expirations|"
      r"répétitions)\b)", "une"),),
    masculine_sides=("gauche", "droit"),
    tag_code="fra",
)
