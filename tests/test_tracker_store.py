"""bot/tracker_store.py on real databases: what it stores is what Rasa's own SQLTrackerStore
reads back, and a conversation changed elsewhere (another replica, a deletion) is reloaded."""
from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.tracker_store import CachedSQLTrackerStore

DOMAIN = Domain.from_yaml("""
version: "3.1"
intents: [greet, faq]
slots:
  conditions_affirmed:
    type: list
    influence_conversation: false
    mappings:
    - type: custom
responses:
  utter_greet:
  - text: hi
""")

BOTH = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)


def run(coroutine):
    return asyncio.new_event_loop().run_until_complete(coroutine)


def store(url, **kwargs) -> CachedSQLTrackerStore:
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    return CachedSQLTrackerStore(domain=DOMAIN, dialect=dialect, host=url, **kwargs)


def rasa_store(url) -> SQLTrackerStore:
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    return SQLTrackerStore(domain=DOMAIN, dialect=dialect, host=url)


def turn(number: int):
    return [UserUttered(f"message {number}", {"name": "faq", "confidence": 0.9}),
            ActionExecuted("action_answer"), BotUttered(f"answer {number}"),
            ActionExecuted("action_listen")]


def new_conversation(s: CachedSQLTrackerStore, sender: str) -> DialogueStateTracker:
    tracker = run(s.get_or_create_tracker(sender))  # saved once, as Rasa's processor does
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))
    return tracker


def texts(tracker):
    return [e.text for e in tracker.events if isinstance(e, (UserUttered, BotUttered))]


@BOTH
def test_saved_events_are_what_rasas_store_reads(db_url):
    s = store(db_url)
    tracker = new_conversation(s, "visitor")
    for number in range(3):
        for event in turn(number):
            tracker.update(event)
        tracker.update(SlotSet("conditions_affirmed", [f"c{number}"]))
        run(s.save(tracker))
        assert run(s.retrieve("visitor")) is tracker  # nothing changed: no reload
    stored = run(rasa_store(db_url).retrieve_full_tracker("visitor"))
    assert [e.as_dict() for e in stored.events] == [e.as_dict() for e in tracker.events]
    assert stored.get_slot("conditions_affirmed") == ["c2"]


@BOTH
def test_a_write_by_another_replica_is_loaded(db_url):
    first, second = store(db_url), store(db_url)
    tracker = new_conversation(first, "visitor")
    for event in turn(1):
        tracker.update(event)
    run(first.save(tracker))
    other = run(second.retrieve("visitor"))
    for event in turn(2):
        other.update(event)
    run(second.save(other))
    again = run(first.retrieve("visitor"))
    assert again is not tracker
    assert texts(again) == ["message 1", "answer 1", "message 2", "answer 2"]
    for event in turn(3):
        again.update(event)
    run(first.save(again))
    assert texts(run(rasa_store(db_url).retrieve("visitor")))[-2:] == ["message 3", "answer 3"]


@BOTH
def test_a_deleted_conversation_is_not_served_from_memory(db_url):
    s = store(db_url)
    tracker = new_conversation(s, "visitor")
    run(s.save(tracker))
    with s.session_scope() as session:
        session.execute(sa.delete(s.SQLEvent.__table__).where(
            s.SQLEvent.__table__.c.sender_id == "visitor"))
        session.commit()
    assert run(s.retrieve("visitor")) is None


@BOTH
def test_changes_that_were_not_saved_are_not_served(db_url):
    s = store(db_url)
    tracker = new_conversation(s, "visitor")
    run(s.save(tracker))
    tracker.update(UserUttered("never saved", {"name": "faq", "confidence": 0.9}))
    reloaded = run(s.retrieve("visitor"))
    assert reloaded is not tracker and "never saved" not in texts(reloaded)


@BOTH
def test_memory_holds_the_newest_events_the_database_all_of_them(db_url):
    s = store(db_url, max_event_history=20)
    tracker = new_conversation(s, "visitor")
    tracker.update(SlotSet("conditions_affirmed", ["stroke"]))
    for number in range(30):
        for event in turn(number):
            tracker.update(event)
        run(s.save(tracker))
    assert len(tracker.events) == 20
    with s.session_scope() as session:
        assert s._fingerprint(session, "visitor")[0] == 3 + 1 + 30 * 4 + 1  # +1: first save
    stored = run(rasa_store(db_url).retrieve("visitor"))
    assert texts(stored) == [t for n in range(30) for t in (f"message {n}", f"answer {n}")]
    assert stored.get_slot("conditions_affirmed") == ["stroke"]
    fresh = run(store(db_url, max_event_history=20).retrieve("visitor"))  # after a restart
    assert len(fresh.events) == 20 and fresh.get_slot("conditions_affirmed") == ["stroke"]


@BOTH
def test_a_new_session_is_loaded_as_rasa_loads_it(db_url):
    s = store(db_url)
    tracker = new_conversation(s, "visitor")
    for event in turn(1):
        tracker.update(event)
    run(s.save(tracker))
    for event in (ActionExecuted("action_session_start"), SessionStarted(),
                  ActionExecuted("action_listen"), *turn(2)):
        tracker.update(event)
    run(s.save(tracker))
    again = run(s.retrieve("visitor"))
    assert again is not tracker
    assert texts(again) == texts(run(rasa_store(db_url).retrieve("visitor"))) == [
        "message 2", "answer 2"]


@BOTH
def test_a_tracker_created_unbounded_is_bounded_once_stored(db_url):
    s = store(db_url, max_event_history=20)
    tracker = DialogueStateTracker("visitor", DOMAIN.slots)  # as Rasa's wrappers create them
    for number in range(10):
        for event in turn(number):
            tracker.update(event)
    run(s.save(tracker))
    assert tracker.events.maxlen == 20 and len(tracker.events) == 20
    assert run(s.retrieve("visitor")) is tracker
    assert len(run(rasa_store(db_url).retrieve_full_tracker("visitor")).events) == 40


def test_sqlite_is_in_write_ahead_log_mode(sqlite_url):
    s = store(sqlite_url)
    with s.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
