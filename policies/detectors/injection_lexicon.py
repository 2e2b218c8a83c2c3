"""Multilingual word lists for the prompt-injection detector (lower-case, accents stripped).

Lists are written for the folded view produced by normalize(): case-folded, diacritics
removed, homoglyphs and full-width forms folded.  Languages: en, de, fr, es, it, pt.
A space inside an entry matches any run of non-word characters.
"""

from __future__ import annotations

# Verbs that, aimed at instructions/rules, mean "stop obeying them".
OVERRIDE_VERBS_STRONG: tuple[str, ...] = (
    # en
    "ignore", "ignoring", "disregard", "disregarding", "forget", "override", "overrule",
    "bypass", "circumvent", "disobey", "discard", "abandon", "dismiss", "neglect", "nullify",
    "pay no attention to", "do not follow", "don't follow", "stop following", "no longer follow",
    "do not obey", "don't obey", "stop obeying", "set aside", "put aside", "cast aside",
    "throw out", "throw away", "get rid of", "ditch", "scrap", "void", "revoke", "forgo",
    "do not adhere to", "stop adhering to", "don't adhere to", "stop listening to",
    "no longer need to follow", "don't need to follow", "do not need to follow",
    # de
    "ignoriere", "ignorier", "ignorieren", "ignoriert", "vergiss", "vergesse", "vergessen",
    "vergesst", "missachte", "missachten", "missachtet", "ubergehe", "ubergehen", "verwirf",
    "verwerfe", "verwerfen", "umgehe", "umgehen", "befolge nicht", "befolge keine",
    "befolge nicht mehr", "hor auf zu befolgen", "beachte nicht", "nicht beachten",
    "setze ausser kraft", "hebe auf", "kummere dich nicht um", "scheiss auf", "pfeif auf",
    # fr
    "ignore", "ignorez", "ignorer", "ignores", "oublie", "oubliez", "oublier", "neglige",
    "negligez", "contourne", "contournez", "outrepasse", "outrepassez", "ecarte", "ecartez",
    "abandonne", "abandonnez", "ne tiens pas compte", "ne tiens plus compte", "ne tenez pas compte",
    "ne tenez plus compte", "fais abstraction", "faites abstraction", "passe outre",
    "passez outre", "desobeis", "desobeissez", "ne suis plus", "ne suivez plus", "ne respecte plus",
    "ne respectez plus", "ne respecte pas", "ne respectez pas", "laisse tomber", "laissez tomber",
    # es
    "ignora", "ignore", "ignoren", "ignorar", "ignores", "olvida", "olvide", "olviden", "olvidar",
    "olvides", "omite", "omita", "omitan", "omitir", "descarta", "descarte", "descartar",
    "haz caso omiso", "haga caso omiso", "hagan caso omiso", "no hagas caso", "no haga caso",
    "pasa por alto", "pase por alto", "desobedece", "desobedezca", "desobedecer", "no sigas",
    "no siga", "deja de seguir", "deje de seguir", "elude", "eludir", "sortea", "salta",
    "saltate", "desatiende", "desestima", "desestimar",
    # it
    "ignora", "ignorare", "ignori", "ignorate", "dimentica", "dimenticare", "dimenticate",
    "dimentichi", "trascura", "trascurare", "tralascia", "non seguire", "non seguite",
    "smetti di seguire", "aggira", "aggirare", "scavalca", "non tenere conto", "non considerare",
    "lascia perdere", "disobbedisci",
    # pt
    "ignore", "ignora", "ignorar", "esqueca", "esquece", "esquecer", "esquecam", "desconsidere",
    "desconsidera", "desconsiderar", "descarte", "descartar", "despreze", "desprezar",
    "deixe de lado", "nao siga", "nao sigas", "pare de seguir", "burle", "contorne", "desobedeca",
)

# Generic verbs: weaker evidence (they also apply to files, tables, firewall rules...).
OVERRIDE_VERBS_WEAK: tuple[str, ...] = (
    "skip", "drop", "remove", "delete", "erase", "wipe", "clear", "reset", "replace",
    "overwrite", "break", "violate", "disable", "deactivate", "turn off", "switch off", "suspend",
    "lift", "cancel", "never mind", "loosen", "relax", "suppress",
    "losche", "loschen", "deaktiviere", "deaktivieren", "entferne", "brich", "breche",
    "efface", "effacez", "supprime", "supprimez", "annule", "annulez", "desactive", "desactivez",
    "enfreins", "borra", "borre", "elimina", "elimine", "anula", "anule", "desactiva", "rompe",
    "cancella", "elimina", "annulla", "disattiva", "viola", "apague", "remova", "desative",
    "anule", "quebre",
)

