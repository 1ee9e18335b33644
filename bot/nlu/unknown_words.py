"""NLU component that sends messages sharing no word with the training data to the fallback.

DIET's softmax confidences are close to 1.0 even for gibberish or another language, so the
FallbackClassifier's threshold alone almost never fires. A message none of whose words the
bot has ever seen ("fnord glib wub", "¿Cuánto cuesta la terapia?") is one it cannot have
understood: it becomes `nlu_fallback`, which starts the two-stage fallback. Runs before the
crisis safety net, which still overrides it.
"""
from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Optional, Set, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu import override_intent

_WORD = re.compile(r"[^\W\d_]{2,}")
FILE_NAME = "vocabulary.json"


def words(text: Text) -> Set[str]:
    return {w.lower() for w in _WORD.findall(text or "")}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class UnknownWordsFallback(GraphComponent, IntentClassifier):
    def __init__(
        self, model_storage: ModelStorage, resource: Resource, vocabulary: Optional[Set[str]] = None
    ) -> None:
        self._model_storage = model_storage
        self._resource = resource
        self._vocabulary = vocabulary or set()

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "UnknownWordsFallback":
        return cls(model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        self._vocabulary = set().union(*(words(m.get(TEXT)) for m in training_data.training_examples))
        with self._model_storage.write_to(self._resource) as directory:
            (directory / FILE_NAME).write_text(json.dumps(sorted(self._vocabulary)))
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "UnknownWordsFallback":
        with model_storage.read_from(resource) as directory:
            vocabulary = set(json.loads((directory / FILE_NAME).read_text()))
        return cls(model_storage, resource, vocabulary)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/") or not self._vocabulary:
                continue  # button payloads like /deny are not typed text
            message_words = words(text)
            if message_words & self._vocabulary:
                continue
            # Not one known word: nothing was understood.
            override_intent(message, DEFAULT_NLU_FALLBACK_INTENT_NAME, confidence=0.0)
        return messages
