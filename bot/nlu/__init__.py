"""Custom Rasa NLU components (registered in config.yml)."""
from __future__ import annotations

from typing import Optional

from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

RETRIEVAL_INTENT = "faq"


def faq_answer_confidence(message: Message) -> Optional[float]:
    """How sure the answer selection is of the FAQ answer it chose; None when the message is
    not an FAQ question (or has no selection)."""
    if (message.get(INTENT) or {}).get(INTENT_NAME_KEY) != RETRIEVAL_INTENT:
        return None
    selected = (message.get("response_selector") or {}).get(RETRIEVAL_INTENT) or {}
    return (selected.get("response") or {}).get("confidence")


def override_intent(message: Message, name: str, confidence: float = 1.0) -> None:
    """Make `name` the message's intent, first in the ranking.

    For a fallback, `confidence` is how sure the bot was of what it understood (so staff can find
    these messages by low confidence in the console); for the crisis net it is 1.0.
    """
    intent = {INTENT_NAME_KEY: name, "confidence": confidence}
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != name]
    message.set(INTENT, intent, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [intent, *ranking], add_to_output=True)
