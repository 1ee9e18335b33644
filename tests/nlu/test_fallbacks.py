"""The bot falls back (and offers suggestions) instead of answering what it did not understand.

Both fallbacks record how sure the bot was, so staff find these messages in the console's
low-confidence filter.
"""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.model


@pytest.mark.parametrize("text", ["qwxz blorf zzgg", "¿Cuánto cuesta la terapia?"])
def test_no_known_word_means_fallback_with_no_confidence(parser, text):
    intent = parser.parse(text)["intent"]
    assert (intent["name"], intent["confidence"]) == ("nlu_fallback", 0.0)


# "coffee" is a word the bot never saw: the rest of each message ("ketamine and ...") would make
# an unrelated FAQ look likely, so the bot must not answer one.
@pytest.mark.parametrize("text", ["is ketamine ok with coffee", "ketamine and coffee"])
def test_unsure_faq_answer_means_fallback(parser, text):
    intent = parser.parse(text)["intent"]
    assert intent["name"] == "nlu_fallback"
    assert intent["confidence"] < 0.7  # the unknown-word threshold in config.yml


@pytest.mark.parametrize("text, key", [
    ("hw many sesions do i need", "faq/number_of_sessions"),  # misspellings are not unknown
    ("can i schedule a consultation", "faq/getting_started"),
])
def test_known_words_and_misspellings_still_get_answers(parser, text, key):
    assert parser.full_intent(parser.parse(text)) == key


@pytest.mark.parametrize("text, key", [
    ("how many sessions do i need", "faq/number_of_sessions"),
    ("what are the side effects of ketamine", "faq/side_effects"),
])
def test_confident_faq_answers_are_kept(parser, text, key):
    assert parser.full_intent(parser.parse(text)) == key


def test_crisis_overrides_any_fallback(parser):
    assert parser.parse("qwxz i want to kill myself blorf")["intent"]["name"] == "crisis"
