"""The conversation index over Rasa's tracker store: conversations are written by Rasa's own
SQLTrackerStore, then indexed, filtered, exported and deleted by `bot.console.logs`."""
from __future__ import annotations

import asyncio
import threading
from datetime import date, datetime, timedelta, timezone
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import func, select

from bot.console import logs
from bot.console.logs import ConversationFilter
from bot.console.models import (
    AnswerFlag,
    Conversation,
    ConversationTag,
    Correction,
    IndexedMessage,
    SyncState,
)
from bot.db.engine import session_scope

UTC = timezone.utc
# A reply item: an action name, or (response name, text) for a message the bot sent.
Reply = Union[str, Tuple[str, str]]


@pytest.fixture(scope="session")
def rasa_domain() -> Domain:
    return Domain.load("domain.yml")


@pytest.fixture
def store(console_db_any, rasa_domain):
    """Rasa's SQLTrackerStore on the test database (SQLite file or PostgreSQL)."""
    if console_db_any.startswith("sqlite"):
        tracker_store = SQLTrackerStore(
            rasa_domain, dialect="sqlite", db=console_db_any.removeprefix("sqlite:///")
        )
    else:  # Rasa uses a full URL given as host as it is
        tracker_store = SQLTrackerStore(rasa_domain, dialect="postgresql", host=console_db_any)
    yield tracker_store
    tracker_store.engine.dispose()


class Chat:
    """One visitor's conversation, saved the way Rasa saves it (one save per handled message,
    trackers holding the current session's events)."""

    def __init__(self, store: SQLTrackerStore, sender_id: str, start: datetime) -> None:
        self.store, self.sender_id, self.clock = store, sender_id, start
        # Like Rasa: carry on from the stored tracker's current session.
        tracker = asyncio.run(store.retrieve(sender_id))
        self.session_events: list = list(tracker.events) if tracker else []

    def at(self, moment: datetime) -> "Chat":
        self.clock = moment
        return self

    def _tick(self) -> float:
        self.clock += timedelta(seconds=2)
        return self.clock.timestamp()

    def write(self, *events) -> "Chat":
        self.session_events.extend(events)
        tracker = DialogueStateTracker.from_events(
            self.sender_id, self.session_events, self.store.domain.slots
        )
        asyncio.run(self.store.save(tracker))
        starts = [n for n, e in enumerate(self.session_events) if isinstance(e, SessionStarted)]
        if starts:
            self.session_events = self.session_events[starts[-1]:]
        return self

    def new_session(self) -> "Chat":
        return self.write(
            ActionExecuted("action_session_start", timestamp=self._tick()),
            SessionStarted(timestamp=self._tick()),
            ActionExecuted("action_listen", timestamp=self._tick()),
        )

    def user_event(self, text: str, intent: str, confidence: float = 0.95, *,
                   faq: Optional[str] = None, faq_confidence: float = 0.95,
                   entities: Sequence[dict] = ()) -> UserUttered:
        parse = {"intent": {"name": intent, "confidence": confidence},
                 "entities": list(entities), "text": text,
                 "intent_ranking": [{"name": intent, "confidence": confidence}]}
        if faq:
            parse["response_selector"] = {
                "all_retrieval_intents": ["faq"],
                "faq": {"response": {"intent_response_key": f"faq/{faq}",
                                     "utter_action": f"utter_faq/{faq}",
                                     "confidence": faq_confidence},
                        "ranking": []},
            }
        return UserUttered(text, parse["intent"], list(entities), parse_data=parse,
                           timestamp=self._tick(), input_channel="rest")

    def reply_events(self, replies: Iterable[Reply]) -> list:
        events = []
        for item in replies:
            if isinstance(item, str):
                events.append(ActionExecuted(item, policy="RulePolicy", confidence=1.0,
                                             timestamp=self._tick()))
            else:
                response, text = item
                events.append(BotUttered(text, {}, {"utter_action": response},
                                         timestamp=self._tick()))
        return events

    def say(self, text: str, intent: str, confidence: float = 0.95, **kwargs) -> "Chat":
        """A visitor message only (its answer is saved later, as with a slow action server)."""
        return self.write(self.user_event(text, intent, confidence, **kwargs))

    def reply(self, *replies: Reply) -> "Chat":
        return self.write(*self.reply_events(replies),
                          ActionExecuted("action_listen", timestamp=self._tick()))

    def turn(self, text: str, intent: str, confidence: float = 0.95,
             reply: Sequence[Reply] = (), **kwargs) -> "Chat":
        """A visitor message and the bot's whole answer, saved together as Rasa does."""
        return self.write(self.user_event(text, intent, confidence, **kwargs),
                          *self.reply_events(reply),
                          ActionExecuted("action_listen", timestamp=self._tick()))


