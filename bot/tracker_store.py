"""Rasa's SQL tracker store, without reloading the whole conversation on every message.

Rasa's SQLTrackerStore, per message, loads every event of the conversation's session, decodes
it and replays it into a new tracker, then on save counts those events again to find the new
ones. The cost grows with the conversation (issue 6: p50 29 ms at turn 1, 174 ms at turn 100,
and 45% of the Rasa server's CPU under load, measured with py-spy).

This store keeps the tracker it saved last for each conversation (a bounded LRU). Before
handing it out again it asks the database, in one indexed query, for the conversation's event
count and highest event id: if either differs from what this process wrote (another replica
answered, staff deleted the conversation, the database was restored), it reloads exactly as
Rasa does. Rasa's lock store serialises a conversation's messages (Redis across replicas), so
nobody writes to a conversation between this process's save and its next retrieve without
changing that fingerprint. The table, its rows and Rasa's own reads are unchanged.

Configured in endpoints.yml as `type: bot.tracker_store.CachedSQLTrackerStore` with the same
settings as `type: SQL`.
"""
from __future__ import annotations

import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Text, Tuple

import sqlalchemy as sa
import sqlalchemy.orm  # noqa: F401  (sa.orm.session.sessionmaker)
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

logger = logging.getLogger(__name__)

Fingerprint = Tuple[int, Optional[int]]  # (event rows, highest event id) of one conversation


@dataclass
class _Entry:
    tracker: DialogueStateTracker
    last_event: Optional[Event]  # the newest event stored: anything after it is not saved yet
    fingerprint: Fingerprint


def _events_after(tracker: DialogueStateTracker, last: Optional[Event]) -> List[Event]:
    """The tracker's events after `last` (the same object), newest last."""
    if last is None:
        return list(tracker.events)
    newer: List[Event] = []
    for event in reversed(tracker.events):
        if event is last:
            return newer[::-1]
        newer.append(event)
    # More new events than the tracker keeps (impossible within one message at the default
    # size): the ones after the last stored one in time.
    return [e for e in tracker.events if e.timestamp > last.timestamp]


