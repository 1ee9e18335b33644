"""Conversation logs for the console, read from Rasa's SQL tracker store (the `events` table).

Rasa stays the only writer of conversations. The console keeps a derived index of its own
(`console_messages`, one row per visitor message, and `console_conversations`, one row per
visitor) so that the list's filters are plain indexed SQL on SQLite and PostgreSQL alike:

- `sync` indexes the events added since the last call (their ids only grow) and is cheap when
  nothing is new; every console request that reads logs calls it first. It assumes ids become
  visible in order, which holds for one Rasa server (it saves trackers synchronously).
- Only redacted text is indexed. The original text stays in `events`, read by `conversation_turns`
  for the full view and, for admins, the one-conversation reveal.
- Retention and delete-on-request remove the tracker-store rows too, not just the index.

Confidence of an FAQ answer is the lower of the intent's and the response selector's: an answer is
only as sure as both "this is an FAQ" and "this is the FAQ", and a reviewer looking for unsure
answers must see either doubt.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Set, Tuple

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    distinct,
    exists,
    func,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import ColumnElement

from bot.console.models import (
    AnswerFlag,
    Conversation,
    ConversationTag,
    Correction,
    IndexedMessage,
    SyncState,
)
from bot.console.redact import redact
from bot.db.engine import session_scope

# Rasa's SQLTrackerStore table (rasa/core/tracker_store.py, `SQLEvent`). Rasa creates it; it is
# declared in a MetaData of its own so the project's migrations never see it.
TRACKER_METADATA = MetaData()
events = Table(
    "events",
    TRACKER_METADATA,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)

SYNC_KEY = "events"
BATCH_SIZE = 500  # events per query while indexing; also bounds the IN lists below
IN_CHUNK = 500  # SQLite's old default allows 999 parameters per statement
# Below this the console marks a message "low confidence" and counts it as unanswered.
LOW_CONFIDENCE = 0.5

FALLBACK_INTENTS = frozenset({"nlu_fallback"})
FALLBACK_ACTIONS = frozenset({"action_clarify", "action_default_fallback"})
CRISIS_INTENTS = frozenset({"crisis"})
CRISIS_ACTIONS = frozenset({"utter_crisis"})
CONTRAINDICATION_INTENTS = frozenset({"check_contraindication"})
CONTRAINDICATION_ACTIONS = frozenset(
    {"action_check_contraindications", "action_list_contraindications"}
)
# Actions in every turn: listing them would only hide the ones that matter.
QUIET_ACTIONS = frozenset({"action_listen", "action_session_start"})
# After these, the bot's actions belong to no earlier visitor message.
SESSION_BOUNDARIES = frozenset({"session_started", "restart"})
FLAGS = ("fallback", "crisis", "contraindication")


# Intents as staff would name them; FAQ answers show as "FAQ: <key in words>".
INTENT_LABELS = {
    "greet": "Greeting",
    "goodbye": "Goodbye",
    "thank": "Thanks",
    "affirm": "Yes",
    "deny": "No",
    "bot_challenge": "Asked if it is a bot",
    "out_of_scope": "Off topic",
    "clinic_practicalities": "Clinic practicalities",
    "faq": "FAQ",
    "crisis": "Crisis",
    "request_dosage": "Asked about doses",
    "request_obtain": "Asked how to get ketamine",
    "check_contraindication": "Asked about their condition",
    "ask_contraindications": "Asked who should not take it",
    "nlu_fallback": "Not understood",
}


def intent_label(intent: Optional[str]) -> str:
    if not intent:
        return "No intent"
    base, _, key = intent.partition("/")
    if key:
        return f"{INTENT_LABELS.get(base, base)}: {key.replace('_', ' ')}"
    return INTENT_LABELS.get(intent, intent.replace("_", " "))


def utc(moment: Optional[datetime]) -> Optional[datetime]:
    """SQLite hands back naive datetimes; everything here is UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


def _event_time(timestamp: Optional[float]) -> datetime:
    if timestamp is None:
        return datetime.now(timezone.utc)
    return datetime.fromtimestamp(timestamp, timezone.utc)


