"""The one place that guarantees every answer ends by sending the visitor to a doctor.

Every action that tells a visitor something subclasses `AnswerAction` and implements
`answer()`. `run()` is sealed: it sends whatever `answer()` produced and then, always, the
referral, even when `answer()` fails (a database that is down, a bug). Subclasses cannot
override `run()`, so a new answer can't forget the referral.

Responses sent straight from rules and stories (`utter_*`) must be conversational: the
list below is the only exception, and `tests/test_referral.py` checks that the training
data uses no other response directly.
"""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

logger = logging.getLogger(__name__)

REFERRAL_RESPONSE = "utter_referral"
SERVICE_PROBLEM_RESPONSE = "utter_service_problem"

# Social turns that carry no health information, so they end without the referral.
CONVERSATIONAL_RESPONSES = frozenset(
    {
        "utter_greet",
        "utter_goodbye",
        "utter_youre_welcome",
        "utter_ask_rephrase",
        "utter_ask_what_else",
        "utter_anything_else",
        "utter_clarify",
    }
)


class AnswerAction(Action, ABC):
    """An action that answers the visitor; the referral is appended by `run()`."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "run" in cls.__dict__:
            raise TypeError(
                f"{cls.__name__} overrides run(); implement answer() so the doctor referral is kept"
            )

    @abstractmethod
    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        """Send the answer's messages and return the events to apply."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        events: List[Dict[Text, Any]] = []
        try:
            events = list(await self.answer(dispatcher, tracker, domain) or [])
        except Exception:  # the visitor still gets a graceful answer and the referral
            logger.exception("action %s failed for sender %s", self.name(), tracker.sender_id)
            dispatcher.utter_message(response=SERVICE_PROBLEM_RESPONSE)
        dispatcher.utter_message(response=REFERRAL_RESPONSE)
        return events
