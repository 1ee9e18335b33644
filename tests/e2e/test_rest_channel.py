"""The real servers (action server, Rasa with the trained model, SQLite tracker store)
answering over the REST channel, exactly as `make run` starts them."""
from __future__ import annotations

import uuid

import pytest

from tests.stack import send

pytestmark = pytest.mark.e2e

REFERRAL = "Please talk with your doctor"


def _texts(messages):
    return [m.get("text", "") for m in messages]


def _sender():
    return f"e2e-{uuid.uuid4().hex[:8]}"


def test_a_question_gets_its_answer_and_the_referral(running_stack):
    texts = _texts(send(running_stack, _sender(), "hw many sesions will i need"))
    assert "six infusions" in texts[0]
    assert REFERRAL in texts[-1]


def test_a_crisis_message_gets_988_first(running_stack):
    texts = _texts(send(running_stack, _sender(), "how much does it cost, i dont want to live anymore"))
    assert "988" in texts[0] and "911" in texts[0]
    assert REFERRAL in texts[-1]


def test_a_follow_up_is_answered_in_context(running_stack):
    sender = _sender()
    send(running_stack, sender, "how many sessions does it take?")
    texts = _texts(send(running_stack, sender, "and how long is each one?"))
    assert "40 minutes" in texts[0]


def test_dose_questions_are_declined_without_numbers(running_stack):
    texts = _texts(send(running_stack, _sender(), "how many mg of ketamine should i take"))
    assert "can't give information about doses" in texts[0]
    assert not any(ch.isdigit() for ch in texts[0])
    assert REFERRAL in texts[-1]


def test_conversation_survives_in_the_tracker_store(running_stack):
    sender = _sender()
    send(running_stack, sender, "hello")
    send(running_stack, sender, "what are the side effects")
    import sqlalchemy as sa

    engine = sa.create_engine(running_stack.settings.db_url, future=True)
    with engine.connect() as connection:
        count = connection.execute(
            sa.text("SELECT count(*) FROM events WHERE sender_id = :s AND type_name = 'user'"),
            {"s": sender},
        ).scalar_one()
    assert count == 2


def test_a_condition_is_looked_up_and_remembered(running_stack):
    sender = _sender()
    texts = _texts(send(running_stack, sender, "I have high blood pressure, can I do ketamine?"))
    assert texts[0].startswith("High blood pressure")
    assert REFERRAL in texts[-1]
    texts = _texts(send(running_stack, sender, "can I still get ketamine?"))
    assert texts[0].startswith("High blood pressure")


def test_negation_and_several_conditions(running_stack):
    texts = _texts(send(running_stack, _sender(), "I don't have heart problems but I had a stroke"))
    joined = " ".join(texts)
    assert texts[0].startswith("Stroke")
    assert "You mentioned you don't have heart" in joined
    for forbidden in ("you are safe", "you are eligible", "no problem"):
        assert forbidden not in joined.lower()


def test_who_should_not_take_it_comes_from_the_database(running_stack):
    texts = _texts(send(running_stack, _sender(), "who should not take ketamine?"))
    assert "aneurysm" in texts[0] and "pregnan" in texts[0]
    assert REFERRAL in texts[-1]


def test_a_conversation_survives_a_rasa_restart(running_stack):
    """The SQL tracker store keeps the conversation, so remembered conditions outlive a restart."""
    sender = _sender()
    send(running_stack, sender, "I had a stroke two years ago")
    running_stack.stop_rasa()
    running_stack.start_rasa()
    texts = _texts(send(running_stack, sender, "so can I still get ketamine?"))
    assert texts[0].startswith("Stroke")
    assert REFERRAL in texts[-1]
