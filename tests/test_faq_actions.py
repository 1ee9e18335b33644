"""action_answer and action_clarify with a real Tracker and CollectingDispatcher."""
from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions.answer import REFERRAL_RESPONSE
from actions.faq import ActionAnswer
from actions.fallback import ActionClarify
from tests.conftest import make_tracker


async def test_faq_answer_is_the_selected_response_then_the_referral(domain):
    dispatcher = CollectingDispatcher()
    events = await ActionAnswer().run(
        dispatcher, make_tracker("hw many sesions", intent="faq", faq_key="number_of_sessions"), domain
    )
    assert events == []
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_faq/number_of_sessions", REFERRAL_RESPONSE]


async def test_simple_intents_map_to_their_answer(domain):
    for intent in ("request_dosage", "request_obtain", "out_of_scope", "clinic_practicalities", "bot_challenge"):
        dispatcher = CollectingDispatcher()
        await ActionAnswer().run(dispatcher, make_tracker("x", intent=intent), domain)
        assert dispatcher.messages[0]["response"] == f"utter_answer_{intent}"


async def test_unknown_faq_key_falls_back_instead_of_failing(domain):
    dispatcher = CollectingDispatcher()
    await ActionAnswer().run(dispatcher, make_tracker("x", intent="faq", faq_key="no_such_key"), domain)
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_answer_nlu_fallback", REFERRAL_RESPONSE]


async def test_clarify_offers_the_likeliest_questions_as_buttons(domain):
    ranking = [
        {"intent_response_key": "faq/cost", "confidence": 0.4},
        {"intent_response_key": "faq/number_of_sessions", "confidence": 0.3},
        {"intent_response_key": "faq/maintenance", "confidence": 0.2},
        {"intent_response_key": "faq/esketamine", "confidence": 0.1},
    ]
    dispatcher = CollectingDispatcher()
    await ActionClarify().run(dispatcher, make_tracker("price of sessions?", intent="nlu_fallback",
                                                       faq_ranking=ranking), domain)
    (message,) = dispatcher.messages
    assert message["response"] == "utter_clarify"
    titles = [b["title"] for b in message["buttons"]]
    assert titles == ["How much does it cost?", "How many sessions will I need?",
                      "Will I need maintenance sessions?", "Something else"]
    # Buttons send the question itself, so the click is understood like typed text.
    assert message["buttons"][0]["payload"] == "How much does it cost?"
    assert message["buttons"][-1]["payload"] == "/deny"