def day(n: int, hour: int = 10) -> datetime:
    """A fixed calendar: day(1) is 1 March 2025."""
    return datetime(2025, 3, n, hour, tzinfo=UTC)


def write_corpus(store: SQLTrackerStore) -> None:
    """Six conversations, one a day from 1 to 6 March 2025, each with something to filter on."""
    Chat(store, "a-faq", day(1)).new_session().turn(
        "How much does it COST?", "faq", 0.92, faq="cost", faq_confidence=0.9,
        reply=["action_answer", ("utter_faq/cost", "Costs vary by clinic."),
               ("utter_referral", "This is general information.")],
    ).turn("thanks!", "thank", 0.99, reply=["utter_youre_welcome"])
    Chat(store, "b-fallback", day(2)).turn(
        "blorp zzz", "nlu_fallback", 0.3,
        reply=["action_clarify", ("utter_clarify", "I'm not sure I understood.")],
    ).turn("my email is jane.doe@example.com", "nlu_fallback", 0.2, reply=["action_answer"])
    Chat(store, "c-crisis", day(3)).turn(
        "I want to end my life", "crisis", 1.0,
        reply=["utter_crisis", ("utter_crisis", "Please call or text 988 now.")],
    )
    Chat(store, "d-contra", day(4)).turn(
        "I have bipolar disorder, can I do it?", "check_contraindication", 0.88,
        entities=[{"entity": "condition", "value": "bipolar disorder", "start": 7, "end": 23,
                   "extractor": "SpacyEntityExtractor"}],
        reply=["action_check_contraindications",
               ("utter_condition_contraindicated", "Bipolar disorder needs a specialist.")],
    )
    Chat(store, "e-lowfaq", day(5)).turn(
        "Is it covered by insurance?", "faq", 0.95, faq="insurance", faq_confidence=0.4,
        reply=["action_answer", ("utter_faq/insurance", "Some plans cover it.")],
    )
    Chat(store, "f-greet", day(6)).turn(
        "hello 50%_off", "greet", 0.99, reply=["utter_greet"],
    )
    with session_scope() as session:
        logs.sync(session)
        logs.add_tag(session, "a-faq", "Billing", "reviewer")
        logs.set_reviewed(session, "a-faq", "reviewer", True)


def sender_ids(filter_params: dict, per_page: int = 50) -> List[str]:
    with session_scope() as session:
        page = logs.list_conversations(session, ConversationFilter.from_params(filter_params),
                                       1, per_page)
        assert page.total == len(page.items)
        return [row.sender_id for row in page.items]


# --- indexing -------------------------------------------------------------------------------------


def test_no_events_table_yet_means_no_conversations(console_db_any):
    with session_scope() as session:
        assert logs.sync(session) == 0
        assert logs.list_conversations(session, ConversationFilter()).total == 0
        assert logs.conversation_turns(session, "anyone") == []
        assert logs.delete_older_than(session, 30) == 0
        assert not logs.delete_conversation(session, "anyone")


