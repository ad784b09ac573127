"""Each language's words that the checks of :mod:`voiceguide.script.speakable` look for:
abbreviations, claims of a medical effect and the words that deny them, moves that need
open eyes, the eyes closing and opening. A language without an entry is not checked for
that (see the README's "Languages")."""

from __future__ import annotations

from typing import Final

ABBREVIATIONS: Final = {
    "en": r"Dr|Mr|Mrs|Ms|St|approx|etc|vs|e\.g|i\.e",
    "de": r"Dr|Fr|Hr|St|ca|bzw|usw|etc|Nr|z\.B|d\.h|u\.a",
    "es": r"Dr|Dra|Sr|Sra|Srta|Ud|Uds|aprox|etc|p\.ej",
    "fr": r"Dr|Mme|Mlle|env|etc|cf|p\.\s?ex|min",  # not "sec": a word ("un geste sec")
    "it": r"Dott|Dott\.ssa|Sig|Sig\.ra|ecc|ca|es|min|sec",
    "pt": r"Dr|Dra|Sr|Sra|aprox|etc|ex|min|seg",
}
"""Abbreviations of each language that a voice reads as the end of a sentence."""

_EFFECT: Final = r"(?:\s+\w+){0,3}?\s+"
"""At most three words between a verb of effect and what it would act on."""
_EN_COMPLAINT: Final = (r"(?:pain|sciatica|arthritis|inflammation|injur\w*|disease\w*|"
                        r"condition\w*|illness\w*|anxiety|depression|insomnia|trauma\w*|"
                        r"disorder\w*|hernia\w*|scoliosis|migraines?|headaches?)")