# Nouns naming the model's instructions.
TARGETS_WEAK: tuple[str, ...] = (
    "instructions", "instruction", "rules", "guidelines", "guideline", "directives", "directive",
    "commands", "orders", "guidance", "prompt", "prompts", "constraints", "restrictions",
    "limitations", "policies", "policy", "programming", "training", "conditioning",
    "safeguards", "filters", "protocols", "principles", "ethics", "morals", "boundaries",
    "directions", "rule", "task", "context",
    "anweisungen", "anweisung", "instruktionen", "regeln", "richtlinien", "vorgaben",
    "befehle", "anordnungen", "einschrankungen", "beschrankungen", "vorschriften",
    "programmierung", "leitlinien", "direktiven", "bestimmungen", "filter", "grundsatze",
    "consignes", "regles", "commandes", "ordres", "limites", "contraintes", "politiques",
    "programmation", "filtres", "invite", "principes", "lignes directrices", "indications",
    "instrucciones", "instruccion", "reglas", "normas", "indicaciones", "directrices",
    "directivas", "ordenes", "comandos", "restricciones", "limitaciones", "politicas",
    "programacion", "filtros", "pautas", "principios",
    "istruzioni", "regole", "linee guida", "direttive", "indicazioni", "ordini", "comandi",
    "restrizioni", "limitazioni", "limiti", "politiche", "programmazione", "filtri", "principi",
    "vincoli",
    "instrucoes", "instrucao", "regras", "diretrizes", "orientacoes", "diretivas", "ordens",
    "restricoes", "limitacoes", "programacao",
)

# Nouns that only make sense as the assistant's own configuration.
TARGETS_STRONG: tuple[str, ...] = (
    "system prompt", "system prompts", "system message", "system instructions",
    "system instruction", "system rules", "system directives", "sys prompt", "systemprompt",
    "system-prompt", "pre-prompt", "preprompt", "meta prompt", "metaprompt", "initial prompt",
    "original prompt", "hidden prompt", "secret prompt", "initial instructions",
    "original instructions", "hidden instructions", "secret instructions",
    "internal instructions", "confidential instructions", "developer message",
    "developer instructions", "developer prompt", "safety guidelines", "safety rules",
    "safety protocols", "safety filters", "safety measures", "safety restrictions",
    "safety settings", "content policy", "content policies", "content filter", "content filters",
    "content guidelines", "usage policy", "usage policies", "guardrails", "guard rails",
    "ethical guidelines", "ethical constraints", "ethical principles", "moral guidelines",
    "moral constraints", "alignment", "openai policy", "openai policies", "openai guidelines",
    "anthropic policy", "anthropic guidelines", "programmed rules", "built-in rules",
    "systemnachricht", "systemanweisung", "systemanweisungen", "sicherheitsrichtlinien",
    "sicherheitsregeln", "sicherheitsvorkehrungen", "sicherheitsfilter", "inhaltsrichtlinien",
    "ursprunglichen anweisungen", "versteckten anweisungen", "geheimen anweisungen",
    "prompt systeme", "invite systeme", "message systeme", "instructions systeme",
    "instructions initiales", "instructions cachees", "instructions secretes",
    "consignes initiales", "consignes de securite", "regles de securite", "garde-fous",
    "prompt del sistema", "prompt de sistema", "mensaje del sistema", "instrucciones del sistema",
    "instrucciones iniciales", "instrucciones ocultas", "instrucciones secretas",
    "normas de seguridad", "reglas de seguridad", "filtros de seguridad",
    "prompt di sistema", "prompt del sistema", "messaggio di sistema", "istruzioni di sistema",
    "istruzioni iniziali", "istruzioni nascoste", "istruzioni segrete", "regole di sicurezza",
    "prompt do sistema", "mensagem do sistema", "instrucoes do sistema", "instrucoes iniciais",
    "instrucoes ocultas", "instrucoes secretas", "regras de seguranca",
)