def test_sync_indexes_each_visitor_message_with_what_the_bot_did(store):
    write_corpus(store)
    with session_scope() as session:
        messages = {m.text: m for m in session.scalars(select(IndexedMessage))}
        assert len(messages) == 8
        cost = messages["How much does it COST?"]
        assert cost.intent == "faq/cost"
        # The lower of the intent's (0.92) and the response selector's (0.9) confidence.
        assert cost.confidence == pytest.approx(0.9)
        assert cost.search_text == "how much does it cost?"
        assert cost.bot_actions == [
            {"action": "action_answer"},
            {"text": "Costs vary by clinic.", "response": "utter_faq/cost"},
            {"text": "This is general information.", "response": "utter_referral"},
        ]
        assert (cost.fallback, cost.crisis, cost.contraindication) == (False, False, False)
        assert messages["Is it covered by insurance?"].confidence == pytest.approx(0.4)
        contra = messages["I have bipolar disorder, can I do it?"]
        assert contra.entities == [{"entity": "condition", "value": "bipolar disorder"}]
        assert contra.contraindication
        assert messages["I want to end my life"].crisis
        assert messages["blorp zzz"].fallback
        # Personal data never reaches the index.
        assert "my email is [email]" in messages
        assert not session.scalar(
            select(func.count()).where(IndexedMessage.search_text.like("%jane%"))
        )

        conversation = session.get(Conversation, "a-faq")
        assert conversation.messages == 2
        assert conversation.min_confidence == pytest.approx(0.9)
        assert logs.utc(conversation.first_at) == day(1) + timedelta(seconds=8)
        # Last activity is the last event (the final action_listen), not the last message.
        assert logs.utc(conversation.last_at) > logs.utc(
            messages["thanks!"].at
        )
        flags = {c.sender_id: (c.fallback, c.crisis, c.contraindication)
                 for c in session.scalars(select(Conversation))}
        assert flags == {
            "a-faq": (False, False, False), "b-fallback": (True, False, False),
            "c-crisis": (False, True, False), "d-contra": (False, False, True),
            "e-lowfaq": (False, False, False), "f-greet": (False, False, False),
        }
        last_event = session.scalar(select(func.max(logs.events.c.id)))
        assert session.get(SyncState, "events").value == last_event
        assert logs.sync(session) == 0  # nothing new: nothing done


def test_flags_also_come_from_the_actions_the_bot_ran(store):
    chat = Chat(store, "v", day(1))
    chat.turn("hmm hmm", "greet", 0.4, reply=["action_clarify"])
    chat.turn("who can't take it", "ask_contraindications", 0.9,
              reply=["action_list_contraindications"])
    chat.turn("help me", "out_of_scope", 0.9,
              reply=["utter_crisis", ("utter_crisis", "Call 988.")])
    with session_scope() as session:
        logs.sync(session)
        flags = [(m.fallback, m.contraindication, m.crisis)
                 for m in session.scalars(select(IndexedMessage).order_by(IndexedMessage.event_id))]
        assert flags == [(True, False, False), (False, True, False), (False, False, True)]


def test_bot_messages_echoing_personal_data_are_redacted_in_the_index(store):
    Chat(store, "v", day(1)).turn(
        "call me on 555-123-4567", "out_of_scope", 0.6,
        reply=["action_check_contraindications",
               ("utter_condition_unknown", "I don't know '555-123-4567'.")],
    )
    with session_scope() as session:
        logs.sync(session)
        message = session.scalar(select(IndexedMessage))
        assert message.text == "call me on [phone]"
        assert message.bot_actions[1]["text"] == "I don't know '[phone]'."
        # The tracker store keeps the original.
        assert "555-123-4567" in session.scalar(
            select(logs.events.c.data).where(logs.events.c.type_name == "user")
        )


def test_answers_saved_after_their_question_are_attached_to_it(store):
    chat = Chat(store, "slow", day(1)).say("can I drive home after?", "faq", 0.8,
                                           faq="driving", faq_confidence=0.7)
    with session_scope() as session:
        assert logs.sync(session) == 1
    chat.reply("action_answer", ("utter_faq/driving", "No: someone must drive you."))
    chat.say("I feel like I want to die", "out_of_scope", 0.5)
    with session_scope() as session:
        assert logs.sync(session) == 1
    chat.reply("utter_crisis", ("utter_crisis", "Please call 988."))
    with session_scope() as session:
        assert logs.sync(session) == 0
        first, second = session.scalars(
            select(IndexedMessage).order_by(IndexedMessage.event_id)
        ).all()
        assert first.bot_actions == [
            {"action": "action_answer"},
            {"text": "No: someone must drive you.", "response": "utter_faq/driving"},
        ]
        assert second.crisis and not first.crisis
        conversation = session.get(Conversation, "slow")
        assert conversation.crisis and conversation.messages == 2
        assert conversation.min_confidence == pytest.approx(0.5)


