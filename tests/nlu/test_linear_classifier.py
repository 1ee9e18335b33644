"""The classifier's output is what the rules, actions, fallbacks and console read (Rasa's
DIETClassifier + ResponseSelector format), from the model trained on the real data."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.model


def test_faq_question_gets_intent_and_selected_answer(parser):
    parse = parser.parse("how many sessions will i need")
    assert parse["intent"]["name"] == "faq"
    selector = parse["response_selector"]
    assert selector["all_retrieval_intents"] == ["faq"]
    response = selector["faq"]["response"]
    assert response["intent_response_key"] == "faq/number_of_sessions"
    assert response["utter_action"] == "utter_faq/number_of_sessions"
    assert parse["intent"]["full_retrieval_intent_name"] == "faq/number_of_sessions"


def test_confidences_are_probabilities(parser):
    parse = parser.parse("what are the side effects")
    ranking = parse["intent_ranking"]
    confidences = [r["confidence"] for r in ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert len({r["name"] for r in ranking}) == len(ranking)  # faq once, not once per answer
    # The answer ranking is conditional on "this is an FAQ": it sums to 1 over every answer.
    answers = parse["response_selector"]["faq"]["ranking"]
    assert answers[0]["intent_response_key"] == parse["response_selector"]["faq"]["response"][
        "intent_response_key"]
    assert 0 < sum(a["confidence"] for a in answers) <= 1.0 + 1e-9
    assert all(0 <= c <= 1 for c in confidences)


def test_other_intents_get_no_faq_answer_of_their_own(parser):
    parse = parser.parse("hello there")
    assert parse["intent"]["name"] == "greet"
    assert "full_retrieval_intent_name" not in parse["intent"] or \
        parse["intent"]["full_retrieval_intent_name"] is None
