"""The words the tool itself speaks, per language.

A routine declares its ``language`` (default ``en``). Everything voiceguide says on its
own (the side words ``{{ side }}`` and ``{{ other_side }}``, countdown numbers, the
``words`` filter, the built-in phrases such as ``phrase('switch')`` or the breath cues,
the words that move the listener between postures) and the chapter titles it makes come
from that language's table here. A routine's own text is spoken as written.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

Phrases = Mapping[str, str | tuple[str, ...]]

_EN_FIXES: Final = MappingProxyType({
    "seconds": "thirty seconds", "breaths": "breaths", "either": "or", "both": "and",
    "once": "once",
    "twice": "twice", "times": "{n} times", "more": "{n} more", "range": "{a} to {b}",
    "minute": "a minute", "minutes": "minutes"})
"""English's words for the fixes a warning suggests (see :attr:`Language.fixes`)."""
_EN_CHIMES: Final = MappingProxyType({"bowl": "singing bowl", "bell": "bell",
                                      "soft": "soft chime"})
"""English's names of the chimes (see :attr:`Language.chimes`)."""
_EN_PAGE: Final = MappingProxyType({
    "chapters": "Chapters", "tracks": "Tracks", "transcript": "Transcript",
    "feed": "Podcast feed", "playlist": "Playlist", "zip": "All tracks (zip)",
    "resume": "Resume at",
    "footer": "Made with voiceguide. Close your eyes and follow the voice; stop if "
              "anything hurts.",
    "download": "download it",
    "not_loaded": "This track did not load: reload the page, or {link}.",
    "cannot": "This browser cannot play this track's format ({kind}): {link} and play it "
              "in VLC, or ask for an MP3.",
    "your_tracks": "Your tracks", "one_track": "1 track", "tracks_count": "{n} tracks",
    "player": "Player", "folder": "folder", "one_listener": "1 listener",
    "listeners_count": "{n} listeners", "one_routine": "1 routine",
    "routines_count": "{n} routines",
    "overview_footer": "Made with voiceguide. Each folder holds only its own tracks: "
                       "share each folder's feed, player or zip on its own."})
"""English's words of the web player page and a grouped pack's overview (see
:attr:`Language.page`)."""


@dataclass(frozen=True)
class Language:
    """What voiceguide says in one language."""

    code: str
    """ISO 639-1 code (``de``); voices whose language starts with it speak it."""
    name: str
    """The language's own name (``Deutsch``)."""
    sides: tuple[str, str]
    """The words for left and right, as ``{{ side }}`` prints them."""
    side_title: str
    """Chapter title of one side of a ``sides`` step (``{title}`` and ``{side}``)."""
    exercise: str
    """Chapter title of a ``sides`` step outside any exercise or section."""
    phrases: Phrases
    """The built-in phrases (``phrase('name')``); the first wording is the full one."""
    numbers: Callable[[int], str]
    """A whole number 0-999 in words (countdowns and the ``words`` filter)."""
    for_listener: str = "{title} for {name}"
    """A track's title when it is made for someone (``{title}`` and ``{name}``)."""
    continued: str = "{title}, continued"
    """Chapter title of what an exercise or section goes on with after a ``sides`` step
    inside it (``{title}``), so the chapter list never names one part twice."""
    fixes: Mapping[str, str] = field(default_factory=lambda: _EN_FIXES)
    """The words a warning's fix suggests to write (``seconds``, ``breaths``, ``either``, ``both``,
    ``once``, ``twice``, ``times`` and ``more`` with ``{n}``, ``range`` with ``{a}`` and
    ``{b}``, ``minute`` with its article and the plural ``minutes``)."""
    counted: Callable[[int], str] | None = None
    """A number as it counts something, where that differs from :attr:`numbers`
    (German 'ein Mal', Spanish 'una vez', 'doscientas veces'); None: :attr:`numbers`."""
    chimes: Mapping[str, str] = field(default_factory=lambda: _EN_CHIMES)
    """What a transcript calls each chime (``bowl``, ``bell``, ``soft``), shown in
    brackets where it rings: ``(Klangschale)``."""
    page: Mapping[str, str] = field(default_factory=lambda: _EN_PAGE)
    """The web player's words (headings, links, the line under the player and the
    resume button), in a listener's language where most of her tracks speak it; and
    the words of a grouped pack's overview for the coach."""
    album: str = "voiceguide sessions"
    """The album tag of a track built on its own (a pack's tracks take the pack's title)."""
    genre: str = "Guided movement"
    """The genre tag of every track: a player shows both beside the title, so a German
    track said "Guided movement" in English (a listening audit)."""


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


_ES_ONES: Final = (
    "cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez",
    "once", "doce", "trece", "catorce", "quince", "dieciséis", "diecisiete", "dieciocho",
    "diecinueve", "veinte", "veintiuno", "veintidós", "veintitrés", "veinticuatro",
    "veinticinco", "veintiséis", "veintisiete", "veintiocho", "veintinueve",
)
_ES_TENS: Final = ("", "", "", "treinta", "cuarenta", "cincuenta", "sesenta", "setenta",
                   "ochenta", "noventa")
_ES_HUNDREDS: Final = ("", "ciento", "doscientos", "trescientos", "cuatrocientos",
                       "quinientos", "seiscientos", "setecientos", "ochocientos",
                       "novecientos")


def spanish_number(n: int) -> str:
    """0-999 in Spanish words (``31`` -> ``treinta y uno``)."""
    if n < 30:
        return _ES_ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _ES_TENS[tens] + (f" y {_ES_ONES[ones]}" if ones else "")
    if n == 100:
        return "cien"
    hundreds, rest = divmod(n, 100)
    return _ES_HUNDREDS[hundreds] + (f" {spanish_number(rest)}" if rest else "")


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
        "resume": "Weiter bei",
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
)

SPANISH: Final = Language(
    "es", "Español", ("izquierda", "derecha"), "{title}, {side}", "Ejercicio",
    {
        "release": ("Y suelta.", "Suelta despacio.", "Y suelta con suavidad."),
        "switch": (
            # "el lado de la derecha" reads clumsily: "derecho" (derecha, izquierda -> -o)
            "Ahora, el lado {{ side[:-1] }}o. Tómate tu tiempo.",
            "Y ahora, el lado {{ side[:-1] }}o, a tu ritmo.",
        ),
        "breathe_in": ("Inhala.", "Toma aire por la nariz.", "E inhala."),
        "breathe_hold": ("Mantén el aire.", "Mantén el aire, con suavidad."),
        "breathe_out": ("Exhala.", "Y suelta todo el aire.", "Deja ir el aire."),
        "breathe_rest": ("Descansa.", "Pausa."),
        "breathe_alone": "Inhala, sigue este ritmo.",
        "breathe_alone_any": "Sigue este ritmo por tu cuenta.",
        "breathe_free": "Y deja que la respiración vuelva a su propio ritmo.",
        "halfway": ("Vas por la mitad.", "Ya vas por la mitad."),
        "eyes_open": "Abre ahora los ojos, y mantenlos abiertos hasta que te lo diga.",
        "eyes_close": "Puedes volver a cerrar los ojos, si quieres.",
        "move_lying": "Tómate tu tiempo para bajar y tumbarte.",
        "move_seated": "Tómate tu tiempo para sentarte.",
        "move_kneeling": "Tómate tu tiempo para ponerte de rodillas.",
        "move_standing": "Tómate tu tiempo para ponerte de pie.",
        "move_any": "Tómate tu tiempo para acomodarte.",
        "settle_lying": "Si aún no te has tumbado, tómate tu tiempo para tumbarte.",
        "settle_seated": "Si aún no te has sentado, tómate tu tiempo para sentarte.",
    },
    spanish_number,
    "{title} para {name}",
    "{title}, continuación",
    MappingProxyType({"seconds": "treinta segundos", "breaths": "respiraciones", "either": "o",
                      "both": "y",
                      "once": "una vez", "twice": "dos veces", "times": "{n} veces",
                      "more": "otras {n}",
                      "range": "{a} a {b}", "minute": "un minuto", "minutes": "minutos"}),
    lambda n: re.sub(r"uno$", "una", re.sub(r"ientos\b", "ientas", spanish_number(n))),
    MappingProxyType({"bowl": "cuenco tibetano", "bell": "campana", "soft": "campana suave"}),
    MappingProxyType({
        "chapters": "Capítulos", "tracks": "Pistas", "transcript": "Transcripción",
        "feed": "Feed de pódcast", "playlist": "Lista de reproducción",
        "zip": "Todas las pistas (zip)",
        "resume": "Continuar en",
        "footer": "Hecho con voiceguide. Cierra los ojos y sigue la voz; detente si algo "
                  "duele.",
        "download": "descarga la pista",
        "not_loaded": "Esta pista no se cargó: recarga la página o {link}.",
        "cannot": "Este navegador no puede reproducir el formato de esta pista ({kind}): "
                  "{link} y reprodúcela en VLC, o pide un MP3.",
        "your_tracks": "Tus pistas", "one_track": "1 pista", "tracks_count": "{n} pistas",
        "player": "Reproductor", "folder": "carpeta", "one_listener": "1 persona",
        "listeners_count": "{n} personas", "one_routine": "1 rutina",
        "routines_count": "{n} rutinas",
        "overview_footer": "Hecho con voiceguide. Cada carpeta contiene solo sus propias "
                           "pistas: comparte el feed, el reproductor o el zip de cada "
                           "carpeta por separado."}),
    "Sesiones de voiceguide",
    "Movimiento guiado",
)