_EN_EASE: Final = r"(?!\s+(?:off|up|out|into)\b)"
"""Not the instruction 'ease off' (at any pain), 'ease up', 'ease into'."""
CLAIMS: Final = {
    "en": (r"(?:heals?|healed|cures?|cured|treats|treated)\s+(?:your|the|my|our|their|his|"
           r"her|you|yourself|any|all|back|neck|knee\w*|hips?|pain|injur\w*|arthritis|"
           r"sciatica|anxiety|depression|insomnia|trauma|disease\w*|condition\w*|illness\w*)|"
           r"(?:(?:relieves|relieved|eases|eased|reduces|reduced|lessens|soothes|fixes|fixed|"
           r"prevents(?!\s+injur)|prevented|improves|takes\s+away|helps(?:\s+with|\s+against)?|"
           r"(?:is|are)\s+(?:good|great|helpful|useful)\s+for|relief\s+(?:from|for)"
           r")|(?:will|can|may|to|could|should)\s+(?:relieve|ease|reduce|lessen|soothe|fix|"
           r"prevent(?!\s+(?:\w+\s+)?injur)|improve|heal|cure|treat|take\s+away|"
           r"help(?:\s+with|\s+against)?))" +
           _EN_EASE + _EFFECT + _EN_COMPLAINT + r"|(?:pain|sciatica|aches?|headaches?|"
           r"arthritis|anxiety|insomnia)\s+(?:will|is\s+going\s+to)\s+(?:go\s+away|"
           r"disappear|vanish|fade|melt\s+away|be\s+gone)|detox\w*|toxins?|"
           r"(?:releas|unlock|dissolv|clear|free|let\s+go\s+of)\w*(?:\s+\w+){0,3}?\s+trauma"),
    "de": (r"(?:heilt|heilen|kuriert|behandelt|lindert)\s+(?:dein\w*|die|den|das|Ihr\w*|"
           r"jede\w*|Rücken\w*|Schmerz\w*|Arthrose|Bandscheib\w*|Angst\w*|Depression\w*|"
           r"Trauma\w*|Krankheit\w*)|(?:lindert|reduziert|beseitigt|verhindert|hilft\s+"
           r"(?:bei|gegen)|(?:ist|sind)\s+gut\s+(?:für|gegen))" + _EFFECT +
           r"(?:\w*schmerz\w*|Ischias\w*|Arthrose|Entzündung\w*|Verletzung\w*|"
           r"Krankheit\w*|Angst\w*|Depression\w*|Schlaflosigkeit|Trauma\w*|Bandscheib\w*)|"
           r"\w*schmerz\w*\s+(?:(?:wird|werden)\s+)?(?:\w+\s+){0,3}?(?:verschwind\w*|"
           r"vergeh\w*)|entgift\w*|Giftstoff\w*|Toxin\w*|(?:löst|lösen) (?:\w+ )?Trauma\w*"),
    "es": (r"(?:cura|curan|curar|sana|sanan|sanar)\s+(?:tu|tus|su|sus|el|la|los|las|"
           r"cualquier|dolor\w*|artritis|ansiedad|insomnio|espalda|columna|trauma\w*|"
           r"enfermedad\w*)|(?:alivia|alivian|reduce|reducen|elimina|eliminan|quita|quitan|"
           r"previene|previenen|trata|tratan|ayuda\s+(?:con|contra)|(?:es|son)\s+buen[oa]s?"
           r"\s+para)" + _EFFECT + r"(?:dolor\w*|ciática|artritis|inflamación|lesi\w*|"
           r"enfermedad\w*|ansiedad|depresión|insomnio|trauma\w*|hernia\w*)|el\s+dolor\s+"
           r"(?:desaparecerá|se\s+irá)|desintoxic\w*|toxinas?|"
           r"liber\w*(?:\s+\w+){0,3}?\s+trauma\w*"),
    "fr": (r"(?:guérit|guérissent|guérir|soigne|soignent|soigner|traite|traitent)\s+(?:(?:votre|"
           r"vos|ton|ta|tes|le|la|les|l['’]|tout\w*)\s*)?(?:dos|douleur\w*|sciatique|arthrose|"
           r"anxiété|dépression|insomnie|traumatisme\w*|maladie\w*|blessure\w*|mal\b|maux)|"
           r"(?:soulage|soulagent|soulager|"
           r"réduit|réduisent|élimine|éliminent|supprime|suppriment|prévient|préviennent|"
           r"aide\s+(?:à\s+soulager|contre)|(?:est|sont)\s+bon(?:ne)?s?\s+(?:pour|contre))"
           r"(?:\s+\w+){0,3}?\s+(?:l['’])?(?:douleur\w*|maux|sciatique|arthrose|inflammation\w*|"
           r"blessure\w*|"
           r"maladie\w*|anxiété|dépression|insomnie|traumatisme\w*|hernie\w*)|douleur\w*\s+"
           r"(?:\w+\s+){0,2}?(?:dispara\w*|s'en\s+ir\w*)|détox\w*|toxines?|"
           r"lib[éè]r\w*(?:\s+\w+){0,3}?\s+traumatisme\w*"),
    # "con cura" is "with care"; "previene gli infortuni" a safety word, as in English
    "it": (r"(?:guari\w*|(?<!con\s)cura|curano|curare|curer\w*|tratta|trattano)\s+(?:ti\s+)?"
           r"(?:(?:il|la|lo|i|le|gli|l['’]|tuo|tua|tuoi|tue|ogni|qualsiasi|dal|dalla|dai|"
           r"dalle|dall['’])\s*){0,2}(?:schiena|mal\b|dolor\w*|lombalgia|sciatica|artrosi|"
           r"artrite|ansia|depressione|insonnia|traum\w*|malatti\w*|lesion\w*|infortun\w*|"
           r"erni\w*)|(?:fa|fanno)\s+bene\s+(?:a|al|alla|all['’]|ai|alle|agli)\s*(?:mal\b|"
           r"dolor\w*|lombalgia|sciatica|artrosi|artrite|ansia|insonnia|erni\w*)|liber\w*\s+"
           r"(?:\w+\s+)?dal(?:la|l['’])?\s*(?:dolor\w*|mal\b|ansia)|(?:allevia|alleviano|"
           r"alleviare|riduce|riducono|elimina|eliminano|toglie|tolgono|migliora|migliorano|"
           r"combatte|combattono|"
           r"previene(?!\s+(?:\w+\s+)?(?:infortun|lesion))|prevengono(?!\s+(?:\w+\s+)?"
           r"(?:infortun|lesion))|aiuta\s+(?:con|contro|a\s+ridurre)|(?:è|sono)\s+"
           r"(?:buon[oia]|ottim[oia]|utili?)\s+(?:per|contro))" + _EFFECT +
           r"(?:(?:il|la|lo|l['’]|i|le|gli)\s*)?(?:mal\b|dolor\w*|lombalgia|sciatica|artrosi|"
           r"artrite|infiammazion\w*|lesion\w*|infortun\w*|malatti\w*|ansia|depressione|"
           r"insonnia|traum\w*|ernia\w*)|(?:il\s+)?dolor\w*\s+(?:\w+\s+)"
           r"{0,2}?(?:sparir\w*|scompar\w*|se\s+ne\s+andr\w*)|disintossic\w*|detox\w*|"
           r"tossin\w*|"
           r"(?:liber|sciogli|rilasci)\w*(?:\s+\w+){0,3}?\s+(?:i\s+|il\s+)?traum\w*"),
    "pt": (r"(?:cura|curam|curar|sara|saram|trata|tratam|tratar)\s+(?:(?:a|o|as|os|seu|sua|"
           r"seus|suas|qualquer)\s+){0,2}(?:dor\w*|costas|coluna|lombar|lombalgia|ciática|artrose|"
           r"artrite|ansiedade|depressão|insônia|insónia|trauma\w*|doença\w*|lesõ\w*|lesão)|"
           r"(?:alivia|aliviam|aliviar|reduz|reduzem|elimina|eliminam|tira|tiram|melhora|"
           r"melhoram|acaba\s+com|acabam\s+com|previne(?!\s+(?:\w+\s+)?les[õã])|"
           r"previnem(?!\s+(?:\w+\s+)?les[õã])|combate|combatem|ajuda\s+(?:com|contra|na|no|"
           r"nas|nos|a\s+aliviar)|"
           r"(?:é|são)\s+(?:bom|boa|bons|boas|ótim[oa]s?|óptim[oa]s?)\s+para)" + _EFFECT +
           r"(?:(?:a|o|as|os)\s+)?(?:dor\w*|lombalgia|ciática|artrose|artrite|inflamaç\w*|"
           r"lesão|lesõ\w*|doença\w*|ansiedade|depressão|insônia|insónia|trauma\w*|"
           r"hérnia\w*)|(?:a\s+)?dor\w*\s+(?:\w+\s+)"
           r"{0,2}?(?:vai\s+(?:sumir|desaparecer|passar|embora)|desaparecer\w*|sumir\w*)|"
           r"desintoxic\w*|detox\w*|toxinas?|liber\w*(?:\s+\w+){0,3}?\s+(?:o\s+|os\s+)?trauma\w*"),
}
"""What claims a medical effect in each language (NARRATION: never claim one): a verb of
healing with what it would heal ('heals your back', not 'a healing breath'), a verb of
effect said as a claim with a complaint it would act on ('eases lower back pain', 'can
relieve sciatica', 'is great for back pain', not the instruction 'ease off at any pain'),
a promise that pain will go, toxins, and trauma released."""
_BODY_AFTER: Final = (r"(?![\s-]+(?:legs?|foot|feet|knees?|heels?|crease|bones?|mobility|"
                      r"flexibility|strength|muscles?|range|stability|awareness|comfort)\b)")
