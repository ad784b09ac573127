"""Spanish (Español)."""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Final

from voiceguide.languages.base import Language

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


SPANISH: Final = Language(
    "es", "Español", ("izquierda", "derecha"), "{title}, {side}", "Ejercicio",
    {
        "release": ("Y suelta.", "Suelta despacio.", "Y suelta con suavidad."),
        "switch": (
            # "el lado de la derecha" reads clumsily: "el lado derecho", the side as a
            # masculine noun takes it
            "Ahora, el lado {{ side | masculine }}. Tómate tu tiempo.",
            "Y ahora, el lado {{ side | masculine }}, a tu ritmo.",
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
        "resume": "Continuar en", "playing": "Reproduciendo", "paused": "En pausa",
        "skipped": "Pista omitida (no se cargó): {title}.",
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
    # "veintiuno minutos": before a noun, "uno" is "un" (masculine) or "una" (feminine)
    ((r"\bveintiuno(?= (?:minutos|segundos|movimientos|ejercicios)\b)", "veintiún"),
     (r"\buno(?= (?:minutos|segundos|movimientos|ejercicios)\b)", "un"),
     (r"\buno(?= (?:veces|respiraciones|repeticiones|horas)\b)", "una"),
     (r"\bveintiuno(?= (?:veces|respiraciones|repeticiones|horas)\b)", "veintiuna")),
    masculine_sides=("izquierdo", "derecho"),
    tag_code="spa",
)
