"""NLU component that makes crisis detection independent of the trained classifier.

Runs last in the pipeline (after FallbackClassifier) on every message. A message is a
crisis when the rule-based safety net matches it, or when the classifier ranks the crisis
intent first (even below the fallback threshold). Either way the intent becomes `crisis`
with full confidence, so the `crisis` rule answers with 988 before anything else.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu import override_intent
from bot.safety.crisis import default_detector

logger = logging.getLogger(__name__)

CRISIS_INTENT = "crisis"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class CrisisClassifier(GraphComponent, IntentClassifier):
    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "CrisisClassifier":
        return cls()

    def __init__(self) -> None:
        self._detector = default_detector()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            reason = self._crisis_reason(message)
            if reason is None:
                continue
            logger.info("crisis detected (%s)", reason)
            override_intent(message, CRISIS_INTENT)
            message.set("crisis_detection", reason, add_to_output=True)
        return messages

    def _crisis_reason(self, message: Message) -> Optional[str]:
        match = self._detector.detect(message.get(TEXT) or "")
        if match:
            return f"safety net: {match.category}"
        ranking = [
            r for r in message.get(INTENT_RANKING_KEY) or []
            if r.get(INTENT_NAME_KEY) != DEFAULT_NLU_FALLBACK_INTENT_NAME
        ]
        if ranking and ranking[0].get(INTENT_NAME_KEY) == CRISIS_INTENT:
            return "classifier"
        return None