def _sqlite_write_ahead_log(dbapi_connection: Any, _record: Any) -> None:
    """The embedded SQLite database in WAL mode: a commit appends to the log instead of
    syncing the database file (it was a third of the save), and the console and the action
    server read while Rasa writes. synchronous=NORMAL is SQLite's advice for WAL: a crash of
    the process loses nothing; only a power cut can lose the last commits."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _restarted_session(tracker: DialogueStateTracker, new_events: List[Event]) -> bool:
    """Whether `new_events` start a session after the visitor had already said something (the
    first session of a conversation starts after its first `action_listen` only)."""
    new = {id(event) for event in new_events if isinstance(event, SessionStarted)}
    if not new:
        return False
    said_something = False
    for event in tracker.events:
        if id(event) in new:
            return said_something
        said_something = said_something or isinstance(event, UserUttered)
    return True  # the new session start is no longer in memory: be safe, reload


class CachedSQLTrackerStore(SQLTrackerStore):
    def __init__(
        self,
        *args: Any,
        cache_size: int = 2000,
        max_event_history: Optional[int] = 50,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._cache: "OrderedDict[str, _Entry]" = OrderedDict()
        self._cache_size = int(cache_size)
        # Trackers keep only their newest events in memory (Rasa's own option, used by
        # create_tracker): the policies featurize every event a tracker holds and the action
        # server gets them all, so an unbounded tracker makes each turn slower than the last.
        # Slots and the latest message are tracker state and stay whole; the database keeps
        # every event. 50 events are 5 or more turns; no rule looks back more than 2 and the
        # memoization 3 (config.yml), and the actions read slots, not old events.
        self.max_event_history = int(max_event_history) if max_event_history else None
        if self.engine.dialect.name == "sqlite":
            # Rasa's SQLite engine opens a new connection for every session (NullPool): keep
            # connections open instead, in WAL mode. Rasa uses them from its one event loop
            # thread.
            url = self.engine.url
            self.engine.dispose()
            self.engine = sa.create_engine(url, poolclass=sa.pool.QueuePool, pool_size=2,
                                           connect_args={"check_same_thread": False})
            sa.event.listen(self.engine, "connect", _sqlite_write_ahead_log)
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        elif self.engine.dialect.name == "postgresql":
            # Rasa's engine hands out pooled connections unchecked: after a PostgreSQL restart
            # each dead one failed a visitor's message. Checked on checkout instead (a round
            # trip on loopback), and a bounded wait for a new connection.
            from rasa.core.tracker_store import create_engine_kwargs

            url = self.engine.url
            self.engine.dispose()
            self.engine = sa.create_engine(url, pool_pre_ping=True,
                                           connect_args={"connect_timeout": 5},
                                           **create_engine_kwargs(url))
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    async def get_or_create_tracker(
        self,
        sender_id: Text,
        max_event_history: Optional[int] = None,
        append_action_listen: bool = True,
    ) -> DialogueStateTracker:
        # Rasa's processor passes None here, which would reset this store's bound.
        return await super().get_or_create_tracker(
            sender_id, max_event_history or self.max_event_history, append_action_listen)

    def _fingerprint(self, session: Any, sender_id: Text) -> Fingerprint:
        # A Core statement (SQLAlchemy caches its compiled form), on the sender_id index.
        table = self.SQLEvent.__table__
        count, highest = session.execute(
            sa.select(sa.func.count(table.c.id), sa.func.max(table.c.id))
            .where(table.c.sender_id == sender_id)
        ).one()
        return int(count), highest

    def _remember(self, tracker: DialogueStateTracker, fingerprint: Fingerprint) -> None:
        if self.max_event_history and tracker.events.maxlen != self.max_event_history:
            # Trackers Rasa creates through its tracker store wrappers are unbounded: bound
            # this one as DialogueStateTracker(max_event_history=...) would.
            tracker._max_event_history = self.max_event_history
            tracker.events = tracker._create_events(list(tracker.events))
        last = tracker.events[-1] if tracker.events else None
        self._cache[tracker.sender_id] = _Entry(tracker, last, fingerprint)
        self._cache.move_to_end(tracker.sender_id)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        entry = self._cache.get(sender_id)
        with self.session_scope() as session:
            current = self._fingerprint(session, sender_id)
            if entry is not None:
                unchanged = entry.tracker.events[-1] is entry.last_event if \
                    entry.tracker.events else entry.last_event is None
                if current == entry.fingerprint and unchanged:
                    self._cache.move_to_end(sender_id)
                    return entry.tracker
                del self._cache[sender_id]
            # Rasa's query (the latest session's events), into a tracker of bounded length.
            rows = self._event_query(session, sender_id,
                                     fetch_events_from_all_sessions=False).all()
            events = [json.loads(row.data) for row in rows]
        if not (self.domain and events):
            return None
        tracker = DialogueStateTracker.from_dict(
            sender_id, events, self.domain.slots, self.max_event_history)
        # The fingerprint was read first: a write in between makes the next retrieve reload.
        self._remember(tracker, current)
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        entry = self._cache.get(tracker.sender_id)
        if entry is None or entry.tracker is not tracker:
            # A tracker this store did not hand out (a new conversation): Rasa's way.
            self._cache.pop(tracker.sender_id, None)
            await super().save(tracker)
            with self.session_scope() as session:
                fingerprint = self._fingerprint(session, tracker.sender_id)
            self._remember(tracker, fingerprint)
            return
        new_events = _events_after(tracker, entry.last_event)
        if self.event_broker is not None:
            # Rasa's stream_events() would diff against retrieve(), i.e. this same tracker.
            await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)
        with self.session_scope() as session:
            if new_events:
                # One executemany INSERT: the ORM unit of work was most of the save time.
                session.execute(self.SQLEvent.__table__.insert(),
                                [self._row(tracker.sender_id, event) for event in new_events])
            fingerprint = self._fingerprint(session, tracker.sender_id)  # sees its own rows
            session.commit()
        if _restarted_session(tracker, new_events):
            # A new session began after an earlier one: Rasa's retrieve() returns only the new
            # session, so the next message loads it the same way.
            self._cache.pop(tracker.sender_id, None)
        else:
            self._remember(tracker, fingerprint)

    @staticmethod
    def _row(sender_id: Text, event: Event) -> Dict[str, Any]:
        """The columns Rasa's SQLTrackerStore.save writes for an event."""
        data = event.as_dict()
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }
