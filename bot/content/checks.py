"""The content rules, in one place: what a FAQ answer and a set of example phrasings must pass.

`tests/test_content.py` runs them over the hand-written content, the console runs them on what
staff type in ("this is a new question"), and the training-data export runs them again before
anything is written to data/. So a staff-written answer meets exactly the bar of a hand-written
one. Each problem is a plain-English sentence a clinic's staff member can act on.
"""
from __future__ import annotations

import re
from typing import Collection, Dict, Iterable, List, Mapping, Optional, Sequence

# Rasa's own pattern for entity markup (`[text](entity)`, `[text]{...}`, `[text][...]`): a
# phrasing containing it would be read as an annotation, not as what the visitor typed.
from rasa.shared.nlu.training_data.entities_parser import ENTITY_REGEX

from bot.content.claims import find_forbidden_claims

# The references an answer may cite: the source ids of the clinical reference
# (../shared/clinical-reference.md), which decides what the bot may claim, in its order.
# data/contraindications.yml (and the `sources` table loaded from it) lists the subset the
# condition entries cite; tests/test_content.py checks that it agrees with this list.
SOURCES: Dict[str, str] = {
    "A1": "Six Benefits Of Ketamine Therapy "
          "(clinic article, shared/sources/000_99030bf382bd7f48.txt)",
    "A2": "How does ketamine therapy benefit you? "
          "(clinic article, shared/sources/002_dc57004bac2fdbc0.txt)",
    "SPR": "US prescribing information for SPRAVATO (esketamine) nasal spray, "
           "and its REMS program (FDA)",
    "APA17": "Sanacora et al., A Consensus Statement on the Use of Ketamine in the Treatment "
             "of Mood Disorders, JAMA Psychiatry 2017",
    "ASRA18": "Cohen et al., Consensus Guidelines on the Use of Intravenous Ketamine Infusions "
              "for Chronic Pain (ASRA, AAPM, ASA), Reg Anesth Pain Med 2018",
    "FDA23": "FDA, FDA warns patients about risks associated with compounded ketamine products, "
             "including oral formulations, for the treatment of psychiatric disorders, "
             "October 2023",
    "CAN23": "CANMAT 2023 update on the management of major depressive disorder",
    "ELK23": "Anand et al., Ketamine versus ECT for Nonpsychotic Treatment-Resistant Major "
             "Depression (ELEKT-D), NEJM 2023",
    "988": "988 Suicide & Crisis Lifeline (call or text 988, chat at 988lifeline.org); "
           "911 for immediate danger",
}

# Example phrasings per intent. The hand-written intents have 20 to 40 each; the floor is 5
# because staff teaching a new question in the console type its phrasings by hand (the visitor's
# message among them), and asking for 20 would stop them teaching at all. Whether five are enough
# is measured, not assumed: the retrain gate refuses a model whose accuracy drops.
MIN_EXAMPLES = 5
MAX_EXAMPLE_CHARS = 300

MIN_SENTENCES, MAX_SENTENCES = 2, 4
MAX_ANSWER_CHARS = 500
# Flesch-Kincaid grade: about 8th grade over all answers, and no single answer much above it
# (medical terms push some answers up; the hardest hand-written one is about grade 13).
MAX_READING_GRADE = 11
MAX_ANSWER_READING_GRADE = 14
MAX_TITLE_CHARS = 200

FAQ_KEY = re.compile(r"[a-z][a-z0-9_]{1,47}")

# The doctor referral is appended to every answer by actions/answer.py (AnswerAction.run), so an
# answer that carries its own would send it twice. These are the referral's own phrasings; a
# content-specific mention ("keep seeing your therapist and do not stop any medicine without
# talking to your doctor") is allowed.
_REFERRAL = re.compile(
    r"\bnot\s+(a\s+substitute\s+for\s+)?medical\s+advice\b"
    r"|\b(talk|speak|check)\s+(with|to)\s+(your|a)\s+(own\s+)?"
    r"(doctor|physician|clinician|gp|healthcare\s+provider|health\s+care\s+provider)\b"
    r"|\b(ask|consult|see)\s+(your|a)\s+(own\s+)?"
    r"(doctor|physician|clinician|gp|healthcare\s+provider|health\s+care\s+provider)\b"
    r"|\bthe\s+clinic'?s\s+medical\s+team\b",
    re.IGNORECASE,
)
# Amounts of a drug: a number with a unit of mass or volume, or per body weight. Durations,
# percentages and counts ("40 minutes", "55%", "six infusions") are not doses.
_DOSING = re.compile(
    r"\b\d+(?:[.,]\d+)?\s*(?:mg|milligrams?|mcg|micrograms?|µg|ug|ml|millilit(?:er|re)s?|cc|g|grams?)\b"
    r"|\b\d+(?:[.,]\d+)?\s*(?:/|per)\s*(?:kg|kilo(?:gram)?s?|lbs?|pounds?)\b"
    r"|\b(?:dose|dosage|doses)\s+(?:of|is|was|were|are|=)\s+(?:about\s+|around\s+)?\d",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"])")


def sentences(text: str) -> List[str]:
    return [s for s in _SENTENCE_END.split(text.strip()) if s]


