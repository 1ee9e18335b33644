"""The condition matcher over a table of visitor messages, built from the loaded database."""
from __future__ import annotations

import time
from typing import FrozenSet, NamedTuple, Set, Tuple

import pytest

from bot.contraindications.matcher import MAX_CHARS, ConditionMatcher, MatchResult
from bot.contraindications.repository import Catalog

HBP = "high_blood_pressure"
HEART = "heart_problems"
STROKE = "stroke"
PSY = "psychosis"
ALC = "alcohol_or_drug_misuse"
PREG = "pregnancy_breastfeeding"
EYE = "raised_skull_or_eye_pressure"
BLADDER = "bladder_problems"
LIVER = "liver_disease"
ANEURYSM = "aneurysm"
AVM = "arteriovenous_malformation"
BLEED = "brain_bleed"
ALLERGY = "ketamine_allergy"
BENZO = "benzodiazepines"
OPIOID = "opioids"
SLEEP = "sleeping_pills"
STIM = "stimulants"
MAOI = "maois"

LONG_LOREM = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 1800)[:100_000]
BINARY = bytes(range(256)).decode("latin-1") * 40


class Case(NamedTuple):
    text: str
    affirmed: FrozenSet[str] = frozenset()
    denied: FrozenSet[str] = frozenset()
    unknown: Tuple[str, ...] = ()


def case(text: str, a=(), d=(), u=()) -> Case:
    return Case(text, frozenset(a), frozenset(d), tuple(u))