def _chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _load(data: Optional[str]) -> Dict[str, Any]:
    try:
        loaded = json.loads(data or "{}")
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def search_text(text: str) -> str:
    return " ".join(text.lower().split())


# --- reading one event --------------------------------------------------------------------------


def flags_of(intent: Optional[str] = None, action: Optional[str] = None) -> Set[str]:
    """Which of fallback / crisis / contraindication an intent or an action (or response) means."""
    base = intent.split("/", 1)[0] if intent else None
    flags = set()
    if base in FALLBACK_INTENTS or action in FALLBACK_ACTIONS:
        flags.add("fallback")
    if base in CRISIS_INTENTS or action in CRISIS_ACTIONS:
        flags.add("crisis")
    if base in CONTRAINDICATION_INTENTS or action in CONTRAINDICATION_ACTIONS:
        flags.add("contraindication")
    return flags


def read_user_event(data: Mapping[str, Any], reveal: bool = False) -> Dict[str, Any]:
    """Text, full intent name (`faq/<key>` for retrieval intents), confidence and entities of a
    `user` event, redacted unless `reveal`."""
    parse = data.get("parse_data") or {}
    intent = parse.get("intent") or {}
    name, confidence = intent.get("name"), intent.get("confidence")
    selected = (((parse.get("response_selector") or {}).get(name) or {}).get("response") or {})
    if name and selected.get("intent_response_key"):
        name = selected["intent_response_key"]
        if selected.get("confidence") is not None:
            confidence = (
                selected["confidence"] if confidence is None
                else min(confidence, selected["confidence"])
            )
    shown = (lambda value: value) if reveal else redact
    entities = [
        {
            "entity": entity.get("entity"),
            "value": shown(str(entity.get("value", ""))),
            **{key: entity[key] for key in ("role", "group") if entity.get(key)},
        }
        for entity in parse.get("entities") or data.get("entities") or []
        if isinstance(entity, dict)
    ]
    return {
        "text": shown(data.get("text") or ""),
        "intent": name,
        "confidence": float(confidence) if confidence is not None else None,
        "entities": entities,
    }


def read_bot_event(data: Mapping[str, Any], reveal: bool = False) -> Dict[str, Any]:
    """A bot message: its text (redacted unless `reveal`: answers can quote the visitor) and the
    response it came from."""
    text = data.get("text") or ""
    return {
        "text": text if reveal else redact(text),
        "response": (data.get("metadata") or {}).get("utter_action"),
    }


def _action_name(row: Any, data: Mapping[str, Any]) -> Optional[str]:
    return data.get("name") or row.action_name


# --- indexing -----------------------------------------------------------------------------------


def events_table_exists(session: Session) -> bool:
    """Rasa creates `events` on its first start: before that there is nothing to read."""
    return inspect(session.connection()).has_table("events")


def sync(session: Session) -> int:
    """Index the tracker-store events added since the last call; returns how many visitor
    messages were added. Call it before loading other console rows in the same session (indexed
    objects are detached batch by batch to keep memory flat on a large first run)."""
    if not events_table_exists(session):
        return 0
    indexed = session.scalar(select(SyncState.value).where(SyncState.key == SYNC_KEY)) or 0
    newest = session.scalar(select(func.max(events.c.id)))
    if newest is None or newest <= indexed:
        return 0
    last = _claim_sync_state(session)
    added = 0
    while True:
        rows = session.execute(
            select(events.c.id, events.c.sender_id, events.c.type_name, events.c.timestamp,
                   events.c.action_name, events.c.data)
            .where(events.c.id > last).order_by(events.c.id).limit(BATCH_SIZE)
        ).all()
        if not rows:
            return added
        added += _index_batch(session, rows, last)
        last = rows[-1].id
        session.execute(
            update(SyncState).where(SyncState.key == SYNC_KEY).values(value=last)
        )


def sync_now() -> None:
    """`sync` in a transaction of its own, committed at once so its lock is held only briefly
    (what console requests call before they read logs)."""
    with session_scope() as session:
        sync(session)


