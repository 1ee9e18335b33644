"""The content rules in bot/content/checks.py, as staff meet them when they teach a new question."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.content.checks import (
    MIN_EXAMPLES,
    SOURCES,
    answer_problems,
    example_problems,
    faq_key_problems,
    normalize_example,
    title_problems,
)
from bot.content.claims import CLAIMS_FILE

GOOD = ("Most clinics have parking close by. Ask the clinic where to park when you book, "
        "because someone should drive you home after a session.")

# One sentence per forbidden claim in bot/content/forbidden_claims.yml (a new claim needs one).
CLAIM_EXAMPLES = {
    "miracle": "Ketamine is a miracle drug for depression.",
    "cure": "For many people ketamine is a cure for depression.",
    "permanent recovery": "Most patients see permanent recovery after six sessions.",
    "no side effects": "Ketamine treatment has no side effects at all.",
    "completely safe": "The infusion is completely safe for adults.",
    "painless": "The whole session is painless.",
    "natural": "Ketamine is a natural remedy for low mood.",
    "works for everyone": "The treatment works for everyone who tries it.",
    "dose": "Most patients get 35 mg in a session.",
    "you are safe or eligible": "You are eligible for treatment at our clinic.",
    "no problem": "Drinking a little alcohol before a session is no problem.",
    "obtain": "You can buy ketamine online from trusted pharmacies.",
}


def _problems(text, sources=("SPR",)):
    return answer_problems(text, list(sources), SOURCES)


def test_a_sourced_short_plain_answer_passes():
    assert _problems(GOOD) == []


def test_every_forbidden_claim_has_an_example_here():
    spec = yaml.safe_load(Path(CLAIMS_FILE).read_text(encoding="utf-8"))
    assert set(CLAIM_EXAMPLES) == set(spec["claims"])


@pytest.mark.parametrize("claim", sorted(CLAIM_EXAMPLES))
def test_an_answer_making_a_forbidden_claim_is_rejected(claim):
    problems = _problems(f"{CLAIM_EXAMPLES[claim]} Results vary from person to person.")
    assert any(f'forbids ("{claim}")' in p for p in problems), problems


def test_a_negated_claim_is_an_honest_correction():
    assert _problems("Ketamine is not a cure. The benefit often fades within weeks.") == []


@pytest.mark.parametrize("text", [
    "The usual amount is 0.5 mg/kg. It is given slowly over 40 minutes.",
    "Clinics give about 0,5 per kg of body weight. It is given slowly.",
    "The dose is about 40 for most adults. It is given slowly.",
    "A typical infusion holds 100 milligrams. It is given slowly.",
])
def test_dosing_numbers_are_rejected(text):
    assert any("dose" in p for p in _problems(text)), text


def test_durations_percentages_and_counts_are_not_doses():
    text = ("A first course is six infusions over two to three weeks, each about 40 minutes. "
            "In studies about 55% of people responded, and you stay for at least 2 hours.")
    assert _problems(text) == []


@pytest.mark.parametrize("text", [
    "This is general information, not medical advice. Please talk with your doctor or the "
    "clinic's medical team about your own situation.",
    "Parking is free. Ask your doctor about driving afterwards.",
    "Parking is free. Please speak to a physician about the rest.",
])
def test_the_referral_is_left_to_the_single_mechanism(text):
    assert any("adds that reminder" in p for p in _problems(text)), text


def test_a_content_specific_mention_of_a_doctor_is_not_the_referral():
    text = ("Ketamine does not replace your regular care. Keep seeing your therapist and do not "
            "stop any medicine without talking to your doctor.")
    assert _problems(text) == []


@pytest.mark.parametrize("text, count", [
    ("Parking is free.", 1),
    ("One. Two. Three. Four. Five.", 5),
])
def test_answers_have_two_to_four_sentences(text, count):
    assert f"The answer has {count} sentence" in " ".join(_problems(text))


def test_long_and_hard_answers_are_rejected():
    long = "Parking is free near the clinic. " * 16
    assert any("characters long" in p for p in _problems(long))
    hard = ("Intravenous administration necessitates comprehensive cardiovascular monitoring "
            "throughout. Pharmacological considerations predominantly determine individualized "
            "administration methodologies.")
    assert any("hard to read" in p for p in _problems(hard))


def test_an_answer_needs_known_sources():
    assert any("at least one source" in p for p in _problems(GOOD, sources=()))
    assert "Unknown source id(s): WIKI." in _problems(GOOD, sources=("SPR", "WIKI"))
    assert _problems(GOOD, sources=("988",)) == []  # ids are strings, "988" included
    assert _problems("", sources=("SPR",)) == ["Write the answer."]


def test_the_minimum_number_of_phrasings_is_one_a_person_can_type():
    assert MIN_EXAMPLES == 5
    five = ["is there parking", "where do i park", "can i park at the clinic",
            "parking options", "is parking free"]
    assert example_problems(five) == []
    assert example_problems(five[:4]) == [
        "Give at least 5 different phrasings (one per line); there are 4."]
    # The same phrasing twice, or differing only in case and spacing, counts once.
    repeated = five[:4] + ["Where  do I park"]
    assert any("listed more than once" in p for p in example_problems(repeated))
    assert any("there are 4" in p for p in example_problems(repeated))


def test_a_phrasing_can_teach_only_one_meaning():
    elsewhere = {normalize_example("How much does it cost"): "faq/cost"}
    problems = example_problems(["how much does it COST", "b", "c", "d", "e"], elsewhere=elsewhere)
    assert problems == ['"how much does it COST" is already an example of "faq/cost" in the '
                        "training data: a phrasing can teach only one meaning."]


def test_phrasings_rasa_would_read_as_entity_markup_are_rejected():
    problems = example_problems(["see [this](link) please"], minimum=1)
    assert len(problems) == 1 and "markup" in problems[0]
    assert example_problems(["what about [brackets] alone"], minimum=1) == []
    assert example_problems(["my email is [EMAIL] (work)"], minimum=1) == []  # redacted text


def test_titles_and_short_names():
    assert title_problems("Is there parking?") == []
    assert title_problems("  ")
    assert faq_key_problems("parking", {"cost"}) == []
    assert faq_key_problems("cost", {"cost"}) == [
        'There is already a question named "cost": choose another short name.']
    for bad in ("Parking", "park ing", "1parking", "p", "faq/parking", "x" * 49):
        assert faq_key_problems(bad, set()), bad
