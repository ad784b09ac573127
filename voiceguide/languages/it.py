"""Italian (Italiano): the listener is addressed as ``tu``, as Italian guided practice
mostly is, and no wording of the tool's own takes a gender (``Se non l'hai ancora
fatto``, not ``Se non sei ancora sdraiato/a``)."""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from voiceguide.languages.base import Language

_IT_ONES: Final = (
    "zero", "uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove",
    "dieci", "undici", "dodici", "tredici", "quattordici", "quindici", "sedici",
    "diciassette", "diciotto", "diciannove",
)
_IT_TENS: Final = ("", "", "venti", "trenta", "quaranta", "cinquanta", "sessanta",
                   "settanta", "ottanta", "novanta")


def italian_number(n: int) -> str:
    """0-999 in Italian words, written as one word (``21`` -> ``ventuno``, ``23`` ->
    ``ventitré``, ``28`` -> ``ventotto``, ``180`` -> ``centottanta``, ``250`` ->
    ``duecentocinquanta``, ``103`` -> ``centotré``)."""
    if n < 20:
        return _IT_ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        word = _IT_TENS[tens]
        if ones in (1, 8):  # the tens lose their vowel before a vowel: ventuno, trentotto
            return word[:-1] + _IT_ONES[ones]
        return word + ("tré" if ones == 3 else _IT_ONES[ones] if ones else "")
    hundreds, rest = divmod(n, 100)
    head = "cento" if hundreds == 1 else f"{_IT_ONES[hundreds]}cento"
    if not rest:
        return head
    tail = "tré" if rest == 3 else italian_number(rest)  # a "tre" that ends a compound
    # centottanta, centotto (not centoottanta); centouno is kept whole
    return (head[:-1] if tail.startswith("ott") else head) + tail


ITALIAN: Final = Language(
    "it", "Italiano", ("sinistra", "destra"), "{title}, a {side}", "Esercizio",
    {
        "release": ("E rilascia.", "Rilascia piano.", "E lascia andare, con dolcezza."),
        "switch": (
            # "il lato sinistra" is wrong: after "lato" the side is masculine (-o)
            "Ora il lato {{ side | masculine }}. Prenditi il tuo tempo.",
            "E ora il lato {{ side | masculine }}, con calma.",
        ),
        "breathe_in": ("Inspira.", "Inspira dal naso.", "E inspira."),
        "breathe_hold": ("Trattieni.", "Trattieni il respiro, senza sforzo."),
        "breathe_out": ("Espira.", "Ed espira, fino in fondo.", "Lascia uscire l'aria."),
        "breathe_rest": ("Riposa.", "Pausa."),
        "breathe_alone": "Inspira, e tieni questo ritmo.",
        "breathe_alone_any": "Continua con questo ritmo, per conto tuo.",
        "breathe_free": "E lascia che il respiro ritrovi il suo ritmo.",
        "halfway": ("Siamo a metà.", "Già a metà."),
        "eyes_open": "Ora apri gli occhi, e tienili aperti finché non te lo dico.",
        "eyes_close": "Se vuoi, puoi richiudere gli occhi.",
        "move_lying": "Prenditi il tempo per abbassarti e sdraiarti.",
        "move_seated": "Prenditi il tempo per sederti.",
        "move_kneeling": "Prenditi il tempo per metterti in ginocchio.",
        "move_standing": "Prenditi il tempo per alzarti in piedi.",
        "move_any": "Prenditi il tempo per sistemarti.",
        "settle_lying": "Se non l'hai ancora fatto, prenditi il tempo per sdraiarti.",
        "settle_seated": "Se non l'hai ancora fatto, prenditi il tempo per sederti.",
    },
    italian_number,
    "{title} per {name}",
    "{title} (continua)",
    MappingProxyType({"seconds": "trenta secondi", "breaths": "respiri", "either": "o",
                      "both": "e", "once": "una volta", "twice": "due volte",
                      "times": "{n} volte", "more": "altre {n}", "range": "da {a} a {b}",
                      "minute": "un minuto", "minutes": "minuti"}),
    # "volta" is feminine: "una volta" (but "ventuno volte", as it is mostly said)
    lambda n: "una" if n == 1 else italian_number(n),
    MappingProxyType({"bowl": "campana tibetana", "bell": "campanella",
                      "soft": "rintocco leggero"}),
    MappingProxyType({
        "chapters": "Capitoli", "tracks": "Tracce", "transcript": "Trascrizione",
        "feed": "Feed del podcast", "playlist": "Playlist", "zip": "Tutte le tracce (zip)",
        "resume": "Riprendi da", "playing": "In riproduzione", "paused": "In pausa",
        "skipped": "Traccia saltata (non si è caricata): {title}.",
        "footer": "Fatto con voiceguide. Chiudi gli occhi e segui la voce; fermati se "
                  "qualcosa fa male.",
        "download": "scarica la traccia",
        "not_loaded": "Questa traccia non si è caricata: ricarica la pagina, oppure {link}.",
        "cannot": "Questo browser non può riprodurre il formato di questa traccia ({kind}): "
                  "{link} e ascoltala con VLC, oppure chiedi un MP3.",
        "your_tracks": "Le tue tracce", "one_track": "1 traccia",
        "tracks_count": "{n} tracce", "player": "Lettore", "folder": "cartella",
        "one_listener": "1 persona", "listeners_count": "{n} persone",
        "one_routine": "1 sequenza", "routines_count": "{n} sequenze",
        "overview_footer": "Fatto con voiceguide. Ogni cartella contiene solo le proprie "
                           "tracce: condividi il feed, il lettore o lo zip di ogni "
                           "cartella separatamente."}),
    "Sessioni di voiceguide",
    "Movimento guidato",
    # "uno minuti": before a noun, "uno" is "un" (masculine) or "una" (feminine)
    # (a capital kept: "{{ reps | words | capitalize }} volte")
    ((r"\b([Uu])no(?= (?:minuto|minuti|secondo|secondi|movimento|esercizio|respiro)\b)",
      r"\1n"),
     # not "volta", also a verb: "Se uno volta la testa" (if one turns the head)
     (r"\b([Uu])no(?= (?:volte|ripetizioni)\b)", r"\1na")),
    masculine_sides=("sinistro", "destro"),
    tag_code="ita",
)
