"""The language a text reads as, told by its short words: a routine's text written in
another language than the routine's is read by the wrong voice."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from voiceguide.languages import DEFAULT_LANGUAGE, base_code

_TELLING: Final = {
    "en": frozenset({"and", "are", "at", "back", "be", "can", "down", "for", "from",
                     "if", "into", "is", "it", "let", "now", "of", "or", "slowly", "that",
                     "the", "this", "to", "up", "will", "with", "you", "your"}),
    "de": frozenset({"auf", "das", "dein", "deine", "deinem", "deinen", "dem", "den",
                     "der", "dich", "die", "dir", "ein", "eine", "einen", "im",
                     "ist", "jetzt", "langsam", "lass", "mit", "nicht", "noch", "sich",
                     "und", "wenn", "wie", "zu", "zum", "zur"}),
    "es": frozenset({"ahora", "cuando", "despacio", "el", "hacia", "las", "los", "muy",
                     "pero", "sin", "también", "tus", "y"}),
    "fr": frozenset({"au", "aussi", "aux", "avec", "bien", "ce", "cette", "dans", "des",
                     "doucement", "est", "et", "lentement", "les",
                     "maintenant", "pas", "pour", "puis", "sans",
                     "sur", "très", "une", "vers", "vos", "votre", "vous"}),
    "it": frozenset({"adesso", "alla", "anche", "braccia", "che", "dal", "dalla", "degli",
                     "della", "delle", "gambe", "ginocchia", "gli", "lascia", "molto", "nel",
                     "nella", "piano", "poi", "questa", "questo", "resta", "schiena",
                     "senza", "sul", "sulla", "tua", "tue", "tuo", "tuoi", "verso"}),
    "pt": frozenset({"agora", "ao", "até", "braços", "com", "costas", "deixe", "devagar",
                     "então", "fique", "isso", "joelhos", "muito", "não", "pela", "pelo",
                     "pernas", "respiração", "sem", "seu", "seus", "sua", "suas", "uma",
                     "você"}),
}
"""Short words frequent in one language's guidance and rare in the others' (none shared:
'la', 'de', 'du', 'un', 'en', 'tu', 'que', 'no', 'non', 'con', 'il', 'e', 'um', 'da',
'lentamente', 'le', 'ne', 'ou', 'mais', 'as', 'al', 'del', 'te', 'una', 'para', 'por'
are left out), to tell the language of a text."""
_TELLING_WORDS: Final = 3
"""Telling words of another language, and none of the routine's, that make a text read as
written in that language."""


@lru_cache(maxsize=4096)  # the same words, said again at every fit
def reads_as(text: str, language: str = DEFAULT_LANGUAGE) -> str | None:
    """The code of the language ``text`` reads as, where that is not ``language`` and
    its telling words say so (at least :data:`_TELLING_WORDS` of one other language and
    none of ``language``'s), else None. A voice of ``language`` reads a text in another
    language as its own ("Inspirez" as English "inspires"; a coach's French routine
    without ``language: fr`` was read by the US English voice, and validate said
    nothing)."""
    own = base_code(language)
    if own not in _TELLING:
        return None
    words = re.findall(r"[^\W\d_]+", text.lower())
    if any(w in _TELLING[own] for w in words):
        return None
    counts = {code: sum(w in telling for w in words) for code, telling in _TELLING.items()
              if code != own}
    code, most = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    return code if most >= _TELLING_WORDS else None