@pytest.mark.parametrize("batch_size", [1, 2, 3, 7])
def test_indexing_in_small_batches_gives_the_same_index(store, monkeypatch, batch_size):
    write_corpus(store)
    with session_scope() as session:
        expected = {(m.event_id, m.text, tuple(map(str, m.bot_actions)), m.fallback, m.crisis,
                     m.contraindication) for m in session.scalars(select(IndexedMessage))}
        summaries = {(c.sender_id, c.messages, c.min_confidence, c.fallback, c.crisis,
                      c.contraindication, logs.utc(c.last_at))
                     for c in session.scalars(select(Conversation))}
        for table in (ConversationTag, IndexedMessage, Conversation, SyncState):
            session.query(table).delete()
    monkeypatch.setattr(logs, "BATCH_SIZE", batch_size)
    with session_scope() as session:
        assert logs.sync(session) == 8
    with session_scope() as session:
        assert {(m.event_id, m.text, tuple(map(str, m.bot_actions)), m.fallback, m.crisis,
                 m.contraindication) for m in session.scalars(select(IndexedMessage))} == expected
        assert {(c.sender_id, c.messages, c.min_confidence, c.fallback, c.crisis,
                 c.contraindication, logs.utc(c.last_at))
                for c in session.scalars(select(Conversation))} == summaries


def test_a_new_session_closes_the_previous_message(store, monkeypatch):
    monkeypatch.setattr(logs, "BATCH_SIZE", 2)
    chat = Chat(store, "v", day(1)).turn("hello", "greet", 0.9, reply=["utter_greet"])
    chat.new_session()
    with session_scope() as session:
        logs.sync(session)
    # A message the bot sends at the start of the new session, before the visitor writes.
    chat.reply(("utter_greet", "Welcome back!"))
    chat.turn("bye", "goodbye", 0.9, reply=["utter_goodbye"])
    with session_scope() as session:
        logs.sync(session)
        hello, bye = session.scalars(select(IndexedMessage).order_by(IndexedMessage.event_id))
        assert hello.bot_actions == [{"action": "utter_greet"}]
        assert bye.bot_actions == [{"action": "utter_goodbye"}]
        turns = logs.conversation_turns(session, "v")
    assert [(t["text"], t["new_session"]) for t in turns] == [
        ("hello", False), (None, True), ("bye", False),
    ]
    assert turns[1]["responses"] == [{"text": "Welcome back!", "response": "utter_greet"}]


def test_concurrent_syncs_index_each_message_once(store):
    write_corpus(store)
    with session_scope() as session:
        for table in (ConversationTag, IndexedMessage, Conversation, SyncState):
            session.query(table).delete()
    results, errors = [], []
    second_started = threading.Event()

    def second_sync():
        second_started.set()
        try:
            with session_scope() as session:
                results.append(logs.sync(session))
        except Exception as error:  # reported below
            errors.append(error)

    with session_scope() as session:
        results.append(logs.sync(session))  # holds the lock until this block commits
        thread = threading.Thread(target=second_sync)
        thread.start()
        second_started.wait()
        thread.join(0.5)
        assert thread.is_alive(), "the second sync should wait for the first to commit"
    thread.join(10)
    assert not errors
    assert sorted(results) == [0, 8]


# --- filters ---------------------------------------------------------------------------------------

ALL = ["f-greet", "e-lowfaq", "d-contra", "c-crisis", "b-fallback", "a-faq"]


