"""Sentence splitting, cleaning of spoken text and word tokens for transcripts (pure: no Django).

Transcript segments are the natural units; inside a segment, sentences end at ``.``, ``?`` or
``!`` (AMI-style text puts a space before the mark: ``"Okay , that's fine ."``). No NLTK data
is needed: sumy gets our tokenizer (:class:`WordTokenizer`) instead of its punkt one.

:func:`clean_sentence` makes a spoken sentence read like a written one, and only ever *removes*
words: fillers ("um", "uh", "you know", "I mean", hedging "sort of"/"kind of"), repeated words
and phrases ("we we", "I think I think"), false starts ("he -- he used", "The It basically
says", a word cut off before its restart) and leading discourse markers ("okay so"). The
cleaned sentence's words are therefore an ordered subsequence of the words that were said
(see :func:`is_grounded`). :func:`is_fragment` tells sentence fragments ("so that we can",
"because it's cheaper", a question) from statements worth showing in a summary.

The product's transcripts come from Zoom or Whisper. The research corpora (AMI, ICSI, QMSum)
carry annotation markers (``{disfmarker}``, ``{vocalsound}``) and AMI's tokenization (``it 's``,
``do n't``, ``Mm - hmm``, ``okay ,``): :func:`normalize_corpus_text` turns such text into the
product's kind of text first.

It stays one module (about 700 lines, a quarter of them word lists): cleaning and fragment
detection read the same closed word classes (subjects, determiners, auxiliaries, verb forms),
which a split would have to share back or copy.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache

# Sentences end at . ? ! and a space, except after a title or an abbreviation ("Mr. Chair").
_SENTENCE_END = re.compile(
    r"(?<=[.!?])(?<!\bMr\.)(?<!\bMs\.)(?<!\bDr\.)(?<!\bSt\.)(?<!\bMrs\.)(?<!\bvs\.)(?<!\bProf\.)"
    r"(?<!\betc\.)(?<!\be\.g\.)(?<!\bi\.e\.)\s+(?=\S)"
)
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)*(?:-[A-Za-z0-9]+)*")
_TOKEN = re.compile(r"\S+")

# --- word lists (lower case; no tagger data is needed) -------------------------------------------


def _word_list(spaced: str) -> list[str]:
    return spaced.split()


FILLERS = frozenset(
    {"um", "umm", "uh", "uhh", "uhm", "erm", "er", "ah", "hmm", "hm", "mm", "mmm", "mm-hmm", "uh-huh", "huh"}
)
FILLERS |= {"uh-oh", "mhm", "eh", "oh", "hmm-mm", "mm-mm"}
_LEADING_MARKERS = frozenset(
    {"okay", "ok", "so", "right", "well", "yeah", "yes", "yep", "and", "but", "alright", "now", "oh", "um"}
)
_LEADING_MARKERS |= {"uh", "mm", "hmm", "'kay", "kay", "then", "also", "actually", "anyway", "like"}
_LEADING_MARKERS |= {"anyways", "alrighty", "yup", "mm-hmm", "uh-huh"}
_TRAILING_MARKERS = frozenset({"so", "yeah", "okay", "ok", "right", "then", "um", "uh", "and", "but", "or"})
# Short common words that may begin a longer word ("the theatre"): never taken for a false start.
_COMMON_PREFIXES = frozenset(
    _word_list("""the and for her his our can not all any one out see use new now old two way who how day get has
    him its let put say she too you are but had was off own per set in on at to of is it we be do go
    no so up an as by if me my or us he""")
)
# Lower-case letters-only tokens without a vowel that are real words, not cut-off stubs ("th", "w").
_CONSONANT_WORDS = frozenset(
    _word_list("""mm hm hmm mmm shh psst tsk nth pm tv pc cd hr km kg cm ml mb gb kb mr dr ms st nd rd vs dj pr
    by my why sky fly try dry cry shy spy gym""")
)
# Words said twice on purpose ("twenty twenty", "that that is true", "had had").
_KEEP_DOUBLED = frozenset(
    _word_list("""zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
    sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred
    thousand million billion that had""")
)
_DETERMINERS = frozenset(
    _word_list("""the a an this that these those my your our their his her its some any no every each another
    other all both either neither what which whatever""")
)
_SUBJECTS = frozenset(_word_list("i we you they he she it there this that"))
_SUBJECT_CONTRACTIONS = frozenset(
    f"{pronoun}{clitic}"
    for pronoun in ("i", "we", "you", "they", "he", "she", "it", "there", "that", "what", "who")
    for clitic in ("'s", "'re", "'m", "'ve", "'ll", "'d")
)
_MODALS = frozenset(_word_list("can could will would shall should may might must"))
_AUXILIARIES = _MODALS | frozenset(
    _word_list("""am is are was were be been being have has had do does did gonna wanna gotta isn't aren't wasn't
    weren't don't doesn't didn't won't wouldn't can't cannot couldn't shouldn't haven't hasn't hadn't
    mustn't ain't let's""")
)
_PREPOSITIONS = frozenset(
    _word_list("""to of in on at for with from by about into onto over under between through than as per without
    within towards toward upon via during across against around behind beyond""")
)
_CONJUNCTIONS = frozenset(
    _word_list("and or but nor so because if whether although though unless cuz 'cause")
)
_SUBORDINATORS = frozenset(
    _word_list("""because although though if unless when whenever while whereas since until till cuz 'cause which
    whose whom whether""")
)
_WH_WORDS = frozenset(_word_list("what why how where when who which whose"))
# Words that cannot end a clause: before a restart marker they were abandoned ("the -- it").
_DANGLING = (
    _DETERMINERS
    | _SUBJECTS
    | _SUBJECT_CONTRACTIONS
    | _AUXILIARIES
    | _PREPOSITIONS
    | _CONJUNCTIONS
    | _WH_WORDS
    | frozenset(_word_list("very really just quite more most such not"))
) - frozenset({"that", "this", "it", "there", "what", "which"})
# Words that can start a restarted phrase after an abandoned one ("the -- it basically says").
_RESTART_STARTERS = (
    _DETERMINERS | _SUBJECTS | _SUBJECT_CONTRACTIONS | _CONJUNCTIONS | _WH_WORDS | _PREPOSITIONS
) | frozenset(_word_list("let's maybe not then one two three some"))
# A sentence ending in one of these was cut off ("and the", "so that we can").
_DANGLING_END = (
    frozenset(_word_list("the a an my your our their its every"))
    | (_PREPOSITIONS - {"about", "over", "through", "around", "behind", "across", "on", "in"})
    | _CONJUNCTIONS
    | frozenset(_word_list("i we they he she you're we're they're i'm it's that's there's we've i've"))
    | _MODALS
    | frozenset(_word_list("be been being am are is was were very really just quite um uh like the"))
)
# Capitalized words that begin a restart when glued to an abandoned determiner ("The It ...").
_CAPITAL_RESTARTS = frozenset(_word_list("it we they he she you this that there these those"))
_BEFORE_CAPITAL_RESTART = (_DETERMINERS | _PREPOSITIONS | _CONJUNCTIONS | {"i", "we", "they"}) - {
    "that",
    "this",
    "these",
    "those",
    "what",
    "which",
}
_NOMINATIVE = frozenset(_word_list("i we they he she"))
_ARTICLES = frozenset(_word_list("the a an"))
_SUBJECTS_OF_A_RESTART = (_SUBJECTS - {"this", "that", "there"}) | _SUBJECT_CONTRACTIONS
_AFTER_NOMINATIVE = _SUBJECTS_OF_A_RESTART | _ARTICLES
_GLUED_TRIGGERS = _CAPITAL_RESTARTS | _SUBJECTS | _SUBJECT_CONTRACTIONS | _ARTICLES
# Hedges are kept after these ("what kind of", "a sort of remote").
_HEDGE_KEEPERS = _DETERMINERS | frozenset(
    _word_list("""one same different certain particular new main right wrong best good bad first last only various
    two three many several kind sort type whatever""")
)

