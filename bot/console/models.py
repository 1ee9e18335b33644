"""The staff console's own tables. Conversations themselves stay in Rasa's tracker store
(`events`); these tables hold what staff add to them, a search index derived from them, and the
trail of who did what.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped

from bot.db.base import Base

ROLES = ("admin", "reviewer")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class User(Base):
    """A staff account. Passwords are stored only as argon2 hashes."""

    __tablename__ = "console_users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'reviewer')", name="role"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    username: Mapped[str] = Column(String(64), nullable=False, unique=True)
    password_hash: Mapped[str] = Column(String(255), nullable=False)
    role: Mapped[str] = Column(String(16), nullable=False)
    active: Mapped[bool] = Column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    last_login_at: Mapped[Optional[datetime]] = Column(DateTime(timezone=True))


class LoginAttempt(Base):
    """Every login attempt, for rate limiting by username and by client address."""

    __tablename__ = "console_login_attempts"
    __table_args__ = (
        Index("ix_console_login_attempts_username_at", "username", "at"),
        Index("ix_console_login_attempts_address_at", "address", "at"),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    username: Mapped[str] = Column(String(64), nullable=False)
    address: Mapped[str] = Column(String(64), nullable=False)
    succeeded: Mapped[bool] = Column(Boolean, nullable=False)
    at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class AuditEvent(Base):
    """One staff action: login, relabel, export, reveal, delete, promote, rollback, user changes."""

    __tablename__ = "console_audit_log"

    id: Mapped[int] = Column(Integer, primary_key=True)
    at: Mapped[datetime] = Column(
        DateTime(timezone=True), nullable=False, default=utcnow, index=True
    )
    # Kept as text (not a foreign key) so the trail survives a deleted account.
    username: Mapped[str] = Column(String(64), nullable=False)
    action: Mapped[str] = Column(String(32), nullable=False, index=True)
    target: Mapped[str] = Column(String(255), nullable=False, default="")
    detail: Mapped[dict] = Column(JSON, nullable=False, default=dict)


class IndexedMessage(Base):
    """One visitor message from the tracker store, with what the bot made of it.

    Derived from Rasa's `events` table by `bot.console.logs.sync` (incrementally, by event id) so
    that filters are plain indexed SQL on SQLite and PostgreSQL alike. Only the redacted text is
    kept here; the original stays in the tracker store.
    """

    __tablename__ = "console_messages"
    __table_args__ = (Index("ix_console_messages_sender_at", "sender_id", "at"),)

    event_id: Mapped[int] = Column(Integer, primary_key=True, autoincrement=False)
    sender_id: Mapped[str] = Column(String(255), nullable=False)
    at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, index=True)
    text: Mapped[str] = Column(Text, nullable=False, default="")
    # Lower-cased redacted text, for case-insensitive search on every database.
    search_text: Mapped[str] = Column(Text, nullable=False, default="")
    intent: Mapped[Optional[str]] = Column(String(255), index=True)
    confidence: Mapped[Optional[float]] = Column(Float, index=True)
    entities: Mapped[list] = Column(JSON, nullable=False, default=list)
    # The bot's actions and responses up to the next visitor message.
    bot_actions: Mapped[list] = Column(JSON, nullable=False, default=list)
    fallback: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    crisis: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    contraindication: Mapped[bool] = Column(Boolean, nullable=False, default=False)


class Conversation(Base):
    """One visitor conversation (a Rasa sender id): summary for the list, and staff's review."""

    __tablename__ = "console_conversations"

    sender_id: Mapped[str] = Column(String(255), primary_key=True)
    first_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False)
    last_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, index=True)
    messages: Mapped[int] = Column(Integer, nullable=False, default=0)
    min_confidence: Mapped[Optional[float]] = Column(Float)
    fallback: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    crisis: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    contraindication: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    reviewed_at: Mapped[Optional[datetime]] = Column(DateTime(timezone=True))
    reviewed_by: Mapped[Optional[str]] = Column(String(64))


