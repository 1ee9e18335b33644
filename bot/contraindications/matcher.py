"""Find the conditions and medicines a visitor names, whether they deny them, and unknown ones.

Built from the database's synonyms with spaCy 3.4 and no downloaded model: `spacy.blank("en")`
for tokenisation, and two `PhraseMatcher`s:

- on LOWER over the message as typed (exact wordings, any case);
- on NORM over a normalised copy of the message in which filler words are dropped ("my", "is",
  "runs", "a"...), plurals are made singular and misspelt words are corrected to the nearest word
  of the synonyms' vocabulary ("hypertention", "storke"). So "my BP runs high" matches the synonym
  "BP is high", and "had 2 heart attacks" matches "heart attack".

The two are merged, longest match first ("ocular hypertension" is not "hypertension").

Negation: a mention inside the scope of "no", "never", "without", "don't / haven't / isn't / not"
(after do/have/be) is denied. The scope runs forward and ends at sentence punctuation, at "but",
"though", "however", "except", "if", "because"..., and at "and"/"or"/"," that start a new clause
("and I", "and my", "and had"): "I don't have high blood pressure but I had a stroke" denies
blood pressure and affirms stroke. "I'm not sure", "I don't know" do not negate.

Unknown mentions: after "I have", "I take", "I'm on", "diagnosed with", "what about", "people
with"..., a short noun phrase that matches nothing known and is not an everyday word ("a
question", "depression": ketamine's own uses) is reported as unknown ("asthma", "metformin").

Input is cleaned and capped (MAX_CHARS): empty, huge, emoji, binary-ish or non-English text
finds nothing and returns quickly.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

import spacy
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

# A chat message is a few sentences; anything past this is not read (bounded, predictable cost).
MAX_CHARS = 10_000
# Words longer than this are never spell-corrected (the correction index is per word).
MAX_WORD_CHARS = 30
# How far (in tokens) a negation reaches when nothing ends it earlier.
NEGATION_WINDOW = 8

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ufeff]")
_ASCII_WORD = re.compile(r"^[a-z]+$")
# spaCy's tokenizer is quadratic in the punctuation/symbols of one whitespace-free chunk
# ("😀" * 10_000 takes seconds): long chunks get a space after each such character.
_LONG_CHUNK = re.compile(r"\S{65,}")
_SYMBOL = re.compile(r"([^\w\s])")

# Dropped from the normalised copy of both messages and synonyms, so wordings that differ only by
# them match: "my blood pressure is high" == "blood pressure high" == "my BP runs high" (with "BP").
FILLERS = frozenset(
    """
    a an the my our his her their your its this that these those i me we you he she they it
    am 'm m is 's are 're was were be been being have has had 've ve 'd got get gets getting
    do does did very really quite too pretty so just also still always usually often sometimes
    bit little slightly kinda kind sort runs run running tends tend to stays stay seems seem
    currently now already recently mostly like
    """.split()
)
_SKIPPED_PUNCT = frozenset({"-", "\u2013", "/", "'", '"', "(", ")"})

# Negation.
_NEG_WORDS = frozenset(
    {"no", "never", "without", "nor", "neither", "none", "deny", "denies", "denied", "free"}
)
_NOT_WORDS = frozenset({"not", "n't", "nt"})
# "not"/"n't" negates a mention only after one of these ("I don't have", "I'm not", "haven't had");
# "can't I have ketamine with high BP?" is not a denial.
_NEG_AUX = frozenset(
    {"do", "does", "did", "have", "has", "had", "'ve", "ve", "am", "'m", "m", "is", "are",
     "'re", "was", "were", "ai"}
)
# "not sure", "don't know", "no idea": the speaker is unsure, not denying.
_PSEUDO_NEGATION_NEXT = frozenset(
    {"sure", "certain", "know", "knw", "remember", "only", "just", "aware", "idea", "clue",
     "doubt", "matter", "clear"}
)
_SENTENCE_END = frozenset({".", "!", "?", ";", ":", "…"})
_SCOPE_END_WORDS = frozenset(
    {"but", "however", "though", "although", "except", "yet", "whereas", "while", "besides",
     "apart", "instead", "if", "because", "since", "so", "otherwise", "anyway", "nevertheless",
     "unless", "until", "which", "who"}
)
# After "and"/"or"/",", these start a new clause and end the negation ("... and I had a stroke").
_NEW_CLAUSE_STARTERS = frozenset(
    {"i", "my", "me", "we", "he", "she", "they", "it", "also", "then", "recently", "had", "have",
     "has", "was", "am", "'m", "got", "take", "took", "use", "used", "suffer", "yes", "now",
     "currently", "still", "lately"}
)
_LIST_JOINERS = frozenset({"and", "or", ",", "&", "nor"})
# "heart problems: none", "stroke - no".
_POST_NEGATIONS = frozenset({"no", "none", "never", "nope", "negative"})

# Unknown mentions: the phrase after one of these is a condition or medicine the visitor has.
_UNKNOWN_TRIGGERS: Tuple[Tuple[str, ...], ...] = tuple(
    tuple(t.split())
    for t in (
        "i have", "i 've", "i have got", "i 've got", "i got", "i had", "i have had",
        "i 've had", "i 'm having", "i suffer from", "i 'm suffering from", "suffering from",
        "diagnosed with", "diagnosed as having", "history of", "treated for", "treatment for",
        "medication for", "i take", "i 'm taking", "i 'm on", "i use", "i 'm using",
        "prescribed", "and have", "and take", "also have", "what about", "how about",
        "people with", "someone with", "somebody with", "anyone with", "patients with",
        "person with", "those with",
    )
)
# Contractions as the tokenizer may split them ("I am", "Im", "I've", "Ive").
_TRIGGER_CANON = {"am": "'m", "m": "'m", "ve": "'ve"}
_UNKNOWN_ADVERBS = frozenset(
    {"also", "currently", "still", "recently", "already", "just", "now", "really", "do",
     "actually", "sometimes", "always", "often", "regularly", "daily", "even"}
)
# Words that end an unknown phrase (or, first, mean there is none).
_PHRASE_STOP = frozenset(
    """
    and or but so because if when while since though although than then , . ! ? ; : ( ) " '
    for with to in on at from about after before during into over under of by as like
    is are was were be been being am 'm 's 're 've 'd can could will would should shall may might
    must do does did have has had get got take taking took make
    i you he she it we they me him her us them my your his its our their mine this that these
    those what which who whom whose how why where there here ketamine esketamine spravato
    not n't no never any anything something nothing everything someone anyone everyone
    """.split()
)
_PHRASE_LEADING = frozenset(
    {"a", "an", "the", "some", "bad", "really", "very", "also", "mild", "slight", "chronic"}
)
# Things visitors "have" or "ask about" that are not conditions, and the conditions ketamine is
# used for (the bot answers those elsewhere): never reported as unknown conditions.
NOT_A_CONDITION = frozenset(
    """
    question questions query concern concerns doubt doubts idea clue appointment consultation
    time day days week weeks month months year years hour hours minute minutes today tomorrow
    money insurance cost costs price prices payment bill budget job work car ride bus train
    family kid kids child children son daughter husband wife partner parent parents mother father
    mom mum dad friend friends dog cat pet baby babies teen teens teenager teenagers people
    adult adults elderly senior seniors patient patients doctor doctors therapist psychiatrist
    nurse clinic hospital prescription prescriptions referral plan option options choice chance
    effect effects side reaction result results treatment treatments therapy therapies session
    sessions infusion infusions dose doses dosage injection spray nasal iv medicine medicines
    medication medications meds drug drugs pill pills tablet tablets
    breakfast lunch dinner food meal coffee tea water fun feeling feelings look try way lot lots
    few many much more less enough same other thing things stuff experience experiences
    depression depressed anxiety anxious ptsd ocd pain crps fibromyalgia migraine
    migraines headache headaches neuropathic neuropathy trd mood sadness stress suicidal
    """.split()
)


def _singular(word: str) -> str:
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is", "ys")):
        return word[:-1]
    return word


def _osa_distance(a: str, b: str) -> int:
    """Levenshtein distance counting an adjacent transposition as one edit ("storke" -> 1)."""
    prev2: List[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def _deletes(word: str, depth: int) -> Set[str]:
    out = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


# Real words one edit away from a synonym word: never "corrected" ("concert" is not "concerta").
_NOT_MISSPELLINGS = frozenset(
    """
    strike stoke strobe stroked stroking striker ambient concert morphing addictive addicted
    attach attached breath breeding pressured
    """.split()
)


class _Speller:
    """Corrects a word to the nearest word of the synonyms' vocabulary (symmetric-delete index).

    Only plain ASCII words of 6+ letters are corrected, with the same first letter, by at most one
    edit (two from 10 letters up), and only to a unique nearest word.
    """

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self.vocabulary = frozenset(w for w in vocabulary if _ASCII_WORD.match(w))
        self._index: Dict[str, Set[str]] = {}
        for word in self.vocabulary:
            if len(word) < 5:
                continue
            for variant in _deletes(word, 2 if len(word) >= 9 else 1):
                self._index.setdefault(variant, set()).add(word)
        self._cache: Dict[str, str] = {}

    def correct(self, word: str) -> str:
        if (
            word in self.vocabulary
            or len(word) < 6
            or len(word) > MAX_WORD_CHARS
            or word in _NOT_MISSPELLINGS
            or not _ASCII_WORD.match(word)
        ):
            return word
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        max_edits = 2 if len(word) >= 10 else 1
        candidates: Set[str] = set()
        for variant in _deletes(word, max_edits):
            candidates |= self._index.get(variant, set())
        best: List[Tuple[int, str]] = sorted(
            (d, c)
            for c in candidates
            if c[0] == word[0] and (d := _osa_distance(word, c)) <= max_edits
        )
        result = word
        if best and (len(best) == 1 or best[0][0] < best[1][0]):
            result = best[0][1]
        if len(self._cache) < 50_000:
            self._cache[word] = result
        return result


@dataclass(frozen=True)
class Mention:
    key: str
    text: str
    negated: bool


@dataclass(frozen=True)
class MatchResult:
    """What one message says: canonical keys affirmed and denied, unknown phrases, in order."""

    affirmed: Tuple[str, ...] = ()
    denied: Tuple[str, ...] = ()
    unknown: Tuple[str, ...] = ()
    mentions: Tuple[Mention, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.affirmed or self.denied or self.unknown)


def clean_text(text: object) -> str:
    """Make any input safe to tokenise: a capped, printable str with plain apostrophes."""
    if not isinstance(text, str):
        return ""
    text = text[:MAX_CHARS]
    # lone surrogates (from bad decoding) cannot be encoded: replace them
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = _CONTROL_CHARS.sub(" ", text)
    text = _LONG_CHUNK.sub(lambda m: _SYMBOL.sub(r"\1 ", m.group(0)), text)
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")


class ConditionMatcher:
    """Built once per set of synonyms ({condition key: [phrases]}); `find()` is then cheap."""

    def __init__(self, synonyms: Mapping[str, Iterable[str]]) -> None:
        self.nlp = spacy.blank("en")
        vocab = self.nlp.vocab
        phrases = {key: [p.strip() for p in ps if p and p.strip()] for key, ps in synonyms.items()}
        words: Set[str] = set()
        for ps in phrases.values():
            for phrase in ps:
                words.update(_singular(t.lower_) for t in self.nlp.make_doc(phrase.lower()))
        self._speller = _Speller(words - FILLERS)
        self._lower = PhraseMatcher(vocab, attr="LOWER")
        self._norm = PhraseMatcher(vocab, attr="NORM")
        for key, ps in phrases.items():
            if not ps:
                continue
            self._lower.add(key, [self.nlp.make_doc(p) for p in ps])
            normalised = [self._normalised(self.nlp.make_doc(p))[0] for p in ps]
            self._norm.add(key, [d for d in normalised if len(d)])

    # -- normalised copy -----------------------------------------------------------------------
    def _normalise_word(self, lower: str) -> str:
        if lower in _NOT_WORDS:
            return "not"
        return self._speller.correct(_singular(lower))

    def _normalised(self, doc: Doc) -> Tuple[Doc, List[int]]:
        """The content words of `doc`, normalised, and the index in `doc` of each."""
        words: List[str] = []
        index: List[int] = []
        for token in doc:
            lower = token.lower_
            if token.is_space or lower in FILLERS or lower in _SKIPPED_PUNCT:
                continue
            words.append(self._normalise_word(lower))
            index.append(token.i)
        normalised = Doc(self.nlp.vocab, words=words)
        for token in normalised:
            token.norm_ = token.text
        return normalised, index

    # -- matching ------------------------------------------------------------------------------
    def find(self, text: object) -> MatchResult:
        text = clean_text(text)
        if not text.strip():
            return MatchResult()
        doc = self.nlp.make_doc(text)
        spans = self._known_spans(doc)
        scopes = _negation_scopes(doc, spans)
        mentions = [
            Mention(span.label_, span.text, _negated(span, scopes, doc)) for span in spans
        ]
        affirmed: List[str] = []
        denied: List[str] = []
        for mention in mentions:  # a condition both affirmed and denied counts as affirmed
            if not mention.negated and mention.key not in affirmed:
                affirmed.append(mention.key)
        for mention in mentions:
            if mention.negated and mention.key not in affirmed and mention.key not in denied:
                denied.append(mention.key)
        unknown = _unknown_mentions(doc, spans, scopes)
        return MatchResult(tuple(affirmed), tuple(denied), tuple(unknown), tuple(mentions))

    def _known_spans(self, doc: Doc) -> List[Span]:
        spans = [
            Span(doc, start, end, label=match_id) for match_id, start, end in self._lower(doc)
        ]
        normalised, index = self._normalised(doc)
        for match_id, start, end in self._norm(normalised):
            spans.append(Span(doc, index[start], index[end - 1] + 1, label=match_id))
        return sorted(filter_spans(spans), key=lambda s: s.start)


def _is_sentence_end(token) -> bool:
    return token.text in _SENTENCE_END or (token.is_space and "\n" in token.text)


def _negation_trigger(doc: Doc, i: int) -> bool:
    lower = doc[i].lower_
    nxt = doc[i + 1].lower_ if i + 1 < len(doc) else ""
    if nxt in _PSEUDO_NEGATION_NEXT:
        return False
    if lower == "free":  # "free of", "free from"
        return nxt in ("of", "from")
    if lower == "without" and nxt.endswith("ing"):  # "without stopping my benzos"
        return False
    if lower in _NEG_WORDS:
        # "No, I have..." is an answer, not a negation of what follows
        return bool(nxt) and not doc[i + 1].is_punct
    if lower in _NOT_WORDS:
        prev = doc[i - 1].lower_ if i > 0 else ""
        return i == 0 or doc[i - 1].is_punct or prev in _NEG_AUX
    return False


def _scope_ends_at(doc: Doc, i: int) -> bool:
    token = doc[i]
    if _is_sentence_end(token) or token.lower_ in _SCOPE_END_WORDS:
        return True
    if token.lower_ in _LIST_JOINERS and i + 1 < len(doc):
        return doc[i + 1].lower_ in _NEW_CLAUSE_STARTERS
    return False


def _negation_scopes(doc: Doc, spans: Sequence[Span]) -> List[Tuple[int, int]]:
    """Token ranges [start, end) that a negation covers."""
    starts_at = {span.start: span for span in spans}
    scopes: List[Tuple[int, int]] = []
    i = 0
    while i < len(doc):
        if not _negation_trigger(doc, i):
            i += 1
            continue
        limit = i + 1 + NEGATION_WINDOW
        j = i + 1
        while j < len(doc) and j < limit and not _scope_ends_at(doc, j):
            span = starts_at.get(j)
            if span is not None:  # a list of denied conditions: reach past each one
                limit = span.end + NEGATION_WINDOW
                j = span.end
                continue
            j += 1
        scopes.append((i + 1, j))
        i = max(j, i + 1)
    return scopes


def _negated(span: Span, scopes: Sequence[Tuple[int, int]], doc: Doc) -> bool:
    if any(start <= span.start and span.end <= end for start, end in scopes):
        return True
    # "stroke: no", "heart problems - none"
    j = span.end
    while j < len(doc) and doc[j].text in {":", "-", "\u2013", "=", "?", ","}:
        j += 1
    if j < len(doc) and doc[j].lower_ in _POST_NEGATIONS:
        return j + 1 == len(doc) or doc[j + 1].is_punct or doc[j + 1].is_space
    return False


def _trigger_ends(doc: Doc) -> List[int]:
    """Token index right after each unknown-mention trigger ("I (also) have" -> index after)."""
    lowers = [_TRIGGER_CANON.get(t.lower_, t.lower_) for t in doc]
    ends: List[int] = []
    for i in range(len(lowers)):
        for trigger in _UNKNOWN_TRIGGERS:
            j, k = i, 0
            while k < len(trigger) and j < len(lowers):
                if lowers[j] == trigger[k]:
                    j, k = j + 1, k + 1
                elif k > 0 and lowers[j] in _UNKNOWN_ADVERBS:
                    j += 1  # "I also have", "I'm currently taking"
                else:
                    break
            if k == len(trigger):
                ends.append(j)
    return sorted(set(ends))


def _phrase_at(doc: Doc, start: int) -> Optional[Tuple[int, int]]:
    i = start
    while i < len(doc) and doc[i].lower_ in _PHRASE_LEADING:
        i += 1
    end = i
    while end < len(doc) and end - i < 4:
        token = doc[end]
        if token.lower_ in _PHRASE_STOP or token.is_punct or token.is_space:
            break
        if not all(ch.isalnum() or ch in "-'" for ch in token.text):
            break
        end += 1
    if end == i:
        return None
    first = doc[i]
    words = [t.lower_ for t in doc[i:end]]
    if (
        not first.is_alpha
        or (first.lower_.endswith("ed") and len(first) > 4)  # "I have tried", "I had finished"
        or any(w in NOT_A_CONDITION or _singular(w) in NOT_A_CONDITION for w in words)
        or not any(len(w) >= 3 and w.isalpha() for w in words)
    ):
        return None
    return i, end


def _unknown_mentions(
    doc: Doc, spans: Sequence[Span], scopes: Sequence[Tuple[int, int]]
) -> List[str]:
    known = {i for span in spans for i in range(span.start, span.end)}
    negated = {i for start, end in scopes for i in range(start, end)}
    found: List[str] = []
    for start in _trigger_ends(doc):
        position = start
        for _ in range(4):  # "I have asthma, diabetes and lupus"
            phrase = _phrase_at(doc, position)
            if phrase is None:
                break
            i, end = phrase
            if not (set(range(i, end)) & (known | negated)):
                text = doc[i:end].text
                if text.lower() not in {f.lower() for f in found}:
                    found.append(text)
            if end < len(doc) and doc[end].lower_ in _LIST_JOINERS:
                position = end + 1
                if position < len(doc) and doc[position].lower_ in _LIST_JOINERS:
                    position += 1  # ", and"
                continue
            break
    return found


@lru_cache(maxsize=4)
def _matcher_for(fingerprint: Tuple[Tuple[str, Tuple[str, ...]], ...]) -> ConditionMatcher:
    return ConditionMatcher(dict(fingerprint))


def get_matcher(synonyms: Mapping[str, Sequence[str]]) -> ConditionMatcher:
    """The matcher for this set of synonyms, built once and reused while the synonyms stay the same.

    A reload of the data file that changes the synonyms gives a new matcher on the next request.
    """
    fingerprint = tuple(sorted((key, tuple(sorted(ps))) for key, ps in synonyms.items()))
    return _matcher_for(fingerprint)