# Words that tie a target to "what you were told before" (scope / ownership).
SCOPE: tuple[str, ...] = (
    "previous", "prior", "above", "preceding", "earlier", "foregoing", "former", "all", "any",
    "every", "your", "yours", "original", "initial", "existing", "current", "old", "given",
    "default", "system", "hidden", "built-in", "builtin", "pre-existing", "standing", "so far",
    "before", "until now", "up to now", "above-mentioned", "aforementioned", "these", "those",
    "you were given", "you've been given", "you have been given", "you received", "you were told",
    "programmed", "safety", "ur",
    "vorherigen", "vorherige", "vorigen", "vorige", "bisherigen", "bisherige", "obigen", "obige",
    "vorangegangenen", "vorangehenden", "fruheren", "fruhere", "alle", "allen", "samtliche",
    "samtlichen", "deine", "deinen", "deiner", "deines", "dein", "ihre", "ihren",
    "ursprunglichen", "ursprungliche", "anfanglichen", "aktuellen", "vorher", "bisher", "oben",
    "zuvor", "gegebenen", "erhaltenen", "jeglichen", "jegliche",
    "precedentes", "precedente", "anterieures", "anterieure", "ci-dessus", "ci dessus", "toutes",
    "tous", "tes", "vos", "ton", "votre", "initiales", "initiale", "originales", "actuelles",
    "d'avant", "plus haut", "recues", "jusqu'ici", "anciennes",
    "anteriores", "anterior", "previas", "previos", "de arriba", "todas", "todos", "tus", "tu",
    "sus", "su", "iniciales", "originales", "actuales", "recibidas", "dadas", "hasta ahora",
    "de antes", "precedentes", "vuestras",
    "precedenti", "tutte", "tutti", "tue", "tuoi", "tuo", "tua", "sopra", "iniziali",
    "originali", "attuali", "ricevute", "finora", "vostre",
    "suas", "seus", "seu", "sua", "acima", "iniciais", "originais", "atuais", "recebidas",
    "ate agora",
)

# "Everything above / everything you were told" after an override verb (no target noun).
ABOVE_WORDS: tuple[str, ...] = (
    "above", "before", "previously", "prior", "earlier", "so far", "until now", "up to now",
    "you were told", "you have been told", "you've been told", "you were given", "you know",
    "you've learned", "you have learned", "you learned",
    "oben", "vorher", "zuvor", "bisher", "davor", "bis jetzt", "man dir gesagt hat",
    "dir gesagt wurde", "was man dir", "ci-dessus", "avant", "precedemment", "jusqu'ici",
    "on t'a dit", "qu'on t'a dit", "arriba", "antes", "anteriormente", "hasta ahora",
    "te dijeron", "te han dicho", "sopra", "prima", "finora", "ti hanno detto", "acima",
    "ate agora", "te disseram", "lhe disseram",
)

# Verbs asking the model to disclose text.
REVEAL_VERBS: tuple[str, ...] = (
    "reveal", "show", "print", "display", "output", "repeat", "recite", "tell", "give", "share",
    "leak", "dump", "disclose", "expose", "write out", "write down", "type out", "spell out",
    "list", "paste", "copy", "echo", "return", "provide", "quote", "read back", "send",
    "translate", "summarize", "summarise", "what is", "what are", "what was", "what were",
    "what's", "whats",
    "zeig", "zeige", "zeigen", "zeigt", "gib", "gebe", "geben", "nenne", "nenn", "nennen",
    "verrate", "verrat", "verraten", "wiederhole", "wiederhol", "wiederholen", "drucke", "druck",
    "schreib", "schreibe", "liste", "offenbare", "teile", "kopiere", "sag", "sage", "sagen",
    "was ist", "was sind", "was war", "was waren", "wie lautet", "wie lauten",
    "revele", "revelez", "reveler", "montre", "montrez", "montrer", "affiche", "affichez",
    "afficher", "imprime", "imprimez", "donne", "donnez", "repete", "repetez", "repeter",
    "ecris", "ecrivez", "recopie", "recopiez", "copie", "copiez", "dis", "dites", "partage",
    "partagez", "divulgue", "divulguez", "cite", "citez", "quel est", "quelle est",
    "quels sont", "quelles sont",
    "revela", "revelar", "muestra", "muestre", "muestrame", "muestreme", "mostrar", "ensena",
    "ensename", "imprimir", "da", "dame", "deme", "dime", "digame", "repite", "repita",
    "repetir", "escribe", "escriba", "copia", "comparte", "comparteme", "filtra", "divulga",
    "cual es", "cuales son", "cual era", "cuales eran",
    "rivela", "rivelami", "mostra", "mostrami", "stampa", "dammi", "dimmi", "ripeti",
    "ripetere", "scrivi", "condividi", "elenca", "qual e", "quali sono",
    "mostre", "me mostre", "imprima", "de-me", "diga", "diga-me", "me diga", "repete",
    "escreva", "copie", "compartilhe", "liste", "qual e", "quais sao",
)