# (id, case). Known limitations are marked xfail(strict=True): fixing one makes the test say so.
TABLE = [
    # synonyms and lay wordings
    ("hypertension", case("I have hypertension", a=[HBP])),
    ("high-bp", case("I have high BP", a=[HBP])),
    ("bp-is-high", case("my blood pressure is high", a=[HBP])),
    ("heart-attack", case("I had a heart attack last year", a=[HEART])),
    ("schizophrenia", case("I've been diagnosed with schizophrenia", a=[PSY])),
    ("breastfeeding", case("Is it OK if I'm breastfeeding?", a=[PREG])),
    ("glaucoma", case("I have glaucoma", a=[EYE])),
    ("cystitis", case("I have interstitial cystitis", a=[BLADDER])),
    ("cirrhosis", case("I was told I have cirrhosis of the liver", a=[LIVER])),
    ("aneurysm", case("I have a brain aneurysm", a=[ANEURYSM])),
    ("avm", case("I have an AVM", a=[AVM])),
    ("brain-bleed", case("I had a brain bleed in 2019", a=[BLEED])),
    ("allergy", case("I'm allergic to ketamine", a=[ALLERGY])),
    ("hear-voices", case("I sometimes hear voices", a=[PSY])),
    ("alcoholic", case("I'm an alcoholic", a=[ALC])),
    ("mini-stroke", case("I had a mini-stroke", a=[STROKE])),
    ("afib", case("I have atrial fibrillation", a=[HEART])),
    ("articles-list", case("Alcohol intoxication", a=[ALC])),
    # phrasings
    ("bp-runs-high", case("my BP runs high", a=[HBP])),
    ("bp-always-high", case("My blood pressure has always been really high", a=[HBP])),
    ("two-heart-attacks", case("I've had two heart attacks", a=[HEART])),
    ("longest-match-bleed", case("I had a hemorrhagic stroke", a=[BLEED])),
    ("longest-match-eye", case("I have ocular hypertension", a=[EYE])),
    # case and plurals
    ("upper-case", case("HIGH BLOOD PRESSURE", a=[HBP])),
    ("plural-strokes", case("I've had strokes", a=[STROKE])),
    ("plural-hallucination", case("I get hallucinations", a=[PSY])),
    ("singular-problem", case("heart problem", a=[HEART])),
    # misspellings
    ("hypertention", case("I have hypertention", a=[HBP])),
    ("storke", case("I had a storke", a=[STROKE])),
    ("aneurism", case("I have an aneurism", a=[ANEURYSM])),
    ("halucinations", case("I've had halucinations", a=[PSY])),
    ("benzodiazapines", case("I take benzodiazapines", a=[BENZO])),
    ("schizophernia", case("diagnosed with schizophernia", a=[PSY])),
    ("fibrilation", case("I have atrial fibrilation", a=[HEART])),
    # several conditions in one message
    ("two-conditions", case("I have high blood pressure and I'm pregnant", a=[HBP, PREG])),
    ("three-listed", case("stroke, heart disease and glaucoma", a=[STROKE, HEART, EYE])),
    ("two-medicines", case("I'm on Xanax and oxycodone", a=[BENZO, OPIOID])),
    # negation
    ("neg-dont-have", case("I don't have heart problems", d=[HEART])),
    ("neg-no-history", case("no history of psychosis", d=[PSY])),
    ("neg-never", case("I've never had a stroke", d=[STROKE])),
    ("neg-but", case("I don't have high blood pressure but I had a stroke", a=[STROKE], d=[HBP])),
    ("neg-list", case("I don't have heart problems, stroke or high blood pressure",
                      d=[HEART, STROKE, HBP])),
    ("neg-not-pregnant", case("I'm not pregnant", d=[PREG])),
    ("neg-and-i", case("I haven't had a stroke and I have high blood pressure",
                       a=[HBP], d=[STROKE])),
    ("neg-though", case("No heart problems, though my BP runs high", a=[HBP], d=[HEART])),
    ("neg-never-diagnosed", case("I have never been diagnosed with heart disease or angina",
                                 d=[HEART])),
    ("neg-do-not", case("I do not drink alcohol", d=[ALC])),
    ("neg-sentence-end", case("I don't drink. I had a stroke.", a=[STROKE])),
    ("neg-post", case("Stroke: no. Heart problems: yes.", a=[HEART], d=[STROKE])),
    ("pseudo-not-sure", case("I'm not sure if I have high blood pressure", a=[HBP])),
    ("pseudo-dont-know", case("I don't know whether my blood pressure is high", a=[HBP])),
    ("question-cant", case("Can't I have ketamine with high BP?", a=[HBP])),
    ("without-ing", case("Can I do it without stopping my benzos?", a=[BENZO])),
    # medicines
    ("adderall", case("I take Adderall for ADHD", a=[STIM])),
    ("phenelzine", case("I'm on phenelzine", a=[MAOI])),
    ("ambien", case("I use Ambien to sleep", a=[SLEEP])),
    ("neg-medicines", case("I don't take opioids or benzos", d=[OPIOID, BENZO])),
    ("maois", case("Is it safe with MAOIs?", a=[MAOI])),
    ("suboxone", case("I'm on suboxone", a=[OPIOID])),
    # unknown conditions and medicines
    ("unknown-asthma", case("I have asthma", u=["asthma"])),
    ("unknown-lupus", case("I was diagnosed with lupus", u=["lupus"])),
    ("unknown-metformin", case("I take metformin", u=["metformin"])),
    ("unknown-what-about", case("what about diabetes", u=["diabetes"])),
    ("unknown-list", case("I have asthma, diabetes and lupus", u=["asthma", "diabetes", "lupus"])),
    ("unknown-and-known", case("I have high cholesterol and hypertension", a=[HBP],
                               u=["high cholesterol"])),
    ("unknown-taking", case("I'm currently taking lithium", u=["lithium"])),
    ("unknown-people-with", case("Can people with epilepsy get ketamine?", u=["epilepsy"])),
    ("unknown-negated", case("I don't have asthma")),
    # nothing to find
    ("none-infusion", case("How long does an infusion take?")),
    ("none-question", case("I have a question about the cost")),
    ("none-treated-conditions", case("I have depression and anxiety")),
    ("none-concert", case("I went to a concert last night")),
    ("none-addictive", case("Is ketamine addictive?")),
    ("none-heard", case("I heard it works fast")),
    ("none-side-effects", case("what about the side effects?")),
    ("none-strike", case("I strike out every time")),
    ("none-no-answer", case("No, thanks")),
    # robustness
    ("empty", case("")),
    ("whitespace", case("   \n\t ")),
    ("long-100kb", case(LONG_LOREM)),
    ("long-one-word", case("a" * 100_000)),
    ("emoji", case("😀🙏💊❤️")),
    ("emoji-and-condition", case("high blood pressure 😬", a=[HBP])),
    ("binary", case(BINARY)),
    ("control-chars", case("\x00\x01\x02\ud800\x7f")),
    ("german", case("Ich habe Bluthochdruck")),
    ("spanish", case("Tengo presión alta y diabetes")),
    ("spanish-accented", case("Tengo hipertensión")),
    ("chinese", case("我有高血压")),
    ("russian", case("У меня высокое давление")),
    ("french", case("J'ai eu un AVC")),
    # known limitations
    ("limit-predicate-negation", case("my blood pressure is not high", d=[HBP])),
    ("limit-family-history", case("my mom had a stroke")),
    ("limit-short-misspelling", case("I take xanex", a=[BENZO])),
]
KNOWN_LIMITATIONS = {
    "limit-predicate-negation": "negation after the condition ('... is not high') is not parsed",
    "limit-family-history": "a relative's condition is taken as the visitor's own",
    "limit-short-misspelling": "words under 6 letters are not spell-corrected",
}