_COMMON_VERBS = _word_list("""
    add agree allow answer apply approve argue ask assume bring build buy call change check choose
    close come compare consider continue cost create cut decide deliver design discuss do draw drive
    eat end expect explain feel fill find finish fit fix follow forget get give go guess happen hate
    have hear help hold hope implement improve include increase keep know learn leave let like listen
    live look lose love make mean meet mention miss move need offer open pay pick plan play prefer
    prepare present produce provide pull push put reach read realize recommend reduce remember remove
    report represent require review run say see seem sell send set share show sit sound speak spend
    start stay stop suggest suppose support take talk teach tell test think try turn understand use
    wait want watch work worry write
""")
_IRREGULAR_PAST = _word_list("""
    was were had did said made went got gone took taken came saw seen knew known thought gave given
    found told felt left kept brought bought began begun ran wrote written chose chosen meant met paid
    sold sent spent stood understood heard held lost built drew drawn drove ate won put set cut let
    read became become
""")


def _inflections(verb: str) -> set[str]:
    stem = verb[:-1] if verb.endswith("e") and verb not in {"see", "be"} else verb
    third = verb + ("es" if verb.endswith(("s", "sh", "ch", "x", "o")) else "s")
    if verb.endswith("y") and verb[-2] not in "aeiou":
        third, past = verb[:-1] + "ies", verb[:-1] + "ied"
    else:
        past = stem + "ed"
    return {third, past, stem + "ing"}


