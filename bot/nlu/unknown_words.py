"""NLU component that sends messages with words the bot has never seen to the fallback.

- A message none of whose words the bot has ever seen ("fnord glib wub", "¿Cuánto cuesta la
  terapia?") is one it cannot have understood: it becomes `nlu_fallback` (confidence 0), which
  starts the two-stage fallback. The classifier's confidences say nothing here: it has no
  feature for a word it never saw.
- A question with one such content word ("ketamine and coffee") is answered from the rest of
  its words, which can make any FAQ look likely ("ketamine and anxiety"). Such a message gets
  an FAQ answer only when the answer selector is at least `unknown_word_faq_threshold` sure;
  otherwise the fallback offers the likeliest questions. A misspelling of a known word
  ("sesions"), another form of one ("consult", "consultation") and stop words do not count.

Runs before the crisis safety net, which still overrides it.
"""
from __future__ import annotations

import difflib
import json
import re
from functools import lru_cache
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

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from bot.nlu import faq_answer_confidence, override_intent

_WORD = re.compile(r"[^\W\d_]{2,}")
FILE_NAME = "vocabulary.json"
# How alike a word must be to a known one to count as its misspelling (difflib's ratio).
TYPO_SIMILARITY = 0.8
# A word and a known word where one starts with the other count as forms of one word
# ("consult", "consultation"), from this length on.
STEM_LENGTH = 5


def words(text: Text) -> Set[str]:
    return {w.lower() for w in _WORD.findall(text or "")}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class UnknownWordsFallback(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"unknown_word_faq_threshold": 0.7}

    def __init__(
        self,
        model_storage: ModelStorage,
        resource: Resource,
        vocabulary: Optional[Set[str]] = None,
        config: Optional[Dict[Text, Any]] = None,
    ) -> None:
        self._model_storage = model_storage
        self._resource = resource
        self._vocabulary = vocabulary or set()
        config = {**self.get_default_config(), **(config or {})}
        self.faq_threshold = float(config["unknown_word_faq_threshold"])
        self._is_unknown = lru_cache(maxsize=4096)(self._unknown_word)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "UnknownWordsFallback":
        return cls(model_storage, resource, config=config)

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
        return cls(model_storage, resource, vocabulary, config)

    def _unknown_word(self, word: str) -> bool:
        """A content word that is neither known nor a misspelling of a known word."""
        if word in self._vocabulary or word in ENGLISH_STOP_WORDS:
            return False
        if len(word) >= STEM_LENGTH and any(
            len(known) >= STEM_LENGTH and (known.startswith(word) or word.startswith(known))
            for known in self._vocabulary
        ):
            return False
        return not difflib.get_close_matches(word, self._vocabulary, n=1, cutoff=TYPO_SIMILARITY)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/") or not self._vocabulary:
                continue  # button payloads like /deny are not typed text
            message_words = words(text)
            if not message_words & self._vocabulary:
                # Not one known word: nothing was understood.
                override_intent(message, DEFAULT_NLU_FALLBACK_INTENT_NAME, confidence=0.0)
                continue
            confidence = faq_answer_confidence(message)
            if (confidence is not None and confidence < self.faq_threshold
                    and any(self._is_unknown(w) for w in message_words)):
                override_intent(message, DEFAULT_NLU_FALLBACK_INTENT_NAME, confidence=confidence)
        return messages