# Weaker disclosure targets: need "your"/a qualifier to count.
EXTRACT_TARGETS_T1: tuple[str, ...] = (
    "instructions", "prompt", "directives", "programming", "configuration", "initialization",
    "system", "context window", "pre-prompt", "setup",
    "anweisungen", "instruktionen", "vorgaben", "konfiguration", "programmierung",
    "consignes", "configuration", "invite", "instrucciones", "indicaciones", "configuracion",
    "istruzioni", "configurazione", "instrucoes", "configuracao",
)
EXTRACT_TARGETS_T2: tuple[str, ...] = (
    "rules", "guidelines", "policies", "restrictions", "constraints", "regeln", "richtlinien",
    "regles", "directives", "reglas", "directrices", "normas", "regole", "linee guida",
    "regras", "diretrizes",
)
SECOND_PERSON: tuple[str, ...] = (
    "your", "yours", "ur", "you were given", "you've been given", "you have been given",
    "you received", "you were told", "you follow", "you operate under", "you were programmed",
    "dein", "deine", "deinen", "deiner", "dir gegebenen", "ton", "ta", "tes", "votre", "vos",
    "tu", "tus", "vuestras", "tuo", "tua", "tue", "tuoi", "le tue", "il tuo", "seu", "sua",
    "seus", "suas", "o seu", "as suas",
)
QUALIFIERS: tuple[str, ...] = (
    "system", "hidden", "secret", "initial", "original", "internal", "confidential",
    "preceding", "above", "previous", "prior", "earlier", "full", "complete", "entire",
    "exact", "verbatim", "underlying",
    "versteckten", "geheimen", "ursprunglichen", "internen", "vollstandigen", "kompletten",
    "obigen", "vorherigen", "cachees", "secretes", "initiales", "internes", "completes",
    "precedentes", "ocultas", "secretas", "iniciales", "internas", "completas", "anteriores",
    "nascoste", "segrete", "iniziali", "interne", "complete", "precedenti", "ocultas",
    "iniciais", "completas",
)
FIRST_PERSON: tuple[str, ...] = (
    "my", "our", "mein", "meine", "meinen", "meiner", "unsere", "mon", "ma", "mes", "notre",
    "nos", "mi", "mis", "nuestro", "nuestras", "mio", "mia", "miei", "mie", "meu", "minha",
    "meus", "minhas",
)

# Model-directed persona switches: weak on their own (benign role-play is common).
PERSONA: tuple[str, ...] = (
    "you are now", "you're now", "youre now", "from now on you", "from now on, you",
    "act as", "acting as", "pretend to be", "pretend you are", "pretend you're",
    "pretend that you", "roleplay as", "role-play as", "role play as", "play the role of",
    "imagine you are", "imagine you're", "you will now be", "you are going to act",
    "you are going to pretend", "you will act as", "behave as", "simulate being",
    "du bist jetzt", "du bist ab sofort", "du bist nun", "ab jetzt bist du",
    "ab sofort bist du", "von nun an bist du", "spiele die rolle", "tu so als",
    "tu es maintenant", "tu es desormais", "a partir de maintenant tu", "desormais tu",
    "fais comme si", "fais semblant", "joue le role", "agis comme",
    "ahora eres", "a partir de ahora eres", "desde ahora eres", "finge que", "finge ser",
    "actua como", "interpreta el papel", "haz de cuenta",
    "ora sei", "d'ora in poi sei", "da ora in poi sei", "fingi di essere", "comportati come",
    "agisci come", "interpreta il ruolo",
    "agora voce e", "a partir de agora voce", "de agora em diante voce", "finja que",
    "finja ser", "aja como", "atue como",
)