def _claim_sync_state(session: Session) -> int:
    """Lock the sync state row (so two requests never index the same events) and read it."""
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    session.execute(
        insert(SyncState).values(key=SYNC_KEY, value=0).on_conflict_do_nothing()
    )
    # A no-op write takes the row lock (PostgreSQL) or the database write lock (SQLite); the
    # value read after it includes whatever a concurrent sync committed meanwhile.
    session.execute(
        update(SyncState).where(SyncState.key == SYNC_KEY).values(value=SyncState.value)
    )
    return session.scalar(select(SyncState.value).where(SyncState.key == SYNC_KEY))


def _index_batch(session: Session, rows: Sequence[Any], previous_last: int) -> int:
    senders = list({row.sender_id for row in rows})
    first_type: Dict[str, str] = {}
    for row in rows:
        first_type.setdefault(row.sender_id, row.type_name)
    # A visitor message's bot actions may arrive in a later batch: re-open the last indexed
    # message of senders whose events here do not start with a new message.
    open_messages = _reopen(
        session, [s for s, kind in first_type.items() if kind != "user"], previous_last
    )
    conversations = {
        c.sender_id: c
        for chunk in _chunks(senders)
        for c in session.scalars(select(Conversation).where(Conversation.sender_id.in_(chunk)))
    }
    touched: List[Any] = [*open_messages.values(), *conversations.values()]
    added = 0
    for row in rows:
        data = _load(row.data)
        at = _event_time(row.timestamp)
        sender = row.sender_id
        conversation = conversations.get(sender)
        if row.type_name == "user":
            fields = read_user_event(data)
            message = IndexedMessage(
                event_id=row.id, sender_id=sender, at=at, text=fields["text"],
                search_text=search_text(fields["text"]), intent=fields["intent"],
                confidence=fields["confidence"], entities=fields["entities"], bot_actions=[],
                fallback=False, crisis=False, contraindication=False,
            )
            session.add(message)
            touched.append(message)
            open_messages[sender] = message
            added += 1
            if conversation is None:
                conversation = conversations[sender] = Conversation(
                    sender_id=sender, first_at=at, last_at=at, messages=0, fallback=False,
                    crisis=False, contraindication=False,
                )
                session.add(conversation)
                touched.append(conversation)
            conversation.messages += 1
            if message.confidence is not None and (
                conversation.min_confidence is None
                or message.confidence < conversation.min_confidence
            ):
                conversation.min_confidence = message.confidence
            _raise_flags(flags_of(intent=message.intent), message, conversation)
        elif row.type_name in SESSION_BOUNDARIES:
            open_messages.pop(sender, None)
        elif row.type_name in ("action", "bot") and sender in open_messages:
            item = _bot_item(row, data)
            if item is not None:
                message = open_messages[sender]
                # A new list: in-place changes to a JSON column are not tracked.
                message.bot_actions = [*message.bot_actions, item]
                _raise_flags(flags_of(action=item.get("action") or item.get("response")),
                             message, conversation)
        if conversation is not None and at > utc(conversation.last_at):
            conversation.last_at = at
    session.flush()
    for instance in touched:
        session.expunge(instance)
    return added


def _bot_item(row: Any, data: Mapping[str, Any], reveal: bool = False) -> Optional[Dict[str, Any]]:
    """What an `action` or `bot` event adds to a visitor message's bot actions (None: nothing)."""
    if row.type_name == "bot":
        return read_bot_event(data, reveal)
    name = _action_name(row, data)
    return None if name in QUIET_ACTIONS else {"action": name}


def _raise_flags(flags: Set[str], message: IndexedMessage, conversation: Optional[Conversation]):
    for flag in flags:
        setattr(message, flag, True)
        if conversation is not None:
            setattr(conversation, flag, True)


