"""The content files: honest, sourced, short, and enough varied training data."""
from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from bot.content.claims import find_forbidden_claims
from tests.conftest import nlu_examples

SOURCE_IDS = {"A1", "A2", "SPR", "APA17", "ASRA18", "FDA23", "CAN23", "ELK23", "988"}
MIN_EXAMPLES = 20


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
    counts = Counter(intent for intent, _ in nlu_examples("data/nlu.yml"))
    faq_keys = {r.split("/", 1)[1] for r in domain["responses"] if r.startswith("utter_faq/")}
    assert {i.split("/", 1)[1] for i in counts if i.startswith("faq/")} == faq_keys
    intents = [i if isinstance(i, str) else next(iter(i)) for i in domain["intents"]]
    for intent in [i for i in intents if i != "faq"] + [f"faq/{k}" for k in faq_keys]:
        assert counts[intent] >= MIN_EXAMPLES, f"{intent}: {counts[intent]} examples"


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


def test_faq_answers_carry_sources_and_a_title(domain):
    faq = [(n, v) for n, v in _answers(domain) if n.startswith("utter_faq/")]
    assert len(faq) >= 25
    for name, variation in faq:
        meta = variation.get("metadata") or {}
        assert meta.get("title"), name
        assert meta.get("sources"), name
        assert set(map(str, meta["sources"])) <= SOURCE_IDS, name


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


def _sentences(text):
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"])", text.strip()) if s]


def test_answers_are_short(domain):
    for name, variation in _answers(domain):
        if name.startswith("utter_faq/"):
            assert 2 <= len(_sentences(variation["text"])) <= 4, name


def _syllables(word):
    word = word.lower()
    groups = re.findall(r"[aeiouy]+", word)
    count = len(groups) - (1 if word.endswith("e") and len(groups) > 1 else 0)
    return max(1, count)


def test_answers_are_plain_language(domain):
    """Flesch-Kincaid grade over all FAQ answers: about 8th grade (medical terms push it up)."""
    texts = [v["text"] for n, v in _answers(domain) if n.startswith("utter_faq/")]
    words = [w for t in texts for w in re.findall(r"[A-Za-z]+", t)]
    sentences = sum(len(_sentences(t)) for t in texts)
    grade = 0.39 * len(words) / sentences + 11.8 * sum(map(_syllables, words)) / len(words) - 15.59
    print(f"Flesch-Kincaid grade of the FAQ answers: {grade:.1f}")
    assert grade <= 11


def test_condition_explanations_make_no_forbidden_claim():
    data = yaml.safe_load(Path("data/contraindications.yml").read_text(encoding="utf-8"))
    for entry in data["conditions"]:
        assert find_forbidden_claims(entry["explanation"]) == [], entry["key"]
        assert set(map(str, entry["sources"])) <= SOURCE_IDS, entry["key"]