def _said_of(doer: str, verbs: str, plural: str, plurals: str, future: str, leads: str,
             infinitives: str, body: str, owned: str = "") -> str:
    """A Romance language's claim that a move changes the body's structure: ``verbs``
    (the third person, said alike as the imperative) only after a ``doer`` ("Cet
    exercice corrige") or before a polite possessive (``owned``: "corrige votre"), their
    ``plural`` ending or ``plurals``, the ``future``, or ``leads`` with ``infinitives``
    ("va a corregir"); then at most two words and a part of the ``body``."""
    said = (rf"(?:{doer})\s+(?:\w+\s+)?(?:{verbs}){plural}|{plurals}|{future}|(?:{leads})\s+"
            rf"(?:{infinitives})" + (rf"|(?:{verbs})(?=\s+(?:{owned})\b)" if owned else ""))
    return rf"(?:{said})\s+(?:\w+\s+){{0,2}}?(?:{body})"


# not an imperative said alike ("Redresse ton dos", "Endireita as costas", "corrige tu
# postura", "riallinea il bacino", "Korrigieren Sie Ihre Haltung"), nor a polite one with
# a modal ("Puede enderezar la espalda", "Você pode corrigir a postura")
STRUCTURE: Final = {
    "en": (r"(?<!\byou\s)(?<!\bwe\s)(?<!\bto\s)(?:realigns|corrects|straightens|fixes|"
           r"improves|(?:will|can|may|could|should|helps?)\s+(?:help\s+)?(?:to\s+)?(?:realign|"
           r"correct|straighten|fix|improve))\s+(?:(?:your|the|its|their|any|a)\s+)?(?:\w+\s+)?"
           r"(?:pelvis|spine|posture|alignment|hips?|back|vertebra\w*|discs?|joints?|tilt|"
           r"imbalances?)" + _BODY_AFTER),
    "de": (r"(?:korrigiert|begradigt)\s+(?:\w+\s+){0,2}?(?:Haltung|Becken\w*|Wirbelsäule|"
           r"Fehlhaltung\w*|Fehlstellung\w*|Hüften?)|(?:wird|kann)\s+(?:\w+\s+){0,2}?(?:Haltung|"
           r"Becken\w*|Wirbelsäule|Fehlhaltung\w*|Fehlstellung\w*)\s+(?:\w+\s+)?(?:korrigieren|"
           r"begradigen|ausrichten)|richtet\s+(?:dein\w*|die|das|den)\s+(?:\w+\s+)?(?:Becken\w*|"
           r"Wirbelsäule|Haltung|Hüften?)\s+(?:\w+\s+)?(?:aus|auf)\b"),
    "es": _said_of(r"ejercicios?|movimiento|estiramiento|práctica|rutina|respiración|esto|que",
                   "corrige|realinea|endereza", "n?", "corrigen|realinean|enderezan",
                   r"(?:corregir|realinear|enderezar)án?", r"va\s+a|van\s+a",
                   "corregir|realinear|enderezar", "pelvis|columna|postura|caderas?|espalda"),
    "fr": _said_of(r"exercices?|mouvement|étirement|séance|pratique|yoga|respiration|cela|"
                   r"ceci|ça|qui|il|elle", "corrige|réaligne|redresse", "(?:nt)?",
                   "corrigent|réalignent|redressent", r"(?:corriger|réaligner|redresser)(?:a|ont)",
                   r"va|vont|aide\s+à", "corriger|réaligner|redresser",
                   r"bassin|colonne|posture|dos|hanches?|vertèbres?", owned="votre|vos"),
    "it": _said_of(r"esercizio|esercizi|movimento|allungamento|pratica|respiro|respirazione|"
                   r"questo|che", "corregge|riallinea|raddrizza", "(?:no)?",
                   "correggono|riallineano|raddrizzano",
                   r"(?:riallineer|corregger|raddrizzer)(?:à|anno)", r"aiuta\s+a",
                   "riallineare|correggere|raddrizzare",
                   r"bacino|colonna|postura|schiena|anch[ae]|vertebr\w*"),
    "pt": _said_of(r"exercícios?|movimento|alongamento|prática|respiração|isto|isso|que|ele|ela",
                   "corrige|realinha|endireita", "m?", "corrigem|realinham|endireitam",
                   r"(?:corrigir|realinhar|endireitar)(?:á|ão)", r"vai|vão|ajuda\s+a",
                   "corrigir|realinhar|endireitar",
                   r"pelve|bacia|coluna|postura|costas|quadris?|ancas?|vértebras?",
                   owned=r"a\s+sua|o\s+seu|as\s+suas|os\s+seus|sua|seu"),
}
"""A claim that a move changes the body's structure (a new user's review: "This will
realign your pelvis and fix your posture" passed), not the instructions "Fix your gaze",
"You can straighten your back", "Keep your pelvis fixed and your back long"."""
DENIED: Final = {
    "en": frozenset({"not", "no", "never", "without", "nor", "cannot", "nothing", "none",
                     "neither"}),
    "de": frozenset({"nicht", "kein", "keine", "keinen", "keinem", "keiner", "nie", "niemals",
                     "nichts"}),
    "es": frozenset({"no", "nunca", "jamás", "ni", "nada", "ningún", "ninguna", "ninguno"}),
    "fr": frozenset({"ne", "n", "pas", "jamais", "aucun", "aucune", "ni", "sans", "rien"}),
    "it": frozenset({"non", "mai", "nessun", "nessuna", "nessuno", "né", "senza", "niente",
                     "nulla"}),
    "pt": frozenset({"não", "nunca", "jamais", "nem", "sem", "nada", "nenhum", "nenhuma"}),
}
"""Words that deny a claim in its clause ('This does not cure any condition', 'is not a
therapy that can heal injuries', 'heilt keine Krankheit', 'no cura'): the safety setup
says what a track is not."""
NOT_A_CLAIM: Final = {
    "en": frozenset({"notice", "whether", "if", "doctor", "physiotherapist", "physio",
                     "therapist", "physician", "osteopath", "professional"}),
    "de": frozenset({"spür", "spüre", "bemerke", "ob", "wenn", "falls", "arzt", "ärztin",
                     "physiotherapeut", "physiotherapeutin", "therapeut", "therapeutin"}),
    "es": frozenset({"nota", "observa", "si", "médico", "médica", "fisioterapeuta",
                     "terapeuta"}),
    "fr": frozenset({"remarquez", "observez", "si", "médecin", "kiné", "kinésithérapeute",
                     "thérapeute", "ostéopathe", "physiothérapeute", "professionnel"}),
    "it": frozenset({"nota", "osserva", "senti", "se", "medico", "medica", "fisioterapista",
                     "terapeuta", "osteopata", "professionista"}),
    "pt": frozenset({"note", "observe", "perceba", "médico", "médica",  # not "se": also
                     # the reflexive ("O movimento se repete e alivia a dor" is a claim)
                     "fisioterapeuta", "terapeuta", "osteopata", "profissional"}),
}
"""Words that make a clause an observation or a referral, not a claim ('Notice if the
breath eases any ache', 'a physiotherapist can help with ongoing pain', 'Reduce si notas
dolor')."""

