"""Contraindication lookup (issue #3): what the sources say about a visitor's conditions and
medicines.

The condition matcher runs here, in the custom action, and not as a component of the Rasa NLU
pipeline, on purpose: it is built from the live database's synonyms, so a synonym or condition
added to data/contraindications.yml goes live on the next `load` without retraining the NLU
model; and its negation and unknown-mention logic needs the whole message, not NLU entities.

Both actions subclass `AnswerAction`, whose `run()` always appends the doctor referral. They never
say that a visitor is eligible or safe: they report what the sources say, per condition.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, Iterable, List, Sequence, Text, Tuple

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.answer import AnswerAction
from bot.contraindications.matcher import MatchResult, get_matcher
from bot.contraindications.repository import Catalog, load_catalog

logger = logging.getLogger(__name__)

SLOT_AFFIRMED = "conditions_affirmed"
SLOT_DENIED = "conditions_denied"

LEVEL_RESPONSES = {
    "contraindicated": "utter_condition_contraindicated",
    "not_recommended": "utter_condition_not_recommended",
    "caution": "utter_condition_caution",
}
# Most serious first when several conditions are answered at once.
LEVEL_ORDER = ("contraindicated", "not_recommended", "caution")
UNAVAILABLE_RESPONSE = "utter_contraindications_unavailable"


def human_join(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def merge_memory(
    affirmed_before: Iterable[str], denied_before: Iterable[str], found: MatchResult
) -> Tuple[List[str], List[str]]:
    """The conversation's conditions after this message: what is said now overrides what was
    said before (affirmed -> denied and back), order of first mention kept."""
    affirmed = [k for k in affirmed_before if k not in found.denied]
    denied = [k for k in denied_before if k not in found.affirmed]
    affirmed += [k for k in found.affirmed if k not in affirmed]
    denied += [k for k in found.denied if k not in denied]
    return affirmed, denied


def _slot_list(tracker: Tracker, slot: str) -> List[str]:
    value = tracker.get_slot(slot)
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else []


def _analyse(text: str) -> Tuple[Catalog, MatchResult]:
    catalog = load_catalog()
    return catalog, get_matcher(catalog.synonyms).find(text)


def _unavailable(dispatcher: CollectingDispatcher, action: str) -> None:
    logger.exception("%s: the contraindication database is unavailable", action)
    dispatcher.utter_message(response=UNAVAILABLE_RESPONSE)


class ActionCheckContraindications(AnswerAction):
    """What the sources say about the conditions and medicines named in the latest message
    (or, when it names none, the ones the visitor mentioned earlier)."""

    def name(self) -> Text:
        return "action_check_contraindications"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        text = (tracker.latest_message or {}).get("text") or ""
        try:
            # off the event loop: a database query, and a matcher build after a data reload
            catalog, found = await asyncio.to_thread(_analyse, text)
        except SQLAlchemyError:
            _unavailable(dispatcher, self.name())
            return []

        known = catalog.by_key
        affirmed_before = [k for k in _slot_list(tracker, SLOT_AFFIRMED) if k in known]
        denied_before = [k for k in _slot_list(tracker, SLOT_DENIED) if k in known]
        affirmed, denied = merge_memory(affirmed_before, denied_before, found)

        # "can I still get ketamine?" after "I have hypertension": answer the remembered ones
        to_answer = list(found.affirmed) if not found.empty else affirmed
        entries = sorted(
            (known[k] for k in to_answer), key=lambda e: LEVEL_ORDER.index(e.level)
        )
        for entry in entries:
            dispatcher.utter_message(
                response=LEVEL_RESPONSES[entry.level],
                condition=entry.name[:1].upper() + entry.name[1:],
                explanation=entry.explanation,
            )
        if found.denied:
            dispatcher.utter_message(
                response="utter_conditions_denied",
                conditions=human_join([known[k].name for k in found.denied]),
            )
        for phrase in found.unknown:
            dispatcher.utter_message(response="utter_condition_unknown", condition=phrase)
        if not (entries or found.denied or found.unknown):
            dispatcher.utter_message(response="utter_ask_which_condition")
        return [SlotSet(SLOT_AFFIRMED, affirmed), SlotSet(SLOT_DENIED, denied)]


class ActionListContraindications(AnswerAction):
    """'Who shouldn't take ketamine?': the conditions and medicines in the database, by level."""

    def name(self) -> Text:
        return "action_list_contraindications"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        try:
            catalog = await asyncio.to_thread(load_catalog)
        except SQLAlchemyError:
            _unavailable(dispatcher, self.name())
            return []
        dispatcher.utter_message(
            response="utter_contraindications_list",
            contraindicated=human_join(catalog.names(kind="condition", level="contraindicated")),
            caution=human_join(catalog.names(kind="condition", level="caution")),
            not_recommended=human_join(catalog.names(kind="condition", level="not_recommended")),
            medicines=human_join(catalog.names(kind="medicine")),
        )
        return []