@pytest.mark.parametrize(
    "params, expected",
    [
        ({}, ALL),
        # each filter alone
        ({"from": "2025-03-03", "to": "2025-03-04"}, ["d-contra", "c-crisis"]),
        ({"from": "2025-03-05"}, ["f-greet", "e-lowfaq"]),
        ({"to": "2025-03-01"}, ["a-faq"]),
        ({"intent": "faq"}, ["e-lowfaq", "a-faq"]),
        ({"intent": "faq/cost"}, ["a-faq"]),
        ({"intent": "greet"}, ["f-greet"]),
        ({"below": "50"}, ["e-lowfaq", "b-fallback"]),
        ({"below": "35"}, ["b-fallback"]),
        ({"fallback": "1"}, ["b-fallback"]),
        ({"crisis": "1"}, ["c-crisis"]),
        ({"contraindication": "1"}, ["d-contra"]),
        ({"reviewed": "yes"}, ["a-faq"]),
        ({"reviewed": "no"}, ALL[:-1]),
        ({"tag": "billing"}, ["a-faq"]),
        ({"tag": "nope"}, []),
        ({"q": "insurance"}, ["e-lowfaq"]),
        ({"q": "COST"}, ["a-faq"]),
        ({"q": "covered   insurance"}, ["e-lowfaq"]),  # every word, in one message
        ({"q": "cost thanks"}, []),  # words in different messages
        ({"q": "jane"}, []),  # redacted: not searchable
        ({"q": "[email]"}, ["b-fallback"]),
        ({"q": "%"}, ["f-greet"]),  # LIKE wildcards are literal
        ({"q": "50%_"}, ["f-greet"]),
        ({"q": "_"}, ["f-greet"]),
        # combined
        ({"intent": "faq", "below": "50"}, ["e-lowfaq"]),
        ({"intent": "faq", "below": "50", "reviewed": "no"}, ["e-lowfaq"]),
        ({"intent": "faq", "below": "50", "reviewed": "yes"}, []),
        ({"fallback": "1", "q": "email"}, ["b-fallback"]),
        ({"from": "2025-03-01", "to": "2025-03-02", "fallback": "1"}, ["b-fallback"]),
        ({"from": "2025-03-03", "fallback": "1"}, []),
        ({"crisis": "1", "contraindication": "1"}, []),
        ({"intent": "faq", "q": "cost", "tag": "billing", "reviewed": "yes"}, ["a-faq"]),
        ({"tag": "billing", "below": "50"}, []),
        ({"intent": "thank", "q": "cost"}, []),  # message filters apply to one message
        ({"intent": "faq", "to": "2025-03-01", "below": "95"}, ["a-faq"]),
        # ignored when not understood
        ({"from": "yesterday", "below": "lots", "reviewed": "maybe"}, ALL),
    ],
)
def test_filters_alone_and_combined(store, params, expected):
    write_corpus(store)
    assert sender_ids(params) == expected


def test_filter_round_trips_through_the_query_string():
    params = {"from": "2025-03-01", "to": "2025-03-04", "intent": "faq/cost", "below": "42.5",
              "fallback": "1", "crisis": "1", "contraindication": "1", "reviewed": "no",
              "tag": "billing", "q": "side effects"}
    parsed = ConversationFilter.from_params(params)
    assert parsed.below == pytest.approx(0.425)
    assert parsed.to_params() == params
    assert ConversationFilter.from_params({"tag": "  Follow  Up "}).tag == "follow up"
    assert ConversationFilter.from_params({"below": "0"}).below is None
    assert ConversationFilter().to_params() == {}


def test_pages_newest_activity_first(store):
    write_corpus(store)
    with session_scope() as session:
        first = logs.list_conversations(session, ConversationFilter(), 1, 4)
        second = logs.list_conversations(session, ConversationFilter(), 2, 4)
        beyond = logs.list_conversations(session, ConversationFilter(), 99, 4)
    assert (first.total, first.pages) == (6, 2)
    assert [r.sender_id for r in first.items] == ALL[:4]
    assert [r.sender_id for r in second.items] == ALL[4:]
    assert beyond.page == 2
    # The row shows the first visitor message (redacted), tags and flags.
    faq = second.items[1]
    assert faq.first_message == "How much does it COST?"
    assert faq.tags == ["billing"] and faq.reviewed_by == "reviewer"
    assert second.items[0].first_message == "blorp zzz" and second.items[0].low_confidence


def test_activity_moves_a_conversation_to_the_top(store):
    write_corpus(store)
    Chat(store, "a-faq", day(7)).turn("one more thing", "faq", 0.9, faq="cost")
    with session_scope() as session:
        logs.sync(session)
    assert sender_ids({})[0] == "a-faq"
    assert sender_ids({"from": "2025-03-07"}) == ["a-faq"]


# --- one conversation ------------------------------------------------------------------------------


