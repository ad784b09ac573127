"""Portuguese (Português): the listener is addressed in the third person's imperative
(``Inspire``, ``Solte``), said alike in Brazil and in Portugal, and no wording of the
tool's own takes a gender (``Se ainda não o fez``, not ``Se ainda não está deitado/a``).
Numbers are spelt as in Brazil (``dezesseis``), and as in Portugal for ``pt-PT`` (and
Angola's and Mozambique's ``pt-AO``, ``pt-MZ``: ``dezasseis``)."""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Final

from voiceguide.languages.base import Language

_PT_ONES: Final = (
    "zero", "um", "dois", "três", "quatro", "cinco", "seis", "sete", "oito", "nove", "dez",
    "onze", "doze", "treze", "catorze", "quinze", "dezesseis", "dezessete", "dezoito",
    "dezenove",
)
_PT_TENS: Final = ("", "", "vinte", "trinta", "quarenta", "cinquenta", "sessenta",
                   "setenta", "oitenta", "noventa")
_PT_HUNDREDS: Final = ("", "cento", "duzentos", "trezentos", "quatrocentos", "quinhentos",
                       "seiscentos", "setecentos", "oitocentos", "novecentos")


def portuguese_number(n: int) -> str:
    """0-999 in Portuguese words (``21`` -> ``vinte e um``, ``100`` -> ``cem``, ``123``
    -> ``cento e vinte e três``)."""
    if n < 20:
        return _PT_ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _PT_TENS[tens] + (f" e {_PT_ONES[ones]}" if ones else "")
    if n == 100:
        return "cem"
    hundreds, rest = divmod(n, 100)
    return _PT_HUNDREDS[hundreds] + (f" e {portuguese_number(rest)}" if rest else "")


def _feminine(words: str) -> str:
    """A number's words before a feminine noun: ``um`` -> ``uma``, ``dois`` ->
    ``duas``, ``duzentos`` -> ``duzentas`` (``vezes``, ``respirações``)."""
    return re.sub(r"\bum\b", "uma", re.sub(r"\bdois\b", "duas",
                                           re.sub(r"entos\b", "entas", words)))


_FEMININE: Final = (r"vez|vezes|hora|horas|respiração|respirações|inspiração|inspirações|"
                    r"expiração|expirações|repetição|repetições|série|séries|volta|voltas|"
                    r"rodada|rodadas|semana|semanas|posição|posições|pausa|pausas|perna|"
                    r"pernas|mão|mãos")
"""Feminine nouns a count may come before (a review found "dois voltas", "dois pausas")."""
_FEMININE_NOUNS: Final = rf"(?= (?:{_FEMININE})\b)"
_HUNDREDS_BEFORE_FEMININE: Final = rf"(?=(?: e [a-zê]+){{1,2}} (?:{_FEMININE})\b)"
"""After 'duzentos': 'e dois vezes', 'e vinte e dois vezes' (the hundreds agree too)."""
_HUNDREDS: Final = (r"\b([Dd]uz|[Tt]rez|[Qq]uatroc|[Qq]uinh|[Ss]eisc|[Ss]etec|[Oo]itoc|"
                   r"[Nn]ovec)entos")
"""The hundreds that take a feminine form (not 'movimentos', 'lentos', 'momentos')."""

PORTUGUESE: Final = Language(
    "pt", "Português", ("esquerda", "direita"), "{title}, à {side}", "Exercício",
    {
        "release": ("E solte.", "Solte devagar.", "E solte com suavidade."),
        "switch": (
            # "o lado esquerda" is wrong: after "lado" the side is masculine (-o)
            "Agora o lado {{ side | masculine }}. Sem pressa.",
            "E agora o lado {{ side | masculine }}, com calma.",
        ),
        "breathe_in": ("Inspire.", "Inspire pelo nariz.", "E inspire."),
        "breathe_hold": ("Segure o ar.", "Segure o ar, sem esforço."),
        "breathe_out": ("Expire.", "E solte todo o ar.", "Deixe o ar sair."),
        "breathe_rest": ("Descanse.", "Pausa."),
        "breathe_alone": "Inspire, e mantenha este ritmo.",
        "breathe_alone_any": "Continue neste ritmo, por conta própria.",
        "breathe_free": "E deixe a respiração voltar ao seu próprio ritmo.",
        "halfway": ("Chegamos à metade.", "Metade do caminho."),
        "eyes_open": "Abra os olhos agora, e mantenha-os abertos até eu avisar.",
        "eyes_close": "Pode fechar os olhos de novo, se quiser.",
        "move_lying": "Leve o tempo que precisar para se abaixar e se deitar.",
        "move_seated": "Leve o tempo que precisar para se sentar.",
        "move_kneeling": "Leve o tempo que precisar para ficar de joelhos.",
        "move_standing": "Leve o tempo que precisar para ficar de pé.",
        "move_any": "Leve o tempo que precisar para se acomodar.",
        "settle_lying": "Se ainda não o fez, leve o tempo que precisar para se deitar.",
        "settle_seated": "Se ainda não o fez, leve o tempo que precisar para se sentar.",
    },
    portuguese_number,
    "{title} para {name}",
    "{title}, continuação",
    MappingProxyType({"seconds": "trinta segundos", "breaths": "respirações", "either": "ou",
                      "both": "e", "once": "uma vez", "twice": "duas vezes",
                      "times": "{n} vezes", "more": "mais {n}", "range": "de {a} a {b}",
                      "minute": "um minuto", "minutes": "minutos"}),
    # "vez" is feminine: "uma vez", "duas vezes", "duzentas vezes"
    lambda n: _feminine(portuguese_number(n)),
    MappingProxyType({"bowl": "taça tibetana", "bell": "sino", "soft": "sino suave"}),
    MappingProxyType({
        "chapters": "Capítulos", "tracks": "Faixas", "transcript": "Transcrição",
        "feed": "Feed do podcast", "playlist": "Playlist", "zip": "Todas as faixas (zip)",
        "resume": "Continuar em", "playing": "Em reprodução", "paused": "Em pausa",
        "skipped": "Faixa ignorada (não carregou): {title}.",
        "footer": "Feito com voiceguide. Feche os olhos e siga a voz; pare se algo doer.",
        "download": "faça o download da faixa",
        "not_loaded": "Esta faixa não carregou: recarregue a página, ou {link}.",
        "cannot": "Este navegador não reproduz o formato desta faixa ({kind}): {link} e "
                  "ouça no VLC, ou peça um MP3.",
        "your_tracks": "As suas faixas", "one_track": "1 faixa", "tracks_count": "{n} faixas",
        "player": "Player", "folder": "pasta", "one_listener": "1 pessoa",
        "listeners_count": "{n} pessoas", "one_routine": "1 sequência",
        "routines_count": "{n} sequências",
        "overview_footer": "Feito com voiceguide. Cada pasta contém só as suas próprias "
                           "faixas: envie o feed, o player ou o zip de cada pasta "
                           "separadamente."}),
    "Sessões do voiceguide",
    "Movimento guiado",
    # "{{ n | words }} vezes" with n = 2 said "dois vezes": a number before a feminine
    # noun takes its feminine form (uma, duas, duzentas; a capital kept)
    ((rf"\b([Uu])m{_FEMININE_NOUNS}", r"\1ma"), (rf"\b([Dd])ois{_FEMININE_NOUNS}", r"\1uas"),
     (rf"{_HUNDREDS}{_FEMININE_NOUNS}", r"\1entas"),
     (rf"{_HUNDREDS}{_HUNDREDS_BEFORE_FEMININE}", r"\1entas")),
    regional_page=MappingProxyType({"pt-pt": MappingProxyType({
        "player": "Leitor", "download": "descarregue a faixa",
        "cannot": "Este navegador não reproduz o formato desta faixa ({kind}): {link} e "
                  "oiça-a no VLC, ou peça um MP3.",
        "overview_footer": "Feito com voiceguide. Cada pasta contém só as suas próprias "
                           "faixas: partilhe o feed, o leitor ou o zip de cada pasta "
                           "separadamente."})}),
    regional_numbers=MappingProxyType(dict.fromkeys(("pt-pt", "pt-ao", "pt-mz"), (
        ("dezesseis", "dezasseis"), ("dezessete", "dezassete"), ("dezenove", "dezanove")))),
    masculine_sides=("esquerdo", "direito"),
    tag_code="por",
)
