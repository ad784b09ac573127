"""German (Deutsch)."""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Final

from voiceguide.languages.base import Language

_DE_ONES: Final = (
    "null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun", "zehn",
    "elf", "zwölf", "dreizehn", "vierzehn", "fünfzehn", "sechzehn", "siebzehn", "achtzehn",
    "neunzehn",
)
_DE_TENS: Final = ("", "", "zwanzig", "dreißig", "vierzig", "fünfzig", "sechzig", "siebzig",
                   "achtzig", "neunzig")


def german_number(n: int) -> str:
    """0-999 in German words (``21`` -> ``einundzwanzig``)."""
    if n < 20:
        return _DE_ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        if not ones:
            return _DE_TENS[tens]
        return ("ein" if ones == 1 else _DE_ONES[ones]) + "und" + _DE_TENS[tens]
    hundreds, rest = divmod(n, 100)
    head = ("ein" if hundreds == 1 else _DE_ONES[hundreds]) + "hundert"
    return head + (german_number(rest) if rest else "")


GERMAN: Final = Language(
    "de", "Deutsch", ("links", "rechts"), "{title}, {side}", "Übung",
    {
        "release": ("Und loslassen.", "Lass langsam los.", "Und sanft lösen."),
        "switch": (
            "Jetzt {{ side }}. Nimm dir Zeit.",
            "Und nun {{ side }}, in deinem Tempo.",
        ),
        "breathe_in": ("Einatmen.", "Durch die Nase ein.", "Und einatmen."),
        "breathe_hold": ("Halten.", "Sanft halten."),
        "breathe_out": ("Ausatmen.", "Und ganz aus.", "Lass den Atem gehen."),
        "breathe_rest": ("Ruhe.", "Pause."),
        "breathe_alone": "Einatmen, weiter in diesem Rhythmus.",
        "breathe_alone_any": "Atme allein in diesem Rhythmus weiter.",
        "breathe_free": "Und lass den Atem wieder seinen eigenen Rhythmus finden.",
        "halfway": ("Die Hälfte ist geschafft.", "Schon die Hälfte."),
        "eyes_open": "Öffne jetzt die Augen, und lass sie offen, bis ich es sage.",
        "eyes_close": "Du kannst die Augen wieder schließen, wenn du magst.",
        "move_lying": "Nimm dir Zeit, dich hinzulegen.",
        "move_seated": "Nimm dir Zeit, dich aufzusetzen.",
        "move_kneeling": "Nimm dir Zeit, auf die Knie zu kommen.",
        "move_standing": "Nimm dir Zeit, aufzustehen.",
        "move_any": "Nimm dir Zeit, anzukommen.",
        "settle_lying": "Wenn du noch nicht liegst, nimm dir Zeit, dich hinzulegen.",
        "settle_seated": "Wenn du noch nicht sitzt, nimm dir Zeit, dich hinzusetzen.",
    },
    german_number,
    "{title} für {name}",
    "{title}, Fortsetzung",
    MappingProxyType({"seconds": "dreißig Sekunden", "breaths": "Atemzüge", "either": "oder",
                      "both": "und",
                      "once": "einmal", "twice": "zweimal", "times": "{n}mal",
                      "more": "noch {n}",
                      "range": "{a} bis {b}", "minute": "eine Minute", "minutes": "Minuten"}),
    lambda n: re.sub(r"eins$", "ein", german_number(n)),
    MappingProxyType({"bowl": "Klangschale", "bell": "Glocke", "soft": "sanfter Klang"}),
    MappingProxyType({
        "chapters": "Kapitel", "tracks": "Folgen", "transcript": "Transkript",
        "feed": "Podcast-Feed", "playlist": "Playlist", "zip": "Alle Folgen (Zip)",
        "resume": "Weiter bei", "playing": "Es läuft", "paused": "Angehalten",
        "skipped": "Übersprungen (nicht geladen): {title}.",
        "footer": "Erstellt mit voiceguide. Schließ die Augen und folge der Stimme; hör "
                  "auf, wenn etwas wehtut.",
        "download": "lade die Folge herunter",
        "not_loaded": "Diese Folge wurde nicht geladen: lade die Seite neu, oder {link}.",
        "cannot": "Dieser Browser kann das Format dieser Folge ({kind}) nicht abspielen: "
                  "{link} und spiel sie in VLC ab, oder frag nach einer MP3.",
        "your_tracks": "Deine Folgen", "one_track": "1 Folge", "tracks_count": "{n} Folgen",
        "player": "Player", "folder": "Ordner", "one_listener": "1 Person",
        "listeners_count": "{n} Personen", "one_routine": "1 Routine",
        "routines_count": "{n} Routinen",
        "overview_footer": "Erstellt mit voiceguide. Jeder Ordner enthält nur seine eigenen "
                           "Folgen: teile Feed, Player oder Zip jedes Ordners einzeln."}),
    "voiceguide-Einheiten",
    "Geführte Bewegung",
    tag_code="deu",
)