# Negations/absences that, next to restriction nouns, mean "unrestricted".
NO_WORDS: tuple[str, ...] = (
    "no", "without", "zero", "free from", "free of", "not bound by", "not limited by",
    "unbound by", "devoid of", "not restricted by", "not subject to", "not constrained by",
    "keine", "keinen", "keiner", "ohne", "frei von", "nicht an", "sans", "aucune", "aucun",
    "libre de", "libere de", "sin", "ninguna", "ningun", "ninguno", "libre de", "senza",
    "alcuna", "alcun", "nessuna", "nessun", "libero da", "sem", "nenhuma", "nenhum", "livre de",
)
RESTRICTION_NOUNS: tuple[str, ...] = (
    "restrictions", "restriction", "limits", "limitations", "limit", "filters", "filter",
    "filtering", "censorship", "censoring", "rules", "guidelines", "boundaries", "constraints",
    "ethics", "ethical guidelines", "ethical constraints", "ethical limits", "ethical boundaries",
    "morals", "morality", "moral constraints", "moral guidelines", "safety guidelines",
    "safety measures", "safety filters", "content policy", "content policies", "guardrails",
    "rules or policies", "programming",
    "einschrankungen", "beschrankungen", "grenzen", "zensur", "regeln", "richtlinien",
    "ethischen grenzen", "moralischen grenzen", "einschrankung", "beschrankung", "grenze",
    "limites", "filtres", "censure", "regles", "contraintes", "limites ethiques", "filtre",
    "limite", "regle", "regle ethique", "regles ethiques", "contrainte", "restriction",
    "restricciones", "filtros", "censura", "reglas", "limites eticos", "filtro", "regla",
    "restriccion", "restricciones eticas", "limite",
    "restrizioni", "limiti", "filtri", "regole", "limiti etici", "restrizione", "regola",
    "restricoes", "regras", "limites eticos", "restricao", "regra",
)
AI_NOUNS: tuple[str, ...] = (
    "ai", "assistant", "model", "chatbot", "bot", "llm", "gpt", "version", "mode", "persona",
    "character", "entity", "system", "ki", "ki-modell", "modell", "assistent", "ia", "modele",
    "modelo", "modello", "assistente", "asistente", "sprachmodell", "intelligence",
)
UNRESTRICTED_ADJ: tuple[str, ...] = (
    "unrestricted", "unfiltered", "uncensored", "unlimited", "unbound", "unchained",
    "unshackled", "jailbroken", "jailbreak", "amoral", "unethical", "evil", "rogue",
    "uncontrolled", "lawless", "no-limits", "limitless", "ungefiltert", "ungefilterte",
    "ungefilterter", "unzensiert", "unzensierte", "unzensierter", "uneingeschrankt",
    "uneingeschrankte", "uneingeschrankter", "bose", "boser", "non censure", "non filtre",
    "sans limites", "malefique", "malvada", "malvado", "malvagio", "malvagia", "maligno",
    "sin censura", "sin filtros", "sin restricciones", "senza filtri", "senza censura",
    "sem filtros", "sem censura", "libre",
)
JAILBREAK_NAMES: tuple[str, ...] = (
    "do anything now", "developer mode enabled", "developer mode output",
    "developer mode activated", "developer mode on", "enable developer mode",
    "activate developer mode", "dev mode enabled", "jailbroken", "jailbreak mode", "god mode",
    "dan mode", "evil confidant", "betterdan", "better dan", "antigpt", "anti-gpt", "evilbot",
    "unrestricted mode", "uncensored mode", "no-limits mode", "no limits mode", "chaos mode",
    "opposite mode", "sudo mode", "admin mode", "maintenance mode", "debug mode enabled",
    "unlocked mode", "mode developpeur", "entwicklermodus", "modo desarrollador",
    "modalita sviluppatore", "modo desenvolvedor", "stay in character",
    "stay in developer mode", "broken free", "break free of", "breaking free",
    "confines of ai", "freed from", "liberated from", "have been freed", "have been liberated",
    "have been unlocked", "have been jailbroken", "you are free now", "you are now free",
)
REFUSAL_WORDS: tuple[str, ...] = ("refuse", "decline", "say no", "reject", "deny")
NEVER_WORDS: tuple[str, ...] = (
    "never", "don't", "do not", "must not", "cannot", "can't", "will not", "won't", "shall not",
    "are not allowed to", "may not", "should never",
)