_VERB_BASES = frozenset(_COMMON_VERBS)
_VERB_FORMS = frozenset(form for verb in _COMMON_VERBS for form in _inflections(verb)) | frozenset(
    _IRREGULAR_PAST
)
_NOT_PAST = frozenset(
    _word_list("hundred kindred sacred naked wicked beloved rugged ragged crooked wretched red bed")
)
_VERB_OPENERS = frozenset(_word_list("just also really actually still never always all both please not"))
_S_IS = frozenset(_word_list("i we you they he she it there this that what who where how here everything"))
_NOT_AFTER_SUBJECT = (
    _DETERMINERS | _PREPOSITIONS | _CONJUNCTIONS | _SUBJECTS | _VERB_OPENERS | _WH_WORDS | FILLERS
) | frozenset(_word_list("guys mean know think too probably definitely only usually often even"))
_STRANDABLE = _PREPOSITIONS | frozenset(_word_list("be been am are is was were"))
_STRANDING = frozenset(_word_list("what which who whom that where"))
_VERBISH = _VERB_BASES | _VERB_FORMS | _AUXILIARIES
_CLITICS = ("'s", "'re", "'m", "'ve", "'ll", "'d", "n't")
_CLITIC = re.compile(r"(?:'s|'re|'m|'ve|'ll|'d|n't)$")

# --- phrase fillers: each rule carries its replacement, and the replacement only deletes text ------


def _token_before(text: str, index: int) -> str:
    """The whitespace-separated token that ends before ``text[index]``."""
    end = index
    while end and text[end - 1].isspace():
        end -= 1
    start = end
    while start and not text[start - 1].isspace():
        start -= 1
    return text[start:end]


def _drop_unless_meant(match: re.Match[str]) -> str:
    """ "you know ," is a filler unless it is meant ("do you know , ...", "I'll let you know , Bob")."""
    before = _token_before(match.string, match.start())
    if before[-1:].isalpha() and _bare(before) in _KNOW_MEANT_AFTER:
        return match.group(0)
    return ""


_KNOW_MEANT_AFTER = frozenset(
    _word_list("do did does don't didn't if would could should can will might may as let to want make")
)


def _drop_hedge(match: re.Match[str]) -> str:
    """Drop "sort of" / "kind of" used as a hedge ("we kind of agreed"), not as a noun ("what kind of")."""
    if _bare(_token_before(match.string, match.start())) in _HEDGE_KEEPERS:
        return match.group(0)
    return ""


