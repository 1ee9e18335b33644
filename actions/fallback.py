"""Two-stage fallback for messages the bot is unsure about.

Stage 1 (`action_clarify`) offers the likeliest FAQ questions as buttons; stage 2, if the
visitor is still not understood, is `action_answer` with `utter_answer_nlu_fallback`
(see data/rules.yml). Rasa's built-in TwoStageFallbackAction is not used because it
suggests intents by name with `/intent` payloads, which skip the FAQ answer selection and so
cannot suggest individual FAQ questions.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.answer import AnswerAction
from actions.faq import FALLBACK_RESPONSE, faq_selection

MAX_SUGGESTIONS = 3
MIN_SUGGESTION_CONFIDENCE = 0.05


def faq_title(domain: Dict[Text, Any], response: Text) -> str:
    variations = (domain.get("responses") or {}).get(response) or [{}]
    return ((variations[0].get("metadata") or {}).get("title")) or ""


class ActionClarify(Action):
    """Asks which question the visitor meant; it gives no information, so no referral."""

    def name(self) -> Text:
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        ranking = faq_selection(tracker).get("ranking") or []
        buttons = []
        for candidate in ranking:
            if len(buttons) == MAX_SUGGESTIONS:
                break
            if candidate.get("confidence", 0) < MIN_SUGGESTION_CONFIDENCE:
                continue
            title = faq_title(domain, f"utter_{candidate.get('intent_response_key')}")
            if title:
                # The payload is the question itself, so it goes through NLU like typed text.
                buttons.append({"title": title, "payload": title})
        buttons.append({"title": "Something else", "payload": "/deny"})
        dispatcher.utter_message(response="utter_clarify", buttons=buttons)
        return []


class ActionDefaultFallback(AnswerAction):
    """Replaces Rasa's default fallback (used when no policy is confident)."""

    def name(self) -> Text:
        return "action_default_fallback"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(response=FALLBACK_RESPONSE)
        return []
