"""Every answer ends with the doctor referral: checked over every response the domain has."""
from __future__ import annotations

import inspect

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

import actions.contraindications
from bot.channels import inbound
import actions.faq
import actions.fallback
from actions.answer import (
    CONVERSATIONAL_RESPONSES,
    REFERRAL_RESPONSE,
    SERVICE_PROBLEM_RESPONSE,
    AnswerAction,
)
from actions.faq import ActionAnswer
from actions.fallback import ActionDefaultFallback
from tests.conftest import make_tracker

CRISIS_RULE_RESPONSES = ["utter_crisis", "utter_crisis_continue", REFERRAL_RESPONSE]


def _rule_and_story_steps():
    for path in ("data/rules.yml", "data/stories.yml"):
        data = yaml.safe_load(open(path, encoding="utf-8"))
        for block in data.get("rules", []) + data.get("stories", []):
            yield block, block["steps"]


def _turns(steps):
    """Split steps into bot turns: the actions that follow each user intent."""
    turn = []
    for step in steps:
        if "intent" in step:
            if turn:
                yield turn
            turn = []
        elif "action" in step:
            turn.append(step["action"])
    if turn:
        yield turn


def test_training_data_sends_only_conversational_responses_directly():
    for block, steps in _rule_and_story_steps():
        for turn in _turns(steps):
            direct = [a for a in turn if a.startswith("utter_")]
            if direct and direct == CRISIS_RULE_RESPONSES[: len(direct)] and "utter_crisis" in direct:
                # The crisis reply is sent by the Rasa server itself (it must not depend on
                # the action server); it has to end with the referral like any answer.
                assert direct == CRISIS_RULE_RESPONSES, block
                continue
            for action in direct:
                assert action in CONVERSATIONAL_RESPONSES, (
                    f"{block.get('rule') or block.get('story')}: '{action}' is an answer; send it "
                    "from an AnswerAction so the referral is appended"
                )


def test_answer_actions_cannot_override_run():
    with pytest.raises(TypeError, match="referral"):

        class Sneaky(AnswerAction):  # noqa: F841
            def name(self):
                return "sneaky"

            async def answer(self, dispatcher, tracker, domain):
                return []

            async def run(self, dispatcher, tracker, domain):
                return []


def test_every_custom_action_that_answers_is_an_answer_action(domain):
    """Custom actions outside AnswerAction may only send conversational responses."""
    modules = [actions.faq, actions.fallback, actions.contraindications]
    classes = {
        cls for m in modules for _, cls in inspect.getmembers(m, inspect.isclass)
        if cls.__module__ == m.__name__ and hasattr(cls, "name") and cls is not AnswerAction
    }
    non_answer = {cls().name() for cls in classes if not issubclass(cls, AnswerAction)}
    assert non_answer == {"action_clarify"}
    for name in [a for a in domain["actions"] if not a.startswith("utter_")]:
        assert name in {cls().name() for cls in classes}, f"{name} has no implementation"


def _responses_sent_by(domain):
    """Every response in the domain, paired with the tracker that makes an action send it."""
    for response in domain["responses"]:
        if response.startswith("utter_faq/"):
            key = response.split("/", 1)[1]
            yield response, ActionAnswer(), make_tracker("q", intent="faq", faq_key=key)
        elif response.startswith("utter_answer_"):
            intent = response[len("utter_answer_"):]
            yield response, ActionAnswer(), make_tracker("q", intent=intent)


async def test_every_answer_response_ends_with_the_referral(domain):
    covered = set()
    for response, action, tracker in _responses_sent_by(domain):
        dispatcher = CollectingDispatcher()
        await action.run(dispatcher, tracker, domain)
        sent = [m["response"] for m in dispatcher.messages]
        assert sent == [response, REFERRAL_RESPONSE], response
        covered.add(response)
    # Every response is accounted for: conversational, sent by an answer action (checked
    # above), the crisis rule, or a contraindication/system response (tests/contraindications).
    others = {
        r for r in domain["responses"]
        if r not in covered and r not in CONVERSATIONAL_RESPONSES and r not in CRISIS_RULE_RESPONSES
    }
    # The Rasa server's own replies (bot/channels/inbound.py): each informational one is
    # followed by the referral there, checked here and in tests/security.
    server_replies = {name for names in inbound.REPLIES.values() for name in names}
    for names in inbound.REPLIES.values():
        assert names[-1] == REFERRAL_RESPONSE or names == ("utter_message_empty",), names
    others -= server_replies
    assert others == {
        SERVICE_PROBLEM_RESPONSE,
        "utter_condition_contraindicated", "utter_condition_caution",
        "utter_condition_not_recommended", "utter_conditions_denied", "utter_condition_unknown",
        "utter_ask_which_condition", "utter_contraindications_list",
        "utter_contraindications_unavailable",
    }
    assert len([r for r in covered if r.startswith("utter_faq/")]) >= 25


async def test_referral_follows_even_when_the_answer_fails(domain, caplog):
    class Broken(AnswerAction):
        def name(self):
            return "action_broken"

        async def answer(self, dispatcher, tracker, domain):
            dispatcher.utter_message(response="utter_faq/cost")
            raise RuntimeError("database is down")

    dispatcher = CollectingDispatcher()
    await Broken().run(dispatcher, make_tracker("q"), domain)
    sent = [m["response"] for m in dispatcher.messages]
    assert sent[-2:] == [SERVICE_PROBLEM_RESPONSE, REFERRAL_RESPONSE]
    assert "action_broken failed" in caplog.text


async def test_core_fallback_ends_with_referral(domain):
    dispatcher = CollectingDispatcher()
    await ActionDefaultFallback().run(dispatcher, make_tracker("asdf"), domain)
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_answer_nlu_fallback", REFERRAL_RESPONSE]


def test_no_response_text_pastes_the_referral(domain):
    """The referral is appended by one mechanism, never copied into a response."""
    referral = domain["responses"][REFERRAL_RESPONSE][0]["text"]
    for name, variations in domain["responses"].items():
        if name == REFERRAL_RESPONSE:
            continue
        for variation in variations:
            assert referral not in (variation.get("text") or ""), name
