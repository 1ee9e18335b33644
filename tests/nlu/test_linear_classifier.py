"""The classifier's output is what the rules, actions, fallbacks and console read (Rasa's
DIETClassifier + ResponseSelector format), from the model trained on the real data."""
from __future__ import annotations

import pytest




@pytest.mark.model
def test_faq_question_gets_intent_and_selected_answer(parser):
    parse = parser.parse("how many sessions will i need")
    assert parse["intent"]["name"] == "faq"
    selector = parse["response_selector"]
    assert selector["all_retrieval_intents"] == ["faq"]
    response = selector["faq"]["response"]
    assert response["intent_response_key"] == "faq/number_of_sessions"
    assert response["utter_action"] == "utter_faq/number_of_sessions"
    assert parse["intent"]["full_retrieval_intent_name"] == "faq/number_of_sessions"


@pytest.mark.model
def test_confidences_are_probabilities(parser):
    parse = parser.parse("what are the side effects")
    ranking = parse["intent_ranking"]
    confidences = [r["confidence"] for r in ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert len({r["name"] for r in ranking}) == len(ranking)  # faq once, not once per answer
    # The answer ranking is conditional on "this is an FAQ": it sums to 1 over every answer.
    answers = parse["response_selector"]["faq"]["ranking"]
    assert answers[0]["intent_response_key"] == parse["response_selector"]["faq"]["response"][
        "intent_response_key"]
    assert 0 < sum(a["confidence"] for a in answers) <= 1.0 + 1e-9
    assert all(0 <= c <= 1 for c in confidences)


@pytest.mark.model
def test_other_intents_get_no_faq_answer_of_their_own(parser):
    parse = parser.parse("hello there")
    assert parse["intent"]["name"] == "greet"
    assert "full_retrieval_intent_name" not in parse["intent"] or \
        parse["intent"]["full_retrieval_intent_name"] is None


# --- the component on its own (no trained model needed) --------------------------------------

def _message(text, intent, word_counts, char_counts, response_key=None):
    import numpy as np
    import scipy.sparse
    from rasa.shared.nlu.training_data.features import Features
    from rasa.shared.nlu.training_data.message import Message

    data = {"text": text, "intent": intent}
    if response_key:
        data["intent_response_key"] = response_key
    message = Message(data=data)
    for origin, counts in (("words", word_counts), ("chars", char_counts)):
        matrix = scipy.sparse.coo_matrix(np.array([counts], dtype=float))
        message.add_features(Features(matrix, "sentence", "text", origin))
    return message


def _classifier(tmp_path, examples):
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.nlu.linear_classifier import LinearIntentClassifier

    storage, resource = LocalModelStorage(tmp_path), Resource("linear")
    classifier = LinearIntentClassifier({}, storage, resource)
    classifier.train(TrainingData(training_examples=examples))
    return classifier, storage, resource


EXAMPLES = [
    ("hi", "greet", [3, 0, 0], [1, 0, 0, 0], None),
    ("hello", "greet", [2, 0, 0], [2, 1, 0, 0], None),
    ("cost", "faq", [0, 2, 0], [0, 1, 3, 0], "faq/cost"),
    ("price", "faq", [0, 3, 1], [0, 0, 2, 0], "faq/cost"),
    ("sessions", "faq", [0, 0, 3], [0, 0, 0, 2], "faq/number_of_sessions"),
    ("how many", "faq", [1, 0, 2], [0, 0, 1, 3], "faq/number_of_sessions"),
]


def test_component_scores_match_the_training_matrix(tmp_path):
    import numpy as np

    examples = [_message(*e) for e in EXAMPLES]
    classifier, _, _ = _classifier(tmp_path, examples)
    probe = _message("?", "greet", [1, 1, 0], [0, 2, 1, 1])
    expected = (classifier._matrix([probe]) @ classifier.weights.T).ravel() + classifier.bias
    assert np.allclose(classifier.scores(probe), expected)
    assert abs(classifier.probabilities(probe).sum() - 1) < 1e-9


def test_component_output_and_reload(tmp_path):
    from rasa.engine.graph import ExecutionContext, GraphSchema

    from bot.nlu.linear_classifier import LinearIntentClassifier

    classifier, storage, resource = _classifier(tmp_path, [_message(*e) for e in EXAMPLES])
    probe = _message("price?", "faq", [0, 3, 0], [0, 1, 3, 0])
    classifier.process([probe])
    assert probe.get("intent")["name"] == "faq"
    response = probe.get("response_selector")["faq"]["response"]
    assert response["intent_response_key"] == "faq/cost"
    assert response["utter_action"] == "utter_faq/cost"
    faq_total = probe.get("intent")["confidence"]
    ranking = probe.get("response_selector")["faq"]["ranking"]
    assert abs(sum(r["confidence"] for r in ranking) - 1) < 1e-9  # given "an FAQ"
    assert 0.5 < faq_total <= 1

    context = ExecutionContext(GraphSchema({}), "test")
    loaded = LinearIntentClassifier.load({}, storage, resource, context)
    again = _message("price?", "faq", [0, 3, 0], [0, 1, 3, 0])
    loaded.process([again])
    assert again.get("intent") == probe.get("intent")
    assert again.get("response_selector") == probe.get("response_selector")


def test_a_message_without_features_keeps_the_bias_only(tmp_path):
    import numpy as np
    from rasa.shared.nlu.training_data.message import Message

    classifier, _, _ = _classifier(tmp_path, [_message(*e) for e in EXAMPLES])
    assert np.allclose(classifier.scores(Message(data={"text": ""})), classifier.bias)