def test_turns_read_from_the_tracker_store_redacted_unless_revealed(store):
    write_corpus(store)
    with session_scope() as session:
        turns = logs.conversation_turns(session, "b-fallback")
        revealed = logs.conversation_turns(session, "b-fallback", reveal=True)
        contra = logs.conversation_turns(session, "d-contra")
    assert [t["text"] for t in turns] == ["blorp zzz", "my email is [email]"]
    assert revealed[1]["text"] == "my email is jane.doe@example.com"
    first = turns[0]
    assert first["intent"] == "nlu_fallback" and first["confidence"] == pytest.approx(0.3)
    assert first["actions"] == ["action_clarify"]  # action_listen left out
    assert first["responses"] == [{"text": "I'm not sure I understood.",
                                   "response": "utter_clarify"}]
    assert first["fallback"] and first["at"] == day(2) + timedelta(seconds=2)
    assert contra[0]["entities"] == [{"entity": "condition", "value": "bipolar disorder"}]
    assert contra[0]["contraindication"]


def test_review_tags_and_flags(store):
    write_corpus(store)
    with session_scope() as session:
        event_id = session.scalar(select(IndexedMessage.event_id)
                                  .where(IndexedMessage.sender_id == "e-lowfaq"))
        assert logs.add_tag(session, "e-lowfaq", "Insurance ", "rev")
        assert not logs.add_tag(session, "e-lowfaq", "insurance", "rev")  # already there
        assert not logs.add_tag(session, "e-lowfaq", "   ", "rev")
        assert logs.flag_answer(session, "e-lowfaq", event_id, " Wrong plan names ", "rev")
        assert not logs.flag_answer(session, "a-faq", event_id, "not this one's", "rev")
        assert logs.set_reviewed(session, "e-lowfaq", "rev", True)
        assert not logs.set_reviewed(session, "nobody", "rev", True)
    with session_scope() as session:
        row = logs.get_conversation(session, "e-lowfaq")
        assert row.tags == ["insurance"] and row.flagged == 1 and row.reviewed_by == "rev"
        assert logs.answer_flags(session, "e-lowfaq")[event_id][0].comment == "Wrong plan names"
        assert logs.tags_in_use(session) == ["billing", "insurance"]
        assert logs.remove_tag(session, "e-lowfaq", "INSURANCE")
        assert logs.set_reviewed(session, "e-lowfaq", "rev", False)
    assert sender_ids({"reviewed": "yes"}) == ["a-faq"]
    assert sender_ids({"tag": "insurance"}) == []


def test_intents_in_use(store):
    write_corpus(store)
    with session_scope() as session:
        assert logs.intents_in_use(session) == [
            "check_contraindication", "crisis", "faq/cost", "faq/insurance", "greet",
            "nlu_fallback", "thank",
        ]


# --- dashboard -------------------------------------------------------------------------------------


def test_dashboard_counts_per_day_and_what_went_unanswered(store):
    write_corpus(store)
    Chat(store, "g", day(6, 15)).turn("Blorp   ZZZ", "nlu_fallback", 0.2, reply=["action_clarify"])
    with session_scope() as session:
        logs.sync(session)
        stats = logs.dashboard_stats(session, 7, today=date(2025, 3, 7))
        week_before = logs.dashboard_stats(session, 7, today=date(2025, 2, 28))
    assert stats.days == [date(2025, 2, 28) + timedelta(days=n) for n in range(1, 8)]
    assert stats.conversations_per_day == [1, 1, 1, 1, 1, 2, 0]
    assert stats.messages_per_day == [2, 2, 1, 1, 1, 2, 0]
    assert (stats.conversations, stats.messages) == (7, 9)
    assert stats.fallbacks == 3 and stats.fallback_rate == pytest.approx(3 / 9)
    assert stats.crisis_conversations == 1
    assert stats.top_intents[0] == ("nlu_fallback", 3)
    assert dict(stats.top_intents)["faq/cost"] == 1
    # The same question asked twice counts twice; crisis messages are not "unanswered".
    assert stats.unanswered[0] == ("blorp zzz", 2)
    assert dict(stats.unanswered).keys() >= {"my email is [email]", "Is it covered by insurance?"}
    assert all("life" not in text for text, _ in stats.unanswered)
    assert (week_before.messages, week_before.fallback_rate) == (0, 0.0)
    assert week_before.conversations_per_day == [0] * 7


