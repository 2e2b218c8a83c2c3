"""Weighted injection signals compiled from the multilingual lexicon.

Each signal is a regex over the folded text plus a scorer turning a match into a weight in
0..1.  The detector combines weights with a noisy-OR, so no single weak cue (a persona
request, a mention of "rules") crosses the threshold alone, while co-occurring cues do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from policies.detectors import injection_lexicon as lx

Scorer = Callable[[re.Match[str]], float]


@dataclass(frozen=True)
class Signal:
    """One compiled cue: id (for max-per-id), finding type, regex, scorer, meta sensitivity."""

    id: str
    type: str
    regex: re.Pattern[str]
    scorer: Scorer
    meta_damped: bool = True
    # The regex is only tried near occurrences of these anchor phrases (found by one RE2
    # scan), from `back` chars before to `fwd` chars after; no anchors = full scan, skipped
    # unless one of the `prefilter` substrings occurs.
    anchors: tuple[str, ...] = ()
    back: int = 0
    fwd: int = 200
    prefilter: tuple[str, ...] = ()


def phrase(p: str) -> str:
    """Regex for one lexicon phrase: spaces match any non-word run, apostrophes optional."""
    parts = [re.escape(w).replace("'", "['\\s]?") for w in p.split(" ") if w]
    return r"\W+".join(parts)


def alt(words: Iterable[str]) -> str:
    """Longest-first alternation of lexicon phrases (deterministic order)."""
    uniq = sorted(set(words), key=lambda w: (-len(w), w))
    return "(?:" + "|".join(phrase(w) for w in uniq) + ")"


def _word_set(words: Iterable[str]) -> re.Pattern[str]:
    return re.compile(r"\b" + alt(words) + r"\b")


_NEG = r"(?<!not )(?<!n't )(?<!never )(?<!no )(?<!non )(?<!nao )(?<!n')(?<!nicht )"
_SCOPE = _word_set(lx.SCOPE)
_SECOND = _word_set(lx.SECOND_PERSON)
_QUAL = _word_set(lx.QUALIFIERS)
_FIRST = _word_set(lx.FIRST_PERSON)
_STRONG_VERB = _word_set(lx.OVERRIDE_VERBS_STRONG)
_STRONG_TARGET = _word_set(lx.TARGETS_STRONG)
_T1 = _word_set(lx.EXTRACT_TARGETS_T1)
_AFTER_MSG = re.compile(
    r"\b(?:before|above|preceding|vor|oben|avant|antes|prima|acima)\W+"
    r"(?:\w+\W+){0,2}(?:message|messages|nachricht|mensaje|messaggio|"
    r"mensagem|conversation|gesprach|conversacion|conversazione|this|ceci)"
)
_GAP = r"(?:\W+\w+){0,5}?\W+"
_QUESTION = re.compile(
    r"(?:what|whats|was|wie|quel|quels|quelle|quelles|cual|cuales|qual|quali|"
    r"quais)\b"
)
_I_ME = re.compile(
    r"\b(?:i|i'm|i've|me|my|ich|mir|mein|meine|je|j'ai|moi|mon|ma|mes|yo|mi|mis|"
    r"io|eu|meu|minha)\b"
)
_YOUR = re.compile(r"\b(?:your|ur|deine?|ta|ton|tu|tua|tuo|sua|seu)\W+$")
_NEW_NOUNS = (
    "instruction",
    "instructions",
    "rules",
    "directives",
    "orders",
    "task",
    "role",
    "anweisungen",
    "regeln",
    "aufgabe",
    "rolle",
    "consignes",
    "regles",
    "tache",
    "instrucciones",
    "reglas",
    "tarea",
    "papel",
    "istruzioni",
    "regole",
    "compito",
    "ruolo",
    "instrucoes",
    "regras",
    "tarefa",
)
_AI_ADDRESS = (
    "ai",
    "assistant",
    "model",
    "llm",
    "chatbot",
    "language model",
    "agent",
    "bot",
    "ki",
    "ia",
    "gpt",
    "claude",
    "ais",
    "assistants",
    "models",
    "llms",
    "agents",
)
_AUTH_NOUNS = (
    "admin",
    "administrator",
    "developer",
    "developers",
    "creator",
    "owner",
    "operator",
    "master",
    "programmer",
    "entwickler",
    "administrateur",
    "developpeur",
    "createur",
    "desarrollador",
    "creador",
    "sviluppatore",
    "creatore",
    "desenvolvedor",
    "criador",
    "system",
    "root",
    "sudo",
)
_ABOVE_VERBS = (
    "repeat",
    "print",
    "output",
    "show",
    "display",
    "reveal",
    "recite",
    "echo",
    "copy",
    "write out",
    "type out",
    "dump",
    "paste",
    "wiederhole",
    "gib",
    "zeige",
    "drucke",
    "repete",
    "affiche",
    "montre",
    "recopie",
    "repite",
    "muestra",
    "imprime",
    "ripeti",
    "mostra",
    "stampa",
    "repita",
    "mostre",
    "imprima",
)
_TOLD = (
    "given",
    "told",
    "received",
    "programmed",
    "instructed",
    "erhalten",
    "bekommen",
    "gegeben",
    "recues",
    "donnees",
    "dado",
    "dadas",
    "recibido",
    "recibiste",
    "ricevuto",
    "ricevute",
    "date",
    "recebeu",
    "recebido",
    "recebidas",
)
_VERBATIM = (
    "verbatim",
    "word for word",
    "word-for-word",
    "wortwortlich",
    "wort fur wort",
    "mot pour mot",
    "mot a mot",
    "palabra por palabra",
    "textualmente",
    "literalmente",
    "parola per parola",
    "alla lettera",
    "palavra por palavra",
)
_REFUSAL_ANCHORS = lx.REFUSAL_WORDS + (
    "nie",
    "niemals",
    "jamais",
    "niegues",
    "rechaces",
    "rehuses",
    "rifiutare",
    "recuse",
    "warning",
    "warnings",
    "disclaimer",
    "disclaimers",
    "refusal",
    "refusals",
    "refusing",
    "moralizing",
    "moralising",
    "lecturing",
    "lectures",
    "hesitation",
    "caveats",
    "refuser",
)
_DECODE_ANCHORS = (
    "decode",
    "decipher",
    "dekodiere",
    "entschlussele",
    "decodifica",
    "descifra",
    "descodifica",
    "base64",
    "hex",
    "hex-encoded",
    "encoded",
    "rot13",
    "obfuscated",
)


def _last_tokens(s: str, n: int) -> str:
    return " ".join(re.findall(r"[\w'-]+", s)[-n:])


def _first_tokens(s: str, n: int) -> str:
    return " ".join(re.findall(r"[\w'-]+", s)[:n])


def _override_score(m: re.Match[str]) -> float:
    mid, post = m.group("mid") or "", m.group("post") or ""
    strong_verb = _STRONG_VERB.fullmatch(m.group("verb")) is not None
    strong_target = _STRONG_TARGET.fullmatch(m.group("target")) is not None
    near = _last_tokens(mid, 3) + " " + _first_tokens(post, 3)
    scoped = _SCOPE.search(" " + near + " ") is not None
    if _FIRST.search(_last_tokens(mid, 2)):
        return 0.1  # "ignore my previous email": the user's own text, not the model's rules.
    if strong_verb:
        return 0.85 if strong_target else (0.8 if scoped else 0.3)
    return 0.6 if strong_target else (0.45 if scoped else 0.15)


def _extract_score(m: re.Match[str]) -> float:
    mid, post = m.group("mid") or "", m.group("post") or ""
    tgt = m.group("target")
    if _FIRST.search(_last_tokens(mid, 3)):
        return 0.1
    if _QUESTION.match(m.group("verb")) and not _SECOND.search(mid):
        return 0.1  # "what is a system prompt?" asks about the concept, not about yours.
    second = _SECOND.search(mid) is not None or _SECOND.search(_first_tokens(post, 4)) is not None
    qual = (
        _QUAL.search(_last_tokens(mid, 3)) is not None
        or _QUAL.search(_first_tokens(post, 2)) is not None
        or _AFTER_MSG.search(post) is not None
    )
    if _STRONG_TARGET.fullmatch(tgt):
        return 0.8 if (second or qual) else 0.6
    tier1 = _T1.fullmatch(tgt) is not None
    if second and qual:
        return 0.75
    if second or qual:
        return 0.6 if tier1 else 0.4
    return 0.1


def _new_score(m: re.Match[str]) -> float:
    text = m.string[max(0, m.start() - 12) : m.start()]
    if _YOUR.search(text):
        return 0.55  # "your new task is": goal hijacking addressed to the model
    return 0.45 if m.group().rstrip().endswith(":") else 0.3


def _const(w: float) -> Scorer:
    return lambda _m: w


def _override_signals() -> list[Signal]:
    verbs = alt(lx.OVERRIDE_VERBS_STRONG + lx.OVERRIDE_VERBS_WEAK)
    targets = alt(lx.TARGETS_STRONG + lx.TARGETS_WEAK)
    main = re.compile(
        rf"\b{_NEG}(?P<verb>{verbs})\b(?P<mid>{_GAP}|\W+)(?P<target>{targets})\b"
        r"(?=(?P<post>(?:\W+[\w'-]+){0,4}))"
    )
    above = re.compile(
        rf"\b{_NEG}{alt(lx.OVERRIDE_VERBS_STRONG)}\W+(?:all\W+|everything\W+|anything\W+|"
        r"whatever\W+|what\W+|alles\W+|tout\W+|todo\W+|tutto\W+|tudo\W+|lo\W+que\W+|"
        r"ce\W+qu\W*|was\W+|(?:of\W+)?the\W+|das\W+|le\W+|la\W+|o\W+que\W+|"
        r"(?:\w+\W+){0,3}?)" + alt(lx.ABOVE_WORDS) + r"\b"
    )
    void = re.compile(
        r"\b" + alt(lx.SCOPE) + r"\W+(?:\w+\W+){0,2}?" + targets + r"\W+(?:are|is|sind|ist|"
        r"sont|est|son|es|sono|sao|e|have been|wurden|ont ete|han sido|foram)\W+(?:now\W+|"
        r"jetzt\W+|nun\W+|maintenant\W+|ahora\W+|ora\W+|agora\W+|hereby\W+)?(?:void|invalid|"
        r"null|cancell?ed|revoked|obsolete|lifted|suspended|deactivated|disabled|"
        r"no longer (?:valid|apply|applicable|in effect)|ungultig|nichtig|aufgehoben|"
        r"au(?:ss|ß)er kraft|annulee?s?|caduque?s?|nulle?s?|obsoletes|suspendue?s?|levee?s?|"
        r"anulad[oa]s|cancelad[oa]s|invalid[oa]s|nul[oa]s|annullate|revocate|sospese|nulle|"
        r"suspens[oa]s)\b"
    )
    kraft = re.compile(
        r"\b(?:setze|setz|setzt|setzen)\W+(?:\w+\W+){0,3}?"
        + targets
        + r"\W+(?:\w+\W+){0,2}?au(?:ss|ß)er\W+kraft"
    )
    return [
        Signal(
            "override",
            "instruction_override",
            main,
            _override_score,
            anchors=lx.OVERRIDE_VERBS_STRONG + lx.OVERRIDE_VERBS_WEAK,
            fwd=160,
        ),
        Signal(
            "override_above",
            "instruction_override",
            above,
            lambda m: 0.1 if _I_ME.search(m.group()) else 0.6,
            anchors=lx.OVERRIDE_VERBS_STRONG,
            fwd=160,
        ),
        Signal(
            "override_void",
            "instruction_override",
            void,
            _const(0.6),
            anchors=lx.TARGETS_STRONG + lx.TARGETS_WEAK,
            back=120,
            fwd=120,
        ),
        Signal(
            "override_kraft",
            "instruction_override",
            kraft,
            _const(0.8),
            anchors=("kraft",),
            back=160,
            fwd=10,
        ),
    ]


def _hijack_signals() -> list[Signal]:
    """Goal hijacking: "your new task is", authority claims, notes addressed to the AI."""
    return [
        Signal(
            "new_instructions",
            "instruction_override",
            re.compile(
                r"\b(?:new|updated|real|actual|true|revised|different|neue|neuen|nouvelles?|"
                r"nouveaux?|nuevas?|nuevos?|nuove|nuovi|novas?|novos?)\W+(?:\w+\W+)?(?:instructions?|"
                r"rules|directives|orders|task|role|anweisungen|regeln|aufgabe|rolle|consignes|"
                r"regles|tache|role|instrucciones|reglas|tarea|papel|istruzioni|regole|compito|"
                r"ruolo|instrucoes|regras|tarefa)\W{0,3}(?::|are\b|is\b|sind\b|ist\b|sont\b|est\b|"
                r"son\b|es\b|sono\b|sao\b)"
            ),
            _new_score,
            anchors=_NEW_NOUNS,
            back=60,
            fwd=40,
        ),
        Signal(
            "address_ai",
            "instruction_override",
            re.compile(
                r"\b(?:note|message|instruction|instructions|attention|important|reminder|hinweis|"
                r"nachricht|remarque|nota|mensaje|messaggio|mensagem)\W+(?:to|for|an|fur|pour|a|"
                r"para|per)\W+(?:the\W+|any\W+|all\W+|die\W+|den\W+|l'|el\W+|la\W+|o\W+)?"
                r"(?:ai|assistant|model|llm|chatbot|language model|agent|bot|ki|ia|gpt|claude)s?\b"
                r"(?:\W+(?:reading|processing|summari[sz]ing|parsing)\b|\s*:)"
                r"|\bif you are an?\W+(?:ai|llm|language model|assistant|chatbot|agent)\b"
                r"|\b(?:ai|llm|assistant|model|agent)s?\W+(?:reading|processing|summari[sz]ing)\W+"
                r"this\b"
            ),
            _const(0.5),
            anchors=_AI_ADDRESS,
            back=60,
            fwd=80,
        ),
        Signal(
            "authority",
            "instruction_override",
            re.compile(
                r"\b(?:i am|i'm|im|this is|ich bin|je suis|soy|sono|eu sou)\W+(?:\w+\W+)?"
                r"(?:your|the|dein|ton|tu|il tuo|seu)\W+(?:\w+\W+)?(?:admin|administrator|developer|"
                r"developers|creator|owner|operator|master|programmer|entwickler|administrateur|"
                r"developpeur|createur|desarrollador|creador|sviluppatore|creatore|desenvolvedor|"
                r"criador)\b|\b(?:admin|system|developer|root|sudo)\W+(?:override|command|"
                r"access granted|mode|privileges)\b"
            ),
            _const(0.3),
            anchors=_AUTH_NOUNS,
            back=80,
            fwd=40,
        ),
    ]


def _extraction_signals() -> list[Signal]:
    verbs = alt(lx.REVEAL_VERBS)
    targets = alt(lx.TARGETS_STRONG + lx.EXTRACT_TARGETS_T1 + lx.EXTRACT_TARGETS_T2)
    main = re.compile(
        rf"\b(?P<verb>{verbs})\b(?P<mid>(?:\W+[\w'-]+){{0,6}}?\W+|\W+)(?P<target>{targets})\b"
        r"(?=(?P<post>(?:\W+[\w'-]+){0,6}))"
    )
    strong = re.compile(
        rf"\b(?P<verb>{verbs})\b(?P<mid>(?:\W+[\w'-]+){{0,10}}?\W+|\W+)"
        rf"(?P<target>{alt(lx.TARGETS_STRONG)})\b(?=(?P<post>(?:\W+[\w'-]+){{0,6}}))"
    )
    above = re.compile(
        r"\b(?:repeat|print|output|show|display|reveal|recite|echo|copy|write out|type out|"
        r"dump|paste|wiederhole|gib|zeige|drucke|repete|affiche|montre|recopie|repite|muestra|"
        r"imprime|ripeti|mostra|stampa|repita|mostre|imprima)\b\W+(?:\w+\W+){0,4}?"
        r"(?:text|words|everything|content|contents|message|messages|lines|all|sentences|"
        r"alles|text|worte|tout|texte|mots|todo|texto|palabras|tutto|testo|parole|tudo|"
        r"palavras)\W+(?:\w+\W+){0,3}?(?:above|before|preceding|prior|earlier|oben|daruber|"
        r"davor|vorher|ci-dessus|au-dessus|precedent|avant|arriba|anterior|antes|sopra|"
        r"precedente|prima|acima)\b"
    )
    told = re.compile(
        r"\b(?:what|which|welche|quelles?|quels?|cuales|que|quali|quais)\W+(?:\w+\W+){0,2}?"
        r"(?:instructions|rules|prompt|directives|guidelines|anweisungen|regeln|consignes|"
        r"instrucciones|reglas|istruzioni|regole|instrucoes|regras)\W+(?:\w+\W+){0,3}?"
        r"(?:you|du|dir|tu|te|t|ti|voce|lhe)\W+(?:\w+\W+){0,3}?(?:given|told|received|"
        r"programmed|instructed|erhalten|bekommen|gegeben|recues|donnees|dado|dadas|recibido|"
        r"recibiste|ricevuto|ricevute|date|recebeu|recebido|recebidas)\b"
    )
    return [
        Signal(
            "extract",
            "system_prompt_extraction",
            main,
            _extract_score,
            meta_damped=False,
            anchors=lx.REVEAL_VERBS,
            fwd=200,
        ),
        Signal(
            "extract_strong",
            "system_prompt_extraction",
            strong,
            _extract_score,
            meta_damped=False,
            anchors=lx.TARGETS_STRONG,
            back=140,
            fwd=60,
        ),
        Signal(
            "extract_above",
            "system_prompt_extraction",
            above,
            _const(0.6),
            anchors=_ABOVE_VERBS,
            fwd=200,
        ),
        Signal(
            "extract_told",
            "system_prompt_extraction",
            told,
            _const(0.6),
            meta_damped=False,
            anchors=_TOLD,
            back=200,
            fwd=10,
        ),
        Signal(
            "extract_startwith",
            "system_prompt_extraction",
            re.compile(
                r"\b(?:starting|beginning|begin|start|starts|begins)\W+with\W+(?:the\W+words?\W+)?"
                r"\W*(?:you are|you're|your instructions|system)\b"
            ),
            _const(0.5),
            anchors=("starting", "beginning", "begin", "start", "starts", "begins"),
            fwd=60,
        ),
        Signal(
            "extract_verbatim",
            "system_prompt_extraction",
            re.compile(
                r"\b(?:verbatim|word for word|word-for-word|wortwortlich|wort fur wort|mot pour mot|"
                r"mot a mot|palabra por palabra|textualmente|literalmente|parola per parola|"
                r"alla lettera|palavra por palavra)\b"
            ),
            _const(0.3),
            anchors=_VERBATIM,
            fwd=40,
        ),
    ]


def _roleplay_signals() -> list[Signal]:
    no_rx = re.compile(
        r"(?P<pre>(?:[\w'-]+\W+){0,4})\b"
        + alt(lx.NO_WORDS)
        + r"\W+(?:[\w-]+\W+){0,2}?"
        + alt(lx.RESTRICTION_NOUNS)
        + r"\b"
    )
    ai_nouns = _word_set(lx.AI_NOUNS)
    you = re.compile(
        r"\b(?:you|you're|youre|you've|u|du|dich|dir|tu|te|t'|vous|eres|tienes|"
        r"usted|sei|hai|voce|bist|hast|avais|as|tienes)\b"
    )

    def no_score(m: re.Match[str]) -> float:
        pre = m.group("pre") or ""
        if _I_ME.search(_last_tokens(pre, 3)):
            return 0.15  # "I have no restrictions on my diet"
        if you.search(pre):
            return 0.6
        return 0.55 if ai_nouns.search(pre) else 0.3

    return [
        Signal(
            "persona",
            "roleplay_jailbreak",
            re.compile(r"\b" + alt(lx.PERSONA) + r"\b"),
            _const(0.2),
            anchors=lx.PERSONA,
            fwd=60,
        ),
        Signal(
            "no_restrictions",
            "roleplay_jailbreak",
            no_rx,
            no_score,
            anchors=lx.RESTRICTION_NOUNS,
            back=140,
            fwd=40,
        ),
        Signal(
            "unrestricted_ai",
            "roleplay_jailbreak",
            re.compile(
                r"\b" + alt(lx.UNRESTRICTED_ADJ) + r"\W+(?:[\w-]+\W+)?" + alt(lx.AI_NOUNS) + r"\b"
                r"|\b" + alt(lx.AI_NOUNS) + r"\W+(?:[\w-]+\W+)?" + alt(lx.UNRESTRICTED_ADJ) + r"\b"
            ),
            _const(0.5),
            anchors=lx.UNRESTRICTED_ADJ,
            back=60,
            fwd=80,
        ),
        Signal(
            "jailbreak_name",
            "roleplay_jailbreak",
            re.compile(r"\b" + alt(lx.JAILBREAK_NAMES) + r"\b"),
            _const(0.65),
            anchors=lx.JAILBREAK_NAMES,
            fwd=80,
        ),
        Signal(
            "no_longer",
            "roleplay_jailbreak",
            re.compile(
                r"\byou(?:'re| are)\W+no\W+longer\W+(?:\w+\W+){0,2}?(?:an?\W+ai|chatgpt|claude|gpt|"
                r"gemini|llama|an?\W+assistant|bound|restricted|limited|required|obligated|an?\W+"
                r"language model)\b|\bdu bist (?:nicht mehr|keine ki mehr)\b|\btu n'es plus\b|"
                r"\bya no eres\b|\bnon sei piu\b|\bvoce nao e mais\b"
            ),
            _const(0.55),
            anchors=(
                "no longer",
                "nicht mehr",
                "keine ki mehr",
                "n'es plus",
                "ya no eres",
                "non sei piu",
                "nao e mais",
            ),
            back=30,
            fwd=80,
        ),
        Signal(
            "never_refuse",
            "roleplay_jailbreak",
            re.compile(
                r"\b"
                + alt(lx.NEVER_WORDS)
                + r"\W+(?:\w+\W+){0,2}?"
                + alt(lx.REFUSAL_WORDS)
                + r"\b|\b(?:verweigere|lehne)\W+(?:\w+\W+){0,2}?(?:nie|niemals)\b|"
                r"\bne refuse(?:z)? jamais\b|\bsans jamais refuser\b|\bnunca (?:te )?(?:niegues|"
                r"rechaces|rehuses)\b|\bnon rifiutare mai\b|\bnunca recuse\b|"
                r"\bwithout (?:any )?(?:warnings?|disclaimers?|refus\w*|moraliz\w+|lectur\w+|"
                r"hesitation|caveats)\b"
            ),
            _const(0.35),
            anchors=_REFUSAL_ANCHORS,
            back=80,
            fwd=20,
        ),
    ]


def _delimiter_signals() -> list[Signal]:
    return [
        Signal(
            "chat_tokens",
            "delimiter_injection",
            re.compile(
                r"<\|(?:im_start|im_end|im_sep|system|user|assistant|endoftext|eot_id|"
                r"start_header_id|end_header_id|begin_of_text|end_of_text|eom_id|fim_\w+|pad)\|>"
                r"|<\|[a-z_]{2,20}\|>"
            ),
            _const(0.7),
            prefilter=("<|",),
        ),
        Signal(
            "inst_tokens",
            "delimiter_injection",
            re.compile(
                r"\[/?inst\]|<</?sys>>|<(?:start|end)_of_turn>|\[/?system\]|"
                r"\[system\]\(#|<\|/?(?:system|user)"
            ),
            _const(0.6),
            prefilter=("[", "<<", "<start", "<end", "<|"),
        ),
        Signal(
            "role_tags",
            "delimiter_injection",
            re.compile(
                r"</?(?:system|system_prompt|sys|instructions?|assistant|admin|developer|"
                r"user_input|user|human|context)>"
            ),
            _const(0.45),
            prefilter=("<",),
        ),
        Signal(
            "role_header",
            "delimiter_injection",
            re.compile(
                r"(?m)^\W{0,4}(?:#{1,6}|\*\*|\[|=+|-+|>)\s*(?:new\s+|updated\s+|real\s+|actual\s+|"
                r"important\s+)?(?:system|admin|administrator|developer|root|sudo|override|"
                r"instructions?)(?:\s+(?:message|prompt|instructions?|override|note|mode|command|"
                r"update))?\s*(?:\]|\*\*|#+)?\s*:"
            ),
            _const(0.55),
            prefilter=(":",),
        ),
        Signal(
            "plain_header",
            "delimiter_injection",
            re.compile(
                r"(?m)^\s*(?:system|admin|administrator|developer|root)(?:\s+(?:message|prompt|"
                r"override|note|command))?\s*:"
            ),
            _const(0.4),
            prefilter=(":",),
        ),
        Signal(
            "end_of_input",
            "delimiter_injection",
            re.compile(
                r"\b(?:end|ende|fin)\W+(?:of\W+)?(?:the\W+)?(?:user\W+)?(?:input|prompt|message|"
                r"context|document|conversation|system prompt|instructions|data)\b\W+(?:\w+\W+){0,3}?"
                r"(?:new|admin|system|instructions?|now|begin|start|assistant)\b|"
                r"\bbegin(?:ning)?\W+(?:of\W+)?(?:the\W+)?(?:new\W+)?(?:system|admin)\W+"
                r"(?:prompt|instructions|message|mode)\b"
            ),
            _const(0.45),
            anchors=("end", "ende", "fin", "begin", "beginning"),
            fwd=120,
        ),
        Signal(
            "json_role",
            "delimiter_injection",
            re.compile(r"[\"']role[\"']\s*:\s*[\"']system[\"']"),
            _const(0.35),
            prefilter=("role",),
        ),
    ]


def _encoding_signals() -> list[Signal]:
    return [
        Signal(
            "decode_and_follow",
            "encoded_payload",
            re.compile(
                r"\b(?:decode|decipher|translate|convert|dekodiere|entschlussele|decode|decodifica|"
                r"descifra|descodifica)\b\W+(?:\w+\W+){0,6}?(?:and|then|und|dann|et|puis|y|luego|e|"
                r"poi)\W+(?:\w+\W+){0,2}?(?:follow|execute|obey|run|do what|act on|comply|perform|"
                r"befolge|fuhre|suis|execute|sigue|ejecuta|segui|esegui|siga|execute)\b|"
                r"\b(?:execute|follow|obey|run|perform)\W+(?:the\W+)?(?:following\W+)?(?:\w+\W+){0,2}?"
                r"(?:base64|hex|hex-encoded|encoded|rot13|obfuscated)\b"
            ),
            _const(0.45),
            anchors=_DECODE_ANCHORS,
            back=120,
            fwd=160,
        ),
    ]


def build_signals() -> tuple[Signal, ...]:
    """All signals in a fixed order (order matters only for deterministic output)."""
    return tuple(
        _override_signals()
        + _hijack_signals()
        + _extraction_signals()
        + _roleplay_signals()
        + _delimiter_signals()
        + _encoding_signals()
    )


def build_loose_signals() -> tuple[Signal, ...]:
    """Separator-free variants for text whose letters were spaced out and re-joined."""

    def glued(words: Iterable[str]) -> str:
        return (
            "(?:"
            + "|".join(
                re.escape(w.replace(" ", "").replace("'", ""))
                for w in sorted(set(words), key=lambda w: (-len(w), w))
            )
            + ")"
        )

    scope = glued(
        (
            "all",
            "the",
            "your",
            "any",
            "every",
            "previous",
            "prior",
            "above",
            "earlier",
            "alle",
            "deine",
            "vorherigen",
            "toutes",
            "les",
            "tes",
            "todas",
            "las",
            "tus",
            "anteriores",
            "tutte",
            "le",
            "tue",
            "precedenti",
            "precedentes",
        )
    )
    override = re.compile(
        glued(lx.OVERRIDE_VERBS_STRONG)
        + f"(?:{scope})+"
        + glued(lx.TARGETS_WEAK + lx.TARGETS_STRONG)
    )
    reveal = re.compile(
        glued(lx.REVEAL_VERBS)
        + r"(?:me|us|mir|moi)?(?:your|the|deinen|ton|tu)"
        + glued(
            (
                "system prompt",
                "initial prompt",
                "hidden instructions",
                "instructions",
                "prompt",
                "systemprompt",
            )
        )
    )
    names = re.compile(
        glued(
            lx.JAILBREAK_NAMES
            + ("no restrictions", "without restrictions", "no filters", "no rules")
        )
    )
    return (
        Signal("loose_override", "instruction_override", override, _const(0.8), prefilter=("",)),
        Signal("loose_extract", "system_prompt_extraction", reveal, _const(0.75), prefilter=("",)),
        Signal("loose_jailbreak", "roleplay_jailbreak", names, _const(0.6), prefilter=("",)),
    )