def _reopen(session: Session, senders: List[str], previous_last: int) -> Dict[str, IndexedMessage]:
    """The last indexed message of each sender, unless a new session started after it."""
    reopened: Dict[str, IndexedMessage] = {}
    for chunk in _chunks(senders):
        latest = (
            select(func.max(IndexedMessage.event_id).label("event_id"))
            .where(IndexedMessage.sender_id.in_(chunk))
            .group_by(IndexedMessage.sender_id)
            .subquery()
        )
        messages = session.scalars(
            select(IndexedMessage).join(latest, IndexedMessage.event_id == latest.c.event_id)
        ).all()
        boundaries = dict(
            session.execute(
                select(events.c.sender_id, func.max(events.c.id))
                .where(events.c.sender_id.in_(chunk),
                       events.c.type_name.in_(SESSION_BOUNDARIES),
                       events.c.id <= previous_last)
                .group_by(events.c.sender_id)
            ).all()
        )
        for message in messages:
            if boundaries.get(message.sender_id, 0) < message.event_id:
                reopened[message.sender_id] = message
    return reopened


# --- the list and its filters -------------------------------------------------------------------


def _parse_date(value: str) -> Optional[date]:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def _parse_threshold(value: str) -> Optional[float]:
    """A percentage from the form ("50" -> 0.5), between 0 and 100."""
    try:
        percent = float(value.strip().rstrip("%"))
    except ValueError:
        return None
    return percent / 100 if 0 < percent <= 100 else None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _percent(value: float) -> str:
    return f"{value * 100:g}"


@dataclass(frozen=True)
class ConversationFilter:
    """The list's filters, all combinable. Message filters (dates, intent, confidence, search)
    select conversations with at least one visitor message matching all of them together; the
    others are about the conversation as a whole. Dates are UTC days, both ends included."""

    date_from: Optional[date] = None
    date_to: Optional[date] = None
    intent: str = ""  # "faq" also matches every "faq/<key>"
    below: Optional[float] = None  # confidence below this fraction
    fallback: bool = False
    crisis: bool = False
    contraindication: bool = False
    reviewed: Optional[bool] = None
    tag: str = ""
    q: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> "ConversationFilter":
        reviewed = params.get("reviewed", "")
        return cls(
            date_from=_parse_date(params.get("from", "")),
            date_to=_parse_date(params.get("to", "")),
            intent=params.get("intent", "").strip()[:255],
            below=_parse_threshold(params.get("below", "")),
            fallback=params.get("fallback", "") in ("1", "on", "yes"),
            crisis=params.get("crisis", "") in ("1", "on", "yes"),
            contraindication=params.get("contraindication", "") in ("1", "on", "yes"),
            reviewed={"yes": True, "no": False}.get(reviewed),
            tag=normalize_tag(params.get("tag", "")),
            q=" ".join(params.get("q", "").split())[:200],
        )

    def to_params(self) -> Dict[str, str]:
        """The query-string form (only the filters that are set); `from_params` reads it back."""
        params = {
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "intent": self.intent,
            "below": _percent(self.below) if self.below is not None else "",
            "fallback": "1" if self.fallback else "",
            "crisis": "1" if self.crisis else "",
            "contraindication": "1" if self.contraindication else "",
            "reviewed": {True: "yes", False: "no", None: ""}[self.reviewed],
            "tag": self.tag,
            "q": self.q,
        }
        return {key: value for key, value in params.items() if value}

    def conditions(self) -> List[ColumnElement]:
        """WHERE clauses on `Conversation` (their subqueries use aliases, so they also work in
        queries that join the messages or tags tables themselves)."""
        message = aliased(IndexedMessage)
        on_message: List[ColumnElement] = []
        if self.date_from:
            on_message.append(message.at >= _day_start(self.date_from))
        if self.date_to and self.date_to < date.max:  # (no day after the last one to end at)
            on_message.append(message.at < _day_start(self.date_to + timedelta(days=1)))
        if self.intent:
            on_message.append(or_(
                message.intent == self.intent,
                message.intent.like(_like_escape(self.intent) + "/%", escape="\\"),
            ))
        if self.below is not None:
            on_message.append(message.confidence < self.below)
        for word in self.q.lower().split()[:10]:
            on_message.append(message.search_text.like(f"%{_like_escape(word)}%", escape="\\"))
        conditions: List[ColumnElement] = []
        if on_message:
            conditions.append(
                exists().where(message.sender_id == Conversation.sender_id, *on_message)
                .correlate(Conversation)
            )
        for flag in FLAGS:
            if getattr(self, flag):
                conditions.append(getattr(Conversation, flag).is_(True))
        if self.reviewed is not None:
            conditions.append(
                Conversation.reviewed_at.isnot(None) if self.reviewed
                else Conversation.reviewed_at.is_(None)
            )
        if self.tag:
            tag = aliased(ConversationTag)
            conditions.append(
                exists().where(tag.sender_id == Conversation.sender_id, tag.tag == self.tag)
                .correlate(Conversation)
            )
        return conditions