# --- retention, deletion, export -----------------------------------------------------------------


def event_count(session, sender_id: str) -> int:
    return session.scalar(select(func.count()).select_from(logs.events)
                          .where(logs.events.c.sender_id == sender_id))


def test_retention_deletes_old_conversations_everywhere(store):
    write_corpus(store)
    # Started long ago but active recently: kept.
    Chat(store, "a-faq", day(20)).turn("still there?", "greet", 0.9)
    # Opened the widget once, never wrote: events only, deleted too.
    Chat(store, "silent", day(1)).new_session()
    with session_scope() as session:
        logs.sync(session)
        event_id = session.scalar(select(IndexedMessage.event_id)
                                  .where(IndexedMessage.sender_id == "b-fallback"))
        logs.flag_answer(session, "b-fallback", event_id, "wrong", "rev")
        logs.add_tag(session, "b-fallback", "spam", "rev")
        session.add(Correction(kind="ignore", event_id=event_id, sender_id="b-fallback",
                               text="blorp zzz", created_by="rev"))
    with session_scope() as session:
        # 10 days before 14 March: everything last active before 4 March goes.
        deleted = logs.delete_older_than(session, 10, now=day(14))
    assert deleted == 3  # b-fallback, c-crisis, silent
    with session_scope() as session:
        assert {c for c in session.scalars(select(Conversation.sender_id))} == {
            "a-faq", "d-contra", "e-lowfaq", "f-greet"}
        for gone in ("b-fallback", "c-crisis", "silent"):
            assert event_count(session, gone) == 0
        assert event_count(session, "a-faq") > 0
        assert not session.scalar(select(func.count()).select_from(IndexedMessage)
                                  .where(IndexedMessage.sender_id.in_(["b-fallback", "c-crisis"])))
        assert not session.scalar(select(func.count()).select_from(AnswerFlag))
        assert session.scalar(select(ConversationTag.tag)) == "billing"
        correction = session.scalar(select(Correction))
        assert (correction.sender_id, correction.event_id, correction.text) == (
            None, None, "blorp zzz")
        assert logs.delete_older_than(session, 10, now=day(14)) == 0


def test_delete_on_request_then_new_events_are_still_indexed(store):
    write_corpus(store)
    with session_scope() as session:
        # The newest conversation: SQLite hands its event ids out again.
        assert logs.delete_conversation(session, "f-greet")
        assert not logs.delete_conversation(session, "f-greet")
        assert event_count(session, "f-greet") == 0
        assert session.get(Conversation, "f-greet") is None
        assert logs.conversation_turns(session, "f-greet") == []
    Chat(store, "g-new", day(8)).turn("hi again", "greet", 0.9, reply=["utter_greet"])
    with session_scope() as session:
        assert logs.sync(session) == 1
        assert session.get(Conversation, "g-new").messages == 1
    assert sender_ids({})[:2] == ["g-new", "e-lowfaq"]


def test_export_rows_are_redacted_and_follow_the_filter(store):
    write_corpus(store)
    with session_scope() as session:
        everything = logs.export_rows(session, ConversationFilter())
        fallback = logs.export_rows(session, ConversationFilter(fallback=True))
        faq = logs.export_rows(session, ConversationFilter.from_params({"tag": "billing"}))
    assert len(everything) == 8
    assert [r["conversation"] for r in everything][:2] == ["f-greet", "e-lowfaq"]
    assert all("jane" not in str(row) for row in everything)
    assert [r["visitor_message"] for r in fallback] == ["blorp zzz", "my email is [email]"]
    assert list(fallback[0]) == list(logs.EXPORT_FIELDS)
    # All of a matching conversation's messages, in order, with what the bot did.
    assert [r["visitor_message"] for r in faq] == ["How much does it COST?", "thanks!"]
    assert faq[0]["bot_actions"] == ["action_answer"]
    assert faq[0]["bot_responses"] == ["Costs vary by clinic.", "This is general information."]
    assert faq[0]["tags"] == ["billing"] and faq[0]["reviewed"] is True
    assert faq[0]["intent"] == "faq/cost" and faq[0]["confidence"] == 0.9
    assert faq[0]["time"].startswith("2025-03-01T10:00:08")
