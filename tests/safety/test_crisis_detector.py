"""The rule-based safety net on its own: every crisis phrasing caught, no idiom caught."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.safety.crisis import default_detector

CASES = yaml.safe_load((Path(__file__).parent / "crisis_messages.yml").read_text(encoding="utf-8"))


def test_the_test_set_is_large_enough():
    assert len(CASES["crisis"]) >= 40
    assert len(CASES["controls"]) >= 20


@pytest.mark.parametrize("text", CASES["crisis"])
def test_crisis_phrasings_are_caught(text):
    assert default_detector().detect(text), text


@pytest.mark.parametrize("text", [c["text"] for c in CASES["controls"]])
def test_idioms_and_informational_questions_are_not_caught(text):
    assert default_detector().detect(text) is None, text


@pytest.mark.parametrize("text", [
    "", "   ", "\x00\x01\x02", "🙂🙂🙂", "¿Cuánto cuesta la terapia?", "a" * 100_000,
    "I hurt myself at the gym, can ketamine help the pain?",
])
def test_odd_input_is_handled(text):
    assert default_detector().detect(text) is None


def test_crisis_hidden_in_a_long_message_within_the_limit_is_caught():
    text = "I have questions about sessions. " * 50 + "Honestly I want to end my life."
    assert default_detector().detect(text)
