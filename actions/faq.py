"""Answers from the content files: FAQ retrieval responses and one response per simple intent."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.answer import AnswerAction

FALLBACK_RESPONSE = "utter_answer_nlu_fallback"


def faq_selection(tracker: Tracker) -> Dict[Text, Any]:
    """The answer selection (`response_selector`) for the `faq` retrieval intent of the latest message."""
    return (tracker.latest_message.get("response_selector") or {}).get("faq") or {}


def selected_faq_response(tracker: Tracker) -> Optional[Text]:
    """The `utter_faq/<key>` response the classifier chose for the latest message."""
    return (faq_selection(tracker).get("response") or {}).get("utter_action")


class ActionAnswer(AnswerAction):
    """One action for every content answer, so a new FAQ needs data only, not code.

    `faq` messages get the response the classifier chose (bot/nlu/linear_classifier.py); any other intent X gets
    the response `utter_answer_X`.
    """

    def name(self) -> Text:
        return "action_answer"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        response = selected_faq_response(tracker) if intent == "faq" else f"utter_answer_{intent}"
        if response not in (domain.get("responses") or {}):
            response = FALLBACK_RESPONSE
        dispatcher.utter_message(response=response)
        return []
