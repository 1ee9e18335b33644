"""bot/rasa_server.py: Rasa's action-response check, with the validator built once, accepts and
refuses exactly what Rasa's own check does."""
from __future__ import annotations

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from bot import rasa_server
from bot.serve import Stack

VALID = {"events": [{"event": "slot", "name": "conditions_affirmed", "value": ["stroke"]}],
         "responses": [{"response": "utter_referral"}]}
INVALID = [{"events": [{"event": "no_such_event"}], "responses": []},
           {"events": "not a list", "responses": []},
           {"events": [], "responses": ["not an object"]}]


def test_valid_response_passes_both_checks():
    jsonschema.validate(VALID, RemoteAction.action_response_format_spec())
    assert rasa_server.validate_action_result(None, VALID) is True


@pytest.mark.parametrize("result", INVALID)
def test_invalid_response_fails_with_rasas_message(result):
    with pytest.raises(jsonschema.ValidationError) as rasa_error:
        RemoteAction("action_x", None)._validate_action_result(result)
    with pytest.raises(jsonschema.ValidationError) as ours:
        rasa_server.validate_action_result(None, result)
    assert ours.value.message == rasa_error.value.message


def test_the_fix_is_applied_to_rasas_remote_action(monkeypatch):
    monkeypatch.setattr(RemoteAction, "_validate_action_result",
                        RemoteAction._validate_action_result)
    rasa_server.apply_fixes()
    assert RemoteAction._validate_action_result is rasa_server.validate_action_result


def test_make_run_starts_rasa_through_it():
    command = Stack().services["rasa"].command
    assert command[1:4] == ["-m", "bot.rasa_server", "run"]


def test_make_run_starts_the_action_server_without_tensorflow():
    import subprocess
    import sys

    command = Stack().services["actions"].command
    assert command[1:3] == ["-m", "bot.action_server"]
    # What the action server imports (every action module and the spaCy matcher) loads no
    # TensorFlow, and the matcher still works.
    probe = ("import sys; sys.modules.setdefault('tensorflow', None); "
             "import actions.contraindications, actions.faq, actions.fallback; "
             "import spacy; print(spacy.blank('en')('high blood pressure')[1].text); "
             "print(sys.modules.get('tensorflow'))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["blood", "None"]