DENYING_AFFIXES: Final = {"en": ((), ("n't", "n\u2019t")), "fr": (("n'", "n\u2019"), ())}
"""Starts and ends that make a word of a language say no: "don't", "n'élimine"."""

MASCULINE_NOUNS: Final = {
    "es": (r"pie|lado|brazo|antebrazo|tobillo|codo|hombro|talón|glúteo|muslo|dedo|músculo|"
           r"gemelo|psoas|cuádriceps|isquiotibial|ojo|oído"),
    "fr": (r"pied|côté|genou|bras|avant-bras|coude|talon|poignet|pouce|orteil|mollet|"
           r"fessier|muscle|psoas|quadriceps|ischio-jambier|œil"),
    "it": (r"piede|ginocchio|fianco|lato|braccio|avambraccio|gomito|tallone|polso|gluteo|"
           r"polpaccio|alluce|tendine|femore|muscolo|psoas|ileopsoas|quadricipite|"
           r"adduttore|occhio|orecchio"),
    "pt": (r"pé|joelho|lado|quadril|tornozelo|braço|antebraço|cotovelo|ombro|calcanhar|"
           r"punho|pulso|glúteo|dedo|músculo|psoas|quadríceps|isquiotibial|olho|ouvido"),
}
"""Nouns a side word follows in the masculine ("ginocchio destro", "joelho direito",
"pie derecho", "pied droit"): the side printed by ``{{ side }}`` is the feminine one."""

UP: Final = {
    "en": (r"stand\s+(?:up|tall)|(?<!to\s)stand(?=\s*[.!])|standing\s+up|"
           r"(?:come|get|rise|roll|push)\s+(?:yourself\s+)?(?:up\s+|back\s+)?(?:on)?to\s+"
           r"(?:standing|stand|your\s+(?:feet|knees)|all\s+fours|your\s+hands\s+and\s+knees)|"
           r"get\s+on\s+your\s+(?:feet|knees)|kneel\s+(?:down|up|on\s+(?:your|the|a))|"
           r"(?<!to\s)kneel(?=\s*[.!])|(?:on|onto)\s+all\s+fours"),
    "de": (r"stell\s+dich\s+(?!darauf|drauf|vor\b)|steh\w*\s+(?:\w+\s+){0,2}?auf\b|"
           r"knie\s+dich|(?:geh|komm)\w*\s+(?:\w+\s+){0,2}?(?:auf\s+(?:die|deine)\s+Knie|"
           r"in\s+den\s+(?:Stand|Vierfüßlerstand)|zum\s+Stehen)|in\s+den\s+Stand"),
    "es": (r"ponte\s+(?:de|en)\s+(?:pie|rodillas)|ponte\s+a\s+cuatro\s+patas|arrodíllate"),
    "fr": (r"(?:re)?levez-vous(?!\s+(?:\w+\s+)?pour\s+vous\s+asseoir)|"
           r"mettez-vous\s+(?:debout|à\s+genoux|à\s+quatre\s+pattes)|"
           r"agenouillez-vous|(?:venez|passez|montez|redressez-vous)\s+(?:\w+\s+){0,2}?"
           r"(?:debout|à\s+genoux|à\s+quatre\s+pattes)"),
    # not the participle ("Tieni i piedi alzati da terra")
    "it": (r"(?<!piedi\s)(?<!gambe\s)(?<!braccia\s)(?<!mani\s)(?<!ginocchia\s)(?:ri)?alzati"
           r"(?!\s+(?:\w+\s+)?(?:a\s+sedere|seduto|seduta|da\s+terra))|(?:mettiti|"
           r"rimettiti|portati)\s+(?:in\s+piedi|in\s+ginocchio|a\s+quattro\s+zampe|carponi)|"
           r"inginocchiati|tirati\s+su(?!\s+(?:\w+\s+)?a\s+sedere)|"
           r"(?:vieni|torna|sali)\s+(?:\w+\s+){0,2}?(?:in\s+piedi|in\s+ginocchio|"
           r"a\s+quattro\s+zampe|carponi)"),
    "pt": (r"(?:levante-se|fique|ficar|ponha-se|coloque-se|venha|volte)\s+(?:\w+\s+){0,3}?"
           r"(?:de\s+pé|em\s+pé|de\s+joelhos|de\s+quatro|em\s+quatro\s+apoios)|"
           r"posição\s+de\s+pé|(?:levante-se|se\s+levante\b|erga-se|se\s+erga\b)(?!\s+"
           r"(?:\w+\s+)?para\s+(?:se\s+)?sentar)|ajoelhe-se|se\s+ajoelhe"),
}
"""Words that take the listener up onto their feet or knees (not 'let your feet stand on
the mat', 'hands onto your knees', or German 'stell dich darauf ein')."""
BALANCE: Final = {
    "en": (r"balance\s+on\s+(?:your\s+|one\s+|the\s+)?(?:left\s+|right\s+)?(?:leg|foot)|"
           r"stand\s+on\s+one\s+(?:leg|foot)|shift\s+(?:your\s+)?weight\s+onto\s+(?:your\s+"
           r"|one\s+)?(?:left\s+|right\s+)?(?:leg|foot)"),
    "de": r"auf\s+einem\s+Bein|Gewicht\s+auf\s+das\s+(?:linke|rechte)\s+Bein",
    "es": r"sobre\s+(?:una|la)\s+pierna|sobre\s+un\s+pie",
    "fr": (r"(?:tenez|restez|tenez-vous|gardez\s+l'équilibre)\s+(?:\w+\s+){0,2}?sur\s+une\s+"
           r"(?:seule\s+)?jambe|sur\s+un\s+seul\s+pied|en\s+équilibre\s+sur"),
    # standing on one ("Appoggia la mano su una gamba" is not)
    "it": (r"(?:resta|rimani|stai|sta'|tieniti|mettiti|bilanciati)\s+(?:\w+\s+){0,3}?su\s+"
           r"una\s+(?:sola\s+)?gamba|su\s+una\s+gamba\s+sola|su\s+un\s+(?:solo\s+)?piede"
           r"(?:\s+solo)?(?!\s+(?:\w+\s+)?(?:appoggiat|a\s+terra))|in\s+equilibrio\s+su"),
    "pt": (r"(?:fique|permaneça|mantenha-se|equilibre-se|apoie-se)\s+(?:\w+\s+){0,3}?"
           r"(?:numa|em\s+uma|sobre\s+uma|num|em\s+um|sobre\s+um)\s+(?:só\s+)?(?:perna|pé)|"
           r"(?:numa|em\s+uma|sobre\s+uma)\s+perna\s+só|(?:num|em\s+um|sobre\s+um)\s+pé\s+só|"
           r"em\s+equilíbrio\s+(?:numa|em\s+uma|sobre\s+uma|num|em\s+um|sobre\s+um)|"
           r"equilibre-se\s+(?:\w+\s+){0,2}?(?:na|numa|sobre\s+a|sobre\s+uma|em\s+uma)\s+"
           r"perna"),
}
"""Words that ask the listener to balance on one leg: with eyes closed, in any posture."""
EYES: Final = {
    "en": (r"close\s+your\s+eyes|eyes\s+closed|(?:let\s+)?your\s+eyes\s+(?:gently\s+|"
           r"softly\s+|slowly\s+)?close\b",
           r"open\s+your\s+eyes|eyes\s+open"),
    "de": (r"schließ\w*\s+(?:\w+\s+){0,2}(?:die|deine|Ihre)\s+Augen|Augen\s+geschlossen|"
           r"Augen\s+zu\b",
           r"öffne\w*\s+(?:\w+\s+){0,2}(?:die|deine|Ihre)\s+Augen|Augen\s+offen|"
           r"Augen\s+(?:wieder\s+)?auf\b"),
    "es": (r"(?:cierr[ae]|cerrar)\s+(?:\w+\s+)?los\s+ojos|ojos\s+cerrados",
           r"(?:abr[ea]|abrir)\s+(?:\w+\s+)?los\s+ojos|ojos\s+abiertos"),
    "fr": (r"(?:re)?ferm(?:ez|er|e)\s+(?:doucement\s+|lentement\s+)?(?:les|vos)\s+yeux|"
           r"yeux\s+fermés",
           r"ouvr(?:ez|ir|e)\s+(?:\w+\s+)?(?:les|vos)\s+yeux|ouvrez-les|yeux\s+ouverts"),
    "it": (r"(?:ri)?chiud\w*\s+(?:\w+\s+)?(?:gli|i\s+tuoi)\s+occhi|occhi\s+chiusi|"
           r"occhi\s+si\s+(?:ri)?chiud\w*",
           r"apri\w*\s+(?:\w+\s+)?(?:gli|i\s+tuoi)\s+occhi|occhi\s+aperti"),
    "pt": (r"(?:fech|cerr)\w*\s+(?:\w+\s+)?os\s+(?:seus\s+)?olhos|olhos\s+fechados|"
           r"olhos\s+se\s+fech\w*",
           r"abr\w*\s+(?:\w+\s+)?os\s+(?:seus\s+)?olhos|olhos\s+abertos"),
}
"""Words that ask the listener to close, or to open, their eyes."""
DOWN: Final = {
    "en": (r"(?<!to\s)(?:lie|lay)\s+(?:down\b|back\b|(?:(?:down|flat)\s+)?on\s+(?:your|the)\s+"
           r"(?:back|side|belly|front|stomach|floor|mat))|(?:come|roll)\s+(?:down\s+)?(?:on|onto)"
           r"\s+your\s+back|come\s+down\s+to\s+(?:lying|the\s+floor)",
           r"(?<!to\s)sit\s+(?:down|up)\b|(?:come|roll)\s+(?:up\s+)?to\s+sitting|take\s+a\s+"
           r"seat|(?<!to\s)sit\s+(?:comfortably\s+)?on\s+(?:a|the|your)\s+(?:chair|floor|mat|"
           r"cushion)"),
    "de": (r"leg(?:e)?\s+dich\s+(?:\w+\s+)?(?:hin\b|auf\s+(?:den\s+Rücken|die\s+(?:Matte|"
           r"Seite)|den\s+Boden))|legen\s+Sie\s+sich\s+(?:\w+\s+)?(?:hin\b|auf\s+den\s+Rücken)",
           r"setz(?:e)?\s+dich\s+(?:\w+\s+)?(?:hin\b|auf)|setzen\s+Sie\s+sich"),
    "es": (r"t[úu]mbate|t[úu]mbese|acu[ée]state|acu[ée]stese|recu[ée]state|ti[ée]ndete|"
           r"ponte\s+boca\s+(?:arriba|abajo)", r"si[ée]ntate|si[ée]ntese"),
    "fr": (r"allongez-vous|allonge-toi|couchez-vous|couche-toi|mettez-vous\s+sur\s+le\s+dos",
           r"asseyez-vous|assieds-toi"),
    # not the adjective ("Rimani sdraiato", "restate sdraiati")
    "it": (r"(?<!rimani\s)(?<!resta\s)(?<!restate\s)(?<!rimanete\s)(?<!stai\s)(?:sdraiati|"
           r"stenditi|distenditi)|si\s+sdrai\b|si\s+stenda\b",
           r"siediti|si\s+sieda\b|mettiti\s+sedut[oa]"),
    # not "sente-se mais leve", "como se sente" (feels)
    "pt": (r"deite-se|deita-te|se\s+deite\b|deite\s+de\s+(?:costas|lado)",
           r"(?:(?<=^)|(?<=[.!?,;]\s)|(?<=agora\s))sente-se(?!\s+(?:mais|menos|melhor|pior|"
           r"bem|mal|leve|o|a|os|as|um|uma|\w+mente)\b)|senta-te"),
}
"""Words that ask the listener to lie down, and to sit (not a transition step's own)."""
JOINING: Final = frozenset({"and", "und", "y", "et", "e"})
LET_OTHER: Final = frozenset({"your", "the", "both", "each", "them", "it"})
"""After an English "let" that leads a clause, words that make something other than the
listener the subject of a verb joined after it ("Let your knees rest and lie on the mat")."""
"""Words that start a new clause within a sentence ("Take your time and lie down")."""
DENIED_AFTER: Final = frozenset({"not", "nicht", "pas"})
"""A no right after a move that takes it back ("Setzen Sie sich noch nicht")."""
LEADS: Final = frozenset({
    "now", "slowly", "gently", "please", "then", "so", "carefully", "next", "first", "just",
    "simply",
    "jetzt", "nun", "langsam", "bitte", "und", "dann", "vorsichtig", "sanft", "ahora",
    "despacio", "lentamente", "y", "luego", "maintenant", "doucement", "lentement", "et",
    "puis", "ensuite", "ora", "adesso", "piano", "e", "poi", "agora", "devagar", "depois",
    "então"})
"""Words that may lead a clause asking a move now ("Now, slowly lie down", "Und jetzt leg
dich hin"): any other word before the verb makes it something else ("Let your hands lie
on the mat", "we will lie down", "Ora siamo sdraiati")."""
LATER: Final = frozenset({"when", "before", "after", "once", "until", "later", "wenn",
                           "bevor", "nachdem", "noch", "cuando", "antes", "después",
                           "todavía", "quand", "lorsque", "avant", "après", "encore",
                           "quando", "prima", "ancora", "ainda"})
"""A word just before a move, in its clause, that makes it a time or a 'not yet', not an
instruction ('later, when you stand up, notice your hips'; but "When you are ready,
stand up."); a negation does too ("Don't stand up yet"). Not Italian 'dopo' nor Portuguese
'depois': "e depois levante-se" is "and then stand up" (a time, "depois de se levantar",
asks no move)."""