def _syllables(word: str) -> int:
    word = word.lower()
    groups = re.findall(r"[aeiouy]+", word)
    count = len(groups) - (1 if word.endswith("e") and len(groups) > 1 else 0)
    return max(1, count)


def reading_grade(texts: Iterable[str]) -> float:
    """Flesch-Kincaid grade level of the texts taken together."""
    texts = [t for t in texts if t.strip()]
    words = [w for t in texts for w in re.findall(r"[A-Za-z]+", t)]
    count = sum(len(sentences(t)) for t in texts)
    if not words or not count:
        return 0.0
    return 0.39 * len(words) / count + 11.8 * sum(map(_syllables, words)) / len(words) - 15.59


def answer_problems(
    text: str, sources: Sequence[str], known_source_ids: Collection[str]
) -> List[str]:
    """What stops `text` (citing `sources`) from being a FAQ answer; empty when it may be used."""
    text = (text or "").strip()
    if not text:
        return ["Write the answer."]
    problems = []
    claims = find_forbidden_claims(text)
    for claim in claims:
        problems.append(
            f"The answer makes a claim the clinical reference forbids (\"{claim}\"). Say only "
            "what the sources support."
        )
    if "dose" not in claims and _DOSING.search(text):
        problems.append(
            "The answer gives a dose or an amount of a drug. The bot never gives doses."
        )
    if _REFERRAL.search(text):
        problems.append(
            "Leave out \"talk with your doctor\" or \"not medical advice\": the bot adds that "
            "reminder after every answer by itself."
        )
    count = len(sentences(text))
    if not MIN_SENTENCES <= count <= MAX_SENTENCES:
        problems.append(
            f"The answer has {count} sentence{'s' if count != 1 else ''}; write "
            f"{MIN_SENTENCES} to {MAX_SENTENCES} short sentences."
        )
    if len(text) > MAX_ANSWER_CHARS:
        problems.append(
            f"The answer is {len(text)} characters long; keep it under {MAX_ANSWER_CHARS}."
        )
    elif reading_grade([text]) > MAX_ANSWER_READING_GRADE:
        problems.append("The answer is hard to read: use shorter sentences and everyday words.")
    sources = [str(s) for s in sources]
    if not sources:
        problems.append("Tick at least one source the answer is based on.")
    unknown = sorted(set(sources) - {str(s) for s in known_source_ids})
    if unknown:
        problems.append(f"Unknown source id(s): {', '.join(unknown)}.")
    return problems


def title_problems(title: str) -> List[str]:
    """The title is the question as a visitor would ask it (shown on "Did you mean...?" buttons)."""
    title = (title or "").strip()
    if not title:
        return ["Write the question as a visitor would ask it (the title)."]
    if len(title) > MAX_TITLE_CHARS:
        return [f"The title is {len(title)} characters long; keep it under {MAX_TITLE_CHARS}."]
    return []


def faq_key_problems(key: str, existing_keys: Collection[str]) -> List[str]:
    """A new question's key names its intent `faq/<key>` and its answer `utter_faq/<key>`."""
    if not FAQ_KEY.fullmatch(key or ""):
        return [
            "The short name must be 2 to 48 lower-case letters, digits or underscores, starting "
            "with a letter (for example: parking_at_the_clinic)."
        ]
    if key in existing_keys:
        return [f"There is already a question named \"{key}\": choose another short name."]
    return []


def normalize_example(text: str) -> str:
    """The form two phrasings are compared in: case and spacing ignored (the classifier's
    featurizers lower-case text, so "Hi" and "hi" are the same example to it)."""
    return " ".join(text.split()).casefold()


def example_problems(
    examples: Sequence[str],
    minimum: int = MIN_EXAMPLES,
    elsewhere: Optional[Mapping[str, str]] = None,
) -> List[str]:
    """What is wrong with the example phrasings of one intent.

    `elsewhere` maps normalized phrasings to the other intent they already belong to: a phrasing
    may teach only one meaning.
    """
    elsewhere = elsewhere or {}
    problems = []
    seen: set = set()
    repeated: List[str] = []
    for example in examples:
        text = " ".join(example.split())
        key = normalize_example(text)
        if not key:
            continue
        if key in seen:
            repeated.append(text)
            continue
        seen.add(key)
        if len(text) > MAX_EXAMPLE_CHARS:
            problems.append(
                f"\"{text[:40]}...\" is too long: keep phrasings under {MAX_EXAMPLE_CHARS} "
                "characters."
            )
        if ENTITY_REGEX.search(text):
            problems.append(
                f"\"{text}\" has square brackets followed by brackets, which the training "
                "format reads as markup: rephrase it without them."
            )
        if key in elsewhere:
            problems.append(
                f"\"{text}\" is already an example of \"{elsewhere[key]}\" in the training data: "
                "a phrasing can teach only one meaning."
            )
    for text in repeated:
        problems.append(f"\"{text}\" is listed more than once.")
    if len(seen) < minimum:
        problems.append(
            f"Give at least {minimum} different phrasing{'s' if minimum != 1 else ''} "
            f"(one per line); there {'is' if len(seen) == 1 else 'are'} {len(seen)}."
        )
    return problems