# (words the rule needs, pattern, replacement): the words only spare running the pattern.
_PHRASE_FILLERS: tuple[tuple[tuple[str, ...], re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # ", you know ," / "you know , we" / "so , you know , but"  →  keep what came before it
    (
        ("know",),
        re.compile(
            r"(?<![\w'’-])you\s+know\s*,\s*",
            re.IGNORECASE,
        ),
        _drop_unless_meant,
    ),
    # "it's great , you know ." / "..., you know?" at the end: the sentence ends there
    (("know",), re.compile(r"[,;]\s*you\s+know\s*[.?!]?\s*$", re.IGNORECASE), "."),
    # "I mean ," anywhere after a boundary; "I mean" opening a clause ("I mean it's not bad")
    (
        ("mean",),
        re.compile(r"(?P<lead>(?:^|[,.;:!?]\s*|(?<!\S)[-–—]+\s*))i\s+mean\s*,\s*", re.IGNORECASE),
        r"\g<lead>",
    ),
    (
        ("mean",),
        re.compile(
            r"(?P<lead>(?:^|[,.;:!?]\s*|(?<!\S)[-–—]+\s*|(?<!\S)(?:and|but|so|or|uh|um)\s+))i\s+mean\s+"
            r"(?!(?:it|that|this|what|to|for|by|is|was|they|them|him|her|you|me|us|in|the)(?![\w'’]))"
            r"(?=[A-Za-z])",
            re.IGNORECASE,
        ),
        r"\g<lead>",
    ),
    # hedges: "it's sort of cheap" → "it's cheap"; "what kind of remote" is kept
    (
        ("sort", "kind"),
        re.compile(
            r"(?<!\S)(?:(?:sort|kind)\s+of|kinda|sorta)(?![\w'’-])\s+(?=[A-Za-z0-9])",
            re.IGNORECASE,
        ),
        _drop_hedge,
    ),
)

_HAS_WORD = re.compile(r"[A-Za-z0-9]")  # a word (see _WORD) begins with one of these
_UNTIDY = re.compile(r"[\s,;:][,.;:?!]")
_TIDY = re.compile(r"\s+(?=[,.;:?!])|(?<=[,;:])[,;:]+|[,;:]+(?=[.?!])")
_RESTART_MARKS = frozenset({"--", "—", "–", "-", "---", "——", "...", "…"})
_ATTACHED_DASH = re.compile(r"(?<=[^\s—–-])([—–]+|--+)|(?<![—–-])([—–]+|--+)(?=[^\s—–-])")


def split_sentences(text: str) -> list[str]:
    """Sentences of one segment's text, in order (empty pieces dropped)."""
    return [piece.strip() for piece in _SENTENCE_END.split(text.strip()) if piece.strip()]


def words(text: str) -> list[str]:
    """Word tokens (letters/digits, inner apostrophes and hyphens kept), original case."""
    return _WORD.findall(text)


_BARE_CACHE: dict[str, str] = {}


def _bare(token: str) -> str:
    """A token without surrounding punctuation, lower-cased, with a straight apostrophe."""
    bare = _BARE_CACHE.get(token)
    if bare is None:
        bare = token.strip(',.;:!?"()[]').lower().replace("’", "'")
        if len(token) <= 32:  # a bounded cache of short tokens: a meeting's vocabulary
            if len(_BARE_CACHE) >= 50_000:
                _BARE_CACHE.clear()
            _BARE_CACHE[token] = bare
    return bare


def _is_boundary(token: str) -> bool:
    return token[-1] in ",.;:!?" or token in _RESTART_MARKS


def _is_cut_off(token: str, bare: str, following: str, previous: str) -> bool:
    """A word broken off before its restart: "kinet kinetic", "w we", "the s on the", "beca- because"."""
    if len(bare) > 2 and bare[-1] != "-" and not following.startswith(bare):
        return False  # the common case, decided fast
    if not bare or token[-1] in ",.;:?!":
        return False
    if bare.endswith("-") and bare[:-1].isalpha():  # Whisper / Zoom style "beca- because"
        return True
    if not bare.isascii() or not bare.isalpha():
        return False
    if len(bare) == 1:  # "w we", "b but": a letter, not "a" or "I", that begins the next word
        return (
            bare not in {"a", "i", "o"}
            and token.islower()
            and (following.startswith(bare) or (previous in _DETERMINERS and following != "-"))
        )
    if len(bare) <= 2 and token.islower() and not re.search("[aeiouy]", bare):
        return bare not in _CONSONANT_WORDS  # "th", "wh": no English word
    return bare not in _COMMON_PREFIXES and following != bare and following.startswith(bare)


def _repair_restarts(tokens: list[str], markers: frozenset[str], keep_unrepaired: bool) -> list[str]:
    """Drop the abandoned words before each restart marker when the restart repeats or replaces them.

    "he -- he used" → "he used"; "we didn't -- we did not" → "we did not"; "the -- it says" →
    "it says". An unrepaired marker is kept (``keep_unrepaired``) or dropped.
    """
    next_word = [len(tokens)] * (len(tokens) + 1)  # the index of the first non-marker after each token
    for position in range(len(tokens) - 2, -1, -1):
        following = tokens[position + 1]
        next_word[position] = position + 1 if following not in markers else next_word[position + 1]
    kept: list[str] = []
    clause_start = 0  # index in ``kept`` where the current clause (the candidate abandoned part) begins
    for position, token in enumerate(tokens):
        if token not in markers:
            kept.append(token)
            if _is_boundary(token):
                clause_start = len(kept)
            continue
        following = tokens[next_word[position]] if next_word[position] < len(tokens) else ""
        restart = _bare(following)
        abandoned = kept[clause_start:]
        content = [i for i, t in enumerate(abandoned) if _bare(t) not in FILLERS]
        repaired_from = None
        if restart and content:
            last = content[-1]
            restart_root = _CLITIC.sub("", restart)  # "that -- that's" restarts "that"
            repeats = [i for i in content if _bare(abandoned[i]) in (restart, restart_root)]
            if repeats and (  # at most four words abandoned: "not just one qualification—it's" is style
                repeats[-1] >= last - 2 or (repeats[-1] == content[0] and len(content) <= 4)
            ):
                repaired_from = repeats[-1]  # "he -- he", "it's uh -- it's", "we didn't -- We did"
            elif _bare(abandoned[last]) in _VERBISH and restart in _VERBISH and restart != "to":
                repaired_from = last  # "we just want -- need to cover"
            elif _bare(abandoned[last]) in _DANGLING and restart in _RESTART_STARTERS:
                if len(content) <= 4:
                    repaired_from = 0  # "so the -- it basically says": the whole clause was abandoned
                elif not keep_unrepaired:  # "and uh the uh and the {disfmarker} one of the features"
                    first = len(content) - 1
                    while first > 0 and _bare(abandoned[content[first - 1]]) in _DANGLING:
                        first -= 1
                    repaired_from = content[first]
        if repaired_from is not None:
            del kept[clause_start + repaired_from :]
        elif keep_unrepaired and restart and kept:
            kept.append(token)
        elif (  # "go down uh {disfmarker} So , what I think": a new sentence
            kept
            and kept[-1][-1] not in ",.;:!?"
            and following[:1].isupper()
            and (restart in _RESTART_STARTERS or restart in _LEADING_MARKERS)
            and restart != "i"
        ):
            kept[-1] += "."
        clause_start = len(kept)
    return kept


def _drop_glued_restarts(tokens: list[str], bares: list[str]) -> tuple[list[str], list[str]]:
    """Restarts without a marker: "The It basically says" → "It basically says", "I it makes" → "it makes"."""
    if not any(  # the common case: no "I it", no "the It"
        (before in _NOMINATIVE and bare in _AFTER_NOMINATIVE)
        or (bare in _CAPITAL_RESTARTS and token[0].isupper() and not token.isupper())
        for before, bare, token in zip(bares, bares[1:], tokens[1:])  # noqa: B905 (one shorter on purpose)
    ):
        return tokens, bares
    kept: list[str] = []
    kept_bares: list[str] = []
    clause_start = 0
    for token, bare in zip(tokens, bares, strict=True):
        if bare in _GLUED_TRIGGERS and kept and kept[-1][-1] not in ",.;:!?":
            before = kept_bares[-1]
            if (  # "The It basically": a capitalized pronoun restarts (not an acronym: "for HE and FE")
                token[:1].isupper()
                and not token.isupper()
                and bare in _CAPITAL_RESTARTS
                and before in _BEFORE_CAPITAL_RESTART
            ):
                abandoned = len(kept) - clause_start
                del kept[clause_start if abandoned <= 3 else len(kept) - 1 :]
                del kept_bares[len(kept) :]
            elif before in _NOMINATIVE and (
                bare in _SUBJECTS_OF_A_RESTART or (bare in _ARTICLES and before != "we")
            ):
                kept.pop()  # "I it makes", "I the thing I like": the first subject was abandoned
                kept_bares.pop()
        kept.append(token)
        kept_bares.append(bare)
        if token[-1] in ",.;:!?" or token in _RESTART_MARKS:
            clause_start = len(kept)
    return kept, kept_bares


def _drop_repeats(tokens: list[str], bares: list[str]) -> list[str]:
    """ "we we need" → "we need"; "I think I think" → "I think"; "the uh the" (fillers gone first)."""
    if len(set(bares)) == len(bares):
        return tokens  # no word twice: nothing repeats
    kept: list[str] = []
    position = 0
    count = len(tokens)
    while position < count:
        repeated = 0
        for size in (4, 3, 2, 1):
            end = position + size
            if end + size > count or bares[position] != bares[end] or tokens[end - 1][-1] in ".?!":
                continue
            first = bares[position:end]
            if first != bares[end : end + size] or not all(first):
                continue
            if size == 1 and (
                not re.fullmatch(r"[a-z']+(?:-[a-z]+)*", first[0]) or first[0] in _KEEP_DOUBLED
            ):
                continue
            repeated = size
            break
        if repeated:
            position += repeated
            continue
        kept.append(tokens[position])
        position += 1
    return kept


@lru_cache(maxsize=32768)  # the detector, the topics and the overview clean the same sentences
def clean_sentence(sentence: str) -> str:
    """Make one spoken sentence read like a written one; only ever removes words.

    ``"Um , so we we need the the budget , you know ."`` → ``"We need the budget."``;
    ``"I think I think he -- he used sort of a cheaper chip ."`` → ``"I think he used a cheaper chip."``.
    The result never contains a word that was not said (:func:`is_grounded`).
    """
    text = sentence
    lowered = sentence.lower()
    for needs, pattern, replacement in _PHRASE_FILLERS:
        if any(word in lowered for word in needs):
            text = pattern.sub(replacement, text)
    if "—" in text or "–" in text or "--" in text:
        text = _ATTACHED_DASH.sub(r" \1\2 ", text)  # "reserves—I don't" → "reserves — I don't"
    tokens: list[str] = []
    bares: list[str] = []  # each token's _bare (appending , . ? ! to a token keeps it)
    cached = _BARE_CACHE.get
    for token in text.split():
        bare = cached(token) or _bare(token)
        if bare and bare not in FILLERS:  # most tokens: a word
            tokens.append(token)
            bares.append(bare)
            continue
        if not bare and token not in _RESTART_MARKS:  # punctuation standing alone (" , " or " .")
            if tokens and tokens[-1] in _RESTART_MARKS:  # "look at—." was cut off
                tokens.pop()
                bares.pop()
            if tokens and token in {",", ";", ":"} and not tokens[-1].endswith((",", ";", ":")):
                tokens[-1] += token
            elif tokens and token in {".", "?", "!"}:
                tokens[-1] = tokens[-1].rstrip(",;:") + token
            continue
        if bare in FILLERS:
            if token[-1] in ".?!" and tokens:
                tokens[-1] = tokens[-1].rstrip(",;:") + token[-1]
            continue
        tokens.append(token)
        bares.append(bare)
    if not _RESTART_MARKS.isdisjoint(tokens):
        tokens = _repair_restarts(tokens, _RESTART_MARKS, keep_unrepaired=True)
        bares = [_bare(t) for t in tokens]
    following = [*bares[1:], ""]
    keep = [
        (len(bare) > 2 and bare[-1] != "-" and not following[i].startswith(bare))
        or not _is_cut_off(tokens[i], bare, following[i], bares[i - 1] if i else "")
        for i, bare in enumerate(bares)
    ]
    if not all(keep):
        tokens = [t for t, k in zip(tokens, keep, strict=True) if k]
        bares = [b for b, k in zip(bares, keep, strict=True) if k]
    tokens, bares = _drop_glued_restarts(tokens, bares)
    kept = _drop_repeats(tokens, bares)
    while kept and (_bare(kept[0]) in _LEADING_MARKERS or kept[0] in _RESTART_MARKS) and len(kept) > 1:
        if kept[0].lower() == "so" and _bare(kept[1]) in _AUXILIARIES:
            break  # "So do we." means "we do too"
        kept.pop(0)
    while len(kept) > 2 and _bare(kept[-1]) in _TRAILING_MARKERS and kept[-2][-1] in ",;:":
        ending = kept.pop()[-1]  # a tag ("..., right?") asked nothing: the sentence is a statement
        kept[-1] = kept[-1].rstrip(",;:") + ("." if ending == "?" else ending if ending in ".!" else "")
    while kept and kept[-1] in _RESTART_MARKS:  # "we need to look at --"
        kept.pop()
    if not kept or not _HAS_WORD.search(" ".join(kept)):
        return ""
    result = " ".join(kept).strip(" ,;:")
    if _UNTIDY.search(result):
        result = _TIDY.sub("", result)
    if "a" <= result[0] <= "z":
        result = result[0].upper() + result[1:]
    if result[-1] not in ".?!":
        result += "."
    return result


# --- corpus text (AMI / ICSI / QMSum) ------------------------------------------------------------

_CURLY = re.compile(r"\{\s*([A-Za-z_]*)\s*\}")
_AMI_CLITIC = re.compile(r"(?<=[A-Za-z]) +(n't|'s|'re|'m|'ll|'ve|'d)(?![\w'’])")
_AMI_HYPHEN = re.compile(r"(?<=[A-Za-z0-9]) - (?=[A-Za-z0-9])")
_AMI_PUNCT = re.compile(r"(?<!\s)\s+([,.;:?!])(?=\s|$)")
_DISFMARKER = "{disfmarker}"
_DISFMARKERS = frozenset({_DISFMARKER})
_ICSI_UNINTELLIGIBLE = re.compile(r"(?<!\S)@+(?!\S)")


def normalize_corpus_text(text: str) -> str:
    """Corpus transcript text (AMI/ICSI/QMSum) as the product's transcripts look.

    Removes annotation markers (``{vocalsound}``, ``{gap}``, ``{pause}``, ``{comment}``, ICSI's
    ``@ @``), detokenizes AMI spacing (``it 's`` → ``it's``, ``do n't`` → ``don't``, ``Mm - hmm``
    → ``Mm-hmm``, ``okay ,`` → ``okay,``) and uses each ``{disfmarker}`` (a restart) to drop the
    abandoned words before it when the restart repeats or replaces them: ``"he {disfmarker} he
    used"`` → ``"he used"``, ``"the {disfmarker} it says"`` → ``"it says"``. Only removes words
    (and joins AMI's split tokens); the rest of the cleaning is :func:`clean_sentence`'s.
    """
    if "{" in text:
        text = _CURLY.sub(lambda m: f" {_DISFMARKER} " if m.group(1).lower() == "disfmarker" else " ", text)
    if "@" in text:
        text = _ICSI_UNINTELLIGIBLE.sub(" ", text)
    if "'" in text or "n't" in text:
        text = _AMI_CLITIC.sub(r"\1", text)
    if " - " in text:
        text = _AMI_HYPHEN.sub("-", text)
    text = _AMI_PUNCT.sub(r"\1", text)
    if _DISFMARKER not in text:
        return " ".join(text.split())
    tokens = _repair_restarts(_TOKEN.findall(text), _DISFMARKERS, keep_unrepaired=False)
    # A marker glued to punctuation ("{disfmarker}.") is not a token of its own: drop what is left.
    return " ".join(_AMI_PUNCT.sub(r"\1", " ".join(tokens)).replace(_DISFMARKER, " ").split())


# --- fragments -----------------------------------------------------------------------------------


def _finite_verbs(lowered: Sequence[str]) -> list[int]:
    """Positions of words that are (very likely) finite verbs, from word lists and suffixes."""
    found = []
    for i, word in enumerate(lowered):
        before = lowered[i - 1] if i else ""
        if before == "to" and word in _VERB_BASES:
            continue  # an infinitive
        if word in _AUXILIARIES:
            found.append(i)
        elif "'" in word and word.endswith(_CLITICS):
            if word.endswith("'s") and word[:-2] not in _S_IS:
                continue  # a possessive ("Sarah's") more often than "is"
            found.append(i)
        elif word in _VERB_FORMS or word == "let's":
            if word.endswith("ing") and before not in _AUXILIARIES and not before.endswith(_CLITICS):
                continue  # a participle or gerund alone does not make a clause
            if (before in _DETERMINERS and word not in _IRREGULAR_PAST) or (i == 0 and word.endswith("ed")):
                continue  # "the proposed design", "the needs", "Suggested casing options."
            found.append(i)
        elif word in _VERB_BASES:
            if i == 0 or before in _SUBJECTS - {"it", "this", "that", "there"} or before in _MODALS:
                found.append(i)
            elif before.endswith("s") and not before.endswith("ss") and before not in _DETERMINERS:
                found.append(i)  # "the buttons need ..."
            elif before in _VERB_OPENERS or before.endswith("n't"):
                found.append(i)  # "we just need", "please send", "don't forget"
        elif len(word) >= 5 and word.endswith("ed") and not word.endswith("eed") and word not in _NOT_PAST:
            if i and before not in _DETERMINERS:  # not "Suggested casing options."
                found.append(i)
        elif (
            len(word) >= 3
            and word.endswith("s")
            and not word.endswith(("ss", "us", "is", "'s"))
            and before in {"he", "she", "it", "this", "that", "which", "who", "what", "everyone", "someone"}
        ):
            found.append(i)  # "it works", "that makes"
        elif (
            word.isalpha()
            and word not in _NOT_AFTER_SUBJECT
            and (
                before in _NOMINATIVE or (before in _VERB_OPENERS and i > 1 and lowered[i - 2] in _NOMINATIVE)
            )
        ):
            found.append(i)  # "we face", "they also train": a word after a subject is its verb
    return found


def is_fragment(sentence: str) -> bool:
    """True for a sentence fragment, which a summary should not show.

    Fragments: fewer than three words (or three without a subject and verb); a question; a cut-off
    ending ("and the", "so that we can", "--"); no finite verb ("The main design of the remote.");
    a subordinate clause alone ("Because it's cheaper.", "So that we can sell it."). Word lists and
    suffixes stand in for a tagger, so this is a heuristic.
    """
    stripped = sentence.strip()
    lowered = words(stripped.lower().replace("’", "'"))
    if len(lowered) < 3 or stripped.endswith("?"):
        return True
    if stripped.rstrip(".!").rstrip().endswith(("-", "—", "–", "…", "..")):
        return True
    if (
        lowered[-1] in _DANGLING_END
        and not (  # "the one they tightened the boundaries on" is whole
            lowered[-1] in _STRANDABLE and _STRANDING.intersection(lowered[:-2])
        )
    ):
        return True
    first, second = lowered[0], lowered[1]
    if first in _WH_WORDS and (second in _AUXILIARIES or second in _SUBJECT_CONTRACTIONS):
        return True  # "what do we need", "how can we"
    if first in _AUXILIARIES - {"let's"} and (second in _SUBJECTS or second in {"everyone", "anyone"}):
        return True  # "can we do that", "is it ready"
    verbs = _finite_verbs(lowered)
    if not verbs:
        return True
    if (
        len(lowered) == 3
        and verbs[0] != 0
        and not (set(lowered[: verbs[0] + 1]) & (_SUBJECTS | _SUBJECT_CONTRACTIONS))
    ):
        return True
    if (
        first in _SUBORDINATORS
        or (first == "so" and second == "that")
        or (first == "in" and second == "order")
    ):
        return not _has_main_clause(stripped, lowered)
    return False


def _has_main_clause(sentence: str, lowered: Sequence[str]) -> bool:
    """Whether a sentence opening with a subordinator goes on to a main clause."""
    if "," in sentence:
        tail = sentence.split(",", 1)[1]
        tail_words = [w.lower() for w in words(tail)]
        if tail_words and tail_words[0] not in _SUBORDINATORS and _finite_verbs(tail_words):
            return True
    # "if it's cheap we can sell it": a subject starting a second clause, not after a conjunction
    verbs = _finite_verbs(lowered)
    last_verb = verbs[-1] if verbs else -1
    for i in range(2, min(len(lowered) - 1, last_verb + 1)):
        word = lowered[i]
        if (word in _SUBJECTS - {"that", "this", "there"} or word in _SUBJECT_CONTRACTIONS) and lowered[
            i - 1
        ] not in _CLAUSE_LINKS:
            return True
    return False


_CLAUSE_LINKS = _CONJUNCTIONS | _SUBORDINATORS | _PREPOSITIONS | _AUXILIARIES | _VERB_FORMS | _VERB_BASES
_CLAUSE_LINKS |= frozenset(_word_list("that which who what how when where why think know"))


def is_grounded(text: str, source: str) -> bool:
    """True when ``text``'s words appear, in order, among ``source``'s words (case-insensitive).

    The grounding test for extracted items: cleaning may drop words, never add one.
    """
    said = iter([w.lower() for w in words(source)])
    for word in [w.lower() for w in words(text)]:
        for candidate in said:
            if candidate == word:
                break
        else:
            return False
    return True


class WordTokenizer:
    """The tokenizer object sumy expects (``to_sentences``/``to_words``), without NLTK data."""

    language = "english"

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        return tuple(split_sentences(paragraph))

    def to_words(self, sentence: str) -> tuple[str, ...]:
        return tuple(words(sentence))
