"""The content files: honest, sourced, short, and enough varied training data."""
from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from bot.content.checks import (
    MAX_READING_GRADE,
    MIN_EXAMPLES,
    SOURCES,
    answer_problems,
    example_problems,
    normalize_example,
    reading_grade,
    title_problems,
)
from bot.content.claims import find_forbidden_claims
from tests.conftest import nlu_examples


def _norm(text):
    return re.sub(r"[^a-z0-9 ]", "", text.lower()).strip()


def test_rasa_data_validate_finds_no_errors_or_conflicts():
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "data", "validate", "--max-history", "5"],
        capture_output=True, text=True, timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "No story structure conflicts found" in output
    assert "ERROR" not in output


def test_every_intent_has_enough_varied_examples(domain):
    examples = defaultdict(list)
    for intent, text in nlu_examples("data/nlu.yml"):
        examples[intent].append(text)
    faq_keys = {r.split("/", 1)[1] for r in domain["responses"] if r.startswith("utter_faq/")}
    assert {i.split("/", 1)[1] for i in examples if i.startswith("faq/")} == faq_keys
    owner = {}
    for intent, texts in examples.items():
        for text in texts:
            owner.setdefault(normalize_example(text), intent)
    intents = [i if isinstance(i, str) else next(iter(i)) for i in domain["intents"]]
    for intent in [i for i in intents if i != "faq"] + [f"faq/{k}" for k in faq_keys]:
        elsewhere = {text: other for text, other in owner.items() if other != intent}
        assert example_problems(examples[intent], MIN_EXAMPLES, elsewhere) == [], intent


def test_heldout_messages_are_not_in_the_training_data():
    training = {_norm(text) for _, text in nlu_examples("data/nlu.yml")}
    heldout = list(nlu_examples("tests/nlu/heldout.yml"))
    assert len(heldout) >= 150
    leaked = [text for _, text in heldout if _norm(text) in training]
    assert not leaked


def _answers(domain):
    for name, variations in domain["responses"].items():
        for variation in variations:
            yield name, variation


def _faq_answers(domain):
    return [(n, v) for n, v in _answers(domain) if n.startswith("utter_faq/")]


def test_faq_answers_pass_the_answer_rules(domain):
    """Sources (at least one, all known), a title, no forbidden claim, no dose, no referral of
    their own, 2-4 sentences, not too long: the rules staff-written answers pass too."""
    faq = _faq_answers(domain)
    assert len(faq) >= 25
    for name, variation in faq:
        meta = variation.get("metadata") or {}
        assert title_problems(meta.get("title", "")) == [], name
        assert answer_problems(variation["text"], meta.get("sources") or [], SOURCES) == [], name


def test_no_answer_makes_a_forbidden_claim(domain):
    for name, variation in _answers(domain):
        assert find_forbidden_claims(variation.get("text", "")) == [], name


@pytest.mark.parametrize("claim", [
    "Ketamine is a miracle drug.", "It offers permanent recovery.", "There are no side effects.",
    "It is 100% safe.", "The treatment is painless.", "It works for everyone.",
    "Most patients get 35 mg.", "You are eligible for treatment.",
])
def test_the_claims_linter_rejects_overstatements(claim):
    assert find_forbidden_claims(claim)


def test_answers_are_plain_language(domain):
    """Flesch-Kincaid grade over all FAQ answers: about 8th grade (medical terms push it up)."""
    grade = reading_grade(v["text"] for _, v in _faq_answers(domain))
    print(f"Flesch-Kincaid grade of the FAQ answers: {grade:.1f}")
    assert grade <= MAX_READING_GRADE


def test_condition_explanations_make_no_forbidden_claim():
    data = yaml.safe_load(Path("data/contraindications.yml").read_text(encoding="utf-8"))
    for entry in data["conditions"]:
        assert find_forbidden_claims(entry["explanation"]) == [], entry["key"]
        assert set(map(str, entry["sources"])) <= set(SOURCES), entry["key"]


def test_the_sources_of_the_condition_data_are_the_known_sources():
    """data/contraindications.yml (and the `sources` table) lists the sources conditions cite."""
    data = yaml.safe_load(Path("data/contraindications.yml").read_text(encoding="utf-8"))
    listed = {str(s["id"]): s["title"] for s in data["sources"]}
    assert listed == {source: SOURCES[source] for source in listed}