LANGUAGES: Final[Mapping[str, Language]] = {lang.code: lang for lang in
                                            (ENGLISH, GERMAN, SPANISH)}
"""Every language voiceguide can speak its own words in, by code."""
DEFAULT_LANGUAGE: Final = "en"


def language_tag(value: str) -> str | None:
    """``value`` as a language tag (``en_US``, as a locale writes it, read as ``en-US``),
    or None where it is none (``'en-"><svg/x'``)."""
    code = value.replace("_", "-")
    return code if re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}", code) else None


def most_spoken(codes: Iterable[object]) -> str | None:
    """The language most of ``codes`` name, counted by language (``de`` and ``de-AT``
    are one), as the first of them wrote it; a tie goes to the first; what is no
    language tag (a cue sheet's ``'"><script>'``, ``5``) is not counted. None: none."""
    tags = [t for t in (language_tag(c) if isinstance(c, str) else None for c in codes) if t]
    counts = Counter(base_code(t) for t in tags)  # first-seen order among equal counts
    if not counts:
        return None
    top = counts.most_common(1)[0][0]
    return next(t for t in tags if base_code(t) == top)


def or_english(code: str) -> Language:
    """The table for ``code``, or English's where ``code``'s has not been written (a
    region is ignored: ``de-AT`` is German)."""
    return LANGUAGES.get(base_code(code), ENGLISH)


def words_language(code: str) -> str:
    """The language whose page words :func:`page_words` gives for ``code``."""
    return or_english(code).code


def base_code(code: str) -> str:
    """The language part of a code (``de-AT`` -> ``de``), lower-case."""
    return code.replace("_", "-").split("-")[0].lower()


def get_language(code: str) -> Language:
    """The table for ``code`` (a region such as ``-AT`` is ignored); KeyError if none."""
    return LANGUAGES[base_code(code)]


def track_title(code: str, title: str, name: str | None) -> str:
    """A track's title: the routine's ``title``, made for ``name`` if there is one (with
    a dash where the title already says its "for": "Sanft für die Hüften – Jürgen", not
    "... für die Hüften für Jürgen")."""
    if not name:
        return title
    pattern = get_language(code).for_listener
    word = pattern.removeprefix("{title}").removesuffix("{name}").strip()
    if word and re.search(rf"(?<!\w){re.escape(word)}(?!\w)", title, re.I):
        return f"{title} – {name}"
    return pattern.format(title=title, name=name)


def chime_label(name: str, code: str = DEFAULT_LANGUAGE) -> str:
    """Chime ``name`` as a transcript in language ``code`` shows it: ``(Klangschale)``
    (a language without a table, as an old cue sheet's, in English)."""
    words = or_english(code).chimes
    return f"({words.get(name, f'{name} chime')})"


def page_words(code: str = DEFAULT_LANGUAGE) -> Mapping[str, str]:
    """The web player's words in language ``code`` (English where it has none)."""
    return or_english(code).page


def page_count(words: Mapping[str, str], n: int, what: str) -> str:
    """``n`` of ``what`` (``track``, ``listener``, ``routine``) in a page's ``words``
    (see :func:`page_words`): "1 track", "3 tracks", never "1 tracks"."""
    return words[f"one_{what}"] if n == 1 else words[f"{what}s_count"].format(n=n)


def number_words(value: object, code: str = DEFAULT_LANGUAGE) -> str:
    """A whole number 0-999 in words of language ``code``; other values unchanged."""
    try:
        n = int(str(value))
    except ValueError:
        return str(value)
    if not 0 <= n <= 999:
        return str(n)
    return get_language(code).numbers(n)


def speaks(voice_languages: tuple[str, ...], code: str) -> bool:
    """Whether a voice with these language codes speaks language ``code``."""
    return any(base_code(v) == base_code(code) for v in voice_languages)