class ConversationTag(Base):
    __tablename__ = "console_tags"
    __table_args__ = (UniqueConstraint("sender_id", "tag", name="uq_console_tags_sender_tag"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    sender_id: Mapped[str] = Column(
        ForeignKey("console_conversations.sender_id", ondelete="CASCADE"), nullable=False
    )
    tag: Mapped[str] = Column(String(64), nullable=False, index=True)
    created_by: Mapped[str] = Column(String(64), nullable=False)
    created_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class AnswerFlag(Base):
    """A bot answer a reviewer marked as wrong, with their comment."""

    __tablename__ = "console_answer_flags"

    id: Mapped[int] = Column(Integer, primary_key=True)
    sender_id: Mapped[str] = Column(
        ForeignKey("console_conversations.sender_id", ondelete="CASCADE"), nullable=False, index=True
    )
    # The visitor message (console_messages.event_id) whose answer was wrong.
    event_id: Mapped[int] = Column(Integer, nullable=False)
    comment: Mapped[str] = Column(Text, nullable=False, default="")
    created_by: Mapped[str] = Column(String(64), nullable=False)
    created_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class FaqEntry(Base):
    """A new question taught in the console: becomes `faq/<key>` examples and `utter_faq/<key>`."""

    __tablename__ = "console_faq_entries"

    id: Mapped[int] = Column(Integer, primary_key=True)
    key: Mapped[str] = Column(String(64), nullable=False, unique=True)
    title: Mapped[str] = Column(String(200), nullable=False)
    answer: Mapped[str] = Column(Text, nullable=False)
    sources: Mapped[list] = Column(JSON, nullable=False, default=list)
    created_by: Mapped[str] = Column(String(64), nullable=False)
    created_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    exported_at: Mapped[Optional[datetime]] = Column(DateTime(timezone=True))


class Correction(Base):
    """What a visitor message (or a phrasing typed by staff) should have meant.

    kind: `relabel` (an example of an existing intent), `new_question` (an example of a FaqEntry),
    or `ignore` (not training material). Exported into data/*.yml by `bot.console.training_data`.
    """

    __tablename__ = "console_corrections"
    __table_args__ = (
        CheckConstraint("kind IN ('relabel', 'new_question', 'ignore')", name="kind"),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    kind: Mapped[str] = Column(String(16), nullable=False)
    # The visitor message it came from (None for phrasings typed by staff).
    event_id: Mapped[Optional[int]] = Column(Integer, index=True)
    sender_id: Mapped[Optional[str]] = Column(String(255))
    # The example as it goes into training data (redacted, editable by the reviewer).
    text: Mapped[str] = Column(Text, nullable=False)
    # Full intent name: "greet", "faq/sessions", or "faq/<new key>".
    intent: Mapped[Optional[str]] = Column(String(255))
    faq_entry_id: Mapped[Optional[int]] = Column(
        ForeignKey("console_faq_entries.id", ondelete="CASCADE")
    )
    created_by: Mapped[str] = Column(String(64), nullable=False)
    created_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    exported_at: Mapped[Optional[datetime]] = Column(DateTime(timezone=True))


class TrainingRun(Base):
    """One candidate model: trained, evaluated against the live model, promoted or refused."""

    __tablename__ = "console_training_runs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'training', 'evaluating', 'promoted', 'refused', 'failed')",
            name="status",
        ),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    status: Mapped[str] = Column(String(16), nullable=False, default="queued")
    started_by: Mapped[str] = Column(String(64), nullable=False)
    started_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    finished_at: Mapped[Optional[datetime]] = Column(DateTime(timezone=True))
    model_path: Mapped[Optional[str]] = Column(Text)
    # Gate figures for the candidate and the live model, and why it was refused.
    metrics: Mapped[dict] = Column(JSON, nullable=False, default=dict)
    live_metrics: Mapped[dict] = Column(JSON, nullable=False, default=dict)
    reasons: Mapped[list] = Column(JSON, nullable=False, default=list)
    # The corrections it was trained with (ids), marked exported when it is promoted.
    correction_ids: Mapped[list] = Column(JSON, nullable=False, default=list)
    log: Mapped[str] = Column(Text, nullable=False, default="")


class Deployment(Base):
    """A model that went live (promotion or rollback). The newest row is the live model."""

    __tablename__ = "console_deployments"

    id: Mapped[int] = Column(Integer, primary_key=True)
    model_path: Mapped[str] = Column(Text, nullable=False)
    training_run_id: Mapped[Optional[int]] = Column(
        ForeignKey("console_training_runs.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = Column(String(16), nullable=False)  # promote | rollback
    deployed_by: Mapped[str] = Column(String(64), nullable=False)
    deployed_at: Mapped[datetime] = Column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )


class SyncState(Base):
    """Small key/value state: the last tracker-store event id indexed."""

    __tablename__ = "console_sync_state"

    key: Mapped[str] = Column(String(64), primary_key=True)
    value: Mapped[int] = Column(Integer, nullable=False, default=0)
