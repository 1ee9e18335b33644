"""NLU component that sends FAQ questions whose answer the bot doubts to the fallback.

The classifier is often sure a message is *a* FAQ question (the `faq` confidence sums every FAQ
answer's probability), and the FallbackClassifier only looks at that intent confidence, so the
bot would answer the likeliest FAQ however unlikely it is. When the selector's own confidence in
the chosen answer is below `threshold`, the message becomes `nlu_fallback`: the two-stage
fallback then offers the likeliest questions as buttons instead of answering the wrong one.

The threshold (config.yml) is set below the correct answers of the held-out set (lowest 0.16)
and above most wrong ones. Runs before the crisis safety net, which still overrides it.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.training_data.message import Message

from bot.nlu import faq_answer_confidence, override_intent


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class UnsureFaqFallback(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"threshold": 0.15}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.threshold = float(config["threshold"])

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "UnsureFaqFallback":
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            confidence = faq_answer_confidence(message)
            if confidence is not None and confidence < self.threshold:
                override_intent(message, DEFAULT_NLU_FALLBACK_INTENT_NAME, confidence=confidence)
        return messages