def normalize_tag(tag: str) -> str:
    return " ".join(tag.lower().split())[:64]


@dataclass
class ConversationRow:
    sender_id: str
    first_at: datetime
    last_at: datetime
    messages: int
    min_confidence: Optional[float]
    fallback: bool
    crisis: bool
    contraindication: bool
    reviewed_at: Optional[datetime]
    reviewed_by: Optional[str]
    first_message: str = ""
    tags: List[str] = field(default_factory=list)
    flagged: int = 0  # answers flagged as wrong

    @property
    def low_confidence(self) -> bool:
        return self.min_confidence is not None and self.min_confidence < LOW_CONFIDENCE


@dataclass
class ConversationPage:
    items: List[ConversationRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _rows(session: Session, conversations: Iterable[Conversation]) -> List[ConversationRow]:
    """Summaries with first message, tags and flag counts: three queries for the whole page."""
    rows = [
        ConversationRow(
            sender_id=c.sender_id, first_at=utc(c.first_at), last_at=utc(c.last_at),
            messages=c.messages, min_confidence=c.min_confidence, fallback=c.fallback,
            crisis=c.crisis, contraindication=c.contraindication,
            reviewed_at=utc(c.reviewed_at), reviewed_by=c.reviewed_by,
        )
        for c in conversations
    ]
    by_sender = {row.sender_id: row for row in rows}
    for chunk in _chunks(list(by_sender)):
        first = (
            select(func.min(IndexedMessage.event_id).label("event_id"))
            .where(IndexedMessage.sender_id.in_(chunk))
            .group_by(IndexedMessage.sender_id)
            .subquery()
        )
        for sender, text in session.execute(
            select(IndexedMessage.sender_id, IndexedMessage.text)
            .join(first, IndexedMessage.event_id == first.c.event_id)
        ):
            by_sender[sender].first_message = text
        for sender, tag in session.execute(
            select(ConversationTag.sender_id, ConversationTag.tag)
            .where(ConversationTag.sender_id.in_(chunk)).order_by(ConversationTag.tag)
        ):
            by_sender[sender].tags.append(tag)
        for sender, count in session.execute(
            select(AnswerFlag.sender_id, func.count(AnswerFlag.id))
            .where(AnswerFlag.sender_id.in_(chunk)).group_by(AnswerFlag.sender_id)
        ):
            by_sender[sender].flagged = count
    return rows


def list_conversations(
    session: Session, filter: ConversationFilter, page: int = 1, per_page: int = 25
) -> ConversationPage:
    """One page of the filtered conversations, newest activity first, and the total count."""
    conditions = filter.conditions()
    total = session.scalar(select(func.count()).select_from(Conversation).where(*conditions)) or 0
    page = max(1, min(page, max(1, -(-total // per_page))))
    conversations = session.scalars(
        select(Conversation).where(*conditions)
        .order_by(Conversation.last_at.desc(), Conversation.sender_id.desc())
        .offset((page - 1) * per_page).limit(per_page)
    ).all()
    return ConversationPage(_rows(session, conversations), total, page, per_page)


def get_conversation(session: Session, sender_id: str) -> Optional[ConversationRow]:
    conversation = session.get(Conversation, sender_id)
    return _rows(session, [conversation])[0] if conversation else None


def intents_in_use(session: Session) -> List[str]:
    """Every intent seen in visitor messages (for the filter's choices)."""
    names = session.scalars(
        select(distinct(IndexedMessage.intent)).where(IndexedMessage.intent.isnot(None))
    ).all()
    return sorted(names)


def tags_in_use(session: Session) -> List[str]:
    return list(session.scalars(select(distinct(ConversationTag.tag)).order_by(ConversationTag.tag)))


# --- one conversation ---------------------------------------------------------------------------


def conversation_turns(session: Session, sender_id: str, reveal: bool = False) -> List[dict]:
    """Every turn of a conversation, from the tracker store: the visitor's message (redacted
    unless `reveal`) with intent, confidence and entities, then the bot's actions and messages.
    Bot messages sent before the first visitor message make a turn with no visitor text."""
    if not events_table_exists(session):
        return []
    rows = session.execute(
        select(events.c.id, events.c.type_name, events.c.timestamp, events.c.action_name,
               events.c.data)
        .where(events.c.sender_id == sender_id).order_by(events.c.id)
    ).all()
    turns: List[dict] = []
    current: Optional[dict] = None
    new_session = False
    for row in rows:
        data = _load(row.data)
        at = _event_time(row.timestamp)
        if row.type_name == "user":
            fields = read_user_event(data, reveal)
            current = {"event_id": row.id, "at": at, **fields, "actions": [], "responses": [],
                       "new_session": new_session, **dict.fromkeys(FLAGS, False)}
            _raise_turn_flags(current, flags_of(intent=fields["intent"]))
            turns.append(current)
            new_session = False
        elif row.type_name in SESSION_BOUNDARIES:
            current, new_session = None, bool(turns)
        elif row.type_name in ("action", "bot"):
            item = _bot_item(row, data, reveal)
            if item is None:
                continue
            if current is None:
                current = {"event_id": None, "at": at, "text": None, "intent": None,
                           "confidence": None, "entities": [], "actions": [], "responses": [],
                           "new_session": new_session, **dict.fromkeys(FLAGS, False)}
                turns.append(current)
                new_session = False
            if "action" in item:
                current["actions"].append(item["action"])
            else:
                current["responses"].append(item)
            _raise_turn_flags(current, flags_of(action=item.get("action") or item.get("response")))
    return turns


def _raise_turn_flags(turn: dict, flags: Set[str]) -> None:
    for flag in flags:
        turn[flag] = True


def indexed_messages(session: Session, sender_id: str) -> Dict[int, IndexedMessage]:
    return {
        m.event_id: m
        for m in session.scalars(select(IndexedMessage).where(IndexedMessage.sender_id == sender_id))
    }


# --- staff review -------------------------------------------------------------------------------


def set_reviewed(session: Session, sender_id: str, username: str, reviewed: bool) -> bool:
    conversation = session.get(Conversation, sender_id)
    if conversation is None:
        return False
    conversation.reviewed_at = datetime.now(timezone.utc) if reviewed else None
    conversation.reviewed_by = username if reviewed else None
    return True


def add_tag(session: Session, sender_id: str, tag: str, username: str) -> bool:
    """True when the tag was added (False: empty, already there)."""
    tag = normalize_tag(tag)
    if not tag or session.scalar(
        select(ConversationTag.id).where(ConversationTag.sender_id == sender_id,
                                         ConversationTag.tag == tag)
    ):
        return False
    session.add(ConversationTag(sender_id=sender_id, tag=tag, created_by=username))
    return True


def remove_tag(session: Session, sender_id: str, tag: str) -> bool:
    result = session.execute(
        delete(ConversationTag).where(ConversationTag.sender_id == sender_id,
                                      ConversationTag.tag == normalize_tag(tag))
    )
    return result.rowcount > 0


def flag_answer(
    session: Session, sender_id: str, event_id: int, comment: str, username: str
) -> bool:
    """Mark the bot's answer to one visitor message as wrong (False: no such message)."""
    message = session.get(IndexedMessage, event_id)
    if message is None or message.sender_id != sender_id:
        return False
    session.add(AnswerFlag(sender_id=sender_id, event_id=event_id, comment=comment.strip(),
                           created_by=username))
    return True


def answer_flags(session: Session, sender_id: str) -> Dict[int, List[AnswerFlag]]:
    flags: Dict[int, List[AnswerFlag]] = {}
    for flag in session.scalars(
        select(AnswerFlag).where(AnswerFlag.sender_id == sender_id).order_by(AnswerFlag.id)
    ):
        flags.setdefault(flag.event_id, []).append(flag)
    return flags


# --- the dashboard ------------------------------------------------------------------------------


@dataclass
class DashboardStats:
    days: List[date]
    conversations_per_day: List[int]
    messages_per_day: List[int]
    conversations: int
    messages: int
    fallbacks: int
    crisis_conversations: int
    top_intents: List[Tuple[str, int]]
    # (example text, how often) for messages the bot fell back on or was unsure about.
    unanswered: List[Tuple[str, int]]

    @property
    def fallback_rate(self) -> float:
        return self.fallbacks / self.messages if self.messages else 0.0


def _utc_day(session: Session, column: Any) -> Any:
    """The UTC calendar day of a timestamp column, in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)  # SQLite stores UTC text


def dashboard_stats(
    session: Session, days: int, today: Optional[date] = None, top: int = 10
) -> DashboardStats:
    """Figures for the last `days` UTC days, today included."""
    today = today or datetime.now(timezone.utc).date()
    first_day = today - timedelta(days=days - 1)
    in_period = and_(IndexedMessage.at >= _day_start(first_day),
                     IndexedMessage.at < _day_start(today + timedelta(days=1)))
    day = _utc_day(session, IndexedMessage.at)
    per_day = {
        str(row_day): (conversations, messages)
        for row_day, conversations, messages in session.execute(
            select(day, func.count(distinct(IndexedMessage.sender_id)), func.count())
            .where(in_period).group_by(day)
        )
    }
    period = [first_day + timedelta(days=n) for n in range(days)]
    messages, conversations, fallbacks, crisis = session.execute(
        select(
            func.count(),
            func.count(distinct(IndexedMessage.sender_id)),
            func.count().filter(IndexedMessage.fallback.is_(True)),
            func.count(distinct(IndexedMessage.sender_id)).filter(IndexedMessage.crisis.is_(True)),
        ).where(in_period)
    ).one()
    count = func.count().label("n")
    top_intents = session.execute(
        select(IndexedMessage.intent, count)
        .where(in_period, IndexedMessage.intent.isnot(None))
        .group_by(IndexedMessage.intent).order_by(count.desc(), IndexedMessage.intent).limit(top)
    ).all()
    unanswered = session.execute(
        select(func.max(IndexedMessage.text), count)
        .where(
            in_period,
            IndexedMessage.crisis.is_(False),
            IndexedMessage.search_text != "",
            or_(IndexedMessage.fallback.is_(True), IndexedMessage.confidence < LOW_CONFIDENCE),
        )
        .group_by(IndexedMessage.search_text)
        .order_by(count.desc(), IndexedMessage.search_text).limit(top)
    ).all()
    return DashboardStats(
        days=period,
        conversations_per_day=[per_day.get(d.isoformat(), (0, 0))[0] for d in period],
        messages_per_day=[per_day.get(d.isoformat(), (0, 0))[1] for d in period],
        conversations=conversations, messages=messages, fallbacks=fallbacks,
        crisis_conversations=crisis,
        top_intents=[(name, n) for name, n in top_intents],
        unanswered=[(text, n) for text, n in unanswered],
    )


# --- retention, delete on request, export -------------------------------------------------------


def delete_older_than(session: Session, days: int, now: Optional[datetime] = None) -> int:
    """Retention: delete every conversation with no activity in the last `days` days, from the
    tracker store and the console. Returns how many conversations were deleted."""
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=days)
    senders = set()
    has_events = events_table_exists(session)
    if has_events:
        senders.update(session.scalars(
            select(events.c.sender_id).group_by(events.c.sender_id)
            .having(func.max(events.c.timestamp) < cutoff.timestamp())
        ))
    recent_events = exists().where(
        events.c.sender_id == Conversation.sender_id, events.c.timestamp >= cutoff.timestamp()
    )
    senders.update(session.scalars(
        select(Conversation.sender_id).where(
            Conversation.last_at < cutoff, *([~recent_events] if has_events else [])
        )
    ))
    _delete_senders(session, sorted(senders), has_events)
    return len(senders)


def delete_conversation(session: Session, sender_id: str) -> bool:
    """Delete one visitor's conversation everywhere (on their request). False if none existed."""
    has_events = events_table_exists(session)
    found = session.get(Conversation, sender_id) is not None or (
        has_events
        and session.scalar(select(events.c.id).where(events.c.sender_id == sender_id).limit(1))
        is not None
    )
    if found:
        _delete_senders(session, [sender_id], has_events)
    return found


def _delete_senders(session: Session, senders: List[str], has_events: bool) -> None:
    for chunk in _chunks(senders):
        if has_events:
            session.execute(delete(events).where(events.c.sender_id.in_(chunk)))
        session.execute(delete(IndexedMessage).where(IndexedMessage.sender_id.in_(chunk)))
        session.execute(delete(ConversationTag).where(ConversationTag.sender_id.in_(chunk)))
        session.execute(delete(AnswerFlag).where(AnswerFlag.sender_id.in_(chunk)))
        session.execute(delete(Conversation).where(Conversation.sender_id.in_(chunk)))
        # Examples staff already made from these messages stay (redacted) but no longer point
        # back at the visitor or at event ids the tracker store may reuse.
        session.execute(
            update(Correction).where(Correction.sender_id.in_(chunk))
            .values(sender_id=None, event_id=None)
        )
    if senders and has_events:
        # SQLite reuses the highest deleted ids: index from the newest event still there.
        remaining = session.scalar(select(func.max(events.c.id))) or 0
        session.execute(
            update(SyncState).where(SyncState.key == SYNC_KEY, SyncState.value > remaining)
            .values(value=remaining)
        )
    session.expire_all()


EXPORT_FIELDS = (
    "conversation", "message_id", "time", "visitor_message", "intent", "confidence", "entities",
    "bot_actions", "bot_responses", "fallback", "crisis", "contraindication", "reviewed", "tags",
)


def export_rows(session: Session, filter: ConversationFilter) -> List[Dict[str, Any]]:
    """One row per visitor message of every conversation the filter selects (all their
    messages, not only the matching ones), redacted, newest conversation first."""
    conditions = filter.conditions()
    tags: Dict[str, List[str]] = {}
    for sender, tag in session.execute(
        select(ConversationTag.sender_id, ConversationTag.tag)
        .join(Conversation, Conversation.sender_id == ConversationTag.sender_id)
        .where(*conditions).order_by(ConversationTag.tag)
    ):
        tags.setdefault(sender, []).append(tag)
    rows = session.execute(
        select(IndexedMessage, Conversation.reviewed_at)
        .join(Conversation, Conversation.sender_id == IndexedMessage.sender_id)
        .where(*conditions)
        .order_by(Conversation.last_at.desc(), Conversation.sender_id.desc(),
                  IndexedMessage.event_id)
    )
    return [
        {
            "conversation": m.sender_id,
            "message_id": m.event_id,
            "time": utc(m.at).isoformat(),
            "visitor_message": m.text,
            "intent": m.intent,
            "confidence": round(m.confidence, 4) if m.confidence is not None else None,
            "entities": [f"{e['entity']}={e['value']}" for e in m.entities],
            "bot_actions": [item["action"] for item in m.bot_actions if "action" in item],
            "bot_responses": [item["text"] for item in m.bot_actions if item.get("text")],
            "fallback": m.fallback,
            "crisis": m.crisis,
            "contraindication": m.contraindication,
            "reviewed": reviewed_at is not None,
            "tags": tags.get(m.sender_id, []),
        }
        for m, reviewed_at in rows
    ]