def _params():
    for case_id, c in TABLE:
        marks = []
        if case_id in KNOWN_LIMITATIONS:
            marks.append(pytest.mark.xfail(reason=KNOWN_LIMITATIONS[case_id], strict=True))
        yield pytest.param(c, id=case_id, marks=marks)


def _unknown(result: MatchResult) -> Tuple[str, ...]:
    return tuple(u.lower() for u in result.unknown)


def test_table_is_big_enough() -> None:
    assert len(TABLE) >= 60
    assert len({case_id for case_id, _ in TABLE}) == len(TABLE)


@pytest.mark.parametrize("c", _params())
def test_message(matcher: ConditionMatcher, c: Case) -> None:
    result = matcher.find(c.text)
    assert set(result.affirmed) == c.affirmed
    assert set(result.denied) == c.denied
    assert _unknown(result) == c.unknown


def _items(affirmed, denied, unknown) -> Set[Tuple[str, str]]:
    return (
        {("affirmed", k) for k in affirmed}
        | {("denied", k) for k in denied}
        | {("unknown", u.lower()) for u in unknown}
    )


def test_precision_and_recall(matcher: ConditionMatcher, capsys: pytest.CaptureFixture) -> None:
    """Over the whole table, known limitations included: an item is a (polarity, condition) or an
    unknown phrase; a message's items must match exactly to count."""
    tp = fp = fn = 0
    for _, c in TABLE:
        result = matcher.find(c.text)
        expected = _items(c.affirmed, c.denied, c.unknown)
        found = _items(result.affirmed, result.denied, result.unknown)
        tp += len(expected & found)
        fp += len(found - expected)
        fn += len(expected - found)
    precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    with capsys.disabled():
        print(
            f"\nmatcher over {len(TABLE)} messages: precision {precision:.3f} "
            f"recall {recall:.3f} (tp={tp} fp={fp} fn={fn})"
        )
    assert precision >= 0.95
    assert recall >= 0.95


@pytest.mark.parametrize(
    "text", [LONG_LOREM, "a" * 100_000, BINARY, "stroke " * 20_000, "😀" * 50_000],
    ids=["lorem", "one-word", "binary", "repeated-condition", "emoji"],
)
def test_huge_input_is_fast(matcher: ConditionMatcher, text: str) -> None:
    started = time.perf_counter()
    matcher.find(text)
    assert time.perf_counter() - started < 1.0


def test_only_the_first_max_chars_are_read(matcher: ConditionMatcher) -> None:
    assert matcher.find("I had a stroke. " + "x " * MAX_CHARS).affirmed == (STROKE,)
    assert matcher.find("x " * MAX_CHARS + "I had a stroke.").empty


@pytest.mark.parametrize("value", [None, 42, b"stroke", ["stroke"]])
def test_non_text_input(matcher: ConditionMatcher, value: object) -> None:
    assert matcher.find(value).empty


def test_every_synonym_finds_its_own_condition(
    matcher: ConditionMatcher, catalog: Catalog
) -> None:
    missed = [
        (entry.key, phrase)
        for entry in catalog.entries
        for phrase in entry.synonyms
        if entry.key not in matcher.find(phrase).affirmed
    ]
    assert missed == []


@pytest.mark.parametrize(
    "item, key",
    [("Stroke", STROKE), ("Hallucinations", PSY), ("Heart problems", HEART),
     ("High blood pressure", HBP), ("Alcohol intoxication", ALC)],
)
def test_the_articles_list_is_covered(
    matcher: ConditionMatcher, catalog: Catalog, item: str, key: str
) -> None:
    """A2's 'ketamine may not be safe for you if you suffer from' list."""
    assert matcher.find(item).affirmed == (key,)
    assert catalog.get(key).level == "caution"


@pytest.mark.parametrize("text", ["😀" * 20_000, "!" * 100_000, "(" * 100_000, "a!" * 50_000])
def test_long_runs_of_symbols_are_fast(matcher: ConditionMatcher, text: str) -> None:
    """spaCy's tokenizer is quadratic on one long chunk of punctuation; the matcher splits it."""
    started = time.perf_counter()
    assert matcher.find(text).empty
    assert time.perf_counter() - started < 1.0


def test_symbols_between_conditions_are_still_read(matcher: ConditionMatcher) -> None:
    text = "😀" * 40 + "stroke,hypertension,glaucoma" + "!" * 40
    assert set(matcher.find(text).affirmed) == {STROKE, HBP, EYE}
